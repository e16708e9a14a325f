//! Cross-origin defences and the headers every answer carries.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Origins allowed to change state and open sockets, besides the server's own.
#[derive(Clone, Debug, Default)]
pub struct Origins(pub Arc<Vec<String>>);

impl Origins {
    /// Browsers send `Origin` on every cross-site POST and WebSocket handshake, so a missing
    /// header means a non-browser client (a bot, curl), which cookies do not ride along with
    /// by accident. A present one must be this server or an allowed origin.
    pub fn allow(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
            return true;
        };
        let own = headers.get(HOST).and_then(|h| h.to_str().ok()).is_some_and(|host| {
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        });
        own || self.0.iter().any(|allowed| allowed == origin)
    }
}

/// Refuses state-changing requests from foreign origins (cross-site request forgery).
pub async fn check_origin(
    State(origins): State<Origins>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !origins.allow(request.headers()) {
        tracing::warn!(origin = ?request.headers().get(ORIGIN), "cross-origin request refused");
        return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
    }
    next.run(request).await
}

/// Used for HTML answers that did not set their own policy (errors, fallbacks).
const FALLBACK_CSP: &str = "default-src 'none'; style-src 'self'; frame-ancestors 'none'";

/// Security headers for every answer; `no-store` for everything but the static bundle, since
/// pages and API answers carry one user's data.
pub async fn headers(request: Request, next: Next) -> Response<Body> {
    let is_static = request.uri().path().starts_with("/pkg/")
        || matches!(request.uri().path(), "/favicon.svg" | "/robots.txt");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();

    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let is_html = headers
        .get(CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_html && !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(FALLBACK_CSP));
    }
    if !is_static {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            h.insert(ORIGIN, origin.parse().unwrap());
        }
        h
    }

    #[test]
    fn own_origin_and_allowed_origins_pass() {
        let origins = Origins(Arc::new(vec!["https://chat.example".into()]));

        assert!(origins.allow(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")));
        assert!(origins.allow(&headers(Some("https://chat.example"), "10.0.0.1:3000")));
        assert!(origins.allow(&headers(None, "127.0.0.1:3000")));
    }

    #[test]
    fn foreign_and_null_origins_are_refused() {
        let origins = Origins::default();

        assert!(!origins.allow(&headers(Some("https://evil.example"), "127.0.0.1:3000")));
        assert!(!origins.allow(&headers(Some("null"), "127.0.0.1:3000")));
        assert!(!origins.allow(&headers(Some("http://127.0.0.1:3000.evil"), "127.0.0.1:3000")));
    }
}
