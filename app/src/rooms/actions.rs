//! Room operations on the server. Each checks the caller's standing in the room, applies a
//! rule from `rules`, writes through `store`, and publishes what changed to the hub.

use super::rules::{self, clean_room_name, clean_topic};
use super::store::{self, NewRoom};
use super::{Access, Role, RoomDetail, RoomKind};
use crate::error::AppError;
use crate::ids::{RoomId, UserId};
use crate::live::protocol::ServerEvent;
use crate::state::{AppState, now_ms};

/// The caller's standing in a room. A room the caller may not see is `NotFound`, exactly as a
/// room that does not exist, so ids cannot be probed.
pub async fn access(
    state: &AppState,
    room: RoomId,
    user: UserId,
) -> Result<(RoomKind, Access), AppError> {
    match store::standing(&state.db, room, user).await? {
        Some((kind, Some(role))) => Ok((kind, Access::Member(role))),
        Some((RoomKind::Public, None)) => Ok((RoomKind::Public, Access::CanJoin)),
        _ => Err(AppError::NotFound),
    }
}

/// Like [`access`], but only members pass.
pub async fn require_member(
    state: &AppState,
    room: RoomId,
    user: UserId,
) -> Result<(RoomKind, Role), AppError> {
    match access(state, room, user).await? {
        (kind, Access::Member(role)) => Ok((kind, role)),
        (_, Access::CanJoin) => Err(AppError::NotFound),
    }
}

pub async fn detail(
    state: &AppState,
    room: RoomId,
    viewer: UserId,
) -> Result<RoomDetail, AppError> {
    let (_, access) = access(state, room, viewer).await?;
    let room = store::room_for(&state.db, room, viewer).await?;
    let members = store::members(&state.db, room.id).await?;
    Ok(RoomDetail { room, access, members })
}

pub async fn create_channel(
    state: &AppState,
    creator: UserId,
    name: &str,
    topic: &str,
    private: bool,
) -> Result<RoomId, AppError> {
    let name = clean_room_name(name)?;
    let topic = clean_topic(topic)?;
    let kind = if private { RoomKind::Private } else { RoomKind::Public };

    let members = [(creator, Role::Owner)];
    let new =
        NewRoom { kind, name: &name, topic: &topic, dm_key: None, creator, members: &members };
    let room = store::create_room(&state.db, new, now_ms()).await?.ok_or(AppError::Internal)?;

    tracing::debug!(room_id = %room, user_id = %creator, "channel created");
    state.hub.to_user(creator, ServerEvent::Joined { room_id: room });
    Ok(room)
}

/// The one direct-message room of a pair, created on first use.
pub async fn open_direct(state: &AppState, me: UserId, other: UserId) -> Result<RoomId, AppError> {
    if me == other {
        return Err(AppError::invalid("user", "Pick someone other than yourself."));
    }
    if !store::user_exists(&state.db, other).await? {
        return Err(AppError::NotFound);
    }
    let key = format!("{}:{}", me.min(other), me.max(other));
    if let Some(room) = store::dm_room(&state.db, &key).await? {
        return Ok(room);
    }

    let members = [(me, Role::Member), (other, Role::Member)];
    let new = NewRoom {
        kind: RoomKind::Direct,
        name: "",
        topic: "",
        dm_key: Some(&key),
        creator: me,
        members: &members,
    };
    let Some(room) = store::create_room(&state.db, new, now_ms()).await? else {
        // Both people opened the DM at once; the other insert won, use its room.
        return store::dm_room(&state.db, &key).await?.ok_or(AppError::Internal);
    };

    state.hub.to_user(me, ServerEvent::Joined { room_id: room });
    state.hub.to_user(other, ServerEvent::Joined { room_id: room });
    Ok(room)
}

/// A group DM with the given people. With one other person it is their direct message.
pub async fn create_group(
    state: &AppState,
    me: UserId,
    mut others: Vec<UserId>,
) -> Result<RoomId, AppError> {
    others.sort();
    others.dedup();
    others.retain(|id| *id != me);
    match others.len() {
        0 => return Err(AppError::invalid("users", "Pick at least one person.")),
        1 => return open_direct(state, me, others[0]).await,
        n if n + 1 > rules::GROUP_MAX_MEMBERS => {
            return Err(AppError::invalid(
                "users",
                format!("Group messages hold up to {} people.", rules::GROUP_MAX_MEMBERS),
            ));
        }
        _ => {}
    }
    for id in &others {
        if !store::user_exists(&state.db, *id).await? {
            return Err(AppError::NotFound);
        }
    }

    let members: Vec<(UserId, Role)> = [(me, Role::Owner)]
        .into_iter()
        .chain(others.iter().map(|id| (*id, Role::Member)))
        .collect();
    let new = NewRoom {
        kind: RoomKind::Group,
        name: "",
        topic: "",
        dm_key: None,
        creator: me,
        members: &members,
    };
    let room = store::create_room(&state.db, new, now_ms()).await?.ok_or(AppError::Internal)?;

    for id in others.iter().chain([&me]) {
        state.hub.to_user(*id, ServerEvent::Joined { room_id: room });
    }
    Ok(room)
}

pub async fn join(state: &AppState, room: RoomId, user: UserId) -> Result<(), AppError> {
    let (kind, access) = access(state, room, user).await?;
    if rules::is_member(access) {
        return Ok(());
    }
    if !rules::may_join(kind) {
        return Err(AppError::NotFound);
    }

    store::add_member(&state.db, room, user, Role::Member, now_ms()).await?;

    tracing::debug!(room_id = %room, user_id = %user, "joined");
    state.hub.to_user(user, ServerEvent::Joined { room_id: room });
    state.hub.to_room(room, ServerEvent::RoomUpdated { room_id: room });
    Ok(())
}

pub async fn leave(state: &AppState, room: RoomId, user: UserId) -> Result<(), AppError> {
    let (kind, _) = require_member(state, room, user).await?;
    if !rules::may_leave(kind) {
        return Err(AppError::invalid("room", "Direct messages cannot be left."));
    }

    store::remove_member(&state.db, room, user).await?;

    tracing::debug!(room_id = %room, user_id = %user, "left");
    state.hub.to_user(user, ServerEvent::Left { room_id: room });
    state.hub.to_room(room, ServerEvent::RoomUpdated { room_id: room });
    Ok(())
}

pub async fn invite(
    state: &AppState,
    room: RoomId,
    inviter: UserId,
    invitee: UserId,
) -> Result<(), AppError> {
    let (kind, _) = require_member(state, room, inviter).await?;
    if !rules::may_invite(kind) {
        return Err(AppError::Forbidden);
    }
    if !store::user_exists(&state.db, invitee).await? {
        return Err(AppError::NotFound);
    }

    let added = store::add_member(&state.db, room, invitee, Role::Member, now_ms()).await?;

    if added {
        tracing::debug!(room_id = %room, user_id = %invitee, by = %inviter, "invited");
        state.hub.to_user(invitee, ServerEvent::Joined { room_id: room });
        state.hub.to_room(room, ServerEvent::RoomUpdated { room_id: room });
    }
    Ok(())
}

/// Renames the room and sets its topic in one step, as the settings form submits both.
pub async fn update(
    state: &AppState,
    room: RoomId,
    user: UserId,
    name: &str,
    topic: &str,
) -> Result<(), AppError> {
    let (kind, role) = require_member(state, room, user).await?;
    if !rules::may_edit_room(kind, role) {
        return Err(AppError::Forbidden);
    }
    let topic = clean_topic(topic)?;
    // Group DMs may clear their name to go back to being named after their members.
    let name = if kind == RoomKind::Group && name.trim().is_empty() {
        String::new()
    } else {
        clean_room_name(name)?
    };

    store::set_name(&state.db, room, &name).await?;
    store::set_topic(&state.db, room, &topic).await?;

    state.hub.to_room(room, ServerEvent::RoomUpdated { room_id: room });
    Ok(())
}
