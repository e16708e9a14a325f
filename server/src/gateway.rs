//! The WebSocket endpoint. The upgrade checks Origin and session; then each socket runs one
//! loop that forwards hub events addressed to its user's rooms, pings, and notices revocation.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

use app::ids::{RoomId, UserId};
use app::live::hub::{Audience, Signal};
use app::live::protocol::{PROTOCOL_VERSION, ServerEvent};
use app::state::AppState;

use crate::security::Origins;

/// Largest frame or message accepted from a client.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Per-socket I/O buffers. tungstenite's 128 KiB defaults would cost megabytes per hundred
/// idle sockets; events are small.
const BUFFER_BYTES: usize = 4 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);
/// Close code for "policy violation" (RFC 6455): used when the session is no longer valid.
const CLOSE_POLICY: u16 = 1008;

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

    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .on_upgrade(move |socket: WebSocket| {
            let (sink, stream) = socket.split();
            run(sink, stream, state, session, user.id)
        })
}

/// One socket's life. Written against `Sink` and `Stream` so tests can drive it with channels.
pub async fn run<W, R>(mut sink: W, mut stream: R, state: AppState, session: Session, user: UserId)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    // Subscribe before reading the room list, so an event published in between is not lost.
    let mut events = state.hub.subscribe();
    let mut rooms: HashSet<RoomId> = match app::rooms::store::room_ids_of(&state.db, user).await {
        Ok(ids) => ids.into_iter().collect(),
        Err(_) => return,
    };
    tracing::debug!(user_id = %user, rooms = rooms.len(), "socket open");

    if send(&mut sink, &ServerEvent::Hello { version: PROTOCOL_VERSION, user_id: user }).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;

    loop {
        tokio::select! {
            received = events.recv() => {
                let outgoing = match received {
                    Ok(envelope) => {
                        let for_me = match envelope.audience {
                            Audience::Room(room) => rooms.contains(&room),
                            Audience::User(id) => id == user,
                        };
                        if !for_me {
                            continue;
                        }
                        match &envelope.signal {
                            Signal::Event(event) => {
                                follow(&mut rooms, event);
                                event.clone()
                            }
                            Signal::SessionEnded(ended) => {
                                if session.id().map(|id| id.to_string()).as_ref() != Some(ended) {
                                    continue;
                                }
                                close(&mut sink, CLOSE_POLICY, "logged out").await;
                                break;
                            }
                            Signal::SessionsRevoked => {
                                if still_valid(&session, &state).await {
                                    continue;
                                }
                                close(&mut sink, CLOSE_POLICY, "session ended").await;
                                break;
                            }
                        }
                    }
                    // This socket fell behind the hub's buffer: say so, so the client refetches
                    // instead of silently missing events.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(user_id = %user, missed, "socket lagged; asking to resync");
                        ServerEvent::Resync
                    }
                    Err(RecvError::Closed) => break,
                };
                if send(&mut sink, &outgoing).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    tracing::debug!(user_id = %user, error = %e, "socket read failed");
                    break;
                }
                // The client speaks through server functions for now; pongs and other frames
                // only prove it is alive.
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    tracing::debug!(user_id = %user, "socket closed");
}

/// Keeps the socket's room set in step with the user's memberships.
fn follow(rooms: &mut HashSet<RoomId>, event: &ServerEvent) {
    match event {
        ServerEvent::Joined { room_id } => {
            rooms.insert(*room_id);
        }
        ServerEvent::Left { room_id } => {
            rooms.remove(room_id);
        }
        _ => {}
    }
}

async fn still_valid(session: &Session, state: &AppState) -> bool {
    matches!(app::session::current_user(session, state).await, Ok(Some(_)))
}

async fn send<W: Sink<Message> + Unpin>(sink: &mut W, event: &ServerEvent) -> Result<(), ()> {
    let text = serde_json::to_string(event).map_err(|e| {
        tracing::error!(error = %e, "event serialization failed");
    })?;
    sink.send(Message::Text(text.into())).await.map_err(|_| ())
}

async fn close<W: Sink<Message> + Unpin>(sink: &mut W, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    // The peer may already be gone; the socket is ending either way.
    if sink.send(Message::Close(Some(frame))).await.is_err() {
        tracing::trace!("close frame not delivered");
    }
}
