//! `parley migrate-to-postgres`: a SQLite deployment moves to PostgreSQL with its accounts,
//! rooms and history, and the server goes on from there.

mod common;

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use app::db::scratch;

use common::binary::ServerProcess;
use common::{Client, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_moves_to_postgres_with_its_history() {
    let Some(postgres) = scratch::postgres_database().await else { return };
    let data = tempfile::tempdir().expect("data folder");
    let mut sqlite = ServerProcess::start(data.path(), None).await;
    let ann = Client::new(&sqlite.base);
    ann.sign_up("ann").await;
    let room = ann.create_channel("general", false).await;
    for k in 1..=30 {
        ann.say(room, &format!("m{k}"), &format!("message {k}")).await;
    }
    sqlite.terminate();
    assert!(sqlite.exited_within(Duration::from_secs(10)).await.is_some(), "still running");

    let moved = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["migrate-to-postgres", &postgres])
        .env("PARLEY_DATA_DIR", data.path())
        .env("PARLEY_LOG", "info")
        .env_remove("PARLEY_DATABASE")
        .output()
        .expect("the command runs");
    let again = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["migrate-to-postgres", &postgres])
        .env("PARLEY_DATA_DIR", data.path())
        .env_remove("PARLEY_DATABASE")
        .output()
        .expect("the command runs");

    let log = String::from_utf8_lossy(&moved.stdout).to_string()
        + &String::from_utf8_lossy(&moved.stderr);
    assert!(moved.status.success(), "{log}");
    assert!(log.contains("migration to PostgreSQL complete"), "{log}");
    assert!(!again.status.success(), "a second copy into a full database must refuse");
    let on_postgres = tempfile::tempdir().expect("data folder");
    let server = ServerProcess::start_with(
        on_postgres.path(),
        None,
        &[("PARLEY_DATABASE", postgres.as_str())],
    )
    .await;
    let ann = Client::new(&server.base);
    let (status, body) = ann.log_in("ann", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, page) =
        ann.post_json("list_messages", json!({"room_id": room, "before_seq": null})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let bodies: Vec<&str> =
        page["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.len(), 30);
    assert_eq!((bodies[0], bodies[29]), ("message 1", "message 30"));
    let next = ann.say(room, "m31", "on PostgreSQL now").await;
    assert_eq!(next["seq"], 31);
}
