//! Read markers and unread counts. A member's marker is the newest sequence number they have
//! read; unread = the room's `last_seq` minus it, so counting never scans messages.

use crate::db::Db;
use crate::error::AppError;
use crate::ids::{RoomId, UserId};
use crate::live::protocol::UnreadState;
use crate::on_db;

/// Moves the member's read marker forward to `seq` (never past the room's newest message,
/// never backwards). Returns the new marker if it moved.
pub async fn mark_read(
    db: &Db,
    room: RoomId,
    user: UserId,
    seq: i64,
) -> Result<Option<i64>, AppError> {
    on_db!(db, |pool| {
        let moved = sqlx::query_scalar(
            "UPDATE memberships
             SET last_read_seq = (SELECT CASE WHEN last_seq < $1 THEN last_seq ELSE $1 END
                                  FROM rooms WHERE id = $2)
             WHERE room_id = $2 AND user_id = $3
               AND last_read_seq < (SELECT CASE WHEN last_seq < $1 THEN last_seq ELSE $1 END
                                    FROM rooms WHERE id = $2)
             RETURNING last_read_seq",
        )
        .bind(seq)
        .bind(room)
        .bind(user)
        .fetch_optional(pool)
        .await?;
        Ok(moved)
    })
}

/// Counters for every room of the user. Mentions are unread, undeleted messages that named
/// the user when they were sent (`mentions`, filled by the send).
pub async fn unreads_of(db: &Db, user: UserId) -> Result<Vec<UnreadState>, AppError> {
    on_db!(db, |pool| {
        let rows: Vec<(RoomId, i64, i64, i64)> = sqlx::query_as(
            "SELECT r.id, r.last_seq, m.last_read_seq,
                 (SELECT COUNT(*) FROM mentions n
                  JOIN messages x ON x.room_id = n.room_id AND x.seq = n.seq
                  WHERE n.user_id = m.user_id AND n.room_id = r.id AND n.seq > m.last_read_seq
                    AND x.deleted_at IS NULL)
             FROM memberships m
             JOIN rooms r ON r.id = m.room_id
             WHERE m.user_id = $1",
        )
        .bind(user)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(room_id, last_seq, read_seq, mentions)| UnreadState {
                room_id,
                last_seq,
                read_seq,
                mentions,
            })
            .collect())
    })
}
