//! The composer and this tab's outbox. Enter sends, Shift+Enter adds a line. A sent message
//! shows as pending until the server acknowledges it (after its commit).
//!
//! The outbox sends one message at a time, oldest first, so a room shows a tab's messages in
//! the order they were written, whatever the network does. A message the server could not
//! take (no answer, a 5xx) is sent again a few seconds later and at once on reconnect; one
//! refused for coming too fast is sent again when the server's `Retry-After` allows. Either
//! way it goes under the same client id, which the server answers with the original message,
//! so nothing is posted twice. The messages behind it wait their turn. The outbox is kept in
//! the tab's `sessionStorage`, so a reload sends what was still unsent instead of losing it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub room_id: RoomId,
    pub client_id: String,
    pub body: String,
    pub state: PendingState,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PendingState {
    /// Waiting for its turn behind an older message of this tab.
    Queued,
    Sending,
    /// The server could not be reached; sent again at `retry_at` (ms) or on reconnect.
    Waiting {
        retry_at: u64,
    },
    /// The server said this writer is sending too fast; sent again at `retry_at` (ms).
    Held {
        retry_at: u64,
    },
    /// The server refused it; the writer decides (retry or discard). The outbox goes on.
    Failed(String),
}

impl PendingState {
    /// When an unsent message may go: now, later, or only when the writer says so.
    fn due_at(&self) -> Option<u64> {
        match self {
            Self::Queued => Some(0),
            Self::Waiting { retry_at } | Self::Held { retry_at } => Some(*retry_at),
            Self::Sending | Self::Failed(_) => None,
        }
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

/// How long a message that got no answer waits before it is sent again while online.
const RETRY_AFTER_FAILURE_MS: u64 = 5_000;

/// What the outbox does next.
enum Next {
    /// A message is in flight; its answer moves the outbox on.
    Busy,
    Send(Pending),
    /// The oldest unsent message may go at this time (ms).
    WaitUntil(u64),
    Idle,
}

/// Sends the oldest unsent message if it may go now, or looks again when it may. Called after
/// every change to the outbox; doing nothing is always safe.
fn pump(live: LiveState) {
    let now = now_ms() as u64;
    let next = live.pending.with_untracked(|p| {
        if p.iter().any(|x| x.state == PendingState::Sending) {
            return Next::Busy;
        }
        let oldest = p.iter().find_map(|x| x.state.due_at().map(|at| (x, at)));
        match oldest {
            Some((item, at)) if at <= now => Next::Send(item.clone()),
            Some((_, at)) => Next::WaitUntil(at),
            None => Next::Idle,
        }
    });
    match next {
        Next::Send(item) => send_now(item, live),
        Next::WaitUntil(at) => {
            set_timeout(move || pump(live), std::time::Duration::from_millis(at - now));
        }
        Next::Busy | Next::Idle => {}
    }
}

fn send_now(item: Pending, live: LiveState) {
    set_state(live, &item.client_id, PendingState::Sending);
    spawn_local(async move {
        let client_id = item.client_id;
        let answer = send_message(item.room_id, client_id.clone(), item.body).await;
        // Waits count from the answer, as the server's `Retry-After` does.
        let now = now_ms() as u64;
        match answer {
            Ok(message) => {
                live.pending.update(|p| p.retain(|x| x.client_id != client_id));
                live.remember(message);
            }
            // No answer, or the server failed: worth sending again.
            Err(AppError::Internal) => {
                let retry_at = now + RETRY_AFTER_FAILURE_MS;
                set_state(live, &client_id, PendingState::Waiting { retry_at });
            }
            Err(AppError::RateLimited { retry_after_secs }) => {
                let retry_at = now + retry_after_secs * 1_000;
                set_state(live, &client_id, PendingState::Held { retry_at });
            }
            Err(e) => set_state(live, &client_id, PendingState::Failed(e.to_string())),
        }
        pump(live);
    });
}

/// Sends a failed message again under its original client id, in its place in the outbox.
pub fn retry(item: Pending, live: LiveState) {
    set_state(live, &item.client_id, PendingState::Queued);
    pump(live);
}

/// The connection is back: what could not reach the server may go now.
pub fn retry_waiting(live: LiveState) {
    live.pending.update(|p| {
        for x in p.iter_mut().filter(|x| matches!(x.state, PendingState::Waiting { .. })) {
            x.state = PendingState::Waiting { retry_at: 0 };
        }
    });
    pump(live);
}

/// Keeps the outbox in this tab's `sessionStorage` (per user, so a tab that logs in as someone
/// else never sends their messages) and sends what an earlier page load left unsent. Per tab,
/// not `localStorage`: two tabs of one user would overwrite each other's outbox.
#[cfg(feature = "hydrate")]
pub fn keep_outbox(live: LiveState) {
    let Some(storage) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) else {
        return pump(live);
    };
    let key = format!("parley.outbox.{}", live.me);
    let saved = storage.get_item(&key).ok().flatten();
    let restored: Vec<Pending> =
        saved.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    live.pending.update(|p| {
        for mut item in restored {
            item.state = match item.state {
                // It may have been stored; its client id makes sending it again safe.
                PendingState::Sending => PendingState::Queued,
                // Held ones keep the server's time; the rest go as they would have.
                PendingState::Waiting { .. } => PendingState::Waiting { retry_at: 0 },
                state => state,
            };
            if !p.iter().any(|x| x.client_id == item.client_id) {
                p.push(item);
            }
        }
    });
    Effect::new(move |_| {
        let saved = live.pending.with(|p| (!p.is_empty()).then(|| serde_json::to_string(p)));
        let _ = match saved {
            Some(Ok(json)) => storage.set_item(&key, &json),
            _ => storage.remove_item(&key),
        };
    });
    pump(live);
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
            state: PendingState::Queued,
        };
        text.set(String::new());
        stop_typing();
        live.pending.update(|p| p.push(item));
        pump(live);
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
