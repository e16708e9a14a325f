//! Who is calling: the session cookie resolved to a user.
//!
//! tower-sessions keeps the session in the database. A session holds the user id and the
//! user's `auth_version` at log-in; changing the password bumps the version, so every older
//! session stops resolving at once without having to find and delete it.
//!
//! A session ends after a month unused (`Expiry::OnInactivity`, set in the server's router).
//! tower-sessions writes a session's new expiry only when the session changes, so each
//! session notes the day it was last used: an active user stays signed in at the cost of one
//! write a day, not one per request.

use tower_sessions::Session;

use crate::error::AppError;
use crate::ids::UserId;
use crate::state::{AppState, now_ms};
use crate::users::{User, store};

const USER_ID: &str = "user_id";
const AUTH_VERSION: &str = "auth_version";
/// The day (counted from the Unix epoch) the session was last used.
const ACTIVE_DAY: &str = "active_day";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The signed-in user, or `None` for a visitor or a session that was revoked.
pub async fn current_user(session: &Session, state: &AppState) -> Result<Option<User>, AppError> {
    let Some(id) = session.get::<UserId>(USER_ID).await? else {
        return Ok(None);
    };
    let version = session.get::<i64>(AUTH_VERSION).await?.unwrap_or(-1);
    let user = store::by_session(&state.db, id, version).await?;
    if user.is_some() {
        keep_alive(session, now_ms()).await?;
    }
    Ok(user)
}

/// Marks the session used today; the first use of a day changes it, so its expiry moves on.
async fn keep_alive(session: &Session, now_ms: i64) -> Result<(), AppError> {
    let today = now_ms / DAY_MS;
    if session.get::<i64>(ACTIVE_DAY).await? != Some(today) {
        session.insert(ACTIVE_DAY, today).await?;
    }
    Ok(())
}

/// Binds the session to a user under a fresh id, so a session id planted before log-in
/// (fixation) is worthless after it.
pub async fn begin(session: &Session, id: UserId, auth_version: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(USER_ID, id).await?;
    session.insert(AUTH_VERSION, auth_version).await?;
    session.insert(ACTIVE_DAY, now_ms() / DAY_MS).await?;
    Ok(())
}

/// Keeps this session valid after the caller's own password change. The id stays: it was
/// already fresh at log-in (where fixation matters), and the tab's open sockets know their
/// session by it, so they can tell that this session, unlike the others, lives on.
pub async fn renew(session: &Session, auth_version: i64) -> Result<(), AppError> {
    session.insert(AUTH_VERSION, auth_version).await?;
    Ok(())
}

/// Deletes the session record, so the cookie the browser still holds is dead.
pub async fn end(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

/// The state and session of the current server function call.
pub async fn context() -> Result<(AppState, Session), AppError> {
    let state = AppState::from_context()?;
    let session = leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing");
        AppError::Internal
    })?;
    Ok((state, session))
}

/// The state and signed-in user of the current server function call, or `Unauthenticated`.
pub async fn require_user() -> Result<(AppState, User), AppError> {
    let (state, session) = context().await?;
    let user = current_user(&session, &state).await?.ok_or(AppError::Unauthenticated)?;
    Ok((state, user))
}

/// Whether the request is a browser's own form submission (it accepts HTML) rather than a
/// call from the WASM app.
pub async fn is_plain_form_post() -> bool {
    use axum::http::header::ACCEPT;

    leptos_axum::extract::<axum::http::HeaderMap>().await.is_ok_and(|headers| {
        headers.get(ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"))
    })
}

/// The client's address: the TCP peer, or, when the peer is one of the configured reverse
/// proxies (`PARLEY_TRUSTED_PROXIES`), the address that proxy saw (`X-Forwarded-For`).
/// Without that, every client behind nginx would share one address and one rate limit.
pub async fn client_ip() -> std::net::IpAddr {
    use axum::extract::ConnectInfo;
    use axum::http::HeaderMap;
    use std::net::{Ipv4Addr, SocketAddr};

    let peer = match leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
        Ok(ConnectInfo(addr)) => addr.ip(),
        Err(_) => return Ipv4Addr::UNSPECIFIED.into(),
    };
    let trusted = leptos::prelude::use_context::<AppState>()
        .map(|state| state.trusted_proxies)
        .unwrap_or_default();
    let headers = leptos_axum::extract::<HeaderMap>().await.unwrap_or_default();
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    forwarded_client(peer, forwarded, &trusted)
}

/// Walks `X-Forwarded-For` from the right, past every trusted proxy: the first address not
/// among them is the client. Entries further left were written by the client itself and
/// prove nothing, so they are never used.
pub fn forwarded_client(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops = forwarded_for.unwrap_or_default().rsplit(',').map(str::trim);
    for hop in hops {
        match hop.parse() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // An unreadable entry: stop at the last address we could trust.
            Err(_) => break,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::{DAY_MS, forwarded_client, keep_alive};
    use std::net::IpAddr;
    use std::sync::Arc;
    use tower_sessions::{MemoryStore, Session};

    #[tokio::test]
    async fn a_session_is_rewritten_once_a_day_of_use_not_on_every_request() {
        let store = Arc::new(MemoryStore::default());
        let monday = 20_000 * DAY_MS;

        let first = Session::new(None, store.clone(), None);
        keep_alive(&first, monday).await.unwrap();
        assert!(first.is_modified(), "the first use of a day extends the session");
        first.save().await.unwrap();

        // Each request loads the session afresh.
        let later = Session::new(first.id(), store.clone(), None);
        keep_alive(&later, monday + 3_600_000).await.unwrap();
        assert!(!later.is_modified(), "later requests that day write nothing");

        let tomorrow = Session::new(first.id(), store, None);
        keep_alive(&tomorrow, monday + DAY_MS).await.unwrap();
        assert!(tomorrow.is_modified(), "the next day extends it again");
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_direct_client_cannot_claim_another_address() {
        let seen = forwarded_client(ip("203.0.113.9"), Some("10.0.0.1"), &[ip("127.0.0.1")]);

        assert_eq!(seen, ip("203.0.113.9"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_address_it_saw_counts() {
        let proxies = [ip("127.0.0.1"), ip("10.0.0.2")];

        let one_hop = forwarded_client(ip("127.0.0.1"), Some("198.51.100.7"), &proxies);
        let spoofed =
            forwarded_client(ip("127.0.0.1"), Some("1.2.3.4, 198.51.100.7, 10.0.0.2"), &proxies);
        let missing = forwarded_client(ip("127.0.0.1"), None, &proxies);

        assert_eq!(one_hop, ip("198.51.100.7"));
        assert_eq!(spoofed, ip("198.51.100.7"), "the client-written part is ignored");
        assert_eq!(missing, ip("127.0.0.1"));
    }
}
