//! Storage against a real SQLite file: sequence numbers, idempotent inserts, tombstones, and
//! durability across a close and reopen. Needs `--features ssr`.

#![cfg(feature = "ssr")]

use std::path::Path;

use sqlx::SqlitePool;
use tempfile::TempDir;

use app::ids::{RoomId, UserId};
use app::messages::store::{self as messages, InsertError};
use app::rooms::store as rooms;
use app::rooms::{Role, RoomKind};
use app::users::store as users;

const NOW: i64 = 1_700_000_000_000;

/// A fresh database file in its own folder; the folder lives as long as the returned guard.
async fn fresh() -> (TempDir, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let db = app::db::open(&dir.path().join("parley.db")).await.unwrap();
    (dir, db)
}

async fn user(db: &SqlitePool, name: &str) -> UserId {
    users::insert(db, name, name, name, "$argon2id$not-a-real-hash", NOW).await.unwrap()
}

/// A public channel owned by `owner`.
async fn channel(db: &SqlitePool, owner: UserId, name: &str) -> RoomId {
    let mut tx = db.begin().await.unwrap();
    let room =
        rooms::insert_room(&mut tx, RoomKind::Public, name, "", None, owner, NOW).await.unwrap();
    rooms::add_member(&mut tx, room, owner, Role::Owner, NOW).await.unwrap();
    tx.commit().await.unwrap();
    room
}

async fn last_seq(db: &SqlitePool, room: RoomId) -> i64 {
    sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?")
        .bind(room)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn all_seqs(db: &SqlitePool, room: RoomId) -> Vec<i64> {
    sqlx::query_scalar("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq")
        .bind(room)
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_inserts_into_one_room_get_seq_1_to_20() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                messages::insert(&db, room, ann, &format!("c{i}"), &format!("body {i}"), NOW).await
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(message) => seqs.push(message.seq),
            Err(e) => panic!("a concurrent insert failed: {e:?}"),
        }
    }
    seqs.sort();

    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(all_seqs(&db, room).await, seqs);
    assert_eq!(last_seq(&db, room).await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_into_different_rooms_number_each_room_separately() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let general = channel(&db, ann, "general").await;
    let random = channel(&db, ann, "random").await;

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            let room = if i % 2 == 0 { general } else { random };
            tokio::spawn(async move {
                messages::insert(&db, room, ann, &format!("c{i}"), "hi", NOW).await.is_ok()
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap());
    }

    assert_eq!(all_seqs(&db, general).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(all_seqs(&db, random).await, (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_duplicate_client_id_is_refused_and_gives_its_seq_back() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;
    let first = messages::insert(&db, room, ann, "same", "hello", NOW).await.unwrap();

    let again = messages::insert(&db, room, ann, "same", "hello again", NOW).await;

    assert!(matches!(again, Err(InsertError::DuplicateClientId)), "{again:?}");
    assert_eq!(last_seq(&db, room).await, first.seq);
    let next = messages::insert(&db, room, ann, "other", "next", NOW).await.unwrap();
    assert_eq!(next.seq, first.seq + 1);
    let stored = messages::by_id(&db, first.id).await.unwrap().unwrap();
    assert_eq!(stored.body, "hello");
}

#[tokio::test]
async fn the_same_client_id_from_two_authors_is_two_messages() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let bob = user(&db, "bob").await;
    let room = channel(&db, ann, "general").await;

    let from_ann = messages::insert(&db, room, ann, "c1", "from ann", NOW).await.unwrap();
    let from_bob = messages::insert(&db, room, bob, "c1", "from bob", NOW).await.unwrap();

    assert_ne!(from_ann.id, from_bob.id);
    assert_eq!((from_ann.seq, from_bob.seq), (1, 2));
}

#[tokio::test]
async fn an_insert_into_a_missing_room_stores_nothing() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;

    let lost = messages::insert(&db, RoomId(404), ann, "c1", "nowhere", NOW).await;

    assert!(matches!(lost, Err(InsertError::Other(_))), "{lost:?}");
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(&db).await.unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn a_tombstone_cannot_be_edited() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;
    let message = messages::insert(&db, room, ann, "c1", "regrettable", NOW).await.unwrap();

    let deleted = messages::delete(&db, message.id, NOW + 1).await.unwrap();
    let edited = messages::edit(&db, message.id, "resurrected", NOW + 2).await.unwrap();

    assert_eq!(deleted.body, "");
    assert_eq!(deleted.deleted_at, Some(NOW + 1));
    assert_eq!(deleted.seq, message.seq);
    assert!(edited.is_none(), "a tombstone was edited: {edited:?}");
    let stored = messages::by_id(&db, message.id).await.unwrap().unwrap();
    assert_eq!((stored.body.as_str(), stored.edited_at), ("", None));
}

#[tokio::test]
async fn deleting_twice_keeps_the_first_deletion_time() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;
    let message = messages::insert(&db, room, ann, "c1", "oops", NOW).await.unwrap();

    messages::delete(&db, message.id, NOW + 1).await.unwrap();
    let again = messages::delete(&db, message.id, NOW + 5).await.unwrap();

    assert_eq!(again.deleted_at, Some(NOW + 1));
}

#[tokio::test]
async fn an_edit_replaces_the_body_and_keeps_the_seq() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;
    let message = messages::insert(&db, room, ann, "c1", "typo", NOW).await.unwrap();

    let edited = messages::edit(&db, message.id, "fixed", NOW + 1).await.unwrap().unwrap();

    assert_eq!(edited.body, "fixed");
    assert_eq!(edited.edited_at, Some(NOW + 1));
    assert_eq!((edited.seq, edited.created_at), (message.seq, message.created_at));
}

#[tokio::test]
async fn pages_walk_back_fifty_at_a_time_in_ascending_order() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;
    for i in 1..=101 {
        messages::insert(&db, room, ann, &format!("c{i}"), "x", NOW).await.unwrap();
    }

    let (newest, more_after_newest) = messages::page(&db, room, None).await.unwrap();
    let (middle, more_after_middle) = messages::page(&db, room, Some(52)).await.unwrap();
    let (oldest, more_after_oldest) = messages::page(&db, room, Some(2)).await.unwrap();

    let seqs = |page: &[app::messages::Message]| page.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&newest), (52..=101).collect::<Vec<_>>());
    assert!(more_after_newest);
    assert_eq!(seqs(&middle), (2..=51).collect::<Vec<_>>());
    assert!(more_after_middle);
    assert_eq!(seqs(&oldest), vec![1]);
    assert!(!more_after_oldest);
}

#[tokio::test]
async fn adding_a_member_twice_changes_nothing() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let bob = user(&db, "bob").await;
    let room = channel(&db, ann, "general").await;
    let mut conn = db.acquire().await.unwrap();

    let first = rooms::add_member(&mut conn, room, bob, Role::Member, NOW).await.unwrap();
    let second = rooms::add_member(&mut conn, room, bob, Role::Admin, NOW).await.unwrap();

    assert!(first);
    assert!(!second);
    let members = rooms::members(&db, room).await.unwrap();
    let roles: Vec<_> = members.iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(roles, vec![(ann, Role::Owner), (bob, Role::Member)]);
}

#[tokio::test]
async fn a_pair_has_one_direct_room_by_constraint() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let bob = user(&db, "bob").await;
    let key = format!("{ann}:{bob}");
    let mut conn = db.acquire().await.unwrap();
    let first = rooms::insert_room(&mut conn, RoomKind::Direct, "", "", Some(&key), ann, NOW)
        .await
        .unwrap();

    let second =
        rooms::insert_room(&mut conn, RoomKind::Direct, "", "", Some(&key), bob, NOW).await;

    assert!(second.is_err());
    assert_eq!(rooms::dm_room(&db, &key).await.unwrap(), Some(first));
}

#[tokio::test]
async fn leaving_removes_the_room_from_the_members_list() {
    let (_dir, db) = fresh().await;
    let ann = user(&db, "ann").await;
    let bob = user(&db, "bob").await;
    let room = channel(&db, ann, "general").await;
    let mut conn = db.acquire().await.unwrap();
    rooms::add_member(&mut conn, room, bob, Role::Member, NOW).await.unwrap();
    drop(conn);

    let removed = rooms::remove_member(&db, room, bob).await.unwrap();
    let removed_again = rooms::remove_member(&db, room, bob).await.unwrap();

    assert!(removed);
    assert!(!removed_again);
    assert!(rooms::rooms_of(&db, bob).await.unwrap().is_empty());
    assert_eq!(rooms::standing(&db, room, bob).await.unwrap(), Some((RoomKind::Public, None)));
}

async fn reopen(path: &Path, db: SqlitePool) -> SqlitePool {
    db.close().await;
    app::db::open(path).await.unwrap()
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.db");
    let db = app::db::open(&path).await.unwrap();
    let ann = user(&db, "ann").await;
    let room = channel(&db, ann, "general").await;
    for i in 1..=3 {
        messages::insert(&db, room, ann, &format!("c{i}"), &format!("message {i}"), NOW)
            .await
            .unwrap();
    }
    let doomed = messages::insert(&db, room, ann, "c4", "deleted", NOW).await.unwrap();
    messages::delete(&db, doomed.id, NOW).await.unwrap();

    let db = reopen(&path, db).await;

    let (page, has_more) = messages::page(&db, room, None).await.unwrap();
    let bodies: Vec<&str> = page.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["message 1", "message 2", "message 3", ""]);
    assert!(!has_more);
    assert!(page[3].is_deleted());
    assert_eq!(last_seq(&db, room).await, 4);
    assert_eq!(rooms::positions_of(&db, ann).await.unwrap(), vec![(room, 4)]);
    let retry = messages::insert(&db, room, ann, "c1", "message 1", NOW).await;
    assert!(matches!(retry, Err(InsertError::DuplicateClientId)));
    let next = messages::insert(&db, room, ann, "c5", "after reopening", NOW).await.unwrap();
    assert_eq!(next.seq, 5);
}
