//! The hub: the one owner of fan-out. Actions publish committed changes here; the hub hands
//! each one to the mailboxes of exactly the sockets it concerns.
//!
//! Every open socket registers a mailbox and says which rooms it follows. Publishing to a
//! room touches only that room's sockets, so a message costs one queue push per member
//! socket, not a wake-up of every socket on the server (the single broadcast channel this
//! replaced woke a thousand sockets per message; BENCHMARKS.md). Mailboxes are bounded: when
//! a socket falls `queue::MAILBOX_CAPACITY` events behind, the hub marks it behind instead of
//! queueing more, and the socket asks its client to resume, so a slow reader costs a
//! resume, never unbounded memory.
//!
//! With several instances, everything published here is also handed to the bus
//! (`live::bus`), and what other instances publish arrives through [`Hub::deliver`]. Presence
//! is merged across instances in `live::presence`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use tokio::sync::watch;

use crate::ids::{RoomId, UserId};
use crate::live::bus::{BusLink, WireBody};
use crate::live::presence::{Change, InstanceId, LocalChange, PresenceRegistry};
use crate::live::protocol::{PresenceStatus, ServerEvent};
use crate::live::queue::Queue;
use crate::state::now_ms;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Every socket of every member of the room.
    Room(RoomId),
    /// Every socket of one user, whatever rooms it follows.
    User(UserId),
    /// Every socket (presence).
    Everyone,
}

/// What a socket is told. Session ids cross the bus between instances, as they cross the
/// database; they never reach a log.
#[derive(Clone, Serialize, Deserialize)]
pub enum Signal {
    Event(ServerEvent),
    /// The user's sessions were revoked (password change), except `kept`, the one that made
    /// the change; the other sockets re-check their session and close.
    SessionsRevoked {
        kept: Option<String>,
    },
    /// One session logged out; its sockets close.
    SessionEnded(String),
    /// This instance may have missed events (its bus connection dropped): every socket
    /// re-reads its rooms and has its client resume from the database.
    Resync,
}

/// Written by hand: session ids are secrets and stay out of every log line.
impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Event(event) => f.debug_tuple("Event").field(event).finish(),
            Self::SessionsRevoked { .. } => f.write_str("SessionsRevoked"),
            Self::SessionEnded(_) => f.write_str("SessionEnded"),
            Self::Resync => f.write_str("Resync"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub audience: Audience,
    pub signal: Signal,
    /// The event as a socket's text frame, made by the first socket that sends it: a message
    /// to a room of a thousand is serialized once, not a thousand times (BENCHMARKS.md, (c)).
    #[serde(skip)]
    frame: OnceLock<Option<String>>,
}

impl Envelope {
    pub fn new(audience: Audience, signal: Signal) -> Self {
        Self { audience, signal, frame: OnceLock::new() }
    }

    /// The JSON text a socket sends for this envelope's event; `None` for the signals that are
    /// not sent as they are, and for an event that failed to serialize (logged once).
    pub fn frame(&self) -> Option<&str> {
        let Signal::Event(event) = &self.signal else { return None };
        self.frame
            .get_or_init(|| {
                serde_json::to_string(event)
                    .map_err(|error| tracing::error!(%error, "event serialization failed"))
                    .ok()
            })
            .as_deref()
    }
}

#[derive(Clone)]
pub struct Hub {
    /// Who receives what. A std `Mutex`: every critical section is map work and
    /// non-blocking queue pushes, never an `.await`.
    registry: Arc<Mutex<Registry>>,
    next_socket: Arc<AtomicU64>,
    /// Flips to `true` once, when the server starts shutting down.
    shutdown: Arc<watch::Sender<bool>>,
    /// Open sockets per user here and elsewhere, for online/away/offline.
    pub presence: Arc<PresenceRegistry>,
    /// The way to the other instances, when there are any.
    bus: Option<BusLink>,
}

#[derive(Default)]
struct Registry {
    sockets: HashMap<u64, Outbox>,
    /// Sockets following each room.
    rooms: HashMap<RoomId, HashSet<u64>>,
    /// Sockets of each user.
    users: HashMap<UserId, HashSet<u64>>,
}

/// The hub's end of one socket's mailbox.
struct Outbox {
    queue: Arc<Queue<Arc<Envelope>>>,
    /// Whose socket it is and what it follows, so closing it touches only its own entries.
    user: UserId,
    rooms: HashSet<RoomId>,
}

/// What a socket's mailbox produced.
pub enum Delivery {
    Event(Arc<Envelope>),
    /// Events were dropped for this socket: it may have missed anything.
    Behind,
}

/// One socket's mailbox. Dropping it unregisters the socket.
pub struct Mailbox {
    id: u64,
    hub: Hub,
    queue: Arc<Queue<Arc<Envelope>>>,
}

impl Mailbox {
    /// The next event for this socket, or word that some were dropped. Waits as long as it
    /// takes; safe to cancel (in a `select!`), since nothing leaves the queue until returned.
    ///
    /// What is still queued after `Behind` is delivered too, not thrown away: messages among
    /// it wait for the resume that follows, and the rest (a log-out, a room left) must not
    /// be lost.
    pub async fn recv(&mut self) -> Delivery {
        loop {
            if self.queue.behind.swap(false, Ordering::AcqRel) {
                return Delivery::Behind;
            }
            if let Some(envelope) = self.queue.take() {
                return Delivery::Event(envelope);
            }
            self.queue.ready.notified().await;
        }
    }

    /// Room events reach this socket from now on.
    pub fn follow(&self, room: RoomId) {
        let mut registry = self.hub.lock();
        registry.rooms.entry(room).or_default().insert(self.id);
        if let Some(outbox) = registry.sockets.get_mut(&self.id) {
            outbox.rooms.insert(room);
        }
    }

    pub fn unfollow(&self, room: RoomId) {
        let mut registry = self.hub.lock();
        registry.leave_room(room, self.id);
        if let Some(outbox) = registry.sockets.get_mut(&self.id) {
            outbox.rooms.remove(&room);
        }
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let mut registry = self.hub.lock();
        let Some(outbox) = registry.sockets.remove(&self.id) else { return };
        for room in outbox.rooms {
            registry.leave_room(room, self.id);
        }
        if let Some(sockets) = registry.users.get_mut(&outbox.user) {
            sockets.remove(&self.id);
            if sockets.is_empty() {
                registry.users.remove(&outbox.user);
            }
        }
    }
}

impl Registry {
    fn leave_room(&mut self, room: RoomId, socket: u64) {
        if let Some(sockets) = self.rooms.get_mut(&room) {
            sockets.remove(&socket);
            if sockets.is_empty() {
                self.rooms.remove(&room);
            }
        }
    }

    /// Queues `envelope` for `socket`, or marks it behind when its mailbox is full.
    fn deliver(&self, socket: u64, envelope: &Arc<Envelope>) {
        let Some(outbox) = self.sockets.get(&socket) else { return };
        if !outbox.queue.push(envelope.clone())
            && !outbox.queue.behind.swap(true, Ordering::AcqRel)
        {
            tracing::debug!(socket, "socket fell behind; it will resync");
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            registry: Arc::default(),
            next_socket: Arc::new(AtomicU64::new(1)),
            shutdown: Arc::new(shutdown),
            presence: Arc::default(),
            bus: None,
        }
    }

    /// A hub that also hands what it publishes to other instances through `bus`.
    pub fn with_bus(bus: BusLink) -> Self {
        Self { bus: Some(bus), ..Self::new() }
    }

    /// This instance's name on the bus, if it has one.
    pub fn instance(&self) -> Option<InstanceId> {
        self.bus.as_ref().map(BusLink::instance)
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock left plain maps behind, still usable.
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a socket of `user`. It receives the user's and everyone's events at once,
    /// and a room's once it follows the room.
    pub fn connect(&self, user: UserId) -> Mailbox {
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let queue = Arc::new(Queue::default());
        let mut registry = self.lock();
        let outbox = Outbox { queue: queue.clone(), user, rooms: HashSet::new() };
        registry.sockets.insert(id, outbox);
        registry.users.entry(user).or_default().insert(id);
        drop(registry);
        Mailbox { id, hub: self.clone(), queue }
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

    /// A socket of `user` opened here.
    pub fn socket_opened(&self, user: UserId) {
        let change = self.presence.connected(user);
        self.presence_moved(user, change);
    }

    /// A socket of `user` closed here. Returns `true` when the user is now offline
    /// everywhere, so the caller records when they were last seen.
    pub fn socket_closed(&self, user: UserId, was_away: bool) -> bool {
        let change = self.presence.disconnected(user, was_away);
        let offline = change.merged == Some(PresenceStatus::Offline);
        self.presence_moved(user, change);
        offline
    }

    /// A socket of `user` reported itself idle (`away`) or active again.
    pub fn socket_away(&self, user: UserId, away: bool) {
        let change = self.presence.set_away(user, away);
        self.presence_moved(user, change);
    }

    /// Tells the other instances how `user` stands here, and this instance's sockets what
    /// changed overall.
    fn presence_moved(&self, user: UserId, change: LocalChange) {
        if let Some(bus) = &self.bus {
            bus.send(WireBody::Presence { users: vec![(user, change.here)], complete: false });
        }
        if let Some(status) = change.merged {
            self.announce_presence(&[(user, status)]);
        }
    }

    /// Another instance reported its users (`complete` when the list is all of them).
    pub fn peer_presence(&self, peer: InstanceId, users: &[Change], complete: bool) {
        let changed = self.presence.peer_reported(peer, users, complete, Instant::now());
        self.announce_presence(&changed);
    }

    /// Tells the other instances every user this one has, and forgets instances that
    /// stopped doing the same. Called every few seconds while a bus is attached.
    pub fn heartbeat(&self) {
        if let Some(bus) = &self.bus {
            bus.send(WireBody::Presence { users: self.presence.local(), complete: true });
        }
        self.expire_peers();
    }

    /// Drops instances that stopped reporting; their users go offline here.
    pub fn expire_peers(&self) {
        let changed = self.presence.expire_peers(Instant::now());
        self.announce_presence(&changed);
    }

    /// Presence is not forwarded as events: each instance derives it from the reports and
    /// tells its own sockets.
    fn announce_presence(&self, changes: &[Change]) {
        for &(user, status) in changes {
            let last_seen = (status == PresenceStatus::Offline).then(now_ms);
            let event = ServerEvent::Presence { user_id: user, status, last_seen };
            self.deliver(&Arc::new(Envelope::new(Audience::Everyone, Signal::Event(event))));
        }
    }

    /// Every socket here re-reads its rooms and resumes its client: events may have been
    /// missed while the bus was away.
    pub fn resync_all(&self) {
        let envelope = Arc::new(Envelope::new(Audience::Everyone, Signal::Resync));
        self.deliver(&envelope);
    }

    pub fn sessions_revoked(&self, user: UserId, kept: Option<String>) {
        self.publish(Audience::User(user), Signal::SessionsRevoked { kept });
    }

    pub fn session_ended(&self, user: UserId, session_id: String) {
        self.publish(Audience::User(user), Signal::SessionEnded(session_id));
    }

    fn publish(&self, audience: Audience, signal: Signal) {
        let envelope = Arc::new(Envelope::new(audience, signal));
        self.deliver(&envelope);
        if let Some(bus) = &self.bus {
            bus.send(WireBody::Event(envelope));
        }
    }

    /// Hands `envelope` to this instance's sockets only: what other instances published
    /// arrives here.
    pub fn deliver(&self, envelope: &Arc<Envelope>) {
        let registry = self.lock();
        // No socket to tell is fine: the database already holds the change.
        match envelope.audience {
            Audience::Room(room) => {
                for &socket in registry.rooms.get(&room).into_iter().flatten() {
                    registry.deliver(socket, envelope);
                }
            }
            Audience::User(user) => {
                for &socket in registry.users.get(&user).into_iter().flatten() {
                    registry.deliver(socket, envelope);
                }
            }
            Audience::Everyone => {
                for &socket in registry.sockets.keys() {
                    registry.deliver(socket, envelope);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::queue::MAILBOX_CAPACITY;

    fn event(room: i64) -> ServerEvent {
        ServerEvent::RoomUpdated { room_id: RoomId(room) }
    }

    fn queued(mailbox: &mut Mailbox) -> usize {
        mailbox.queue.clear()
    }

    #[test]
    fn an_event_is_serialized_once_for_every_socket_that_sends_it() {
        let envelope = Envelope::new(Audience::Room(RoomId(7)), Signal::Event(event(7)));

        let first = envelope.frame().expect("an event has a frame");
        let second = envelope.frame().expect("an event has a frame");

        assert_eq!(first, serde_json::to_string(&event(7)).unwrap());
        assert!(std::ptr::eq(first, second), "the second socket serialized it again");
        assert!(Envelope::new(Audience::Everyone, Signal::Resync).frame().is_none());
    }

    #[test]
    fn room_events_reach_only_the_sockets_that_follow_the_room() {
        let hub = Hub::new();
        let mut ann = hub.connect(UserId(1));
        let mut bob = hub.connect(UserId(2));
        ann.follow(RoomId(7));

        hub.to_room(RoomId(7), event(7));
        hub.to_user(UserId(2), event(8));

        assert_eq!(queued(&mut ann), 1);
        assert_eq!(queued(&mut bob), 1);
    }

    #[test]
    fn an_unfollowed_or_dropped_socket_gets_nothing_more() {
        let hub = Hub::new();
        let mut ann = hub.connect(UserId(1));
        let bob = hub.connect(UserId(2));
        ann.follow(RoomId(7));
        bob.follow(RoomId(7));
        ann.unfollow(RoomId(7));
        drop(bob);

        hub.to_room(RoomId(7), event(7));

        assert_eq!(queued(&mut ann), 0);
        assert!(hub.lock().rooms.is_empty() && hub.lock().sockets.len() == 1);
    }

    #[tokio::test]
    async fn a_full_mailbox_reports_behind_instead_of_growing() {
        let hub = Hub::new();
        let mut ann = hub.connect(UserId(1));
        ann.follow(RoomId(7));

        for _ in 0..MAILBOX_CAPACITY + 10 {
            hub.to_room(RoomId(7), event(7));
        }

        assert!(matches!(ann.recv().await, Delivery::Behind));
        assert!(matches!(ann.recv().await, Delivery::Event(_)));
        assert_eq!(queued(&mut ann), MAILBOX_CAPACITY - 1);
    }

    #[tokio::test]
    async fn a_log_out_queued_before_falling_behind_still_arrives() {
        let hub = Hub::new();
        let mut ann = hub.connect(UserId(1));
        ann.follow(RoomId(7));
        hub.session_ended(UserId(1), "secret-session-id".into());

        for _ in 0..MAILBOX_CAPACITY + 10 {
            hub.to_room(RoomId(7), event(7));
        }

        assert!(matches!(ann.recv().await, Delivery::Behind));
        let Delivery::Event(first) = ann.recv().await else { panic!("no event") };
        assert!(matches!(first.signal, Signal::SessionEnded(_)));
    }

    #[test]
    fn session_ids_never_reach_debug_output() {
        let ended = Signal::SessionEnded("secret-session-id".into());
        let revoked = Signal::SessionsRevoked { kept: Some("secret-session-id".into()) };

        assert!(!format!("{ended:?} {revoked:?}").contains("secret"));
    }
}
