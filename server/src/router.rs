//! Every route and layer. Layers are listed outermost last, as axum applies them: a request
//! meets tracing, then security headers, the body limit, the Origin check, sessions, and the
//! error-status mapping before it reaches a handler.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};

use app::db::Db;
use app::limits::{RateConfig, RateLimits};
use app::live::bus::BusLink;
use app::live::hub::Hub;
use app::live::protocol::SOCKET_PATH;
use app::state::AppState;
use app::{App, shell};

use crate::config::Config;
use crate::security::Origins;
use crate::sessions::Sessions;
use crate::{errors, gateway, health, security};

/// Sessions idle this long expire.
const SESSION_IDLE_DAYS: i64 = 30;
/// How often expired sessions and idle rate-limit counters are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60 * 10);

/// Everything a handler may extract with `State`.
#[derive(Clone, FromRef)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub app: AppState,
    pub origins: Origins,
}

/// The router, and the state behind it (the caller needs its hub to shut down).
pub async fn build(config: &Config) -> anyhow::Result<(Router, AppState)> {
    std::fs::create_dir_all(&config.data_dir)?;
    let db = Db::open(config.database.as_str())
        .await
        .with_context(|| format!("PARLEY_DATABASE ({})", config.database))?;
    let limits = RateLimits::new(RateConfig {
        login_per_minute: config.login_per_minute,
        signup_per_hour: config.signup_per_hour,
        sends_per_minute: config.sends_per_minute,
    });
    let hub = match &config.redis_url {
        Some(url) => {
            let (link, outbox) = BusLink::new();
            let hub = Hub::with_bus(link);
            app::live::redis::start(url.as_str(), hub.clone(), outbox)
                .await
                .with_context(|| format!("PARLEY_REDIS_URL ({url})"))?;
            hub
        }
        None => Hub::new(),
    };
    let app_state =
        AppState::new(db.clone(), hub, limits).with_trusted_proxies(&config.trusted_proxies);

    let sessions = Sessions::open(&db).await?;
    spawn_sweeper(sessions.clone(), app_state.clone());
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("parley_session")
        .with_secure(config.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(SESSION_IDLE_DAYS)));

    let leptos = LeptosOptions::builder()
        .output_name("parley")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build();
    let origins = Origins(Arc::new(config.allowed_origins.clone()));
    let state = ServerState { leptos: leptos.clone(), app: app_state.clone(), origins };

    let context = {
        let app_state = app_state.clone();
        move || provide_context(app_state.clone())
    };
    let routes = route_list();
    let router = Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route(SOCKET_PATH, get(gateway::upgrade))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let leptos = leptos.clone();
            move || shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<ServerState, _>(
            context, shell,
        ))
        .layer(middleware::from_fn(errors::server_fn_status))
        .layer(session_layer)
        .layer(middleware::from_fn_with_state(state.origins.clone(), security::check_origin))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(middleware::from_fn(security::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    Ok((router, app_state))
}

/// Deletes expired sessions and forgets idle rate-limit counters, forever.
fn spawn_sweeper(sessions: Sessions, state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = sessions.delete_expired().await {
                tracing::error!(error = %e, "deleting expired sessions failed");
            }
            state.limits.forget_idle();
        }
    });
}

/// The app's routes, found once per process. Finding them renders the app with Leptos'
/// process-wide "suppress resource loading" flag set, so a resource that another server in
/// the same process created meanwhile would never load and its page would never answer.
/// Only tests run several servers in one process, but they did hang on exactly that.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}
