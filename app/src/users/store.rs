//! SQL for accounts. Plain functions over the pool; callers validate first.

use sqlx::SqlitePool;

use super::User;
use crate::error::AppError;
use crate::ids::UserId;

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
    db: &SqlitePool,
    username: &str,
    username_key: &str,
    display_name: &str,
    password_hash: &str,
    now: i64,
) -> Result<UserId, AppError> {
    let inserted = sqlx::query_scalar(
        "INSERT INTO users (username, username_key, display_name, password_hash, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(username)
    .bind(username_key)
    .bind(display_name)
    .bind(password_hash)
    .bind(now)
    .fetch_one(db)
    .await;

    match inserted {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::UsernameTaken),
        Err(e) => Err(e.into()),
    }
}

pub async fn credentials_by_key(
    db: &SqlitePool,
    username_key: &str,
) -> Result<Option<Credentials>, AppError> {
    let row =
        sqlx::query_as("SELECT id, password_hash, auth_version FROM users WHERE username_key = ?")
            .bind(username_key)
            .fetch_optional(db)
            .await?;
    Ok(row)
}

pub async fn credentials_by_id(db: &SqlitePool, id: UserId) -> Result<Credentials, AppError> {
    let row = sqlx::query_as("SELECT id, password_hash, auth_version FROM users WHERE id = ?")
        .bind(id)
        .fetch_one(db)
        .await?;
    Ok(row)
}

/// The user behind a session, if the session's `auth_version` is still current.
pub async fn by_session(
    db: &SqlitePool,
    id: UserId,
    auth_version: i64,
) -> Result<Option<User>, AppError> {
    let row = sqlx::query_as(
        "SELECT id, username, display_name FROM users WHERE id = ? AND auth_version = ?",
    )
    .bind(id)
    .bind(auth_version)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

pub async fn by_id(db: &SqlitePool, id: UserId) -> Result<User, AppError> {
    let row = sqlx::query_as("SELECT id, username, display_name FROM users WHERE id = ?")
        .bind(id)
        .fetch_one(db)
        .await?;
    Ok(row)
}

/// Directory search by username or display name prefix, then substring, best matches first.
pub async fn search(db: &SqlitePool, query: &str, limit: i64) -> Result<Vec<User>, AppError> {
    let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let prefix = format!("{escaped}%");
    let anywhere = format!("%{escaped}%");
    let rows = sqlx::query_as(
        "SELECT id, username, display_name FROM users
         WHERE username_key LIKE ?1 ESCAPE '\\' OR display_name LIKE ?2 ESCAPE '\\'
         ORDER BY (username_key LIKE ?3 ESCAPE '\\') DESC, username_key
         LIMIT ?4",
    )
    .bind(&anywhere)
    .bind(&anywhere)
    .bind(&prefix)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Replaces the hash and bumps `auth_version`, which kills every session minted before.
pub async fn set_password(db: &SqlitePool, id: UserId, hash: &str) -> Result<i64, AppError> {
    let version = sqlx::query_scalar(
        "UPDATE users SET password_hash = ?, auth_version = auth_version + 1 WHERE id = ?
         RETURNING auth_version",
    )
    .bind(hash)
    .bind(id)
    .fetch_one(db)
    .await?;
    Ok(version)
}

pub async fn set_last_seen(db: &SqlitePool, id: UserId, at: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET last_seen_at = ? WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_display_name(db: &SqlitePool, id: UserId, name: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET display_name = ? WHERE id = ?")
        .bind(name)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
