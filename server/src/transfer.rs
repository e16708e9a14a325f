//! `parley migrate-to-postgres`: the command that moves a SQLite deployment to PostgreSQL.

use app::db::transfer::sqlite_to_postgres;
use app::db::{Backend, Db};

use crate::config::{Config, DatabaseUrl};

/// Copies the configured SQLite database into the PostgreSQL database at `target`, which is
/// migrated first and must hold no users yet. Stop the server before running it: messages
/// sent during the copy would stay behind.
pub async fn run(config: &Config, target: &str) -> anyhow::Result<()> {
    if Db::backend_of(config.database.as_str()) != Backend::Sqlite {
        anyhow::bail!("PARLEY_DATABASE must name the SQLite database to copy from");
    }
    if Db::backend_of(target) != Backend::Postgres {
        anyhow::bail!("the target must be a postgres:// URL");
    }
    if !std::path::Path::new(config.database.as_str().trim_start_matches("sqlite://")).exists() {
        anyhow::bail!("no SQLite database at {}", config.database);
    }

    let from = Db::open(config.database.as_str()).await?;
    let to = Db::open(target).await?;
    let copied = sqlite_to_postgres(&from, &to).await?;

    let rows: u64 = copied.iter().map(|(_, rows)| rows).sum();
    let target = DatabaseUrl(target.to_owned());
    tracing::info!(from = %config.database, to = %target, rows, "migration to PostgreSQL complete");
    from.close().await;
    to.close().await;
    Ok(())
}
