//! Moving a deployment from SQLite to PostgreSQL: `parley migrate-to-postgres`.
//!
//! Every table is copied row for row, ids and sequence numbers included, in one PostgreSQL
//! transaction: a failure leaves the target as empty as it was, and the source is only read.
//! Sessions are not copied; people log in again after the move.

use futures::TryStreamExt;
use sqlx::{Postgres, QueryBuilder, SqlitePool};

use super::Db;

/// Rows per INSERT: well under PostgreSQL's 65,535 parameters for the widest table.
const BATCH: usize = 1000;

/// Tables in the order their foreign keys need, each with its columns.
const TABLES: &[(&str, &[&str])] = &[
    (
        "users",
        &[
            "id",
            "username",
            "username_key",
            "display_name",
            "password_hash",
            "auth_version",
            "created_at",
            "last_seen_at",
        ],
    ),
    (
        "rooms",
        &[
            "id",
            "kind",
            "name",
            "topic",
            "dm_key",
            "last_seq",
            "last_activity_at",
            "created_by",
            "created_at",
        ],
    ),
    ("memberships", &["room_id", "user_id", "role", "joined_at", "last_read_seq"]),
    (
        "messages",
        &[
            "id",
            "room_id",
            "seq",
            "author_id",
            "client_id",
            "body",
            "created_at",
            "edited_at",
            "deleted_at",
        ],
    ),
    ("mentions", &["user_id", "room_id", "seq"]),
];

/// Tables whose `id` is generated: their counters must continue after the copied rows.
const IDENTITY_TABLES: &[&str] = &["users", "rooms", "messages"];

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the source must be a SQLite database and the target a PostgreSQL one")]
    WrongBackends,
    #[error("the target database already holds {0} users; copy only into an empty database")]
    TargetNotEmpty(i64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Rows copied per table, in copy order.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies everything from `from` (SQLite) into `to` (PostgreSQL, migrated and empty).
pub async fn sqlite_to_postgres(from: &Db, to: &Db) -> Result<Copied, TransferError> {
    let (Db::Sqlite(sqlite), Db::Postgres(target)) = (from, to) else {
        return Err(TransferError::WrongBackends);
    };
    let source = &sqlite.pool;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(target).await?;
    if users > 0 {
        return Err(TransferError::TargetNotEmpty(users));
    }

    let mut copied = Vec::new();
    let mut tx = target.begin().await?;
    for (table, columns) in TABLES {
        let rows = copy_table(source, &mut tx, table, columns).await?;
        tracing::info!(table, rows, "copied");
        copied.push((*table, rows));
    }
    for table in IDENTITY_TABLES {
        // The next generated id follows the highest copied one.
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                           COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(copied)
}

/// Streams one table out of SQLite and inserts it in batches. Values travel as SQLite gives
/// them: every column is an integer, a text or NULL, and the two schemas agree on which.
async fn copy_table(
    source: &SqlitePool,
    target: &mut sqlx::PgConnection,
    table: &str,
    columns: &[&str],
) -> Result<u64, TransferError> {
    let list = columns.join(", ");
    let select = format!("SELECT {list} FROM {table} ORDER BY {}", columns[0]);
    let mut rows = sqlx::query(&select).fetch(source);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
    let mut total = 0;
    while let Some(row) = rows.try_next().await? {
        batch.push(values_of(&row, columns.len())?);
        if batch.len() == BATCH {
            total += insert_batch(target, table, &list, &mut batch).await?;
        }
    }
    total += insert_batch(target, table, &list, &mut batch).await?;
    Ok(total)
}

/// One SQLite value, typed for binding into PostgreSQL.
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
}

fn values_of(row: &sqlx::sqlite::SqliteRow, width: usize) -> Result<Vec<Value>, sqlx::Error> {
    use sqlx::{Column, Row, TypeInfo, ValueRef};

    (0..width)
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                // A NULL's declared type still tells integer columns from text ones.
                let declared = row.column(i).type_info().name().to_ascii_uppercase();
                return Ok(if declared.contains("INT") {
                    Value::Integer(None)
                } else {
                    Value::Text(None)
                });
            }
            match raw.type_info().name() {
                "INTEGER" => row.try_get::<i64, _>(i).map(|v| Value::Integer(Some(v))),
                _ => row.try_get::<String, _>(i).map(|v| Value::Text(Some(v))),
            }
        })
        .collect()
}

async fn insert_batch(
    target: &mut sqlx::PgConnection,
    table: &str,
    columns: &str,
    batch: &mut Vec<Vec<Value>>,
) -> Result<u64, TransferError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut insert: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("INSERT INTO {table} ({columns}) "));
    insert.push_values(batch.drain(..), |mut row, values| {
        for value in values {
            match value {
                Value::Integer(v) => row.push_bind(v),
                Value::Text(v) => row.push_bind(v),
            };
        }
    });
    let done = insert.build().execute(target).await?;
    Ok(done.rows_affected())
}
