//! The hub: the one owner of fan-out. Actions publish committed changes here; every open socket
//! holds a receiver and keeps what is addressed to it.
//!
//! A single broadcast channel carries all events and each socket filters by its own room set.
//! That costs each socket a look at every event, which is fine for one machine's worth of
//! users; per-room channels would be the next step when it is not. The channel is bounded: a
//! socket that falls `CAPACITY` events behind gets `Lagged` and asks its client to resume,
//! so a slow reader costs a resume, never unbounded memory.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::ids::{RoomId, UserId};
use crate::live::presence::PresenceRegistry;
use crate::live::protocol::{PresenceStatus, ServerEvent};

/// Events buffered for the slowest receiver.
const CAPACITY: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every socket of every member of the room.
    Room(RoomId),
    /// Every socket of one user, whatever rooms it follows.
    User(UserId),
    /// Every socket (presence).
    Everyone,
}

#[derive(Clone)]
pub enum Signal {
    Event(ServerEvent),
    /// The user's sessions were revoked (password change), except `kept`, the one that made
    /// the change; the other sockets re-check their session and close.
    SessionsRevoked {
        kept: Option<String>,
    },
    /// One session logged out; its sockets close.
    SessionEnded(String),
}

/// Written by hand: session ids are secrets and stay out of every log line.
impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Event(event) => f.debug_tuple("Event").field(event).finish(),
            Self::SessionsRevoked { .. } => f.write_str("SessionsRevoked"),
            Self::SessionEnded(_) => f.write_str("SessionEnded"),
        }
    }
}

#[derive(Debug)]
pub struct Envelope {
    pub audience: Audience,
    pub signal: Signal,
}

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Envelope>>,
    /// Flips to `true` once, when the server starts shutting down.
    shutdown: Arc<watch::Sender<bool>>,
    /// Open sockets per user, for online/away/offline.
    pub presence: Arc<PresenceRegistry>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        let (shutdown, _) = watch::channel(false);
        Self { sender, shutdown: Arc::new(shutdown), presence: Arc::default() }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.sender.subscribe()
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Tells every socket to close with "restarting", so clients reconnect elsewhere or later.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn to_room(&self, room: RoomId, event: ServerEvent) {
        self.publish(Audience::Room(room), Signal::Event(event));
    }

    pub fn to_user(&self, user: UserId, event: ServerEvent) {
        self.publish(Audience::User(user), Signal::Event(event));
    }

    pub fn presence_changed(&self, user: UserId, status: PresenceStatus, last_seen: Option<i64>) {
        let event = ServerEvent::Presence { user_id: user, status, last_seen };
        self.publish(Audience::Everyone, Signal::Event(event));
    }

    pub fn sessions_revoked(&self, user: UserId, kept: Option<String>) {
        self.publish(Audience::User(user), Signal::SessionsRevoked { kept });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_never_reach_debug_output() {
        let ended = Signal::SessionEnded("secret-session-id".into());
        let revoked = Signal::SessionsRevoked { kept: Some("secret-session-id".into()) };

        assert!(!format!("{ended:?} {revoked:?}").contains("secret"));
    }
}
