//! The room screen: header, timeline and composer. Access and the first history page are
//! fetched once per membership change (or room reset), so live updates to the header or
//! timeline never reset the composer.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::HistoryPage;
use super::api::list_messages;
use super::composer::Composer;
use super::timeline::Timeline;
use crate::error::AppError;
use crate::ids::RoomId;
use crate::live::state::LiveState;
use crate::rooms::api::{JoinRoom, get_room};
use crate::rooms::pages::room_param;
use crate::rooms::{Access, RoomDetail, RoomKind};
use crate::ui::fetch::page_resource;
use crate::ui::layout::{RoomIcon, room_label};
use crate::ui::widgets::{ErrorNote, LoadError, NotFound, PresenceNote, action_error};

#[component]
pub fn RoomPage() -> impl IntoView {
    let room = room_param();

    // A new component per room, so drafts and scroll state never leak between rooms.
    move || match room.get() {
        Some(id) => view! { <RoomScreen id /> }.into_any(),
        None => view! { <NotFound /> }.into_any(),
    }
}

#[component]
fn RoomScreen(id: RoomId) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let query = use_query_map();
    let before = move || query.read().get("before").and_then(|s| s.parse::<i64>().ok());
    let resets = move || live.resets.with(|r| r.get(&id).copied());

    // One resource for the room and its first page of history. Resources created inside a
    // resolved `Suspense` got their hydration ids in whatever order the browser resolved its
    // suspended parts, which could differ from the server's and then break hydration of the
    // room at random; everything the room screen renders first now comes from here.
    let opened = page_resource(
        move || (live.membership_changes(id), before(), resets()),
        move |(_, before, _)| open_room(id, before),
    );

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match opened.await {
                    Ok(Opened::Visitor(detail)) => view! { <JoinPrompt detail /> }.into_any(),
                    Ok(Opened::Member(detail, page)) => {
                        view! { <MemberView id detail page /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What the room screen first shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Opened {
    /// A public channel the viewer may join: its header only.
    Visitor(RoomDetail),
    /// The viewer's room, with its newest history page (or the one before `before`).
    Member(RoomDetail, HistoryPage),
}

async fn open_room(id: RoomId, before: Option<i64>) -> Result<Opened, AppError> {
    let detail = get_room(id).await?;
    if detail.access == Access::CanJoin {
        return Ok(Opened::Visitor(detail));
    }
    let page = list_messages(id, before).await?;
    Ok(Opened::Member(detail, page))
}

#[component]
fn MemberView(id: RoomId, detail: RoomDetail, page: HistoryPage) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let detail = RwSignal::new(detail);

    // Names, topics and member lists change while the room is open: refetch the header in
    // the browser only, leaving the timeline and the composer's draft alone. The first run
    // is the hydration itself, which already holds fresh data.
    Effect::new(move |seen: Option<u64>| {
        let changes = live.rooms_changed.get();
        if seen.is_some_and(|seen| seen != changes) {
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = get_room(id).await {
                    detail.set(fresh);
                }
            });
        }
        changes
    });

    // Type-erased: the full type of this view is deep enough to overflow the compiler's
    // recursion limit in every crate that renders the app.
    view! {
        <div class="room">
            {move || view! { <RoomHeader detail=detail.get() /> }}
            <Timeline id page />
            <p class="typing" aria-live="polite">{move || live.typing_line(id)}</p>
            <Composer id />
        </div>
    }
    .into_any()
}

#[component]
fn RoomHeader(detail: RoomDetail) -> impl IntoView {
    let room = detail.room;
    let name = room_label(&room);
    let live = expect_context::<LiveState>();
    // A direct message shows whether the other person is around.
    let other = (room.kind == RoomKind::Direct)
        .then(|| detail.members.iter().find(|m| m.user.id != live.me).cloned())
        .flatten();
    let members = match detail.members.len() {
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };

    view! {
        <Title text=name.clone() />
        <header class="room-head">
            <a class="back-mobile" href="/" aria-label="Back to conversations">"←"</a>
            <div class="grow">
                <h1>
                    <RoomIcon kind=room.kind />
                    " "
                    {name}
                </h1>
                <p class="topic">{room.topic}</p>
                {other.map(|m| view! { <PresenceNote user=m.user.id last_seen=m.last_seen /> })}
            </div>
            <a class="button" href=format!("/r/{}/settings", room.id)>
                {members}
                <span class="visually-hidden">", room settings"</span>
            </a>
        </header>
    }
}

#[component]
fn JoinPrompt(detail: RoomDetail) -> impl IntoView {
    let join = ServerAction::<JoinRoom>::new();
    let room_id = detail.room.id;

    view! {
        <div class="room">
            <RoomHeader detail />
            <div class="page narrow">
                <p>"You are not a member of this channel yet."</p>
                <ActionForm action=join>
                    <input type="hidden" name="room_id" value=room_id.0 />
                    <ErrorNote error=action_error(join.value()) />
                    <button type="submit" class="primary">"Join channel"</button>
                </ActionForm>
            </div>
        </div>
    }
}
