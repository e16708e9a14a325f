//! (f) The server-rendered room page: time to first byte, as a browser opening a room link
//! waits for it. The page renders fully before its first byte (`SsrMode::Async`), so this is
//! the whole render.

use std::time::Instant;

use anyhow::{Result, ensure};

use crate::population::{Population, Shape};
use crate::report::{Report, Row};
use crate::tally::new_histogram;
use crate::target::{Launch, Target};

use super::Scale;

/// Messages in the room, enough to fill the first page.
const MESSAGES: usize = 100;

pub async fn room_page(launch: &Launch, scale: Scale) -> Result<Report> {
    let requests = match scale {
        Scale::Full => 1000,
        Scale::Smoke => 20,
    };
    let mut report = Report::new("f: server-rendered room page, time to first byte");
    let target = Target::start(launch).await?;
    let shape = Shape { users: 2, rooms: vec![vec![0, 1]] };
    let population = Population::build(&[target.api()?], &shape, "page").await?;
    let (room, _) = population.rooms[0];
    for n in 0..MESSAGES {
        let author = &population.accounts[n % 2];
        author.send(room, &format!("page-{n}"), &format!("message number {n}")).await?;
    }

    let reader = &population.accounts[1];
    let path = format!("/r/{room}");
    let mut ttfb = new_histogram();
    for _ in 0..requests {
        let started = Instant::now();
        let response = reader.get_page(&path).send().await?;
        ttfb.saturating_record(started.elapsed().as_micros() as u64);
        ensure!(response.status().is_success(), "the room page answered {}", response.status());
        let html = response.text().await?;
        ensure!(html.contains("message number 99"), "the page lacks the newest message");
    }
    let ms = |q: f64| ttfb.value_at_quantile(q) as f64 / 1000.0;
    report.push(Row::info("requests (one at a time)", requests));
    report.push(Row::info("time to first byte p50", format!("{:.2} ms", ms(0.5))));
    report.push(Row::at_most("time to first byte p99", ms(0.99), scale.target(20.0), "ms"));
    target.stop().await?;
    Ok(report)
}
