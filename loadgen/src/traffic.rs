//! The open-loop sender: messages leave on a fixed schedule whatever the server's speed, each
//! as its own request, so a slow server shows up as latency (measured from the scheduled
//! time) instead of quietly lowering the offered rate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use app::ids::RoomId;

use crate::population::Population;
use crate::tally::{body_for, new_histogram};

/// How much to send.
#[derive(Clone, Copy, Debug)]
pub struct Offered {
    pub per_second: f64,
    pub duration: Duration,
}

impl Offered {
    pub fn new(per_second: f64, seconds: u64) -> Self {
        Self { per_second, duration: Duration::from_secs(seconds) }
    }

    pub fn total(&self) -> u64 {
        (self.per_second * self.duration.as_secs_f64()).round() as u64
    }
}

/// What the sends came to.
#[derive(Debug)]
pub struct Sent {
    /// Sends the server acknowledged, i.e. committed.
    pub acknowledged: u64,
    /// Scheduled send to the server's answer, in microseconds, for acknowledged sends: the
    /// part of delivery latency spent before the message was committed.
    pub ack_latency: Histogram<u64>,
    pub failed: u64,
    pub first_error: Option<String>,
    /// The highest sequence number acknowledged in each room.
    pub finals: HashMap<RoomId, i64>,
    /// From the first scheduled send to the last answer.
    pub elapsed: Duration,
}

impl Default for Sent {
    fn default() -> Self {
        Self {
            acknowledged: 0,
            ack_latency: new_histogram(),
            failed: 0,
            first_error: None,
            finals: HashMap::new(),
            elapsed: Duration::ZERO,
        }
    }
}

impl Sent {
    /// Committed messages per second over the run.
    pub fn persisted_per_second(&self) -> f64 {
        self.acknowledged as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Sends `offered` messages, each to a uniformly chosen room by a uniformly chosen member,
/// through the population's instances in turn (whichever instance holds the author's
/// socket). `run` is a tag that keeps client ids unique across runs on one database.
pub async fn send(population: &Population, offered: Offered, run: &str) -> Result<Sent> {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut in_flight = JoinSet::new();
    let mut sent = Sent::default();
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / offered.per_second);

    for number in 0..offered.total() {
        let at = start + interval.mul_f64(number as f64);
        tokio::time::sleep_until(at.into()).await;

        let (room, members) = &population.rooms[rng.usize(..population.rooms.len())];
        let author = &population.accounts[members[rng.usize(..members.len())]];
        let via = &population.apis[number as usize % population.apis.len()];
        let account = author.clone().with_api(via.clone());
        let (room, client_id, body) = (*room, format!("{run}-{number}"), body_for(at));
        in_flight.spawn(async move {
            let outcome = account.send(room, &client_id, &body).await;
            (outcome, at.elapsed())
        });

        // Collect what has finished so the set stays as small as the requests in flight.
        while let Some(done) = in_flight.try_join_next() {
            sent.count(done?);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        sent.count(done?);
    }
    sent.elapsed = start.elapsed();
    Ok(sent)
}

impl Sent {
    fn count(&mut self, (outcome, waited): (Result<app::messages::Message>, Duration)) {
        match outcome {
            Ok(message) => {
                self.acknowledged += 1;
                self.ack_latency.saturating_record((waited.as_micros() as u64).max(1));
                let newest = self.finals.entry(message.room_id).or_insert(0);
                *newest = (*newest).max(message.seq);
            }
            Err(error) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
}
