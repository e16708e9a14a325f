//! The Parley server: read config, open the store, serve until SIGTERM or Ctrl-C.

use server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    server::telemetry::init(&config.log);

    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %config.database.display(), "listening");

    server::serve(config, listener, server::shutdown::signal()).await
}
