//! (e) Reading the newest page of a very long room over HTTP, and (h) starting the server
//! cold on that database. Both need the same million messages, so one command seeds once and
//! measures both.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use futures::{StreamExt, TryStreamExt, stream};

use crate::population::{Population, Shape};
use crate::report::{Report, Row};
use crate::tally::new_histogram;
use crate::target::{Launch, Target};

use super::Scale;

/// Sends in flight while seeding: enough to keep the server's writer busy.
const SEED_CONCURRENCY: usize = 64;
/// Messages per seeding author; ten authors share the room.
const AUTHORS: usize = 10;

pub async fn long_room(launch: &Launch, scale: Scale) -> Result<Report> {
    let (messages, reads) = match scale {
        Scale::Full => (launch.history_messages.unwrap_or(1_000_000), 2_000),
        Scale::Smoke => (300, 50),
    };
    let mut report = Report::new("e + h: newest page of a long room, cold start on it, SQLite");
    let target = Target::start(launch).await?;
    let shape = Shape { users: AUTHORS, rooms: vec![(0..AUTHORS).collect()] };
    let population = Population::build(&[target.api()?], &shape, "hist").await?;
    let (room, _) = population.rooms[0].clone();

    // Seed through the real send path, round-robin over the authors.
    let seeding = Instant::now();
    stream::iter(0..messages)
        .map(|n| {
            let account = &population.accounts[n % AUTHORS];
            async move { account.send(room, &format!("seed-{n}"), &format!("message {n}")).await }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await
        .context("seeding the room")?;
    let seed_rate = messages as f64 / seeding.elapsed().as_secs_f64();
    report.push(Row::info("messages in the room", messages));
    report.push(Row::info("seeding rate (64 in flight)", format!("{seed_rate:.0} messages/s")));

    // (e) The newest page, one request at a time, as a client opening the room does.
    let reader = &population.accounts[1];
    let mut latency = new_histogram();
    for _ in 0..reads {
        let started = Instant::now();
        let page = reader.newest_page(room).await?;
        latency.saturating_record(started.elapsed().as_micros() as u64);
        ensure!(page.messages.len() == 50, "a page held {} messages", page.messages.len());
        ensure!(page.messages.last().map(|m| m.seq) == Some(messages as i64), "stale page");
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    report.push(Row::info("newest page p50", format!("{:.2} ms", ms(0.5))));
    report.push(Row::at_most("newest page p99", ms(0.99), scale.target(5.0), "ms"));

    // (h) Stop, then start again on the same data folder and time it to the first 200.
    target.stop().await?;
    let restarted = Target::start(launch).await?;
    let start_ms = restarted.start_time.as_secs_f64() * 1000.0;
    report.push(Row::at_most("cold start to first 200", start_ms, scale.target(500.0), "ms"));
    restarted.stop().await?;
    Ok(report)
}
