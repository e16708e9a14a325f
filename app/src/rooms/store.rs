//! SQL for rooms and memberships. Callers check access and rules first.

use sqlx::{SqliteConnection, SqlitePool};

use super::{ChannelListing, Member, Role, Room, RoomKind};
use crate::error::AppError;
use crate::ids::{RoomId, UserId};
use crate::users::User;

/// Room columns as seen by the viewer bound to `?1`: unnamed rooms take their other members'
/// display names.
macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.topic, r.last_seq,
         CASE WHEN r.name != '' THEN r.name ELSE COALESCE(
             (SELECT group_concat(u.display_name, ', ') FROM memberships o
              JOIN users u ON u.id = o.user_id WHERE o.room_id = r.id AND o.user_id != ?1),
             '') END AS name"
    };
}

pub async fn insert_room(
    conn: &mut SqliteConnection,
    kind: RoomKind,
    name: &str,
    topic: &str,
    dm_key: Option<&str>,
    creator: UserId,
    now: i64,
) -> Result<RoomId, AppError> {
    let id = sqlx::query_scalar(
        "INSERT INTO rooms (kind, name, topic, dm_key, last_activity_at, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(kind)
    .bind(name)
    .bind(topic)
    .bind(dm_key)
    .bind(now)
    .bind(creator)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Adds a member; adding someone who is already in the room changes nothing.
/// Returns whether the user was newly added.
pub async fn add_member(
    conn: &mut SqliteConnection,
    room: RoomId,
    user: UserId,
    role: Role,
    now: i64,
) -> Result<bool, AppError> {
    let done = sqlx::query(
        "INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(room)
    .bind(user)
    .bind(role)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_member(db: &SqlitePool, room: RoomId, user: UserId) -> Result<bool, AppError> {
    let done = sqlx::query("DELETE FROM memberships WHERE room_id = ? AND user_id = ?")
        .bind(room)
        .bind(user)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn dm_room(db: &SqlitePool, dm_key: &str) -> Result<Option<RoomId>, AppError> {
    let id = sqlx::query_scalar("SELECT id FROM rooms WHERE dm_key = ?")
        .bind(dm_key)
        .fetch_optional(db)
        .await?;
    Ok(id)
}

/// The room's kind and the viewer's role in it, if the room exists.
pub async fn standing(
    db: &SqlitePool,
    room: RoomId,
    user: UserId,
) -> Result<Option<(RoomKind, Option<Role>)>, AppError> {
    let row = sqlx::query_as(
        "SELECT r.kind, m.role FROM rooms r
         LEFT JOIN memberships m ON m.room_id = r.id AND m.user_id = ?2
         WHERE r.id = ?1",
    )
    .bind(room)
    .bind(user)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

pub async fn room_for(db: &SqlitePool, room: RoomId, viewer: UserId) -> Result<Room, AppError> {
    let row = sqlx::query_as(concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = ?2"))
        .bind(viewer)
        .bind(room)
        .fetch_one(db)
        .await?;
    Ok(row)
}

/// The sidebar: every room the user is in, most recently active first.
pub async fn rooms_of(db: &SqlitePool, user: UserId) -> Result<Vec<Room>, AppError> {
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        room_columns!(),
        " FROM memberships m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = ?1 ORDER BY r.last_activity_at DESC, r.id DESC"
    ))
    .bind(user)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// The public directory, with member counts and whether the viewer has joined.
pub async fn public_channels(
    db: &SqlitePool,
    viewer: UserId,
) -> Result<Vec<ChannelListing>, AppError> {
    let rows = sqlx::query_as(
        "SELECT r.id, r.name, r.topic,
             (SELECT COUNT(*) FROM memberships c WHERE c.room_id = r.id) AS member_count,
             EXISTS (SELECT 1 FROM memberships j WHERE j.room_id = r.id AND j.user_id = ?)
                 AS joined
         FROM rooms r WHERE r.kind = 'public' ORDER BY r.name COLLATE NOCASE LIMIT 500",
    )
    .bind(viewer)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: UserId,
    username: String,
    display_name: String,
    role: Role,
    last_seen_at: Option<i64>,
}

pub async fn members(db: &SqlitePool, room: RoomId) -> Result<Vec<Member>, AppError> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT u.id, u.username, u.display_name, m.role, u.last_seen_at FROM memberships m
         JOIN users u ON u.id = m.user_id WHERE m.room_id = ?
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END,
                  u.display_name COLLATE NOCASE",
    )
    .bind(room)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            user: User { id: r.id, username: r.username, display_name: r.display_name },
            role: r.role,
            last_seen: r.last_seen_at,
        })
        .collect())
}

pub async fn member_ids(db: &SqlitePool, room: RoomId) -> Result<Vec<UserId>, AppError> {
    let ids = sqlx::query_scalar("SELECT user_id FROM memberships WHERE room_id = ?")
        .bind(room)
        .fetch_all(db)
        .await?;
    Ok(ids)
}

/// The user's rooms, each with its newest sequence number: where a new socket's delivery
/// starts before the client says how far it has read.
pub async fn positions_of(db: &SqlitePool, user: UserId) -> Result<Vec<(RoomId, i64)>, AppError> {
    let rows = sqlx::query_as(
        "SELECT r.id, r.last_seq FROM memberships m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = ?",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// The room's newest sequence number; 0 for a room without messages (or none at all).
pub async fn last_seq(db: &SqlitePool, room: RoomId) -> Result<i64, AppError> {
    let seq = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?")
        .bind(room)
        .fetch_optional(db)
        .await?;
    Ok(seq.unwrap_or(0))
}

pub async fn set_name(db: &SqlitePool, room: RoomId, name: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE rooms SET name = ? WHERE id = ?")
        .bind(name)
        .bind(room)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_topic(db: &SqlitePool, room: RoomId, topic: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE rooms SET topic = ? WHERE id = ?")
        .bind(topic)
        .bind(room)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn user_exists(db: &SqlitePool, user: UserId) -> Result<bool, AppError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
        .bind(user)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}
