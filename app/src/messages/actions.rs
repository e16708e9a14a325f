//! Message operations on the server: check membership, apply the rules, store, publish.

use super::rules::{check_client_id, clean_body};
use super::store::{self, InsertError, NewMessage};
use super::{HistoryPage, Message};
use crate::error::AppError;
use crate::ids::{MessageId, RoomId, UserId};
use crate::live::protocol::ServerEvent;
use crate::rooms::actions::require_member;
use crate::state::{AppState, now_ms};

/// Sends a message, or returns the one already sent under `client_id`.
///
/// The answer comes only after the commit, and only committed messages are published, so an
/// acknowledged message survives a crash and a live one was really stored.
pub async fn send(
    state: &AppState,
    author: UserId,
    room: RoomId,
    client_id: &str,
    body: &str,
) -> Result<Message, AppError> {
    check_client_id(client_id)?;
    // Membership is checked by the insert itself, in its transaction.
    let body = clean_body(body)?;
    if let Err(limited) = state.limits.check_send(author) {
        // A retry of a send that was stored is answered with it, over the limit or not.
        return original(state, author, client_id, room).await?.ok_or(limited);
    }

    let new = NewMessage { room, author, client_id: client_id.to_owned(), body, now: now_ms() };
    let hub = state.hub.clone();
    let publish = move |message: &Message| {
        tracing::trace!(room_id = %room, seq = message.seq, "message stored");
        hub.to_room(room, ServerEvent::MessageCreated { message: message.clone() });
    };
    match store::insert(&state.db, new, publish).await {
        Ok(message) => Ok(message),
        // A retry of a send that did commit (or a copy of it that committed first): answer
        // with the original. Looking the client id up only here, not before every insert,
        // saves each send a query; the refused insert gives its sequence number back.
        Err(InsertError::DuplicateClientId) => {
            original(state, author, client_id, room).await?.ok_or(AppError::Internal)
        }
        Err(InsertError::NotMember) => Err(AppError::NotFound),
        Err(InsertError::Other(e)) => Err(e),
    }
}

/// The message `author` already sent under `client_id`, if any; a conflict if it went to
/// another room.
async fn original(
    state: &AppState,
    author: UserId,
    client_id: &str,
    room: RoomId,
) -> Result<Option<Message>, AppError> {
    match store::by_client_id(&state.db, author, client_id).await? {
        Some(existing) if existing.room_id != room => Err(AppError::ClientIdReused),
        existing => Ok(existing),
    }
}

pub async fn history(
    state: &AppState,
    reader: UserId,
    room: RoomId,
    before_seq: Option<i64>,
) -> Result<HistoryPage, AppError> {
    require_member(state, room, reader).await?;
    let (messages, has_more) = store::page(&state.db, room, before_seq).await?;
    Ok(HistoryPage { messages, has_more })
}

/// The message, if the caller is a member of its room; `NotFound` otherwise.
async fn visible(state: &AppState, id: MessageId, user: UserId) -> Result<Message, AppError> {
    let message = store::by_id(&state.db, id).await?.ok_or(AppError::NotFound)?;
    require_member(state, message.room_id, user).await?;
    Ok(message)
}

pub async fn edit(
    state: &AppState,
    user: UserId,
    id: MessageId,
    body: &str,
) -> Result<Message, AppError> {
    let message = visible(state, id, user).await?;
    if message.author_id != user {
        return Err(AppError::Forbidden);
    }
    let body = clean_body(body)?;

    let edited =
        store::edit(&state.db, id, &body, now_ms()).await?.ok_or(AppError::MessageDeleted)?;

    state.hub.to_room(edited.room_id, ServerEvent::MessageUpdated { message: edited.clone() });
    Ok(edited)
}

pub async fn delete(state: &AppState, user: UserId, id: MessageId) -> Result<Message, AppError> {
    let message = visible(state, id, user).await?;
    if message.author_id != user {
        return Err(AppError::Forbidden);
    }

    let deleted = store::delete(&state.db, id, now_ms()).await?;

    tracing::debug!(room_id = %deleted.room_id, message_id = %id, "message deleted");
    state.hub.to_room(deleted.room_id, ServerEvent::MessageUpdated { message: deleted.clone() });
    Ok(deleted)
}
