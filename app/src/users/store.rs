//! SQL for accounts. Plain functions over the store; callers validate first.

use super::User;
use crate::db::Db;
use crate::error::AppError;
use crate::ids::UserId;
use crate::on_db;

/// What a log-in needs. The hash never leaves the server; `Debug` leaves it out.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: UserId,
    pub password_hash: String,
    pub auth_version: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("id", &self.id)
            .field("password_hash", &"[redacted]")
            .field("auth_version", &self.auth_version)
            .finish()
    }
}

pub async fn insert(
    db: &Db,
    username: &str,
    username_key: &str,
    display_name: &str,
    password_hash: &str,
    now: i64,
) -> Result<UserId, AppError> {
    on_db!(db, |pool| {
        let inserted = sqlx::query_scalar(
            "INSERT INTO users (username, username_key, display_name, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(username_key)
        .bind(display_name)
        .bind(password_hash)
        .bind(now)
        .fetch_one(pool)
        .await;

        match inserted {
            Ok(id) => Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AppError::UsernameTaken)
            }
            Err(e) => Err(e.into()),
        }
    })
}

pub async fn credentials_by_key(
    db: &Db,
    username_key: &str,
) -> Result<Option<Credentials>, AppError> {
    on_db!(db, |pool| {
        let row = sqlx::query_as(
            "SELECT id, password_hash, auth_version FROM users WHERE username_key = $1",
        )
        .bind(username_key)
        .fetch_optional(pool)
        .await?;
        Ok(row)
    })
}

pub async fn credentials_by_id(db: &Db, id: UserId) -> Result<Credentials, AppError> {
    on_db!(db, |pool| {
        let row =
            sqlx::query_as("SELECT id, password_hash, auth_version FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?;
        Ok(row)
    })
}

/// The user behind a session, if the session's `auth_version` is still current.
pub async fn by_session(db: &Db, id: UserId, auth_version: i64) -> Result<Option<User>, AppError> {
    on_db!(db, |pool| {
        let row = sqlx::query_as(
            "SELECT id, username, display_name FROM users WHERE id = $1 AND auth_version = $2",
        )
        .bind(id)
        .bind(auth_version)
        .fetch_optional(pool)
        .await?;
        Ok(row)
    })
}

pub async fn by_id(db: &Db, id: UserId) -> Result<User, AppError> {
    on_db!(db, |pool| {
        let row = sqlx::query_as("SELECT id, username, display_name FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
        Ok(row)
    })
}

/// Directory search by username or display name, prefix matches first. Both sides are
/// lower-cased, since `LIKE` ignores case on SQLite but not on PostgreSQL.
pub async fn search(db: &Db, query: &str, limit: i64) -> Result<Vec<User>, AppError> {
    on_db!(db, |pool| {
        let escaped =
            query.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let prefix = format!("{escaped}%");
        let anywhere = format!("%{escaped}%");
        let rows = sqlx::query_as(
            "SELECT id, username, display_name FROM users
             WHERE username_key LIKE $1 ESCAPE '\\' OR lower(display_name) LIKE $1 ESCAPE '\\'
             ORDER BY (username_key LIKE $2 ESCAPE '\\') DESC, username_key
             LIMIT $3",
        )
        .bind(&anywhere)
        .bind(&prefix)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// Replaces the hash and bumps `auth_version`, which kills every session minted before.
pub async fn set_password(db: &Db, id: UserId, hash: &str) -> Result<i64, AppError> {
    on_db!(db, |pool| {
        let version = sqlx::query_scalar(
            "UPDATE users SET password_hash = $1, auth_version = auth_version + 1 WHERE id = $2
             RETURNING auth_version",
        )
        .bind(hash)
        .bind(id)
        .fetch_one(pool)
        .await?;
        Ok(version)
    })
}

pub async fn set_last_seen(db: &Db, id: UserId, at: i64) -> Result<(), AppError> {
    on_db!(db, |pool| {
        sqlx::query("UPDATE users SET last_seen_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(pool)
            .await?;
        Ok(())
    })
}

pub async fn set_display_name(db: &Db, id: UserId, name: &str) -> Result<(), AppError> {
    on_db!(db, |pool| {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(pool)
            .await?;
        Ok(())
    })
}
