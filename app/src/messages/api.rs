//! Server functions for messages. JSON in and out: these are called by the composer and by
//! bots, never by a plain HTML form.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{HistoryPage, Message};
use crate::error::AppError;
use crate::ids::{MessageId, RoomId};

#[cfg(feature = "ssr")]
use {super::actions, crate::session::require_user};

/// Sends `body` to a room. Answers after the commit; a retry with the same `client_id`
/// answers with the original message.
#[server(endpoint = "send_message", input = Json)]
pub async fn send_message(
    room_id: RoomId,
    client_id: String,
    body: String,
) -> Result<Message, AppError> {
    let (state, me) = require_user().await?;
    actions::send(&state, me.id, room_id, &client_id, &body).await
}

/// A page of history before `before_seq`, or the newest page.
#[server(endpoint = "list_messages", input = Json)]
pub async fn list_messages(
    room_id: RoomId,
    before_seq: Option<i64>,
) -> Result<HistoryPage, AppError> {
    let (state, me) = require_user().await?;
    actions::history(&state, me.id, room_id, before_seq).await
}

#[server(endpoint = "edit_message", input = Json)]
pub async fn edit_message(message_id: MessageId, body: String) -> Result<Message, AppError> {
    let (state, me) = require_user().await?;
    actions::edit(&state, me.id, message_id, &body).await
}

#[server(endpoint = "delete_message", input = Json)]
pub async fn delete_message(message_id: MessageId) -> Result<Message, AppError> {
    let (state, me) = require_user().await?;
    actions::delete(&state, me.id, message_id).await
}
