//! The Parley server binary's pieces. `app` holds the product; this crate wires it to HTTP.
//!
//! # Layout
//!
//! - [`config`]: the typed configuration read from the environment.
//! - [`router`]: every route and layer, in the order a request meets them.
//! - [`gateway`]: the WebSocket endpoint: checks, then the per-socket event loop.
//! - [`security`]: Origin checks and the security headers on every answer.
//! - [`sessions`]: the session store, on the same database as everything else.
//! - [`errors`]: where a server function's `AppError` becomes an HTTP status.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`shutdown`], [`telemetry`]: signals and logs.
//! - [`transfer`]: `parley migrate-to-postgres`, moving a SQLite deployment to PostgreSQL.

pub mod config;
pub mod errors;
pub mod gateway;
pub mod health;
pub mod router;
pub mod security;
pub mod sessions;
pub mod shutdown;
pub mod telemetry;
pub mod transfer;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use config::Config;

/// Longest wait for open requests and sockets to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the store and serves on `listener` until `shutdown` completes, then drains: stop
/// accepting, tell every socket to reconnect (close 1012), let requests finish, exit.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (router, state) = router::build(&config).await?;
    // Only now: a store that failed to open stopped start-up before anything was announced.
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %config.database, bus = config.redis_url.is_some(), "listening");
    let hub = state.hub.clone();
    let mut stopping = hub.shutdown_signal();
    let drain = {
        let hub = hub.clone();
        async move {
            shutdown.await;
            hub.shut_down();
        }
    };

    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(drain)
        .into_future();
    let deadline = async {
        if stopping.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::warn!("drain timed out; exiting with requests open"),
    }

    // Upgraded sockets are not tracked by the HTTP server: give them a moment to send their
    // close frames, which they do as soon as the hub says so.
    let sockets_gone = async {
        while hub.presence.has_local_sockets() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(1), sockets_gone).await.is_err() {
        tracing::warn!("some sockets did not close in time");
    }
    tracing::info!("stopped");
    Ok(())
}
