//! The WebSocket protocol: one JSON object per text frame, tagged by `type`, in both
//! directions. The browser, the server, the load generator and bots all compile this one
//! definition.

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};
use crate::messages::Message;

/// Sent in [`ServerEvent::Hello`]; bumped on any change a client must know about.
pub const PROTOCOL_VERSION: u16 = 2;

/// Where the socket lives, relative to the site root.
pub const SOCKET_PATH: &str = "/ws";

/// The close code (policy) with which the server ends a socket whose session is over.
pub const SESSION_OVER_CODE: u16 = 1008;
/// Close reason: this session logged out.
pub const LOGGED_OUT: &str = "logged out";
/// Close reason: the session was revoked (the password changed on another device).
pub const SESSION_ENDED: &str = "session ended";

/// The newest sequence number a client holds for a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCursor {
    pub room_id: RoomId,
    pub seq: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

/// A room's counters for the sidebar badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadState {
    pub room_id: RoomId,
    /// Newest sequence number in the room.
    pub last_seq: i64,
    /// The user's read marker: everything up to here is read.
    pub read_seq: i64,
    /// Unread messages that mention the user.
    pub mentions: i64,
}

/// Client to server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Sent after every (re)connect: the newest sequence held per room. The server replays
    /// everything after it, in order, or answers [`ServerEvent::RoomReset`].
    Resume { rooms: Vec<RoomCursor> },
    /// The user started (`true`) or stopped typing in a room.
    Typing { room_id: RoomId, active: bool },
    /// The user has read the room up to `seq`.
    Read { room_id: RoomId, seq: i64 },
    /// The tab became active (`Online`) or idle (`Away`).
    Presence { status: PresenceStatus },
}

/// Server to client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The first frame on every socket: the protocol version and who the socket belongs to.
    Hello { version: u16, user_id: UserId },
    /// A message was committed in one of the receiver's rooms. Per room these arrive in
    /// sequence order with no gaps after the client's resume point.
    MessageCreated { message: Message },
    /// A message was edited or deleted; carries its current state.
    MessageUpdated { message: Message },
    /// A room's name, topic or member list changed.
    RoomUpdated { room_id: RoomId },
    /// The receiver joined, or was added to, a room; its events follow from now on.
    Joined { room_id: RoomId },
    /// The receiver left or was removed from a room; no more of its events follow.
    Left { room_id: RoomId },
    /// The gap since the client's cursor is longer than the server replays: refetch the room.
    RoomReset { room_id: RoomId },
    /// The server dropped events for this socket (it fell behind); send `Resume` again.
    Resync,
    /// Someone started or stopped typing in a room.
    Typing { room_id: RoomId, user_id: UserId, name: String, active: bool },
    /// A user's presence changed.
    Presence { user_id: UserId, status: PresenceStatus, last_seen: Option<i64> },
    /// Unread counters for every room of the receiver; sent after `Resume`.
    Unreads { rooms: Vec<UnreadState> },
    /// The receiver (on another tab or device) read a room up to `seq`.
    ReadMarker { room_id: RoomId, seq: i64 },
    /// Another member of a direct message read it up to `seq`.
    ReadReceipt { room_id: RoomId, user_id: UserId, seq: i64 },
    /// The server is restarting: reconnect (with backoff) and resume.
    Reconnect,
}
