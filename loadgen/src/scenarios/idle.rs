//! (d) Many idle authenticated sockets: the server's memory per open connection.
//!
//! Users hold several sockets each, as people with several tabs and devices do; the
//! connection count, not the user count, is what is measured.

use std::time::Duration;

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt, stream};
use tokio::sync::watch;

use crate::population::{Population, Shape};
use crate::report::{Report, Row};
use crate::socket::Idler;
use crate::target::{Launch, Target};

use super::Scale;
use super::chat::mib;

const CONNECT_CONCURRENCY: usize = 64;
/// Time for the server's allocator and the sockets to settle before reading memory.
const SETTLE: Duration = Duration::from_secs(3);

pub async fn idle_connections(launch: &Launch, scale: Scale) -> Result<Report> {
    let (users, connections) = match scale {
        Scale::Full => (1000, 10_000),
        Scale::Smoke => (5, 50),
    };
    // Each socket is a file descriptor here and one in the server, which inherits the limit.
    raise_open_file_limit(connections as u64 + 1024)?;

    let mut report = Report::new("d: idle authenticated connections, RSS per connection");
    let target = Target::start(launch).await?;
    let shape = Shape { users, rooms: Vec::new() };
    let population = Population::build(&[target.api()?], &shape, "idle").await?;

    // Sign-ups hash passwords with 19 MiB each; restart so that memory, freed or not, is not
    // in the baseline. Sessions live in the database and survive the restart.
    target.stop().await?;
    let target = Target::start(launch).await?;
    let population = population.moved_to(&target.base)?;
    tokio::time::sleep(SETTLE).await;
    let before = target.rss_bytes()?;

    let idlers: Vec<Idler> = stream::iter(0..connections)
        .map(|n| Idler::connect(&population.accounts[n % users]))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .try_collect()
        .await
        .context("opening the idle sockets")?;
    let (stop_tx, stop) = watch::channel(false);
    let held: Vec<_> =
        idlers.into_iter().map(|idler| tokio::spawn(idler.hold(stop.clone()))).collect();
    tokio::time::sleep(SETTLE).await;
    let after = target.rss_bytes()?;

    // Every socket must still be open at the end, or the figure would flatter the server.
    stop_tx.send_replace(true);
    for socket in held {
        socket.await??;
    }

    let per_connection = after.saturating_sub(before) as f64 / connections as f64 / 1024.0;
    report.push(Row::info("users", users));
    report.push(Row::info("open sockets", connections));
    report.push(Row::info("server RSS before sockets", format!("{:.1} MiB", mib(before))));
    report.push(Row::info("server RSS with sockets", format!("{:.1} MiB", mib(after))));
    let limit = scale.target(10.0);
    report.push(Row::at_most("RSS per connection", per_connection, limit, "KiB"));
    target.stop().await?;
    Ok(report)
}

/// Raises this process's soft limit on open files; the server it starts inherits it.
fn raise_open_file_limit(wanted: u64) -> Result<()> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < wanted {
        anyhow::ensure!(
            hard >= wanted,
            "{wanted} open files are needed but the hard limit is {hard} (raise `ulimit -Hn`)"
        );
        rlimit::Resource::NOFILE.set(wanted, hard)?;
    }
    Ok(())
}
