//! The Parley server binary's pieces. `app` holds the product; this crate wires it to HTTP.
//!
//! # Layout
//!
//! - [`config`]: the typed configuration read from the environment.
//! - [`router`]: every route and layer, in the order a request meets them.
//! - [`gateway`]: the WebSocket endpoint: checks, then the per-socket event loop.
//! - [`security`]: Origin checks and the security headers on every answer.
//! - [`errors`]: where a server function's `AppError` becomes an HTTP status.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`shutdown`], [`telemetry`]: signals and logs.

pub mod config;
pub mod errors;
pub mod gateway;
pub mod health;
pub mod router;
pub mod security;
pub mod shutdown;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use config::Config;

/// Opens the store and serves on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = router::build(&config).await?;

    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;

    tracing::info!("stopped");
    Ok(())
}
