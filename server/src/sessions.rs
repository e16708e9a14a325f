//! Where sessions are kept: in the store of record, on whichever backend it is. Any instance
//! reads any session, so a load balancer needs no sticky sessions.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use app::db::Db;

/// The session table on SQLite; on PostgreSQL the store keeps its own schema
/// (`tower_sessions.session`).
const SQLITE_TABLE: &str = "sessions";

/// tower-sessions' SQL store for the backend the server runs on.
#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// The session store beside `db`, its table created if missing.
    pub async fn open(db: &Db) -> anyhow::Result<Self> {
        let sessions = match db {
            Db::Sqlite(sqlite) => Self::Sqlite(
                SqliteStore::new(sqlite.pool.clone())
                    .with_table_name(SQLITE_TABLE)
                    .map_err(anyhow::Error::msg)?,
            ),
            Db::Postgres(pool) => Self::Postgres(PostgresStore::new(pool.clone())),
        };
        match &sessions {
            Self::Sqlite(store) => store.migrate().await?,
            Self::Postgres(store) => store.migrate().await?,
        }
        Ok(sessions)
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.create(record).await,
            Self::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.save(record).await,
            Self::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(store) => store.load(id).await,
            Self::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete(id).await,
            Self::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete_expired().await,
            Self::Postgres(store) => store.delete_expired().await,
        }
    }
}
