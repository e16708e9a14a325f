//! Screens for rooms: the channel directory, the people directory (start a DM or group), and a
//! room's settings.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::api::{
    CreateChannel, JoinRoom, LeaveRoom, OpenDirect, UpdateRoom, browse_channels, create_group,
    get_room, invite_member,
};
use super::rules::{self, ROOM_NAME_MAX, TOPIC_MAX};
use super::{Access, ChannelListing, Member, Role, RoomDetail};
use crate::error::AppError;
use crate::ids::{RoomId, UserId};
use crate::live::state::LiveState;
use crate::ui::fetch::page_resource;
use crate::ui::layout::{RoomIcon, room_label};
use crate::ui::widgets::{ErrorNote, LoadError, NotFound, PresenceNote, action_error};
use crate::users::User;
use crate::users::api::search_users;

/// The room id in the path, if it is one.
pub fn room_param() -> Memo<Option<RoomId>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

#[component]
pub fn BrowsePage() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let create = ServerAction::<CreateChannel>::new();
    let channels = page_resource(move || live.rooms_changed.get(), |_| browse_channels());

    view! {
        <Title text="Browse channels" />
        <div class="page">
            <p class="back"><a href="/">"← Conversations"</a></p>
            <h1>"Channels"</h1>
            <section aria-labelledby="create-heading" class="card">
                <h2 id="create-heading">"Create a channel"</h2>
                <ActionForm action=create>
                    <label for="name">"Name"</label>
                    <input id="name" name="name" required maxlength=ROOM_NAME_MAX * 4 />
                    <label for="topic">"Topic (optional)"</label>
                    <input id="topic" name="topic" maxlength=TOPIC_MAX * 4 />
                    <label class="check">
                        <input type="checkbox" name="private" />
                        " Private: only people who are invited can find and read it"
                    </label>
                    <ErrorNote error=action_error(create.value()) />
                    <button type="submit" class="primary">"Create channel"</button>
                </ActionForm>
            </section>
            <section aria-labelledby="public-heading">
                <h2 id="public-heading">"Public channels"</h2>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match channels.await {
                            Ok(list) => view! { <ChannelDirectory channels=list /> }.into_any(),
                            Err(error) => view! { <LoadError error /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

#[component]
fn ChannelDirectory(channels: Vec<ChannelListing>) -> impl IntoView {
    let join = ServerAction::<JoinRoom>::new();
    if channels.is_empty() {
        return view! { <p class="muted">"No public channels yet. Create the first one."</p> }
            .into_any();
    }

    view! {
        <ErrorNote error=action_error(join.value()) />
        <ul class="directory">
            {channels
                .into_iter()
                .map(|channel| {
                    let href = format!("/r/{}", channel.id);
                    let members = match channel.member_count {
                        1 => "1 member".to_owned(),
                        n => format!("{n} members"),
                    };
                    view! {
                        <li>
                            <div class="grow">
                                <a href=href.clone() class="strong">"# " {channel.name}</a>
                                <p class="muted">{channel.topic}</p>
                                <p class="muted small">{members}</p>
                            </div>
                            {if channel.joined {
                                view! { <a class="button" href=href>"Open"</a> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=join>
                                        <input type="hidden" name="room_id" value=channel.id.0 />
                                        <button type="submit">"Join"</button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn PeoplePage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let found = page_resource(q, search_users);
    let selected = RwSignal::new(Vec::<User>::new());
    let group_error = RwSignal::new(None::<AppError>);

    let start_group = move |_| {
        let ids: Vec<UserId> = selected.get_untracked().iter().map(|u| u.id).collect();
        let navigate = use_navigate();
        spawn_local(async move {
            match create_group(ids).await {
                Ok(room) => navigate(&format!("/r/{room}"), Default::default()),
                Err(e) => group_error.set(Some(e)),
            }
        });
    };

    view! {
        <Title text="New message" />
        <div class="page">
            <p class="back"><a href="/">"← Conversations"</a></p>
            <h1>"New message"</h1>
            <Form method="GET" action="">
                <label for="q">"Find people by name or username"</label>
                <div class="row">
                    <input id="q" type="search" name="q" prop:value=q autocomplete="off" />
                    <button type="submit">"Search"</button>
                </div>
            </Form>
            <Show when=move || !selected.read().is_empty()>
                <div class="card" role="region" aria-label="Group conversation">
                    <p>
                        "Group with: "
                        {move || {
                            selected
                                .get()
                                .iter()
                                .map(|u| u.display_name.clone())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }}
                    </p>
                    <ErrorNote error=group_error />
                    <button class="primary" on:click=start_group>"Start conversation"</button>
                </div>
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                {move || Suspend::new(async move {
                    match found.await {
                        Ok(people) => view! { <PeopleList people selected /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn PeopleList(people: Vec<User>, selected: RwSignal<Vec<User>>) -> impl IntoView {
    let open = ServerAction::<OpenDirect>::new();
    if people.is_empty() {
        return view! { <p class="muted">"Nobody matches that search."</p> }.into_any();
    }

    view! {
        <ErrorNote error=action_error(open.value()) />
        <ul class="directory">
            {people
                .into_iter()
                .map(|person| {
                    let id = person.id;
                    let is_selected = move || selected.read().iter().any(|u| u.id == id);
                    let toggle = {
                        let person = person.clone();
                        move |_| {
                            selected
                                .update(|list| {
                                    if let Some(i) = list.iter().position(|u| u.id == id) {
                                        list.remove(i);
                                    } else {
                                        list.push(person.clone());
                                    }
                                })
                        }
                    };
                    view! {
                        <li>
                            <div class="grow">
                                <span class="strong">{person.display_name.clone()}</span>
                                " "
                                <span class="muted">"@" {person.username.clone()}</span>
                            </div>
                            <ActionForm action=open>
                                <input type="hidden" name="user_id" value=id.0 />
                                <button type="submit">"Message"</button>
                            </ActionForm>
                            <button
                                type="button"
                                aria-pressed=move || is_selected().to_string()
                                on:click=toggle
                            >
                                {move || {
                                    if is_selected() { "In group ✓" } else { "Add to group" }
                                }}
                            </button>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn RoomSettingsPage() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let room = room_param();
    let detail = page_resource(
        move || (room.get(), live.rooms_changed.get()),
        |(room, _)| async move {
            match room {
                Some(id) => get_room(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );

    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <RoomSettings detail /> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RoomSettings(detail: RoomDetail) -> impl IntoView {
    let RoomDetail { room, access, members } = detail;
    let role = match access {
        Access::Member(role) => Some(role),
        Access::CanJoin => None,
    };
    let may_edit = role.is_some_and(|role| rules::may_edit_room(room.kind, role));
    let may_invite = role.is_some() && rules::may_invite(room.kind);
    let may_leave = role.is_some() && rules::may_leave(room.kind);
    let update = ServerAction::<UpdateRoom>::new();
    let leave = ServerAction::<LeaveRoom>::new();
    let title = room_label(&room);
    let room_href = format!("/r/{}", room.id);
    let member_ids: Vec<UserId> = members.iter().map(|m| m.user.id).collect();

    view! {
        <Title text=format!("Settings · {title}") />
        <div class="page narrow">
            <p class="back"><a href=room_href>"← Back to the conversation"</a></p>
            <h1>
                <RoomIcon kind=room.kind />
                " "
                {title}
            </h1>
            {may_edit.then(|| view! {
                <section aria-labelledby="details-heading" class="card">
                    <h2 id="details-heading">"Details"</h2>
                    <ActionForm action=update>
                        <input type="hidden" name="room_id" value=room.id.0 />
                        <label for="name">"Name"</label>
                        <input id="name" name="name" value=room.name.clone() />
                        <label for="topic">"Topic"</label>
                        <input id="topic" name="topic" value=room.topic.clone() />
                        <ErrorNote error=action_error(update.value()) />
                        <Show when=move || matches!(update.value().get(), Some(Ok(())))>
                            <p class="ok" role="status">"Saved."</p>
                        </Show>
                        <button type="submit">"Save"</button>
                    </ActionForm>
                </section>
            })}
            <section aria-labelledby="members-heading">
                <h2 id="members-heading">{format!("Members ({})", members.len())}</h2>
                <MemberList members />
            </section>
            {may_invite.then(|| view! {
                <Invite room=room.id members=member_ids.clone() />
            })}
            {may_leave.then(|| view! {
                <section aria-labelledby="leave-heading">
                    <h2 id="leave-heading">"Leave"</h2>
                    <ActionForm action=leave>
                        <input type="hidden" name="room_id" value=room.id.0 />
                        <ErrorNote error=action_error(leave.value()) />
                        <button type="submit" class="danger">"Leave this conversation"</button>
                    </ActionForm>
                </section>
            })}
        </div>
    }
}

#[component]
fn MemberList(members: Vec<Member>) -> impl IntoView {
    view! {
        <ul class="members">
            {members
                .into_iter()
                .map(|m| {
                    let role = match m.role {
                        Role::Owner => Some("owner"),
                        Role::Admin => Some("admin"),
                        Role::Member => None,
                    };
                    view! {
                        <li>
                            <span class="strong">{m.user.display_name}</span>
                            " "
                            <span class="muted">"@" {m.user.username}</span>
                            {role.map(|r| view! { <span class="badge">{r}</span> })}
                            <PresenceNote user=m.user.id last_seen=m.last_seen />
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn Invite(room: RoomId, members: Vec<UserId>) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let query = RwSignal::new(String::new());
    let found = RwSignal::new(Vec::<User>::new());
    let error = RwSignal::new(None::<AppError>);
    let members = StoredValue::new(members);

    // Searched in the browser only, and only once something is typed: the directory is not
    // listed to anyone who opens the page. Being no resource, the list also takes no part
    // in hydration, so it renders the same (empty) on the server and in the browser.
    Effect::new(move |_| {
        let wanted = query.get();
        if wanted.trim().is_empty() {
            found.set(Vec::new());
            return;
        }
        spawn_local(async move {
            match search_users(wanted.clone()).await {
                // A slower answer to an older query must not replace a newer one.
                Ok(people) if query.get_untracked() == wanted => found.set(people),
                Ok(_) => {}
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let add = move |user: UserId| {
        spawn_local(async move {
            match invite_member(room, user).await {
                Ok(()) => live.rooms_changed.update(|n| *n += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let candidates = move || {
        found.with(|people| {
            people
                .iter()
                .filter(|u| !members.read_value().contains(&u.id))
                .cloned()
                .collect::<Vec<User>>()
        })
    };

    view! {
        <section aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Add people"</h2>
            <label for="invite-q">"Search by name or username"</label>
            <input
                id="invite-q"
                type="search"
                autocomplete="off"
                on:input=move |ev| query.set(event_target_value(&ev))
                prop:value=query
            />
            <ErrorNote error />
            <ul class="directory">
                <For
                    each=candidates
                    key=|u| u.id
                    children=move |u| {
                        let id = u.id;
                        view! {
                            <li>
                                <span class="grow">
                                    {u.display_name} " "
                                    <span class="muted">"@" {u.username}</span>
                                </span>
                                <button type="button" on:click=move |_| add(id)>
                                    "Add"
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
        </section>
    }
    .into_any()
}
