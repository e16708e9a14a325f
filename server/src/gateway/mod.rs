//! The WebSocket endpoint. The upgrade checks Origin and session and sets the size limits;
//! `connection` runs each socket; `frames` reads client frames and names refusals.

pub mod connection;
pub mod frames;

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tower_sessions::Session;

use app::state::AppState;

use crate::security::Origins;
use connection::Peer;

/// Largest frame or message accepted from a client (axum's default is 64 MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Per-socket I/O buffers. tungstenite's 128 KiB defaults would cost megabytes per hundred
/// idle sockets; events are small, and a bigger frame (up to the limit above) still arrives,
/// read in more chunks. At 1 KiB an idle socket costs under 10 KiB of server memory in all
/// (BENCHMARKS.md, scenario d); at 4 KiB it cost 18 KiB.
const BUFFER_BYTES: usize = 1024;

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    State(origins): State<Origins>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    if !origins.allow(&headers) {
        tracing::warn!(origin = ?headers.get("origin"), "socket from foreign origin refused");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let user = match app::session::current_user(&session, &state).await {
        Ok(Some(user)) => user,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "log in first").into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let session_id = session.id().map(|id| id.to_string());
    let peer = Peer { user, session, session_id };

    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .on_upgrade(move |socket: WebSocket| {
            let (sink, stream) = socket.split();
            connection::run(sink, stream, state, peer)
        })
}
