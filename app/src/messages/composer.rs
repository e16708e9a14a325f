//! The composer: Enter sends, Shift+Enter adds a line. A sent message shows as pending until
//! the server acknowledges it (after its commit). One that could not reach the server waits
//! and is sent again, under the same client id, when the connection is back: the server
//! answers a repeated id with the original message, so it is never posted twice. One the
//! server refused for coming too fast is sent again, the same way, when the server allows.
//! Messages sent again leave one at a time, oldest first, and new ones line up behind them,
//! so the room shows them in the order they were written.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::send_message;
use super::rules::{MESSAGE_MAX, remaining};
use crate::error::AppError;
use crate::ids::RoomId;
use crate::live::protocol::ClientFrame;
use crate::live::state::{LiveState, send};

/// Show the count of characters left once fewer than this remain.
const SHOW_REMAINING_BELOW: i64 = 500;
/// While typing, tell the room again this often (ms); the indicator expires without it.
const TYPING_REPEAT_MS: f64 = 3_000.0;

/// A message this tab sent that the server has not acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub room_id: RoomId,
    pub client_id: String,
    pub body: String,
    pub state: PendingState,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PendingState {
    Sending,
    /// The server could not be reached; sent again on reconnect.
    Waiting,
    /// The server said this writer is sending too fast; sent again when it allows.
    Held,
    /// Behind a held or waiting message; sent after it.
    Queued,
    /// The server refused it; the writer decides (retry or discard).
    Failed(String),
}

impl PendingState {
    /// Whether it is waiting for its turn; later messages line up behind it.
    fn is_queued(&self) -> bool {
        matches!(self, Self::Held | Self::Queued)
    }
}

#[cfg(feature = "hydrate")]
fn new_client_id() -> String {
    let part = || (js_sys::Math::random() * 4_294_967_296.0) as u32;
    format!("{:08x}{:08x}{:08x}{:08x}", part(), part(), part(), part())
}

/// Sends start from browser events only; the server never composes.
#[cfg(not(feature = "hydrate"))]
fn new_client_id() -> String {
    String::new()
}

#[cfg(feature = "hydrate")]
fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(feature = "hydrate"))]
fn now_ms() -> f64 {
    0.0
}

/// Enter sends; Shift+Enter adds a line; Enter that confirms an IME composition does neither.
pub fn is_send_key(ev: &leptos::ev::KeyboardEvent) -> bool {
    ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing()
}

fn set_state(live: LiveState, client_id: &str, state: PendingState) {
    live.pending.update(|p| {
        if let Some(x) = p.iter_mut().find(|x| x.client_id == client_id) {
            x.state = state;
        }
    });
}

/// Sends `item` now, or, when earlier messages are held back or queued, after them: a room
/// gets this tab's messages in the order they were written.
fn dispatch(item: Pending, live: LiveState) {
    let behind = live.pending.with_untracked(|p| {
        p.iter().any(|x| x.client_id != item.client_id && x.state.is_queued())
    });
    if behind {
        set_state(live, &item.client_id, PendingState::Queued);
    } else {
        send_now(item, live);
    }
}

fn send_now(item: Pending, live: LiveState) {
    set_state(live, &item.client_id, PendingState::Sending);
    spawn_local(async move {
        let client_id = item.client_id;
        match send_message(item.room_id, client_id.clone(), item.body).await {
            Ok(message) => {
                live.pending.update(|p| p.retain(|x| x.client_id != client_id));
                live.remember(message);
            }
            // No answer, or the server failed: worth sending again once reconnected.
            Err(AppError::Internal) => set_state(live, &client_id, PendingState::Waiting),
            Err(AppError::RateLimited { retry_after_secs }) => {
                set_state(live, &client_id, PendingState::Held);
                let wait = std::time::Duration::from_secs(retry_after_secs);
                return set_timeout(move || release_next(live), wait);
            }
            Err(e) => set_state(live, &client_id, PendingState::Failed(e.to_string())),
        }
        release_next(live);
    });
}

/// Sends the oldest held or queued message once nothing is in flight. Each answer calls this
/// again, so they leave one at a time, in order.
fn release_next(live: LiveState) {
    let next = live.pending.with_untracked(|p| {
        if p.iter().any(|x| x.state == PendingState::Sending) {
            return None;
        }
        p.iter().find(|x| x.state.is_queued()).cloned()
    });
    if let Some(item) = next {
        send_now(item, live);
    }
}

/// Sends a failed message again under its original client id.
pub fn retry(item: Pending, live: LiveState) {
    dispatch(item, live);
}

/// Sends every message that is waiting for the connection, oldest first, one at a time.
pub fn retry_waiting(live: LiveState) {
    live.pending.update(|p| {
        for x in p.iter_mut().filter(|x| x.state == PendingState::Waiting) {
            x.state = PendingState::Queued;
        }
    });
    release_next(live);
}

#[component]
pub fn Composer(id: RoomId) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let text = RwSignal::new(String::new());
    let left = Memo::new(move |_| remaining(&text.read()));
    let can_send = move || left.get() >= 0 && !text.read().trim().is_empty();
    let typing_sent_at = StoredValue::new(None::<f64>);

    let stop_typing = move || {
        if typing_sent_at.get_value().is_some() {
            typing_sent_at.set_value(None);
            send(ClientFrame::Typing { room_id: id, active: false });
        }
    };
    let on_input = move |value: String| {
        let empty = value.trim().is_empty();
        text.set(value);
        if empty {
            return stop_typing();
        }
        let now = now_ms();
        if typing_sent_at.get_value().is_none_or(|at| now - at > TYPING_REPEAT_MS) {
            typing_sent_at.set_value(Some(now));
            send(ClientFrame::Typing { room_id: id, active: true });
        }
    };
    on_cleanup(stop_typing);

    let submit = move || {
        if !can_send() {
            return;
        }
        let item = Pending {
            room_id: id,
            client_id: new_client_id(),
            body: text.get_untracked(),
            state: PendingState::Sending,
        };
        text.set(String::new());
        stop_typing();
        live.pending.update(|p| p.push(item.clone()));
        dispatch(item, live);
    };

    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="composer" class="visually-hidden">"Message"</label>
            <textarea
                id="composer"
                rows="1"
                placeholder="Write a message…"
                aria-describedby="composer-count"
                prop:value=text
                on:input=move |ev| on_input(event_target_value(&ev))
                on:keydown=move |ev| {
                    if is_send_key(&ev) {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <span
                id="composer-count"
                class="count"
                class:over=move || left.get() < 0
                aria-live="polite"
            >
                {move || {
                    let left = left.get();
                    if left < 0 {
                        format!("{} over the {MESSAGE_MAX} character limit", -left)
                    } else if left < SHOW_REMAINING_BELOW {
                        format!("{left} characters left")
                    } else {
                        String::new()
                    }
                }}
            </span>
            <button type="submit" class="primary" disabled=move || !can_send()>"Send"</button>
        </form>
    }
}
