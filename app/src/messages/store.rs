//! SQL for messages. Sequence numbers come from `rooms.last_seq`, bumped in the same
//! transaction as the insert, so a failed send gives its number back and a room's messages are
//! numbered 1, 2, 3... without gaps.

use super::{Message, PAGE_SIZE};
use crate::db::Db;
use crate::error::AppError;
use crate::ids::{MessageId, RoomId, UserId};
use crate::on_db;

macro_rules! select_message {
    ($tail:literal) => {
        concat!(
            "SELECT m.id, m.room_id, m.seq, m.author_id, u.display_name AS author_name,
                    m.client_id, m.body, m.created_at, m.edited_at, m.deleted_at
             FROM messages m JOIN users u ON u.id = m.author_id ",
            $tail
        )
    };
}

/// Why an insert did not happen. The first two leave nothing of the send behind in the
/// transaction; after `Other` the transaction must not be committed.
#[derive(Debug)]
pub enum InsertError {
    /// The author already used this client id; the caller reads that message instead.
    DuplicateClientId,
    /// The author is not a member of the room, or there is no such room.
    NotMember,
    Other(AppError),
}

impl<E: Into<AppError>> From<E> for InsertError {
    fn from(err: E) -> Self {
        Self::Other(err.into())
    }
}

/// Called with a message right after its commit, before anything later is committed.
/// Sends publish from here, so a room's messages reach the hub in sequence order and a
/// committed message is published even if its sender has gone away meanwhile.
pub type OnCommit = Box<dyn FnOnce(&Message) + Send>;

/// A message on its way into the store.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub room: RoomId,
    pub author: UserId,
    /// Chosen by the client; a second send with it is refused (`DuplicateClientId`).
    pub client_id: String,
    pub body: String,
    pub now: i64,
}

/// The statements of one send, on `$tx`, an open transaction of either backend: take the
/// room's next sequence number, insert, resolve mentions, mark the author's own message read.
/// Three statements for a plain message, each a round trip to the database, and no
/// savepoint: a refused send undoes its own sequence number, so sends can share a
/// transaction (`messages::sends`).
macro_rules! send_in {
    ($tx:expr, $new:expr) => {
        async {
            use $crate::messages::store::InsertError;

            let tx = $tx;
            let $crate::messages::store::NewMessage { room, author, client_id, body, now } = $new;

            // Writing first takes the write lock (SQLite) or the room's row lock (PostgreSQL)
            // before anything is read, so concurrent sends to a room queue here. The same
            // statement is the membership check, made inside the transaction so a member
            // removed a moment ago cannot slip a message in, and it reads the author's name
            // for the answer.
            let bumped: Option<(i64, String)> = sqlx::query_as(
                "UPDATE rooms SET last_seq = last_seq + 1, last_activity_at = $1
                 WHERE id = $2
                   AND EXISTS (SELECT 1 FROM memberships WHERE room_id = $2 AND user_id = $3)
                 RETURNING last_seq, (SELECT display_name FROM users WHERE id = $3)",
            )
            .bind(now)
            .bind(room)
            .bind(author)
            .fetch_optional(&mut **tx)
            .await
            .map_err($crate::error::AppError::from)?;
            let Some((seq, author_name)) = bumped else {
                return Err(InsertError::NotMember);
            };

            // A used client id inserts nothing and raises no error, which would abort a
            // PostgreSQL transaction; the room gets its sequence number back.
            let inserted: Option<$crate::ids::MessageId> = sqlx::query_scalar(
                "INSERT INTO messages (room_id, seq, author_id, client_id, body, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (author_id, client_id) DO NOTHING
                 RETURNING id",
            )
            .bind(room)
            .bind(seq)
            .bind(author)
            .bind(client_id)
            .bind(body)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await
            .map_err($crate::error::AppError::from)?;
            let Some(id) = inserted else {
                sqlx::query("UPDATE rooms SET last_seq = last_seq - 1 WHERE id = $1")
                    .bind(room)
                    .execute(&mut **tx)
                    .await
                    .map_err($crate::error::AppError::from)?;
                return Err(InsertError::DuplicateClientId);
            };

            // Only members can be mentioned, and not by themselves.
            for key in $crate::messages::rules::mentioned_keys(body) {
                sqlx::query(
                    "INSERT INTO mentions (user_id, room_id, seq)
                     SELECT u.id, m.room_id, $1 FROM users u
                     JOIN memberships m ON m.user_id = u.id AND m.room_id = $2
                     WHERE u.username_key = $3 AND u.id != $4
                     ON CONFLICT DO NOTHING",
                )
                .bind(seq)
                .bind(room)
                .bind(key)
                .bind(author)
                .execute(&mut **tx)
                .await
                .map_err($crate::error::AppError::from)?;
            }

            // The author has read their own message.
            sqlx::query(
                "UPDATE memberships SET last_read_seq = $1 WHERE room_id = $2 AND user_id = $3",
            )
            .bind(seq)
            .bind(room)
            .bind(author)
            .execute(&mut **tx)
            .await
            .map_err($crate::error::AppError::from)?;

            // Everything the stored row holds is known here; reading it back would cost
            // a fourth round trip.
            Ok::<_, InsertError>($crate::messages::Message {
                id,
                room_id: *room,
                seq,
                author_id: *author,
                author_name,
                client_id: client_id.clone(),
                body: body.clone(),
                created_at: *now,
                edited_at: None,
                deleted_at: None,
            })
        }
        .await
    };
}
pub(crate) use send_in;

/// Commits a new message at the room's next sequence number, calls `on_commit` with it, and
/// returns it. On SQLite the send joins the group committer's next transaction
/// (`messages::sends`); on PostgreSQL it is a transaction of its own, serialized per room by
/// the lock on the room's row.
pub async fn insert(
    db: &Db,
    new: NewMessage,
    on_commit: impl FnOnce(&Message) + Send + 'static,
) -> Result<Message, InsertError> {
    match db {
        Db::Sqlite(sqlite) => sqlite.sends.insert(new, Box::new(on_commit)).await,
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(AppError::from)?;
            let message = send_in!(&mut tx, &new)?;
            tx.commit().await.map_err(AppError::from)?;
            on_commit(&message);
            Ok(message)
        }
    }
}

/// Up to `limit` messages of `room` after `after_seq`, oldest first: what a socket missed.
pub async fn after(
    db: &Db,
    room: RoomId,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Message>, AppError> {
    on_db!(db, |pool| {
        let rows = sqlx::query_as(select_message!(
            "WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3"
        ))
        .bind(room)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

pub async fn by_client_id(
    db: &Db,
    author: UserId,
    client_id: &str,
) -> Result<Option<Message>, AppError> {
    on_db!(db, |pool| {
        let found = sqlx::query_as(select_message!("WHERE m.author_id = $1 AND m.client_id = $2"))
            .bind(author)
            .bind(client_id)
            .fetch_optional(pool)
            .await?;
        Ok(found)
    })
}

pub async fn by_id(db: &Db, id: MessageId) -> Result<Option<Message>, AppError> {
    on_db!(db, |pool| {
        let found = sqlx::query_as(select_message!("WHERE m.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
        Ok(found)
    })
}

/// Up to [`PAGE_SIZE`] messages before `before_seq` (or the newest), in ascending order, and
/// whether older ones exist.
pub async fn page(
    db: &Db,
    room: RoomId,
    before_seq: Option<i64>,
) -> Result<(Vec<Message>, bool), AppError> {
    on_db!(db, |pool| {
        let mut rows: Vec<Message> = sqlx::query_as(select_message!(
            "WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        ))
        .bind(room)
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(PAGE_SIZE + 1)
        .fetch_all(pool)
        .await?;

        let has_more = rows.len() as i64 > PAGE_SIZE;
        rows.truncate(PAGE_SIZE as usize);
        rows.reverse();
        Ok((rows, has_more))
    })
}

/// Replaces the body of a live message. Returns `None` if the message is deleted: a tombstone
/// is final, so the condition is part of the UPDATE rather than a check beforehand.
pub async fn edit(
    db: &Db,
    id: MessageId,
    body: &str,
    now: i64,
) -> Result<Option<Message>, AppError> {
    on_db!(db, |pool| {
        let done = sqlx::query(
            "UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3 AND deleted_at IS NULL",
        )
        .bind(body)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        by_id(db, id).await
    })
}

/// Tombstones a message: the body is erased, the row and its sequence number stay.
pub async fn delete(db: &Db, id: MessageId, now: i64) -> Result<Message, AppError> {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE messages SET body = '', deleted_at = COALESCE(deleted_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
        by_id(db, id).await?.ok_or(AppError::NotFound)
    })
}
