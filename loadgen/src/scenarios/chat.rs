//! Live chat under load: every user holds a socket, messages go out at a fixed rate through
//! the real send path, and every member's socket is checked for each one. Scenarios (a), (b)
//! and (c) are this with different shapes and rates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt, stream};
use tokio::sync::watch;

use app::ids::RoomId;

use crate::population::{Population, Shape};
use crate::report::{Report, Row};
use crate::socket::Receiver;
use crate::tally::Totals;
use crate::target::{CpuMeter, Launch, Target};
use crate::traffic::{self, Offered, Sent};

use super::Scale;

/// Sockets opened at once while connecting the population.
const CONNECT_CONCURRENCY: usize = 64;
/// Pause between connecting and sending. Each new socket's presence goes to every other
/// socket, so connecting 1,000 users sends a million presence frames; that storm is not
/// part of the chat traffic being measured.
const SETTLE: Duration = Duration::from_secs(5);

/// What one stretch of traffic came to.
pub struct Outcome {
    pub sent: Sent,
    pub totals: Totals,
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

impl Outcome {
    /// The figures every chat scenario reports, with its latency target.
    pub fn rows(&self, p99_target_ms: f64) -> Vec<Row> {
        vec![
            Row::info("messages acknowledged", self.sent.acknowledged),
            Row::info("sends failed", self.sent.failed),
            Row::info("deliveries to other members", self.totals.deliveries),
            Row::info("persisted messages/s", format!("{:.0}", self.sent.persisted_per_second())),
            Row::info("latency p50", format!("{:.2} ms", self.totals.ms(0.50))),
            Row::at_most("latency p99", self.totals.ms(0.99), p99_target_ms, "ms"),
            Row::info("latency p99.9", format!("{:.2} ms", self.totals.ms(0.999))),
            Row::info("latency max", format!("{:.2} ms", self.totals.max_ms())),
            Row::none_allowed("lost", self.totals.lost),
            Row::info("resyncs (socket fell behind)", self.totals.resyncs),
            Row::info("redelivered after resync, dropped by id", self.totals.redelivered),
            Row::info("server CPU (100% = one core)", format!("{:.0}%", self.cpu_percent)),
            Row::info("server RSS", format!("{:.1} MiB", mib(self.rss_bytes))),
        ]
    }
}

/// Connects every account, sends `offered`, waits until every member has every message (or
/// gives up on the rest), and adds it all up. `start` holds each room's newest sequence
/// number before this stretch.
pub async fn traffic(
    target: &Target,
    population: &Population,
    offered: Offered,
    start: &HashMap<RoomId, i64>,
    run: &str,
) -> Result<Outcome> {
    let rooms_of = population.rooms_of_each();
    let receivers: Vec<Receiver> = stream::iter(population.accounts.iter().zip(&rooms_of))
        .map(|(account, rooms)| Receiver::connect(account, rooms, start))
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await
        .context("connecting the population's sockets")?;
    let (finals_tx, finals) = watch::channel(None);
    let running: Vec<_> =
        receivers.into_iter().map(|r| tokio::spawn(r.run(finals.clone()))).collect();
    tokio::time::sleep(SETTLE).await;

    let cpu = CpuMeter::start(target)?;
    let sent = traffic::send(population, offered, run).await?;
    let cpu_percent = cpu.percent(target)?;
    let rss_bytes = target.rss_bytes()?;

    let mut finals = start.clone();
    finals.extend(sent.finals.iter().map(|(room, seq)| (*room, *seq)));
    finals_tx.send_replace(Some(Arc::new(finals)));
    let mut tallies = Vec::with_capacity(running.len());
    for receiver in running {
        tallies.push(receiver.await??);
    }
    Ok(Outcome { sent, totals: Totals::of(tallies), cpu_percent, rss_bytes })
}

/// (a) 1,000 users in 100 rooms of 10 plus one room of 500, 1,000 messages/s for 60 s.
pub async fn fanout(launch: &Launch, scale: Scale) -> Result<Report> {
    let (users, rooms, big, offered) = match scale {
        Scale::Full => (1000, 100, 500, Offered::new(1000.0, 60)),
        Scale::Smoke => (20, 4, 10, Offered::new(50.0, 2)),
    };
    let mut shape = Shape { users, rooms: Shape::small_rooms(rooms, users / rooms) };
    shape.rooms.push((0..big).collect());

    let mut report = Report::new("a: fan-out (rooms of 10 and one of 500), SQLite");
    let target = Target::start(launch).await?;
    let outcome = run_once(&target, &shape, offered, &mut report).await?;
    report.rows.extend(outcome.rows(scale.target(50.0)));
    target.stop().await?;
    Ok(report)
}

/// (c) One room of 1,000 members receiving 100 messages/s.
pub async fn big_room(launch: &Launch, scale: Scale) -> Result<Report> {
    let (users, offered) = match scale {
        Scale::Full => (1000, Offered::new(100.0, 30)),
        Scale::Smoke => (15, Offered::new(20.0, 2)),
    };
    let shape = Shape { users, rooms: vec![(0..users).collect()] };

    let mut report = Report::new("c: one room of 1,000 members, SQLite");
    let target = Target::start(launch).await?;
    let outcome = run_once(&target, &shape, offered, &mut report).await?;
    report.rows.extend(outcome.rows(scale.target(150.0)));
    target.stop().await?;
    Ok(report)
}

/// (b) Raises the offered rate step by step until p99 delivery passes 100 ms or anything is
/// lost, and reports the highest rate that kept both.
pub async fn max_rate(launch: &Launch, scale: Scale) -> Result<Report> {
    let (users, rooms, step_secs, rates): (usize, usize, u64, &[f64]) = match scale {
        Scale::Full => (
            1000,
            100,
            15,
            &[
                250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0,
                8000.0, 10000.0,
            ],
        ),
        Scale::Smoke => (20, 4, 1, &[20.0, 40.0]),
    };
    let shape = Shape { users, rooms: Shape::small_rooms(rooms, users / rooms) };

    let mut report = Report::new("b: highest persisted rate with p99 <= 100 ms, SQLite");
    let target = Target::start(launch).await?;
    let population = Population::build(&target.api()?, &shape, "rate").await?;
    let mut newest = HashMap::new();
    let mut best = 0.0_f64;
    for (step, &rate) in rates.iter().enumerate() {
        let offered = Offered::new(rate, step_secs);
        let outcome = traffic(&target, &population, offered, &newest, &format!("b{step}")).await?;
        newest.extend(outcome.sent.finals.iter().map(|(room, seq)| (*room, *seq)));

        let (p99, lost) = (outcome.totals.ms(0.99), outcome.totals.lost);
        let persisted = outcome.sent.persisted_per_second();
        report.push(Row::info(
            &format!("offered {rate:.0}/s"),
            format!("persisted {persisted:.0}/s, p99 {p99:.1} ms, lost {lost}"),
        ));
        if p99 > scale.target(100.0) || lost > 0 || outcome.sent.failed > 0 {
            break;
        }
        best = best.max(persisted);
    }
    let floor = if scale == Scale::Full { 5000.0 } else { 0.0 };
    report.push(Row::at_least("highest rate within p99 <= 100 ms", best, floor, "messages/s"));
    target.stop().await?;
    Ok(report)
}

/// Builds the population, reports its size, and runs one stretch of traffic.
async fn run_once(
    target: &Target,
    shape: &Shape,
    offered: Offered,
    report: &mut Report,
) -> Result<Outcome> {
    let population = Population::build(&target.api()?, shape, "user").await?;
    report.push(Row::info("users (one socket each)", shape.users));
    report.push(Row::info("rooms", shape.rooms.len()));
    report.push(Row::info(
        "offered",
        format!("{:.0} messages/s for {} s", offered.per_second, offered.duration.as_secs()),
    ));
    traffic(target, &population, offered, &HashMap::new(), "run").await
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}
