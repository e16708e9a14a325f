//! Throwaway PostgreSQL databases for tests, on the server named by `PARLEY_TEST_POSTGRES`.
//!
//! `cargo xtask test` starts a PostgreSQL cluster on loopback and sets that variable. Run
//! alone, without it, PostgreSQL tests are skipped with a note, except when `CI=true`: there
//! they must run, so a missing server fails the run instead of passing it silently.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};

/// The admin URL of the test cluster, e.g. `postgres://postgres@127.0.0.1:54329/postgres`.
pub const TEST_POSTGRES_VAR: &str = "PARLEY_TEST_POSTGRES";

static CREATED: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database on the test cluster, or `None` (after saying why) when
/// no cluster is configured outside CI.
pub async fn postgres_database() -> Option<String> {
    let Ok(admin) = std::env::var(TEST_POSTGRES_VAR) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{TEST_POSTGRES_VAR} is not set, and CI=true forbids skipping PostgreSQL tests"
        );
        eprintln!("{TEST_POSTGRES_VAR} not set: skipping a PostgreSQL test");
        return None;
    };

    // Unique across the test binaries that share the cluster, and across reruns.
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let name = format!(
        "parley_test_{}_{}_{}",
        std::process::id(),
        since.as_micros(),
        CREATED.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin_conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{TEST_POSTGRES_VAR} does not answer: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin_conn)
        .await
        .expect("create a test database");
    admin_conn.close().await.ok();

    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}
