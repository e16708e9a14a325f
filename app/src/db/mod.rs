//! The store of record: one interface over two databases. SQLite (a file, WAL) is the default;
//! PostgreSQL is for several instances sharing one database.
//!
//! Every storage function takes a [`Db`] and runs the same SQL on either backend through
//! [`on_db!`]: queries use `$1`-style parameters and functions both databases share
//! (`string_agg`, `lower`, `EXISTS`, `RETURNING`, `ON CONFLICT`), so a query is written once
//! and the shared storage suite (`app/tests/storage.rs`) runs it against each. Where the
//! dialects part ways, the schema does: each backend has its own migrations under
//! `migrations/sqlite` and `migrations/postgres`, applied when the store opens.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{PgPool, SqlitePool};

use crate::messages::sends::SendQueue;

pub mod scratch;
pub mod transfer;

/// Connections per instance to PostgreSQL. Several instances share one server, whose own
/// default limit is 100 connections.
const POSTGRES_CONNECTIONS: u32 = 16;
/// Connections to the SQLite file: readers run side by side, writers queue on its lock.
const SQLITE_CONNECTIONS: u32 = 8;

/// A pool on one of the two backends. Cloning shares the pool.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// SQLite's pool, and the queue through which every send is committed (one writer at a time
/// is all SQLite allows, so sends are committed in groups: `messages::sends`).
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub pool: SqlitePool,
    pub sends: SendQueue,
}

/// Which database a [`Db`] speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is:
/// `on_db!(db, |pool| query.fetch_one(pool).await)`. Not a closure: the body is pasted once
/// per backend and compiled for each, so one piece of SQL and Rust serves both.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(sqlite) => {
                let $pool = &sqlite.pool;
                $body
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Opens the store named by `url` and brings its schema up to date: `postgres://...`
    /// (or `postgresql://`) for PostgreSQL, anything else is a SQLite path (`sqlite://` is
    /// optional), created if missing.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        if Self::backend_of(url) == Backend::Postgres {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            return Ok(Self::Postgres(pool));
        }

        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL still survives a process crash (kill -9): the WAL is in the
            // OS's hands once a transaction commits. Only a power loss can drop the last
            // commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_CONNECTIONS)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self::Sqlite(SqliteDb { sends: SendQueue::start(pool.clone()), pool }))
    }

    /// The backend a database URL selects.
    pub fn backend_of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether the database answers: what `/readyz` reports.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_scheme_selects_the_backend() {
        assert_eq!(Db::backend_of("postgres://u@localhost/parley"), Backend::Postgres);
        assert_eq!(Db::backend_of("postgresql://localhost/parley"), Backend::Postgres);
        assert_eq!(Db::backend_of("data/parley.db"), Backend::Sqlite);
        assert_eq!(Db::backend_of("sqlite://data/parley.db"), Backend::Sqlite);
    }
}
