//! The shared storage suite: the same tests against SQLite and against PostgreSQL, so both
//! backends keep one behaviour. Sequence numbers, idempotent inserts, tombstones, rooms and
//! members, searches, unread markers, durability across a reopen, and the copy from SQLite
//! to PostgreSQL. Needs `--features ssr`; PostgreSQL comes from `PARLEY_TEST_POSTGRES`
//! (`app/src/db/scratch.rs`).

#![cfg(feature = "ssr")]

use std::future::Future;
use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use app::db::{Backend, Db, scratch, transfer};
use app::ids::{RoomId, UserId};
use app::messages::Message;
use app::messages::store::{self as messages, InsertError, NewMessage};
use app::on_db;
use app::rooms::store::{self as rooms, NewRoom};
use app::rooms::{Role, RoomKind};
use app::unreads::store as unreads;
use app::users::store as users;

const NOW: i64 = 1_700_000_000_000;

/// A fresh, migrated store and what must outlive it.
struct Fresh {
    db: Db,
    url: String,
    _dir: Option<TempDir>,
}

impl Fresh {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("parley.db").display().to_string();
        Self { db: Db::open(&url).await.unwrap(), url, _dir: Some(dir) }
    }

    /// `None` when PostgreSQL tests are skipped (never under CI).
    async fn postgres() -> Option<Self> {
        let url = scratch::postgres_database().await?;
        Some(Self { db: Db::open(&url).await.unwrap(), url, _dir: None })
    }

    /// Closes the pool and opens the same database again, as a restart would.
    async fn reopen(&mut self) {
        self.db.close().await;
        self.db = Db::open(&self.url).await.unwrap();
    }
}

/// Declares each listed test twice, once per backend.
macro_rules! storage_suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(super::Fresh::sqlite().await).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(fresh) = super::Fresh::postgres().await {
                        super::$test(fresh).await;
                    }
                }
            )*
        }
    };
}

storage_suite!(
    twenty_concurrent_inserts_into_one_room_get_seq_1_to_20,
    each_commit_is_handed_on_once_and_a_refused_send_not_at_all,
    refused_sends_among_good_ones_leave_the_room_gapless,
    concurrent_inserts_into_different_rooms_number_each_room_separately,
    a_duplicate_client_id_is_refused_and_gives_its_seq_back,
    the_same_client_id_from_two_authors_is_two_messages,
    an_insert_into_a_missing_room_stores_nothing,
    a_non_member_stores_nothing_and_takes_no_seq,
    a_tombstone_cannot_be_edited,
    deleting_twice_keeps_the_first_deletion_time,
    an_edit_replaces_the_body_and_keeps_the_seq,
    pages_walk_back_fifty_at_a_time_in_ascending_order,
    adding_a_member_twice_changes_nothing,
    a_pair_has_one_direct_room_by_constraint,
    leaving_removes_the_room_from_the_members_list,
    usernames_are_unique_without_regard_to_case,
    directory_search_ignores_case_and_ranks_prefixes_first,
    unnamed_rooms_are_named_after_the_other_members,
    public_channels_list_counts_and_whether_the_viewer_joined,
    read_markers_move_forward_only_and_count_mentions,
    a_password_change_bumps_the_auth_version,
    data_survives_closing_and_reopening_the_pool,
    profile_and_room_settings_are_stored,
    a_resume_reads_what_follows_a_sequence_and_a_retry_finds_its_client_id,
);

fn new_message(room: RoomId, author: UserId, client_id: &str, body: &str, now: i64) -> NewMessage {
    NewMessage { room, author, client_id: client_id.to_owned(), body: body.to_owned(), now }
}

/// Stores a message as a send does, handing it on to nobody.
async fn insert(
    db: &Db,
    room: RoomId,
    author: UserId,
    client_id: &str,
    body: &str,
    now: i64,
) -> Result<Message, InsertError> {
    messages::insert(db, new_message(room, author, client_id, body, now), |_| {}).await
}

async fn user(db: &Db, name: &str) -> UserId {
    users::insert(db, name, name, name, "$argon2id$not-a-real-hash", NOW).await.unwrap()
}

/// A room of `kind` owned by `owner`, with `others` as members.
async fn room(db: &Db, kind: RoomKind, name: &str, owner: UserId, others: &[UserId]) -> RoomId {
    let members: Vec<(UserId, Role)> = [(owner, Role::Owner)]
        .into_iter()
        .chain(others.iter().map(|id| (*id, Role::Member)))
        .collect();
    let new = NewRoom { kind, name, topic: "", dm_key: None, creator: owner, members: &members };
    rooms::create_room(db, new, NOW).await.unwrap().unwrap()
}

/// A public channel owned by `owner`.
async fn channel(db: &Db, owner: UserId, name: &str) -> RoomId {
    room(db, RoomKind::Public, name, owner, &[]).await
}

async fn last_seq(db: &Db, room: RoomId) -> i64 {
    rooms::last_seq(db, room).await.unwrap()
}

async fn all_seqs(db: &Db, room: RoomId) -> Vec<i64> {
    on_db!(db, |pool| {
        sqlx::query_scalar("SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq")
            .bind(room)
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on_db!(db, |pool| sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap())
}

/// Runs `task` twenty times at once; `i` is the task's number.
async fn twenty_at_once<F, T>(task: impl Fn(usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..20).map(|i| tokio::spawn(task(i))).collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

async fn twenty_concurrent_inserts_into_one_room_get_seq_1_to_20(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;

    let sent = twenty_at_once(|i| {
        let db = db.clone();
        async move { insert(&db, room, ann, &format!("c{i}"), &format!("body {i}"), NOW).await }
    })
    .await;

    let mut seqs: Vec<i64> = sent
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a concurrent insert failed: {e:?}")).seq)
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(all_seqs(db, room).await, seqs);
    assert_eq!(last_seq(db, room).await, 20);
}

/// What is handed on after a commit is what sends publish. On SQLite one committer hands
/// messages on in sequence order; on PostgreSQL concurrent senders may hand theirs on in
/// either order, which sockets absorb.
async fn each_commit_is_handed_on_once_and_a_refused_send_not_at_all(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    let handed = Arc::new(Mutex::new(Vec::new()));
    let recorder = |handed: &Arc<Mutex<Vec<i64>>>| {
        let handed = handed.clone();
        move |message: &Message| handed.lock().unwrap().push(message.seq)
    };

    let sent = twenty_at_once(|i| {
        let (db, on_commit) = (db.clone(), recorder(&handed));
        let new = new_message(room, ann, &format!("c{i}"), "hi", NOW);
        async move { messages::insert(&db, new, on_commit).await.is_ok() }
    })
    .await;
    let again = new_message(room, ann, "c0", "a retry", NOW);
    let refused = messages::insert(db, again, recorder(&handed)).await;

    assert!(sent.iter().all(|ok| *ok));
    assert!(matches!(refused, Err(InsertError::DuplicateClientId)));
    let handed = handed.lock().unwrap().clone();
    let mut in_order = handed.clone();
    in_order.sort();
    assert_eq!(in_order, (1..=20).collect::<Vec<_>>(), "each commit handed on once");
    if matches!(db, Db::Sqlite(_)) {
        assert_eq!(handed, in_order, "the committer hands messages on in sequence order");
    }
}

/// On SQLite sends sent together share one transaction with no savepoints: a refused one must
/// undo exactly its own statements and nothing of its neighbours.
async fn refused_sends_among_good_ones_leave_the_room_gapless(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let eve = user(db, "eve").await;
    let room = channel(db, ann, "general").await;
    let first = insert(db, room, ann, "taken", "first", NOW).await.unwrap();

    let outcomes = twenty_at_once(|i| {
        let db = db.clone();
        let (author, client_id) = match i % 3 {
            0 => (ann, "taken".to_owned()),
            1 => (eve, format!("c{i}")),
            _ => (ann, format!("c{i}")),
        };
        async move { insert(&db, room, author, &client_id, "hi", NOW).await }
    })
    .await;

    let stored = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let duplicates =
        outcomes.iter().filter(|o| matches!(o, Err(InsertError::DuplicateClientId))).count();
    let strangers = outcomes.iter().filter(|o| matches!(o, Err(InsertError::NotMember))).count();
    assert_eq!((stored, duplicates, strangers), (6, 7, 7), "{outcomes:?}");
    let expected: Vec<i64> = (1..=7).collect();
    assert_eq!(all_seqs(db, room).await, expected);
    assert_eq!(last_seq(db, room).await, 7);
    assert_eq!(messages::by_id(db, first.id).await.unwrap().unwrap().body, "first");
}

async fn concurrent_inserts_into_different_rooms_number_each_room_separately(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let general = channel(db, ann, "general").await;
    let random = channel(db, ann, "random").await;

    let sent = twenty_at_once(|i| {
        let db = db.clone();
        let room = if i % 2 == 0 { general } else { random };
        async move { insert(&db, room, ann, &format!("c{i}"), "hi", NOW).await.is_ok() }
    })
    .await;

    assert!(sent.iter().all(|ok| *ok));
    assert_eq!(all_seqs(db, general).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(all_seqs(db, random).await, (1..=10).collect::<Vec<_>>());
}

async fn a_duplicate_client_id_is_refused_and_gives_its_seq_back(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    let first = insert(db, room, ann, "same", "hello", NOW).await.unwrap();

    let again = insert(db, room, ann, "same", "hello again", NOW).await;

    assert!(matches!(again, Err(InsertError::DuplicateClientId)), "{again:?}");
    assert_eq!(last_seq(db, room).await, first.seq);
    let next = insert(db, room, ann, "other", "next", NOW).await.unwrap();
    assert_eq!(next.seq, first.seq + 1);
    let stored = messages::by_id(db, first.id).await.unwrap().unwrap();
    assert_eq!(stored.body, "hello");
}

async fn the_same_client_id_from_two_authors_is_two_messages(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let room = room(db, RoomKind::Public, "general", ann, &[bob]).await;

    let from_ann = insert(db, room, ann, "c1", "from ann", NOW).await.unwrap();
    let from_bob = insert(db, room, bob, "c1", "from bob", NOW).await.unwrap();

    assert_ne!(from_ann.id, from_bob.id);
    assert_eq!((from_ann.seq, from_bob.seq), (1, 2));
}

async fn an_insert_into_a_missing_room_stores_nothing(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;

    let lost = insert(db, RoomId(404), ann, "c1", "nowhere", NOW).await;

    assert!(matches!(lost, Err(InsertError::NotMember)), "{lost:?}");
    assert_eq!(count(db, "messages").await, 0);
}

/// The membership check is part of the insert's own transaction, so it is the one that counts
/// even for a member removed after every check outside it.
async fn a_non_member_stores_nothing_and_takes_no_seq(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let eve = user(db, "eve").await;
    let room = channel(db, ann, "general").await;
    insert(db, room, ann, "c1", "members only", NOW).await.unwrap();

    let refused = insert(db, room, eve, "c1", "let me in", NOW).await;

    assert!(matches!(refused, Err(InsertError::NotMember)), "{refused:?}");
    assert_eq!(count(db, "messages").await, 1);
    assert_eq!(last_seq(db, room).await, 1);
    rooms::add_member(db, room, eve, Role::Member, NOW).await.unwrap();
    let joined = insert(db, room, eve, "c2", "hello", NOW).await.unwrap();
    assert_eq!((joined.seq, joined.author_name.as_str()), (2, "eve"));
}

async fn a_tombstone_cannot_be_edited(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    let message = insert(db, room, ann, "c1", "regrettable", NOW).await.unwrap();

    let deleted = messages::delete(db, message.id, NOW + 1).await.unwrap();
    let edited = messages::edit(db, message.id, "resurrected", NOW + 2).await.unwrap();

    assert_eq!(deleted.body, "");
    assert_eq!(deleted.deleted_at, Some(NOW + 1));
    assert_eq!(deleted.seq, message.seq);
    assert!(edited.is_none(), "a tombstone was edited: {edited:?}");
    let stored = messages::by_id(db, message.id).await.unwrap().unwrap();
    assert_eq!((stored.body.as_str(), stored.edited_at), ("", None));
}

async fn deleting_twice_keeps_the_first_deletion_time(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    let message = insert(db, room, ann, "c1", "oops", NOW).await.unwrap();

    messages::delete(db, message.id, NOW + 1).await.unwrap();
    let again = messages::delete(db, message.id, NOW + 5).await.unwrap();

    assert_eq!(again.deleted_at, Some(NOW + 1));
}

async fn an_edit_replaces_the_body_and_keeps_the_seq(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    let message = insert(db, room, ann, "c1", "typo", NOW).await.unwrap();

    let edited = messages::edit(db, message.id, "fixed", NOW + 1).await.unwrap().unwrap();

    assert_eq!(edited.body, "fixed");
    assert_eq!(edited.edited_at, Some(NOW + 1));
    assert_eq!((edited.seq, edited.created_at), (message.seq, message.created_at));
}

async fn pages_walk_back_fifty_at_a_time_in_ascending_order(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    for i in 1..=101 {
        insert(db, room, ann, &format!("c{i}"), "x", NOW).await.unwrap();
    }

    let (newest, more_after_newest) = messages::page(db, room, None).await.unwrap();
    let (middle, more_after_middle) = messages::page(db, room, Some(52)).await.unwrap();
    let (oldest, more_after_oldest) = messages::page(db, room, Some(2)).await.unwrap();

    let seqs = |page: &[app::messages::Message]| page.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&newest), (52..=101).collect::<Vec<_>>());
    assert!(more_after_newest);
    assert_eq!(seqs(&middle), (2..=51).collect::<Vec<_>>());
    assert!(more_after_middle);
    assert_eq!(seqs(&oldest), vec![1]);
    assert!(!more_after_oldest);
}

async fn adding_a_member_twice_changes_nothing(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let room = channel(db, ann, "general").await;

    let first = rooms::add_member(db, room, bob, Role::Member, NOW).await.unwrap();
    let second = rooms::add_member(db, room, bob, Role::Admin, NOW).await.unwrap();

    assert!(first);
    assert!(!second);
    let members = rooms::members(db, room).await.unwrap();
    let roles: Vec<_> = members.iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(roles, vec![(ann, Role::Owner), (bob, Role::Member)]);
}

async fn a_pair_has_one_direct_room_by_constraint(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let key = format!("{ann}:{bob}");
    let members = [(ann, Role::Member), (bob, Role::Member)];
    let direct = |creator| NewRoom {
        kind: RoomKind::Direct,
        name: "",
        topic: "",
        dm_key: Some(&key),
        creator,
        members: &members,
    };
    let first = rooms::create_room(db, direct(ann), NOW).await.unwrap();

    let second = rooms::create_room(db, direct(bob), NOW).await.unwrap();

    assert!(first.is_some());
    assert_eq!(second, None);
    assert_eq!(rooms::dm_room(db, &key).await.unwrap(), first);
    assert_eq!(count(db, "rooms").await, 1);
}

async fn leaving_removes_the_room_from_the_members_list(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let room = channel(db, ann, "general").await;
    rooms::add_member(db, room, bob, Role::Member, NOW).await.unwrap();

    let removed = rooms::remove_member(db, room, bob).await.unwrap();
    let removed_again = rooms::remove_member(db, room, bob).await.unwrap();

    assert!(removed);
    assert!(!removed_again);
    assert!(rooms::rooms_of(db, bob).await.unwrap().is_empty());
    assert_eq!(rooms::standing(db, room, bob).await.unwrap(), Some((RoomKind::Public, None)));
}

async fn data_survives_closing_and_reopening_the_pool(mut fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    for i in 1..=3 {
        insert(db, room, ann, &format!("c{i}"), &format!("message {i}"), NOW).await.unwrap();
    }
    let doomed = insert(db, room, ann, "c4", "deleted", NOW).await.unwrap();
    messages::delete(db, doomed.id, NOW).await.unwrap();

    fresh.reopen().await;
    let db = &fresh.db;

    let (page, has_more) = messages::page(db, room, None).await.unwrap();
    let bodies: Vec<&str> = page.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["message 1", "message 2", "message 3", ""]);
    assert!(!has_more);
    assert!(page[3].is_deleted());
    assert_eq!(last_seq(db, room).await, 4);
    assert_eq!(rooms::positions_of(db, ann).await.unwrap(), vec![(room, 4)]);
    let retry = insert(db, room, ann, "c1", "message 1", NOW).await;
    assert!(matches!(retry, Err(InsertError::DuplicateClientId)));
    let next = insert(db, room, ann, "c5", "after reopening", NOW).await.unwrap();
    assert_eq!(next.seq, 5);
}

async fn usernames_are_unique_without_regard_to_case(fresh: Fresh) {
    let db = &fresh.db;
    users::insert(db, "Ann", "ann", "Ann", "$argon2id$x", NOW).await.unwrap();

    let again = users::insert(db, "ANN", "ann", "Other Ann", "$argon2id$x", NOW).await;

    assert!(matches!(again, Err(app::error::AppError::UsernameTaken)), "{again:?}");
    assert_eq!(count(db, "users").await, 1);
}

async fn directory_search_ignores_case_and_ranks_prefixes_first(fresh: Fresh) {
    let db = &fresh.db;
    users::insert(db, "mariana", "mariana", "Mariana Trench", "$argon2id$x", NOW).await.unwrap();
    users::insert(db, "ana", "ana", "Ana Lopez", "$argon2id$x", NOW).await.unwrap();
    users::insert(db, "bob", "bob", "Bob", "$argon2id$x", NOW).await.unwrap();
    users::insert(db, "per_cent", "per_cent", "100% Per", "$argon2id$x", NOW).await.unwrap();

    let found = users::search(db, "ANA", 10).await.unwrap();
    let by_display = users::search(db, "lopez", 10).await.unwrap();
    let wildcard = users::search(db, "%", 10).await.unwrap();

    let names = |list: &[app::users::User]| -> Vec<String> {
        list.iter().map(|u| u.username.clone()).collect()
    };
    assert_eq!(names(&found), vec!["ana", "mariana"]);
    assert_eq!(names(&by_display), vec!["ana"]);
    assert_eq!(names(&wildcard), vec!["per_cent"], "% must match only itself");
}

async fn unnamed_rooms_are_named_after_the_other_members(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let cat = user(db, "cat").await;
    let group = room(db, RoomKind::Group, "", ann, &[cat, bob]).await;

    let seen_by_ann = rooms::room_for(db, group, ann).await.unwrap();
    let seen_by_cat = rooms::room_for(db, group, cat).await.unwrap();

    assert_eq!(seen_by_ann.name, "bob, cat");
    assert_eq!(seen_by_cat.name, "ann, bob");
    assert_eq!(seen_by_ann.kind, RoomKind::Group);
}

async fn public_channels_list_counts_and_whether_the_viewer_joined(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    room(db, RoomKind::Public, "zebra", ann, &[bob]).await;
    room(db, RoomKind::Public, "Apple", ann, &[]).await;
    room(db, RoomKind::Private, "secret", ann, &[bob]).await;

    let listed = rooms::public_channels(db, bob).await.unwrap();

    let rows: Vec<(&str, i64, bool)> =
        listed.iter().map(|c| (c.name.as_str(), c.member_count, c.joined)).collect();
    assert_eq!(rows, vec![("Apple", 1, false), ("zebra", 2, true)]);
}

async fn read_markers_move_forward_only_and_count_mentions(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let room = room(db, RoomKind::Public, "general", ann, &[bob]).await;
    for (i, body) in ["hi", "@bob look", "@bob again", "bye"].iter().enumerate() {
        insert(db, room, ann, &format!("c{i}"), body, NOW).await.unwrap();
    }

    let past_the_end = unreads::mark_read(db, room, bob, 99).await.unwrap();
    let backwards = unreads::mark_read(db, room, bob, 1).await.unwrap();
    let before = unreads::unreads_of(db, bob).await.unwrap();

    assert_eq!(past_the_end, Some(4), "a marker never passes the newest message");
    assert_eq!(backwards, None);
    assert_eq!((before[0].read_seq, before[0].last_seq, before[0].mentions), (4, 4, 0));
    sqlx_reset_marker(db, room, bob).await;
    let after = unreads::unreads_of(db, bob).await.unwrap();
    assert_eq!((after[0].read_seq, after[0].mentions), (2, 1), "one mention is after seq 2");
}

/// Puts `user`'s marker back to 2, which no public operation does.
async fn sqlx_reset_marker(db: &Db, room: RoomId, user: UserId) {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE memberships SET last_read_seq = 2 WHERE room_id = $1 AND user_id = $2",
        )
        .bind(room)
        .bind(user)
        .execute(pool)
        .await
        .map(drop)
        .unwrap();
    });
}

async fn a_password_change_bumps_the_auth_version(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;

    let version = users::set_password(db, ann, "$argon2id$new").await.unwrap();

    assert_eq!(version, 1);
    assert!(users::by_session(db, ann, 0).await.unwrap().is_none());
    assert!(users::by_session(db, ann, 1).await.unwrap().is_some());
    let creds = users::credentials_by_key(db, "ann").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$new");
}

async fn profile_and_room_settings_are_stored(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let bob = user(db, "bob").await;
    let room = room(db, RoomKind::Private, "plans", ann, &[bob]).await;

    users::set_display_name(db, ann, "Ann Example").await.unwrap();
    rooms::set_name(db, room, "launch").await.unwrap();
    rooms::set_topic(db, room, "Tuesday").await.unwrap();

    assert_eq!(users::by_id(db, ann).await.unwrap().display_name, "Ann Example");
    assert_eq!(users::credentials_by_id(db, bob).await.unwrap().id, bob);
    assert!(rooms::user_exists(db, bob).await.unwrap());
    assert!(!rooms::user_exists(db, UserId(999)).await.unwrap());
    let seen = rooms::room_for(db, room, bob).await.unwrap();
    assert_eq!((seen.name.as_str(), seen.topic.as_str()), ("launch", "Tuesday"));
    let mut ids = rooms::member_ids(db, room).await.unwrap();
    ids.sort();
    assert_eq!(ids, vec![ann, bob]);
    assert_eq!(
        rooms::standing(db, room, bob).await.unwrap(),
        Some((RoomKind::Private, Some(Role::Member)))
    );
}

async fn a_resume_reads_what_follows_a_sequence_and_a_retry_finds_its_client_id(fresh: Fresh) {
    let db = &fresh.db;
    let ann = user(db, "ann").await;
    let room = channel(db, ann, "general").await;
    for i in 1..=10 {
        insert(db, room, ann, &format!("c{i}"), &format!("m{i}"), NOW).await.unwrap();
    }

    let missed = messages::after(db, room, 7, 500).await.unwrap();
    let capped = messages::after(db, room, 0, 3).await.unwrap();
    let retry = messages::by_client_id(db, ann, "c4").await.unwrap().unwrap();
    let unknown = messages::by_client_id(db, ann, "c99").await.unwrap();

    assert_eq!(missed.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![8, 9, 10]);
    assert_eq!(capped.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!((retry.seq, retry.body.as_str()), (4, "m4"));
    assert!(unknown.is_none());
}

/// `parley migrate-to-postgres`: everything in a SQLite store arrives in PostgreSQL with the
/// same ids and sequence numbers, and new rows continue after the copied ones.
#[tokio::test]
async fn a_sqlite_store_copies_into_postgres_unchanged() {
    let Some(mut target) = Fresh::postgres().await else { return };
    let source = Fresh::sqlite().await;
    let from = &source.db;
    let ann = user(from, "ann").await;
    let bob = user(from, "bob").await;
    users::set_last_seen(from, bob, NOW + 9).await.unwrap();
    let general = room(from, RoomKind::Public, "general", ann, &[bob]).await;
    for i in 1..=1203 {
        insert(from, general, ann, &format!("c{i}"), "@bob hello", NOW).await.unwrap();
    }
    let edited = messages::edit(from, app::ids::MessageId(7), "edited", NOW + 1).await.unwrap();
    messages::delete(from, app::ids::MessageId(8), NOW + 2).await.unwrap();

    let copied = transfer::sqlite_to_postgres(from, &target.db).await.unwrap();
    target.reopen().await;
    let to = &target.db;

    assert_eq!(to.backend(), Backend::Postgres);
    assert!(copied.contains(&("messages", 1203)), "{copied:?}");
    for table in ["users", "rooms", "memberships", "messages", "mentions"] {
        assert_eq!(count(to, table).await, count(from, table).await, "{table}");
    }
    assert_eq!(
        messages::page(to, general, None).await.unwrap(),
        messages::page(from, general, None).await.unwrap()
    );
    assert_eq!(messages::by_id(to, app::ids::MessageId(7)).await.unwrap(), edited);
    assert!(messages::by_id(to, app::ids::MessageId(8)).await.unwrap().unwrap().is_deleted());
    assert_eq!(
        rooms::members(to, general).await.unwrap(),
        rooms::members(from, general).await.unwrap()
    );
    assert_eq!(
        unreads::unreads_of(to, bob).await.unwrap(),
        unreads::unreads_of(from, bob).await.unwrap()
    );
    let carol = user(to, "carol").await;
    assert_eq!(carol, UserId(3), "ids continue after the copied ones");
    let next = insert(to, general, bob, "b1", "after the move", NOW).await.unwrap();
    assert_eq!((next.seq, next.id), (1204, app::ids::MessageId(1204)));
    let again = transfer::sqlite_to_postgres(from, to).await;
    assert!(matches!(again, Err(transfer::TransferError::TargetNotEmpty(3))), "{again:?}");
}
