//! SQL for rooms and memberships. Callers check access and rules first.

use super::{ChannelListing, Member, Role, Room, RoomKind};
use crate::db::Db;
use crate::error::AppError;
use crate::ids::{RoomId, UserId};
use crate::on_db;
use crate::users::User;

/// Room columns as seen by the viewer bound to `?1`: unnamed rooms take their other members'
/// display names.
macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.topic, r.last_seq,
         CASE WHEN r.name != '' THEN r.name ELSE COALESCE(
             (SELECT string_agg(u.display_name, ', ' ORDER BY u.display_name) FROM memberships o
              JOIN users u ON u.id = o.user_id WHERE o.room_id = r.id AND o.user_id != $1),
             '') END AS name"
    };
}

/// A room about to be created, with its first members.
pub struct NewRoom<'a> {
    pub kind: RoomKind,
    pub name: &'a str,
    pub topic: &'a str,
    /// Set for direct messages: the pair's key, unique across rooms.
    pub dm_key: Option<&'a str>,
    pub creator: UserId,
    pub members: &'a [(UserId, Role)],
}

/// Creates the room and its memberships in one transaction. `None` when a direct-message
/// room with the same key already exists (both people opened it at once).
pub async fn create_room(
    db: &Db,
    room: NewRoom<'_>,
    now: i64,
) -> Result<Option<RoomId>, AppError> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: Option<RoomId> = sqlx::query_scalar(
            "INSERT INTO rooms (kind, name, topic, dm_key, last_activity_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(room.kind)
        .bind(room.name)
        .bind(room.topic)
        .bind(room.dm_key)
        .bind(now)
        .bind(room.creator)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else { return Ok(None) };

        for (user, role) in room.members {
            sqlx::query(
                "INSERT INTO memberships (room_id, user_id, role, joined_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(user)
            .bind(role)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    })
}

/// Adds a member; adding someone who is already in the room changes nothing.
/// Returns whether the user was newly added.
pub async fn add_member(
    db: &Db,
    room: RoomId,
    user: UserId,
    role: Role,
    now: i64,
) -> Result<bool, AppError> {
    on_db!(db, |pool| {
        let done = sqlx::query(
            "INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(room)
        .bind(user)
        .bind(role)
        .bind(now)
        .execute(pool)
        .await?;
        Ok(done.rows_affected() == 1)
    })
}

pub async fn remove_member(db: &Db, room: RoomId, user: UserId) -> Result<bool, AppError> {
    on_db!(db, |pool| {
        let done = sqlx::query("DELETE FROM memberships WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user)
            .execute(pool)
            .await?;
        Ok(done.rows_affected() == 1)
    })
}

pub async fn dm_room(db: &Db, dm_key: &str) -> Result<Option<RoomId>, AppError> {
    on_db!(db, |pool| {
        let id = sqlx::query_scalar("SELECT id FROM rooms WHERE dm_key = $1")
            .bind(dm_key)
            .fetch_optional(pool)
            .await?;
        Ok(id)
    })
}

/// The room's kind and the viewer's role in it, if the room exists.
pub async fn standing(
    db: &Db,
    room: RoomId,
    user: UserId,
) -> Result<Option<(RoomKind, Option<Role>)>, AppError> {
    on_db!(db, |pool| {
        let row = sqlx::query_as(
            "SELECT r.kind, m.role FROM rooms r
             LEFT JOIN memberships m ON m.room_id = r.id AND m.user_id = $2
             WHERE r.id = $1",
        )
        .bind(room)
        .bind(user)
        .fetch_optional(pool)
        .await?;
        Ok(row)
    })
}

pub async fn room_for(db: &Db, room: RoomId, viewer: UserId) -> Result<Room, AppError> {
    on_db!(db, |pool| {
        let row =
            sqlx::query_as(concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = $2"))
                .bind(viewer)
                .bind(room)
                .fetch_one(pool)
                .await?;
        Ok(row)
    })
}

/// The sidebar: every room the user is in, most recently active first.
pub async fn rooms_of(db: &Db, user: UserId) -> Result<Vec<Room>, AppError> {
    on_db!(db, |pool| {
        let rows = sqlx::query_as(concat!(
            "SELECT ",
            room_columns!(),
            " FROM memberships m JOIN rooms r ON r.id = m.room_id
             WHERE m.user_id = $1 ORDER BY r.last_activity_at DESC, r.id DESC"
        ))
        .bind(user)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// The public directory, with member counts and whether the viewer has joined.
pub async fn public_channels(db: &Db, viewer: UserId) -> Result<Vec<ChannelListing>, AppError> {
    on_db!(db, |pool| {
        let rows = sqlx::query_as(
            "SELECT r.id, r.name, r.topic,
                 (SELECT COUNT(*) FROM memberships c WHERE c.room_id = r.id) AS member_count,
                 EXISTS (SELECT 1 FROM memberships j WHERE j.room_id = r.id AND j.user_id = $1)
                     AS joined
             FROM rooms r WHERE r.kind = 'public' ORDER BY lower(r.name), r.id LIMIT 500",
        )
        .bind(viewer)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: UserId,
    username: String,
    display_name: String,
    role: Role,
    last_seen_at: Option<i64>,
}

pub async fn members(db: &Db, room: RoomId) -> Result<Vec<Member>, AppError> {
    on_db!(db, |pool| {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT u.id, u.username, u.display_name, m.role, u.last_seen_at FROM memberships m
             JOIN users u ON u.id = m.user_id WHERE m.room_id = $1
             ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END,
                      lower(u.display_name), u.id",
        )
        .bind(room)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Member {
                user: User { id: r.id, username: r.username, display_name: r.display_name },
                role: r.role,
                last_seen: r.last_seen_at,
            })
            .collect())
    })
}

pub async fn member_ids(db: &Db, room: RoomId) -> Result<Vec<UserId>, AppError> {
    on_db!(db, |pool| {
        let ids = sqlx::query_scalar("SELECT user_id FROM memberships WHERE room_id = $1")
            .bind(room)
            .fetch_all(pool)
            .await?;
        Ok(ids)
    })
}

/// The user's rooms, each with its newest sequence number: where a new socket's delivery
/// starts before the client says how far it has read.
pub async fn positions_of(db: &Db, user: UserId) -> Result<Vec<(RoomId, i64)>, AppError> {
    on_db!(db, |pool| {
        let rows = sqlx::query_as(
            "SELECT r.id, r.last_seq FROM memberships m JOIN rooms r ON r.id = m.room_id
             WHERE m.user_id = $1",
        )
        .bind(user)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// The room's newest sequence number; 0 for a room without messages (or none at all).
pub async fn last_seq(db: &Db, room: RoomId) -> Result<i64, AppError> {
    on_db!(db, |pool| {
        let seq = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = $1")
            .bind(room)
            .fetch_optional(pool)
            .await?;
        Ok(seq.unwrap_or(0))
    })
}

pub async fn set_name(db: &Db, room: RoomId, name: &str) -> Result<(), AppError> {
    on_db!(db, |pool| {
        sqlx::query("UPDATE rooms SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(room)
            .execute(pool)
            .await?;
        Ok(())
    })
}

pub async fn set_topic(db: &Db, room: RoomId, topic: &str) -> Result<(), AppError> {
    on_db!(db, |pool| {
        sqlx::query("UPDATE rooms SET topic = $1 WHERE id = $2")
            .bind(topic)
            .bind(room)
            .execute(pool)
            .await?;
        Ok(())
    })
}

pub async fn user_exists(db: &Db, user: UserId) -> Result<bool, AppError> {
    on_db!(db, |pool| {
        let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(user)
            .fetch_one(pool)
            .await?;
        Ok(found)
    })
}
