//! The WebSocket protocol, server to client. One JSON object per text frame, tagged by `type`.
//! The browser, the server and bots all compile this one definition.

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};
use crate::messages::Message;

/// Sent in [`ServerEvent::Hello`]; bumped on any change a client must know about.
pub const PROTOCOL_VERSION: u16 = 1;

/// Where the socket lives, relative to the site root.
pub const SOCKET_PATH: &str = "/ws";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The first frame on every socket: the protocol version and who the socket belongs to.
    Hello { version: u16, user_id: UserId },
    /// A message was committed in one of the receiver's rooms.
    MessageCreated { message: Message },
    /// A message was edited or deleted; carries its current state.
    MessageUpdated { message: Message },
    /// A room's name, topic or member list changed.
    RoomUpdated { room_id: RoomId },
    /// The receiver joined, or was added to, a room; its events follow from now on.
    Joined { room_id: RoomId },
    /// The receiver left or was removed from a room; no more of its events follow.
    Left { room_id: RoomId },
    /// The server dropped events for this socket (it fell behind); refetch what is shown.
    Resync,
}
