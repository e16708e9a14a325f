//! The room screen: header, timeline and composer. Access is checked once per membership
//! change, so live updates to the header or timeline never reset the composer.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::list_messages;
use super::composer::Composer;
use super::timeline::Timeline;
use crate::error::AppError;
use crate::ids::RoomId;
use crate::live::state::LiveState;
use crate::rooms::api::{JoinRoom, get_room};
use crate::rooms::pages::room_param;
use crate::rooms::{Access, RoomDetail, RoomKind};
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
    let access = Resource::new(move || live.membership_changes(id), move |_| get_room(id));

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match access.await {
                    Ok(detail) if detail.access == Access::CanJoin => {
                        view! { <JoinPrompt detail /> }.into_any()
                    }
                    Ok(_) => view! { <MemberView id /> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MemberView(id: RoomId) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let query = use_query_map();
    let before = move || query.read().get("before").and_then(|s| s.parse::<i64>().ok());
    let header = Resource::new(move || live.rooms_changed.get(), move |_| get_room(id));
    let resets = move || live.resets.with(|r| r.get(&id).copied());
    let history =
        Resource::new(move || (before(), resets()), move |(before, _)| list_messages(id, before));

    view! {
        <div class="room">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    header.await.ok().map(|detail| view! { <RoomHeader detail /> })
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="loading grow">"Loading messages…"</p> }>
                {move || Suspend::new(async move {
                    match history.await {
                        Ok(page) => view! { <Timeline id page /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    }
                })}
            </Transition>
            <p class="typing" aria-live="polite">{move || live.typing_line(id)}</p>
            <Composer id />
        </div>
    }
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
