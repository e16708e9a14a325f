//! Shared server state, handed to every server function and page render as Leptos context.

use std::net::IpAddr;
use std::sync::Arc;

use crate::db::Db;
use crate::limits::RateLimits;
use crate::live::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    /// The store of record: SQLite by default, PostgreSQL when several instances share it.
    pub db: Db,
    /// Fan-out of committed events to open sockets; the only place events are published.
    pub hub: Hub,
    /// Per-IP and per-account attempt counters for log-in and sign-up.
    pub limits: Arc<RateLimits>,
    /// Reverse proxies whose `X-Forwarded-For` tells the client's address.
    pub trusted_proxies: Arc<[IpAddr]>,
}

impl AppState {
    pub fn new(db: Db, hub: Hub, limits: RateLimits) -> Self {
        Self { db, hub, limits: Arc::new(limits), trusted_proxies: Arc::new([]) }
    }

    pub fn with_trusted_proxies(mut self, proxies: &[IpAddr]) -> Self {
        self.trusted_proxies = proxies.into();
        self
    }

    /// The state inside a server function or a server render.
    pub fn from_context() -> Result<Self, crate::error::AppError> {
        leptos::prelude::use_context::<Self>().ok_or_else(|| {
            tracing::error!("AppState missing from Leptos context");
            crate::error::AppError::Internal
        })
    }
}

/// Milliseconds since the Unix epoch: every timestamp Parley stores.
pub fn now_ms() -> i64 {
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
