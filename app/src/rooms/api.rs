//! Server functions for rooms: pull the caller, call one action, map the result.

use leptos::prelude::*;

use super::{ChannelListing, Room, RoomDetail};
use crate::error::AppError;
use crate::ids::{RoomId, UserId};

#[cfg(feature = "ssr")]
use {super::actions, super::store, crate::session::require_user};

/// The sidebar: the caller's rooms, most recently active first.
#[server(endpoint = "list_my_rooms")]
pub async fn list_my_rooms() -> Result<Vec<Room>, AppError> {
    let (state, me) = require_user().await?;
    store::rooms_of(&state.db, me.id).await
}

#[server(endpoint = "get_room")]
pub async fn get_room(room_id: RoomId) -> Result<RoomDetail, AppError> {
    let (state, me) = require_user().await?;
    actions::detail(&state, room_id, me.id).await
}

#[server(endpoint = "browse_channels")]
pub async fn browse_channels() -> Result<Vec<ChannelListing>, AppError> {
    let (state, me) = require_user().await?;
    store::public_channels(&state.db, me.id).await
}

/// `private` is a checkbox: present ("on") for a private channel.
#[server(endpoint = "create_channel")]
pub async fn create_channel(
    name: String,
    topic: String,
    private: Option<String>,
) -> Result<RoomId, AppError> {
    let (state, me) = require_user().await?;
    let room = actions::create_channel(&state, me.id, &name, &topic, private.is_some()).await?;
    leptos_axum::redirect(&format!("/r/{room}"));
    Ok(room)
}

#[server(endpoint = "join_room")]
pub async fn join_room(room_id: RoomId) -> Result<(), AppError> {
    let (state, me) = require_user().await?;
    actions::join(&state, room_id, me.id).await?;
    leptos_axum::redirect(&format!("/r/{room_id}"));
    Ok(())
}

#[server(endpoint = "leave_room")]
pub async fn leave_room(room_id: RoomId) -> Result<(), AppError> {
    let (state, me) = require_user().await?;
    actions::leave(&state, room_id, me.id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(endpoint = "invite_member")]
pub async fn invite_member(room_id: RoomId, user_id: UserId) -> Result<(), AppError> {
    let (state, me) = require_user().await?;
    actions::invite(&state, room_id, me.id, user_id).await
}

#[server(endpoint = "update_room")]
pub async fn update_room(room_id: RoomId, name: String, topic: String) -> Result<(), AppError> {
    let (state, me) = require_user().await?;
    actions::update(&state, room_id, me.id, &name, &topic).await
}

/// Opens (creating on first use) the direct message with `user_id`.
#[server(endpoint = "open_direct")]
pub async fn open_direct(user_id: UserId) -> Result<RoomId, AppError> {
    let (state, me) = require_user().await?;
    let room = actions::open_direct(&state, me.id, user_id).await?;
    leptos_axum::redirect(&format!("/r/{room}"));
    Ok(room)
}

#[server(endpoint = "create_group", input = leptos::server_fn::codec::Json)]
pub async fn create_group(user_ids: Vec<UserId>) -> Result<RoomId, AppError> {
    let (state, me) = require_user().await?;
    actions::create_group(&state, me.id, user_ids).await
}
