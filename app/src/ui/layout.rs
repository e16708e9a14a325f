//! The signed-in layout: the sidebar of conversations beside the routed page, and the live
//! state every signed-in screen shares.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

use super::fetch::page_resource;
use super::widgets::LoadError;
use crate::error::AppError;
use crate::ids::RoomId;
use crate::live::state::LiveState;
use crate::messages::composer::retry_waiting;
use crate::rooms::api::list_my_rooms;
use crate::rooms::{Room, RoomKind};
use crate::users::User;
use crate::users::api::current_user;

/// The signed-in user, as context; settings update it after a profile change.
#[derive(Clone, Copy)]
pub struct Me(pub RwSignal<User>);

#[component]
pub fn SignedInLayout() -> impl IntoView {
    let me = page_resource(|| (), |_| current_user());

    // A plain `Suspend`, not a closure returning one: the signed-in user is read once per
    // page. As a closure it could run twice during a server render, and the discarded first
    // workspace still used up hydration ids (and failed its fetches on a disposed owner), so
    // the browser read the wrong serialized resources and hydration broke at random.
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! { <Workspace user /> }.into_any(),
                    Ok(None) | Err(AppError::Unauthenticated) => {
                        view! { <Redirect path="/login" /> }.into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Workspace(user: User) -> impl IntoView {
    let live = LiveState::new(user.id, &user.username);
    provide_context(live);
    provide_context(Me(RwSignal::new(user)));
    // Created here, before the sidebar and the page: a resource's hydration id is its place
    // in creation order, and the page's resources must never take the sidebar's place.
    let rooms = page_resource(move || live.rooms_changed.get(), |_| list_my_rooms());

    // Runs in the browser only, once hydrated: switch times to local, open the socket, and
    // report presence as the tab is shown and hidden.
    Effect::new(move |_| {
        live.local_time.set(true);
        #[cfg(feature = "hydrate")]
        {
            use crate::live::protocol::{ClientFrame, PresenceStatus};

            crate::messages::composer::keep_outbox(live);
            crate::live::client::start(move |event| live.apply(event));
            crate::live::client::watch_page(
                move |visible| {
                    let status =
                        if visible { PresenceStatus::Online } else { PresenceStatus::Away };
                    crate::live::state::send(ClientFrame::Presence { status });
                    if let Some(room) = live.viewing.get_untracked().filter(|_| visible) {
                        live.read_to_latest(room);
                    }
                },
                move || retry_waiting(live),
            );
        }
    });
    // Every hello (first connect or reconnect) sends what waited for the connection.
    Effect::new(move |_| {
        if live.hellos.get() > 0 {
            retry_waiting(live);
        }
    });
    on_cleanup(|| {
        #[cfg(feature = "hydrate")]
        crate::live::client::stop();
    });

    // On a phone only one pane fits: the sidebar on the home page, the page elsewhere.
    let location = use_location();
    let on_page = move || location.pathname.get() != "/";

    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        // `data-hydrated` flips once the WASM app runs: browser tests wait for it before typing.
        <div
            class="workspace"
            class:on-page=on_page
            data-hydrated=move || live.local_time.get().to_string()
        >
            <Sidebar rooms />
            <main id="main" class="main" tabindex="-1">
                <Outlet />
            </main>
        </div>
    }
}

#[component]
fn Sidebar(rooms: Resource<Result<Vec<Room>, AppError>>) -> impl IntoView {
    let Me(me) = expect_context::<Me>();

    view! {
        <nav class="sidebar" aria-label="Conversations">
            <header class="sidebar-head">
                <a href="/" class="brand">"Parley"</a>
                <a href="/settings" class="me" title="Account settings">
                    <span class="visually-hidden">"Account settings for "</span>
                    {move || me.get().display_name}
                </a>
            </header>
            <div class="quick">
                <A href="/browse">"Browse channels"</A>
                <A href="/people">"New message"</A>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rooms.await {
                        Ok(list) => view! { <RoomList rooms=list /> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}

#[component]
fn RoomList(rooms: Vec<Room>) -> impl IntoView {
    let (channels, direct): (Vec<Room>, Vec<Room>) =
        rooms.into_iter().partition(|r| r.kind.is_channel());

    view! {
        <h2 class="section">"Channels"</h2>
        <RoomLinks rooms=channels empty="No channels yet. Browse to join one." />
        <h2 class="section">"Direct messages"</h2>
        <RoomLinks rooms=direct empty="No conversations yet." />
    }
}

#[component]
fn RoomLinks(rooms: Vec<Room>, empty: &'static str) -> impl IntoView {
    if rooms.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <ul class="rooms">
            {rooms
                .into_iter()
                .map(|room| {
                    let href = format!("/r/{}", room.id);
                    let id = room.id;
                    view! {
                        <li>
                            <A href=href>
                                <RoomIcon kind=room.kind />
                                <span class="room-name">{room_label(&room)}</span>
                                <UnreadBadge room=id />
                            </A>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The unread count of a room, and "@" when something unread mentions the viewer.
#[component]
fn UnreadBadge(room: RoomId) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let counts = Memo::new(move |_| live.unread(room));

    move || {
        let (unread, mentions) = counts.get();
        let mentioned = mentions > 0;
        (unread > 0).then(|| {
            let label = match (unread, mentions) {
                (1, 0) => "1 unread message".to_owned(),
                (n, 0) => format!("{n} unread messages"),
                (n, m) => format!("{n} unread messages, {m} mentioning you"),
            };
            view! {
                <span class="unread" class:mention=mentioned aria-label=label>
                    {if mentions > 0 { format!("@{unread}") } else { unread.to_string() }}
                </span>
            }
        })
    }
}

/// The room's kind at a glance. Drawn, not emoji: machines without an emoji font would show
/// empty boxes.
#[component]
pub fn RoomIcon(kind: RoomKind) -> impl IntoView {
    let symbol = match kind {
        RoomKind::Public => view! { "#" }.into_any(),
        RoomKind::Direct => view! { "@" }.into_any(),
        RoomKind::Private => view! {
            <svg viewBox="0 0 16 16" width="0.9em" height="0.9em" fill="currentColor">
                <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z" />
            </svg>
        }
        .into_any(),
        RoomKind::Group => view! {
            <svg viewBox="0 0 16 16" width="1em" height="1em" fill="currentColor">
                <circle cx="5.5" cy="5" r="2.5" />
                <circle cx="11" cy="5.5" r="2" />
                <path d="M1 14c0-3 2-5 4.5-5S10 11 10 14z" />
                <path d="M10.5 14c0-1.6-.4-3-1.2-4 .5-.3 1.1-.5 1.7-.5 2.2 0 4 1.8 4 4.5z" />
            </svg>
        }
        .into_any(),
    };
    view! { <span class="room-icon" aria-hidden="true">{symbol}</span> }
}

/// A room's name for display; a conversation whose other members all left is "Just you".
pub fn room_label(room: &Room) -> String {
    if room.name.is_empty() { "Just you".to_owned() } else { room.name.clone() }
}

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <div class="page narrow home">
            <h1>"Welcome to Parley"</h1>
            <p>"Pick a conversation on the left, or start something new."</p>
            <p class="actions">
                <a class="button" href="/browse">"Browse channels"</a>
                <a class="button" href="/people">"Message someone"</a>
            </p>
        </div>
    }
}
