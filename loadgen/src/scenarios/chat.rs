//! Live chat under load: every user holds a socket, messages go out at a fixed rate through
//! the real send path, and every member's socket is checked for each one. Scenarios (a), (b)
//! and (c) are this with different shapes and rates; (i) is (a) on two instances.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt, stream};
use tokio::sync::watch;

use app::ids::RoomId;

use crate::cpu::CpuMeter;
use crate::deployment::Deployment;
use crate::population::{Population, Shape};
use crate::report::{Report, Row};
use crate::socket::Receiver;
use crate::tally::Totals;
use crate::target::{Launch, Target};
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
    pub instances: usize,
    /// CPU of all instances together, as percent of one core.
    pub cpu_percent: f64,
    /// Resident memory of all instances together.
    pub rss_bytes: u64,
    /// Each helper's CPU, by name.
    pub helpers_cpu: Vec<(&'static str, f64)>,
    pub loadgen_cpu: f64,
    /// Every process on the machine, the kernel included.
    pub machine_cpu: f64,
}

impl Outcome {
    /// The figures every chat scenario reports, with its latency target.
    pub fn rows(&self, p99_target_ms: f64) -> Vec<Row> {
        let ack_ms = |q: f64| self.sent.ack_latency.value_at_quantile(q) as f64 / 1000.0;
        let mut rows = vec![
            Row::info("messages acknowledged", self.sent.acknowledged),
            Row::info("sends failed", self.sent.failed),
            Row::info("deliveries to other members", self.totals.deliveries),
            Row::info("persisted messages/s", format!("{:.0}", self.sent.persisted_per_second())),
            Row::info("send acknowledged p50", format!("{:.2} ms", ack_ms(0.50))),
            Row::info("send acknowledged p99", format!("{:.2} ms", ack_ms(0.99))),
            Row::info("latency p50", format!("{:.2} ms", self.totals.ms(0.50))),
            Row::at_most("latency p99", self.totals.ms(0.99), p99_target_ms, "ms"),
            Row::info("latency p99.9", format!("{:.2} ms", self.totals.ms(0.999))),
            Row::info("latency max", format!("{:.2} ms", self.totals.max_ms())),
            Row::none_allowed("lost", self.totals.lost),
            Row::info("resyncs (socket fell behind)", self.totals.resyncs),
            Row::info("redelivered after resync, dropped by id", self.totals.redelivered),
        ];
        let servers = match self.instances {
            1 => "server".to_owned(),
            n => format!("servers ({n} summed)"),
        };
        rows.push(Row::info(
            &format!("{servers} CPU (100% = one core)"),
            format!("{:.0}%", self.cpu_percent),
        ));
        rows.push(Row::info(&format!("{servers} RSS"), format!("{:.1} MiB", mib(self.rss_bytes))));
        let mut rest = self.machine_cpu - self.cpu_percent - self.loadgen_cpu;
        for (name, cpu) in &self.helpers_cpu {
            rows.push(Row::info(&format!("{name} CPU"), format!("{cpu:.0}%")));
            rest -= cpu;
        }
        rows.push(Row::info("load generator CPU", format!("{:.0}%", self.loadgen_cpu)));
        rows.push(Row::info("rest of the machine's CPU", format!("{:.0}%", rest.max(0.0))));
        rows
    }
}

/// Connects every account, sends `offered`, waits until every member has every message (or
/// gives up on the rest), and adds it all up. `start` holds each room's newest sequence
/// number before this stretch.
pub async fn traffic(
    deployment: &Deployment<'_>,
    population: &Population,
    offered: Offered,
    start: &HashMap<RoomId, i64>,
    run: &str,
) -> Result<Outcome> {
    // Each account connects to its home instance (see `Population::build`).
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

    let cpu = CpuMeter::start(&deployment.pids())?;
    let sent = traffic::send(population, offered, run).await?;
    let shares = cpu.read()?;
    let rss_bytes = deployment.instances.iter().map(Target::rss_bytes).sum::<Result<u64>>()?;

    let mut finals = start.clone();
    finals.extend(sent.finals.iter().map(|(room, seq)| (*room, *seq)));
    finals_tx.send_replace(Some(Arc::new(finals)));
    let mut tallies = Vec::with_capacity(running.len());
    for receiver in running {
        tallies.push(receiver.await??);
    }

    // `shares.trees` is in `Deployment::pids` order: instances, then helpers.
    let instances = deployment.instances.len();
    let helpers_cpu = deployment
        .helpers
        .iter()
        .zip(&shares.trees[instances..])
        .map(|((name, _), cpu)| (*name, *cpu))
        .collect();
    Ok(Outcome {
        sent,
        totals: Totals::of(tallies),
        instances,
        cpu_percent: shares.trees[..instances].iter().sum(),
        rss_bytes,
        helpers_cpu,
        loadgen_cpu: shares.load_generator,
        machine_cpu: shares.machine,
    })
}

/// (a)'s population and traffic: 1,000 users in 100 rooms of 10 plus one room of 500 (the
/// first 500 users), 1,000 messages/s for 60 s. (i) runs the same on two instances.
pub fn fanout_load(scale: Scale) -> (Shape, Offered) {
    let (users, rooms, big, offered) = match scale {
        Scale::Full => (1000, 100, 500, Offered::new(1000.0, 60)),
        Scale::Smoke => (20, 4, 10, Offered::new(50.0, 2)),
    };
    let mut shape = Shape { users, rooms: Shape::small_rooms(rooms, users / rooms) };
    shape.rooms.push((0..big).collect());
    (shape, offered)
}

/// (a) The fan-out load on one server with SQLite.
pub async fn fanout(launch: &Launch, scale: Scale) -> Result<Report> {
    let (shape, offered) = fanout_load(scale);

    let mut report = Report::new("a: fan-out (rooms of 10 and one of 500), SQLite");
    let target = Target::start(launch).await?;
    let outcome = run_once(&Deployment::single(&target), &shape, offered, &mut report).await?;
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
    let outcome = run_once(&Deployment::single(&target), &shape, offered, &mut report).await?;
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
                250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0,
                5000.0, 6000.0, 8000.0, 10000.0,
            ],
        ),
        Scale::Smoke => (20, 4, 1, &[20.0, 40.0]),
    };
    let shape = Shape { users, rooms: Shape::small_rooms(rooms, users / rooms) };

    let mut report = Report::new("b: highest persisted rate with p99 <= 100 ms, SQLite");
    let target = Target::start(launch).await?;
    let deployment = Deployment::single(&target);
    let population = Population::build(&deployment.apis()?, &shape, "rate").await?;
    let mut newest = HashMap::new();
    let mut best = 0.0_f64;
    for (step, &rate) in rates.iter().enumerate() {
        let offered = Offered::new(rate, step_secs);
        let run = format!("b{step}");
        let outcome = traffic(&deployment, &population, offered, &newest, &run).await?;
        newest.extend(outcome.sent.finals.iter().map(|(room, seq)| (*room, *seq)));

        let (p99, lost) = (outcome.totals.ms(0.99), outcome.totals.lost);
        let persisted = outcome.sent.persisted_per_second();
        // The CPU shares say whether a step was limited by the server or by the load
        // generator beside it, and how much server time a message costs.
        let (server, loadgen) = (outcome.cpu_percent, outcome.loadgen_cpu);
        report.push(Row::info(
            &format!("offered {rate:.0}/s"),
            format!(
                "persisted {persisted:.0}/s, p99 {p99:.1} ms, lost {lost}, \
                 CPU server {server:.0}% load generator {loadgen:.0}%"
            ),
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
pub async fn run_once(
    deployment: &Deployment<'_>,
    shape: &Shape,
    offered: Offered,
    report: &mut Report,
) -> Result<Outcome> {
    let population = Population::build(&deployment.apis()?, shape, "user").await?;
    report.push(Row::info("users (one socket each)", shape.users));
    report.push(Row::info("rooms", shape.rooms.len()));
    report.push(Row::info(
        "offered",
        format!("{:.0} messages/s for {} s", offered.per_second, offered.duration.as_secs()),
    ));
    traffic(deployment, &population, offered, &HashMap::new(), "run").await
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}
