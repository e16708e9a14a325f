//! The bus: how live events travel between instances that share one database.
//!
//! In-process is the default and needs nothing: a hub without a bus delivers to its own
//! sockets only. With `PARLEY_REDIS_URL`, every hub publishes what it delivers on one Redis
//! pub/sub channel and delivers what the others publish (`live::redis`).
//!
//! Redis is a wake-up hint; the database is the truth. A message that arrives out of order is
//! backfilled from the database by sequence (`gateway::connection`), and whenever this
//! instance may have missed something (its subscription dropped, or its own publishing fell
//! behind), every local socket re-reads its rooms and has its client resume from the
//! database. So a lost Redis message delays a delivery; it never loses one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::live::hub::Envelope;
use crate::live::presence::{Change, InstanceId};

/// Messages waiting to be published before this instance counts as having dropped some.
pub const OUTBOX_CAPACITY: usize = 65_536;

/// One message on the bus.
#[derive(Debug, Serialize, Deserialize)]
pub struct Wire {
    /// The instance that sent it; an instance ignores its own messages, except as proof that
    /// its subscription works.
    pub from: InstanceId,
    pub body: WireBody,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum WireBody {
    /// Something the sender's hub published: a message, an edit, typing, a membership or
    /// session change.
    Event(Arc<Envelope>),
    /// How users stand on the sender. `complete` (the heartbeat) lists every user the sender
    /// has; otherwise only those that changed.
    Presence { users: Vec<Change>, complete: bool },
    /// The sender could not publish everything: every instance resyncs its sockets.
    Resync,
}

/// The hub's end of the bus: a bounded queue to the publishing task.
#[derive(Clone)]
pub struct BusLink {
    instance: InstanceId,
    outbox: mpsc::Sender<Wire>,
    /// Set when the queue was full and a message was dropped; the publisher then asks every
    /// instance to resync.
    overflowed: Arc<AtomicBool>,
}

impl BusLink {
    /// A link for a new instance, and the queue its publisher drains.
    pub fn new() -> (Self, Outbox) {
        let (sender, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        let overflowed = Arc::new(AtomicBool::new(false));
        let link = Self { instance: new_instance_id(), outbox: sender, overflowed };
        let outbox = Outbox { receiver, overflowed: link.overflowed.clone() };
        (link, outbox)
    }

    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// Queues `body` for the other instances, never waiting: the caller holds no lock, but
    /// a send must not stall on Redis.
    pub fn send(&self, body: WireBody) {
        let wire = Wire { from: self.instance, body };
        if self.outbox.try_send(wire).is_err() && !self.overflowed.swap(true, Ordering::AcqRel) {
            tracing::warn!("bus outbox full; other instances will resync");
        }
    }
}

/// The publisher's end of the queue.
pub struct Outbox {
    pub receiver: mpsc::Receiver<Wire>,
    overflowed: Arc<AtomicBool>,
}

impl Outbox {
    /// Whether messages were dropped since the last call.
    pub fn take_overflow(&self) -> bool {
        self.overflowed.swap(false, Ordering::AcqRel)
    }
}

/// Random enough to tell a few instances apart, without a dependency: std's hasher keys are
/// seeded from the OS, mixed with the process id and the time.
fn new_instance_id() -> InstanceId {
    use std::hash::{BuildHasher, Hasher};

    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(crate::state::now_ms());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RoomId;
    use crate::live::hub::{Audience, Signal};
    use crate::live::protocol::ServerEvent;

    #[test]
    fn an_envelope_survives_the_wire() {
        let envelope = Envelope::new(
            Audience::Room(RoomId(7)),
            Signal::Event(ServerEvent::RoomUpdated { room_id: RoomId(7) }),
        );
        let wire = Wire { from: 9, body: WireBody::Event(Arc::new(envelope)) };

        let text = serde_json::to_string(&wire).unwrap();
        let back: Wire = serde_json::from_str(&text).unwrap();

        assert_eq!(back.from, 9);
        let WireBody::Event(envelope) = back.body else { panic!("not an event: {text}") };
        assert_eq!(envelope.audience, Audience::Room(RoomId(7)));
    }

    #[test]
    fn a_full_outbox_is_remembered_not_blocking() {
        let (link, outbox) = BusLink::new();

        for _ in 0..OUTBOX_CAPACITY + 1 {
            link.send(WireBody::Resync);
        }

        assert!(outbox.take_overflow());
        assert!(!outbox.take_overflow());
    }

    #[test]
    fn two_instances_get_different_ids() {
        assert_ne!(BusLink::new().0.instance(), BusLink::new().0.instance());
    }
}
