//! A room's messages: fetched history, older pages loaded on scroll, and live messages laid
//! over them, grouped by day in the viewer's time zone.

use std::collections::BTreeMap;

use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::{delete_message, edit_message, list_messages};
use super::composer::{Pending, PendingState, is_send_key, retry};
use super::{HistoryPage, Message};
use crate::error::AppError;
use crate::ids::{MessageId, RoomId};
use crate::live::state::LiveState;
use crate::time::DateParts;
use crate::ui::widgets::ErrorNote;

/// Messages by the same author closer than this share one header.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;
/// Distance from the top, in pixels, at which the next older page is fetched.
const LOAD_OLDER_AT_PX: i32 = 150;
/// Within this distance of the bottom the view follows new messages.
const STICK_TO_BOTTOM_PX: i32 = 80;

#[derive(Clone, Debug, PartialEq)]
enum Row {
    Day { label: String },
    Message { message: Message, first_of_group: bool },
}

impl Row {
    fn key(&self) -> String {
        match self {
            Row::Day { label } => format!("day {label}"),
            Row::Message { message, first_of_group } => format!(
                "{} {:?} {} {first_of_group}",
                message.id,
                message.edited_at,
                message.is_deleted()
            ),
        }
    }
}

fn date_parts(ms: i64, local: bool) -> DateParts {
    #[cfg(feature = "hydrate")]
    if local {
        return DateParts::local(ms);
    }
    let _ = local;
    DateParts::utc(ms)
}

/// Lays messages out as rows: a day separator whenever the day changes, and a header on the
/// first message of each run by one author.
fn layout(messages: impl Iterator<Item = Message>, local: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut previous: Option<(DateParts, Message)> = None;
    for message in messages {
        let parts = date_parts(message.created_at, local);
        let new_day = previous.as_ref().is_none_or(|(p, _)| !p.same_day(&parts));
        if new_day {
            rows.push(Row::Day { label: parts.day_label() });
        }
        let first_of_group = new_day
            || previous.as_ref().is_none_or(|(_, p)| {
                p.author_id != message.author_id
                    || message.created_at - p.created_at > GROUP_GAP_MS
            });
        previous = Some((parts, message.clone()));
        rows.push(Row::Message { message, first_of_group });
    }
    rows
}

fn merge(into: &mut BTreeMap<i64, Message>, message: &Message) {
    match into.get(&message.seq) {
        Some(known) if !message.supersedes(known) => {}
        _ => {
            into.insert(message.seq, message.clone());
        }
    }
}

#[component]
pub fn Timeline(id: RoomId, page: HistoryPage) -> impl IntoView {
    let live = expect_context::<LiveState>();

    // This room is on screen: live delivery continues from the page just fetched, and what
    // arrives is read.
    live.history_loaded(id, page.messages.last().map(|m| m.seq));
    live.viewing.set(Some(id));
    on_cleanup(move || {
        if live.viewing.get_untracked() == Some(id) {
            live.viewing.set(None);
        }
    });
    let pending = Memo::new(move |_| {
        live.pending.with(|p| p.iter().filter(|x| x.room_id == id).cloned().collect::<Vec<_>>())
    });

    let first_page = StoredValue::new(page.messages);
    let older = RwSignal::new(Vec::<Message>::new());
    let has_more = RwSignal::new(page.has_more);
    let loading = RwSignal::new(false);
    let editing = RwSignal::new(None::<MessageId>);
    let error = RwSignal::new(None::<AppError>);
    let scroller = NodeRef::<Div>::new();
    let stick = StoredValue::new(true);

    let oldest_seq = move || {
        older
            .with_untracked(|o| o.first().map(|m| m.seq))
            .or_else(|| first_page.with_value(|p| p.first().map(|m| m.seq)))
    };

    let rows = Memo::new(move |_| {
        let mut all = BTreeMap::new();
        older.with(|o| o.iter().for_each(|m| merge(&mut all, m)));
        first_page.with_value(|p| p.iter().for_each(|m| merge(&mut all, m)));
        // Live messages older than what is loaded would show across a gap; paging fetches them.
        let floor = all.keys().next().copied().unwrap_or(0);
        live.messages.with(|rooms| {
            if let Some(room) = rooms.get(&id) {
                room.range(floor..).for_each(|(_, m)| merge(&mut all, m));
            }
        });
        layout(all.into_values(), live.local_time.get())
    });

    // Follow new messages while the reader is at the bottom.
    Effect::new(move |_| {
        rows.track();
        pending.track();
        if stick.get_value()
            && let Some(el) = scroller.get()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });

    let load_older = move || {
        if loading.get_untracked() || !has_more.get_untracked() {
            return;
        }
        let Some(before) = oldest_seq() else { return };
        loading.set(true);
        let height_before = scroller.get_untracked().map(|el| el.scroll_height());
        spawn_local(async move {
            match list_messages(id, Some(before)).await {
                Ok(page) => {
                    has_more.set(page.has_more);
                    older.update(|o| {
                        let mut merged = page.messages;
                        merged.append(o);
                        *o = merged;
                    });
                    // Keep the message the reader was looking at in place.
                    if let (Some(el), Some(h)) = (scroller.get_untracked(), height_before) {
                        request_animation_frame(move || {
                            el.set_scroll_top(el.scroll_top() + el.scroll_height() - h)
                        });
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };

    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else { return };
        let from_bottom = el.scroll_height() - el.scroll_top() - el.client_height();
        stick.set_value(from_bottom < STICK_TO_BOTTOM_PX);
        if el.scroll_top() < LOAD_OLDER_AT_PX {
            load_older();
        }
    };

    view! {
        <div class="timeline" node_ref=scroller on:scroll=on_scroll>
            <Show when=move || has_more.get()>
                <p class="older">
                    <a
                        href=move || format!("?before={}", oldest_seq().unwrap_or(0))
                        on:click=move |ev| {
                            ev.prevent_default();
                            load_older();
                        }
                    >
                        {move || if loading.get() { "Loading…" } else { "Load older messages" }}
                    </a>
                </p>
            </Show>
            <Show when=move || !has_more.get() && !rows.read().is_empty()>
                <p class="older muted">"This is the beginning of the conversation."</p>
            </Show>
            <Show when=move || rows.read().is_empty() && pending.read().is_empty()>
                <p class="empty muted">"No messages yet. Say hello!"</p>
            </Show>
            <ErrorNote error />
            <ol class="messages" role="log" aria-label="Messages" aria-live="polite">
                <For
                    each=move || rows.get()
                    key=Row::key
                    children=move |row| match row {
                        Row::Day { label } => {
                            view! {
                                <li class="day" role="separator">
                                    <span>{label}</span>
                                </li>
                            }
                                .into_any()
                        }
                        Row::Message { message, first_of_group } => {
                            view! { <MessageItem message first_of_group editing error /> }
                                .into_any()
                        }
                    }
                />
                <For
                    each=move || pending.get()
                    key=|p| (p.client_id.clone(), p.state.clone())
                    children=move |p| view! { <PendingItem item=p /> }
                />
            </ol>
            <p class="receipt muted small">{move || seen(live, id, &rows.read())}</p>
        </div>
    }
}

#[component]
fn MessageItem(
    message: Message,
    first_of_group: bool,
    editing: RwSignal<Option<MessageId>>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let own = message.author_id == live.me;
    let deleted = message.is_deleted();
    let id = message.id;
    let created_at = message.created_at;
    let when = move || date_parts(created_at, live.local_time.get());
    let draft = RwSignal::new(message.body.clone());
    let body = message.body.clone();

    let save = move || {
        let text = draft.get_untracked();
        spawn_local(async move {
            match edit_message(id, text).await {
                Ok(updated) => {
                    live.remember(updated);
                    editing.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let confirmed = web_sys::window()
                .and_then(|w| w.confirm_with_message("Delete this message for everyone?").ok())
                .unwrap_or(false);
            if !confirmed {
                return;
            }
        }
        spawn_local(async move {
            match delete_message(id).await {
                Ok(updated) => live.remember(updated),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let content = move || {
        if deleted {
            return view! { <p class="body deleted">"This message was deleted."</p> }.into_any();
        }
        if editing.get() == Some(id) {
            return view! {
                <div class="edit">
                    <label class="visually-hidden" for=format!("edit-{id}")>"Edit message"</label>
                    <textarea
                        id=format!("edit-{id}")
                        prop:value=draft
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Escape" {
                                editing.set(None);
                            } else if is_send_key(&ev) {
                                ev.prevent_default();
                                save();
                            }
                        }
                    ></textarea>
                    <button type="button" class="primary" on:click=move |_| save()>"Save"</button>
                    <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                </div>
            }
            .into_any();
        }
        view! { <p class="body">{body.clone()}</p> }.into_any()
    };

    // Every child of the row is an element, present on every row; only attributes and the
    // inside of `.content` change after rendering. The header is one branch or the other,
    // decided once per row, so server and browser always agree on the row's shape.
    let header = if first_of_group {
        view! {
            <div class="meta">
                <span class="author">{message.author_name.clone()}</span>
                " "
                <time datetime=move || when().iso_minute()>{move || when().clock()}</time>
            </div>
        }
        .into_any()
    } else {
        view! {
            <time class="side-time" datetime=move || when().iso_minute()>
                {move || when().clock()}
            </time>
        }
        .into_any()
    };
    let edited = message.edited_at.is_some() && !deleted;
    let may_change = own && !deleted;

    view! {
        <li class="message" class:own=own class:first=first_of_group>
            {header}
            <div class="content">{content}</div>
            <span class="muted small" hidden=!edited>"(edited)"</span>
            <div class="tools" hidden=move || !may_change || editing.get() == Some(id)>
                <button type="button" on:click=move |_| editing.set(Some(id))>"Edit"</button>
                <button type="button" on:click=delete>"Delete"</button>
            </div>
        </li>
    }
}

/// "Seen" under a direct message once the other person read the newest message, if it is the
/// viewer's own.
fn seen(live: LiveState, room: RoomId, rows: &[Row]) -> &'static str {
    let newest = rows.iter().rev().find_map(|row| match row {
        Row::Message { message, .. } => Some(message),
        Row::Day { .. } => None,
    });
    let Some(newest) = newest.filter(|m| m.author_id == live.me) else { return "" };
    let read =
        live.receipts.with(|r| r.get(&room).and_then(|users| users.values().max().copied()));
    if read.is_some_and(|seq| seq >= newest.seq) { "Seen" } else { "" }
}

#[component]
fn PendingItem(item: Pending) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let pending = live.pending;
    let busy = (item.state == PendingState::Sending).to_string();
    let retry_item = item.clone();
    let client_id = item.client_id.clone();

    view! {
        <li class="message own pending" aria-busy=busy>
            <p class="body">{item.body.clone()}</p>
            {match item.state {
                PendingState::Sending => {
                    view! { <span class="muted small">"Sending…"</span> }.into_any()
                }
                PendingState::Queued => {
                    view! { <span class="muted small">"Queued: sends after the one above"</span> }
                        .into_any()
                }
                PendingState::Waiting { .. } => {
                    view! {
                        <span class="muted small">
                            "Not sent yet: the server could not be reached; trying again"
                        </span>
                    }
                        .into_any()
                }
                PendingState::Held { .. } => {
                    view! {
                        <span class="muted small">"Sending too fast: sends in a moment"</span>
                    }
                        .into_any()
                }
                PendingState::Failed(reason) => {
                    view! {
                        <p class="error small">"Not sent: " {reason}</p>
                        <div class="tools visible">
                            <button
                                type="button"
                                on:click=move |_| retry(retry_item.clone(), live)
                            >
                                "Retry"
                            </button>
                            <button
                                type="button"
                                on:click=move |_| {
                                    let id = client_id.clone();
                                    pending.update(|p| p.retain(|x| x.client_id != id))
                                }
                            >
                                "Discard"
                            </button>
                        </div>
                    }
                        .into_any()
                }
            }}
        </li>
    }
}
