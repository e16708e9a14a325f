//! The hub: the one owner of fan-out. Actions publish committed changes here; every open socket
//! holds a receiver and keeps what is addressed to it.
//!
//! A single broadcast channel carries all events and each socket filters by its own room set.
//! That costs each socket a look at every event, which is fine for one machine's worth of
//! users; per-room channels would be the next step when it is not.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::ids::{RoomId, UserId};
use crate::live::protocol::ServerEvent;

/// Events buffered per receiver. A socket this far behind is told to resync rather than
/// growing memory.
const CAPACITY: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every socket of every member of the room.
    Room(RoomId),
    /// Every socket of one user, whatever rooms it follows.
    User(UserId),
}

#[derive(Clone, Debug)]
pub enum Signal {
    Event(ServerEvent),
    /// The user's sessions were revoked (password change); sockets re-check their session.
    SessionsRevoked,
    /// One session logged out; the sockets opened under it close.
    SessionEnded(String),
}

#[derive(Debug)]
pub struct Envelope {
    pub audience: Audience,
    pub signal: Signal,
}

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Envelope>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.sender.subscribe()
    }

    pub fn to_room(&self, room: RoomId, event: ServerEvent) {
        self.publish(Audience::Room(room), Signal::Event(event));
    }

    pub fn to_user(&self, user: UserId, event: ServerEvent) {
        self.publish(Audience::User(user), Signal::Event(event));
    }

    pub fn sessions_revoked(&self, user: UserId) {
        self.publish(Audience::User(user), Signal::SessionsRevoked);
    }

    pub fn session_ended(&self, user: UserId, session_id: String) {
        self.publish(Audience::User(user), Signal::SessionEnded(session_id));
    }

    fn publish(&self, audience: Audience, signal: Signal) {
        // An error only means no socket is open right now: nobody to tell, nothing lost,
        // since the database already holds the change.
        if self.sender.send(Arc::new(Envelope { audience, signal })).is_err() {
            tracing::trace!(?audience, "no open sockets");
        }
    }
}
