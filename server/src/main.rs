//! The Parley server: read config, open the store, serve until SIGTERM or Ctrl-C.
//!
//! `parley migrate-to-postgres <postgres-url>` instead copies the SQLite database named by
//! the configuration into an empty PostgreSQL database, then exits.

use anyhow::Context;

use server::config::Config;

/// Each sign-up and log-in hashes with argon2id's 19 MiB of memory on a blocking thread.
/// glibc's allocator kept those blocks in per-thread arenas and never gave them back (3 GiB
/// resident after 1,000 sign-ups, see BENCHMARKS.md); mimalloc returns freed pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    server::telemetry::init(&config.log);

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {}
        [command, target] if command == "migrate-to-postgres" => {
            return server::transfer::run(&config, target).await;
        }
        _ => anyhow::bail!("usage: parley [migrate-to-postgres <postgres://...>]"),
    }

    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("PARLEY_ADDR ({})", config.addr))?;
    server::serve(config, listener, server::shutdown::signal()).await
}
