//! What the receivers saw: delivery latency, and per room which sequence numbers arrived,
//! so that lost deliveries are counted exactly rather than estimated.
//!
//! A message received again is not a fault by itself: after the server says `Resync` the
//! client resumes from what it holds, and messages that were already on the wire come twice.
//! Clients drop those by id, as the browser does, so they are counted apart as redelivered.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use app::ids::{RoomId, UserId};
use app::messages::Message;

/// Message bodies carry their scheduled send time as microseconds since this instant, which
/// every sender and receiver in the process shares.
static EPOCH: OnceLock<Instant> = OnceLock::new();
const BODY_PREFIX: &str = "lg ";

fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// The body of a message scheduled for `at`.
pub fn body_for(at: Instant) -> String {
    format!("{BODY_PREFIX}{}", at.saturating_duration_since(epoch()).as_micros())
}

/// When the message with this body was scheduled to be sent.
fn scheduled_at(body: &str) -> Option<Instant> {
    let micros: u64 = body.strip_prefix(BODY_PREFIX)?.parse().ok()?;
    Some(epoch() + Duration::from_micros(micros))
}

/// Latencies in microseconds, up to a minute at three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// One receiver's view of the rooms it follows.
pub struct Tally {
    me: UserId,
    /// Scheduled send to receipt, for messages by other members.
    pub latency: Histogram<u64>,
    /// Per room, the newest sequence number received. The server delivers a room in order
    /// with no gaps, so a step over a number is a loss; a step back is a redelivery.
    newest: HashMap<RoomId, i64>,
    pub lost: u64,
    /// Messages received again (after a resume), dropped by id.
    pub redelivered: u64,
    /// Times the server said this socket fell behind.
    pub resyncs: u64,
}

impl Tally {
    /// A receiver in `rooms`, holding each up to its sequence number in `start` (or none).
    pub fn new(
        me: UserId,
        rooms: impl IntoIterator<Item = RoomId>,
        start: &HashMap<RoomId, i64>,
    ) -> Self {
        let at = |room| start.get(&room).copied().unwrap_or(0);
        Self {
            me,
            latency: new_histogram(),
            newest: rooms.into_iter().map(|room| (room, at(room))).collect(),
            lost: 0,
            redelivered: 0,
            resyncs: 0,
        }
    }

    pub fn received(&mut self, message: &Message) {
        let now = Instant::now();
        let newest = self.newest.entry(message.room_id).or_insert(0);
        if message.seq <= *newest {
            self.redelivered += 1;
            return;
        }
        self.lost += (message.seq - *newest - 1) as u64;
        *newest = message.seq;

        if message.author_id != self.me
            && let Some(at) = scheduled_at(&message.body)
        {
            let micros = now.saturating_duration_since(at).as_micros() as u64;
            self.latency.saturating_record(micros.max(1));
        }
    }

    /// Where this receiver stands in each room, for a `Resume` after a reconnect.
    pub fn cursors(&self) -> impl Iterator<Item = (RoomId, i64)> + '_ {
        self.newest.iter().map(|(room, seq)| (*room, *seq))
    }

    /// Whether every room has reached its final sequence number.
    pub fn caught_up(&self, finals: &HashMap<RoomId, i64>) -> bool {
        self.newest.iter().all(|(room, seq)| *seq >= finals.get(room).copied().unwrap_or(0))
    }

    /// Closes the books: messages after the newest one received never came.
    pub fn finish(mut self, finals: &HashMap<RoomId, i64>) -> Self {
        for (room, seq) in &self.newest {
            self.lost += (finals.get(room).copied().unwrap_or(0) - seq).max(0) as u64;
        }
        self
    }
}

/// Every receiver's tallies added up.
pub struct Totals {
    pub latency: Histogram<u64>,
    pub deliveries: u64,
    pub lost: u64,
    pub redelivered: u64,
    pub resyncs: u64,
}

impl Totals {
    pub fn of(tallies: impl IntoIterator<Item = Tally>) -> Self {
        let mut totals =
            Self { latency: new_histogram(), deliveries: 0, lost: 0, redelivered: 0, resyncs: 0 };
        for tally in tallies {
            totals.latency.add(&tally.latency).expect("histograms share their bounds");
            totals.lost += tally.lost;
            totals.redelivered += tally.redelivered;
            totals.resyncs += tally.resyncs;
        }
        totals.deliveries = totals.latency.len();
        totals
    }

    /// A latency quantile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::ids::MessageId;

    fn message(room: i64, seq: i64, author: i64, body: &str) -> Message {
        Message {
            id: MessageId(seq),
            room_id: RoomId(room),
            seq,
            author_id: UserId(author),
            author_name: String::new(),
            client_id: String::new(),
            body: body.to_owned(),
            created_at: 0,
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn a_skipped_seq_is_lost_and_a_repeated_one_redelivered() {
        let mut tally = Tally::new(UserId(1), [RoomId(7)], &HashMap::new());

        for seq in [1, 2, 4, 4, 3] {
            tally.received(&message(7, seq, 2, "x"));
        }

        assert_eq!(tally.lost, 1);
        assert_eq!(tally.redelivered, 2);
    }

    #[test]
    fn messages_that_never_came_count_as_lost_at_the_end() {
        let mut tally = Tally::new(UserId(1), [RoomId(7), RoomId(8)], &HashMap::new());
        tally.received(&message(7, 1, 2, "x"));
        let finals = HashMap::from([(RoomId(7), 3), (RoomId(8), 2)]);

        let tally = tally.finish(&finals);

        assert_eq!(tally.lost, 4);
    }

    #[test]
    fn latency_counts_other_authors_only() {
        let mut tally = Tally::new(UserId(1), [RoomId(7)], &HashMap::new());
        let body = body_for(Instant::now());

        tally.received(&message(7, 1, 1, &body));
        tally.received(&message(7, 2, 2, &body));

        assert_eq!(tally.latency.len(), 1);
    }
}
