//! The Parley server: read config, open the store, serve until SIGTERM or Ctrl-C.

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

    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %config.database.display(), "listening");

    server::serve(config, listener, server::shutdown::signal()).await
}
