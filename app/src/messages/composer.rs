//! The composer: Enter sends, Shift+Enter adds a line. A sent message shows as pending until
//! the server acknowledges it (after its commit); a failed one keeps its client id, so a retry
//! can never post it twice.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::send_message;
use super::rules::{MESSAGE_MAX, remaining};
use crate::ids::RoomId;
use crate::live::state::LiveState;

/// Show the count of characters left once fewer than this remain.
const SHOW_REMAINING_BELOW: i64 = 500;

/// A message this tab sent that the server has not acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub room_id: RoomId,
    pub client_id: String,
    pub body: String,
    /// Why the last attempt failed; `None` while in flight.
    pub error: Option<String>,
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

/// Enter sends; Shift+Enter adds a line; Enter that confirms an IME composition does neither.
pub fn is_send_key(ev: &leptos::ev::KeyboardEvent) -> bool {
    ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing()
}

fn dispatch(item: Pending, pending: RwSignal<Vec<Pending>>, live: LiveState) {
    spawn_local(async move {
        let client_id = item.client_id.clone();
        match send_message(item.room_id, item.client_id, item.body).await {
            Ok(message) => {
                pending.update(|p| p.retain(|x| x.client_id != client_id));
                live.remember(message);
            }
            Err(e) => pending.update(|p| {
                if let Some(x) = p.iter_mut().find(|x| x.client_id == client_id) {
                    x.error = Some(e.to_string());
                }
            }),
        }
    });
}

/// Sends a failed message again under its original client id.
pub fn retry(item: Pending, pending: RwSignal<Vec<Pending>>, live: LiveState) {
    pending.update(|p| {
        if let Some(x) = p.iter_mut().find(|x| x.client_id == item.client_id) {
            x.error = None;
        }
    });
    dispatch(Pending { error: None, ..item }, pending, live);
}

#[component]
pub fn Composer(id: RoomId, pending: RwSignal<Vec<Pending>>) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let text = RwSignal::new(String::new());
    let left = Memo::new(move |_| remaining(&text.read()));
    let can_send = move || left.get() >= 0 && !text.read().trim().is_empty();

    let submit = move || {
        if !can_send() {
            return;
        }
        let item = Pending {
            room_id: id,
            client_id: new_client_id(),
            body: text.get_untracked(),
            error: None,
        };
        text.set(String::new());
        pending.update(|p| p.push(item.clone()));
        dispatch(item, pending, live);
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
                on:input=move |ev| text.set(event_target_value(&ev))
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
