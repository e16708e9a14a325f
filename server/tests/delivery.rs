//! Delivery that loses nothing: through dropped sockets, reversed publishes, slow readers,
//! SIGKILL and SIGTERM, every member ends with each room's messages exactly once, in the
//! database's order.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use sqlx::SqlitePool;
use tokio::time::Instant;

use app::ids::{RoomId, UserId};
use app::live::protocol::{ClientFrame, RoomCursor, ServerEvent};
use app::messages::Message;
use app::messages::store::{self, NewMessage};
use app::state::{AppState, now_ms};
use server::gateway::connection::REPLAY_MAX;

use common::binary::{self, ServerProcess};
use common::socket::{Follower, Handshake, Pumped, Socket};
use common::{Client, TestServer};

async fn stored_ids(db: &SqlitePool, room: RoomId) -> Vec<i64> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, seq FROM messages WHERE room_id = ? ORDER BY seq")
            .bind(room.0)
            .fetch_all(db)
            .await
            .expect("read messages");
    let seqs: Vec<i64> = rows.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>(), "room {room} has gaps");
    rows.into_iter().map(|(id, _)| id).collect()
}

/// The newest sequence number of each room.
async fn newest_seqs(db: &SqlitePool, rooms: &[RoomId]) -> BTreeMap<RoomId, i64> {
    let mut newest = BTreeMap::new();
    for room in rooms {
        let seq: i64 = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?")
            .bind(room.0)
            .fetch_one(db)
            .await
            .expect("read a room");
        newest.insert(*room, seq);
    }
    newest
}

/// Asserts the follower holds exactly the database's messages of each of its rooms, in
/// order, and saw no break of the contract on the way.
async fn assert_holds_everything(follower: &Follower, db: &SqlitePool, rooms: &[RoomId]) {
    assert!(follower.faults.is_empty(), "{}: {:#?}", follower.name, follower.faults);
    assert!(follower.resets.is_empty(), "{}: reset {:?}", follower.name, follower.resets);
    for room in rooms {
        assert_eq!(
            follower.ids(*room),
            stored_ids(db, *room).await,
            "{} in {room}",
            follower.name
        );
    }
}

/// The next `message_created` on the socket, skipping other events.
async fn next_message(socket: &mut Socket) -> Message {
    match socket.expect(|e| matches!(e, ServerEvent::MessageCreated { .. })).await {
        ServerEvent::MessageCreated { message } => message,
        _ => unreachable!("filtered above"),
    }
}

/// Sequence numbers of `message_created` events: until `expected` have come (or a few
/// seconds pass), then for a moment longer, so a repeat or an extra shows up too.
async fn message_seqs(socket: &mut Socket, expected: usize) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seqs = Vec::new();
    while seqs.len() < expected {
        let wait = deadline.saturating_duration_since(Instant::now());
        match socket.expect_within(wait, |e| matches!(e, ServerEvent::MessageCreated { .. })).await
        {
            Some(ServerEvent::MessageCreated { message }) => seqs.push(message.seq),
            _ => break,
        }
    }
    for event in socket.events_for(Duration::from_millis(300)).await {
        if let ServerEvent::MessageCreated { message } = event {
            seqs.push(message.seq);
        }
    }
    seqs
}

/// Commits a message straight through the store without publishing it: the test publishes
/// it (or does not) in whatever order it needs.
async fn commit(state: &AppState, room: i64, author: UserId, client_id: &str) -> Message {
    let new = NewMessage {
        room: RoomId(room),
        author,
        client_id: client_id.to_owned(),
        body: "body".to_owned(),
        now: now_ms(),
    };
    store::insert(&state.db, new, |_| {})
        .await
        .unwrap_or_else(|e| panic!("insert {client_id}: {e:?}"))
}

fn created(message: &Message) -> ServerEvent {
    ServerEvent::MessageCreated { message: message.clone() }
}

const USERS: usize = 50;
const ROOMS: usize = 10;
const MESSAGES_PER_USER: usize = 40;

/// Each user is in three rooms, `i`, `i + 3` and `i + 7` (mod 10): every room has fifteen
/// members who each share it with a different mix of other rooms, so a socket's stream
/// interleaves three rooms and no two sockets see the same mix.
fn rooms_of(user: usize) -> [usize; 3] {
    [user % ROOMS, (user + 3) % ROOMS, (user + 7) % ROOMS]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_ten_rooms_two_thousand_messages_with_random_drops() {
    let seed = now_ms() as u64;
    eprintln!("seed {seed}");
    let started = Instant::now();
    let server = TestServer::start_with(&[("PARLEY_SIGNUP_PER_HOUR", "1000")]).await;
    let (host, _) = server.user("host").await;
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        rooms.push(RoomId(host.create_channel(&format!("room-{r}"), false).await));
    }
    let users = futures::future::join_all((0..USERS).map(|i| {
        let server = &server;
        let rooms = &rooms;
        async move {
            let (client, _) = server.user(&format!("user{i}")).await;
            for r in rooms_of(i) {
                let (status, body) =
                    client.post_form("join_room", &[("room_id", &rooms[r].to_string())]).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            client
        }
    }))
    .await;
    let users: Vec<Arc<Client>> = users.into_iter().map(Arc::new).collect();
    eprintln!("set up in {:?}", started.elapsed());

    // Every client follows its rooms from a socket; a chaos task makes random ones drop
    // their connection abruptly, and they come back after a random pause and resume.
    let sending = Arc::new(AtomicBool::new(true));
    let (finish, finished) = tokio::sync::watch::channel(None::<BTreeMap<RoomId, i64>>);
    let drop_flags: Vec<Arc<AtomicBool>> =
        (0..USERS).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let mut followers = Vec::new();
    for (i, client) in users.iter().enumerate() {
        let rooms_of_i = rooms_of(i).map(|r| rooms[r].0);
        let follower =
            Follower::new(&format!("user{i}"), Handshake::of(&server, client), rooms_of_i);
        let drop_now = drop_flags[i].clone();
        let mut finished = finished.clone();
        let mut rng = fastrand::Rng::with_seed(seed ^ i as u64);
        followers.push(tokio::spawn(async move {
            let mut follower = follower;
            let mut drops = 0;
            while finished.borrow_and_update().is_none() {
                if drop_now.swap(false, Ordering::Relaxed) {
                    follower.drop_connection();
                    drops += 1;
                    tokio::time::sleep(Duration::from_millis(rng.u64(0..150))).await;
                }
                if !follower.is_connected() && follower.connect().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                if let Pumped::Ended(code) = follower.pump(Duration::from_millis(30)).await {
                    follower.faults.push(format!("the server closed the socket: {code:?}"));
                }
            }
            let targets = finished.borrow().clone().expect("targets are set");
            if !follower.catch_up(&targets, Duration::from_secs(30)).await {
                follower.faults.push(format!("never caught up: {:?}", follower.cursors));
            }
            (follower, drops)
        }));
    }
    let chaos = {
        let sending = sending.clone();
        let mut rng = fastrand::Rng::with_seed(seed);
        tokio::spawn(async move {
            while sending.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(rng.u64(1..10))).await;
                drop_flags[rng.usize(0..USERS)].store(true, Ordering::Relaxed);
            }
        })
    };

    let acked = Arc::new(Mutex::new(Vec::new()));
    let senders = users.iter().enumerate().map(|(i, client)| {
        let client = client.clone();
        let acked = acked.clone();
        let mine = rooms_of(i).map(|r| rooms[r].0);
        let mut rng = fastrand::Rng::with_seed(seed.rotate_left(7) ^ i as u64);
        tokio::spawn(async move {
            for k in 0..MESSAGES_PER_USER {
                let room = mine[rng.usize(0..3)];
                let body = format!("message {k} from user{i}");
                let message = client.send_until_acked(room, &format!("u{i}-m{k}"), &body).await;
                acked.lock().unwrap().push(message.id.0);
            }
        })
    });
    for sender in futures::future::join_all(senders).await {
        sender.expect("a sender finished");
    }
    sending.store(false, Ordering::Relaxed);
    chaos.await.expect("chaos stopped");
    let sent_in = started.elapsed();

    let db = server.db().await;
    finish.send_replace(Some(newest_seqs(&db, &rooms).await));
    let mut results = Vec::new();
    for follower in followers {
        results.push(follower.await.expect("a follower finished"));
    }

    // Totals first, so a failure shows its size; then each client in detail.
    let acked: BTreeSet<i64> = acked.lock().unwrap().iter().copied().collect();
    let mut stored = BTreeMap::new();
    for room in &rooms {
        stored.insert(*room, stored_ids(&db, *room).await);
    }
    let (mut drops, mut connections, mut resyncs) = (0, 0, 0);
    let (mut lost, mut repeats, mut skips) = (0, 0, 0);
    for (i, (follower, dropped)) in results.iter().enumerate() {
        for r in rooms_of(i) {
            let held: BTreeSet<i64> = follower.ids(rooms[r]).into_iter().collect();
            lost += stored[&rooms[r]].iter().filter(|id| !held.contains(id)).count();
        }
        (drops, connections) = (drops + dropped, connections + follower.connections);
        (resyncs, repeats, skips) =
            (resyncs + follower.resyncs, repeats + follower.repeats, skips + follower.skips);
    }
    eprintln!(
        "sent in {sent_in:?}, done in {:?}: {drops} drops, {connections} connections, \
         {resyncs} resyncs; {lost} lost, {repeats} sent again, {skips} sent ahead of a gap",
        started.elapsed()
    );

    assert_eq!(acked.len(), USERS * MESSAGES_PER_USER, "a retry was answered twice");
    assert_eq!(common::count(&db, "messages").await, (USERS * MESSAGES_PER_USER) as i64);
    let after_resume = results.iter().flat_map(|(f, _)| &f.faults).filter(|f| f.contains("after"));
    eprintln!("faults after a resume was answered: {}", after_resume.count());
    let unusual: Vec<_> = results
        .iter()
        .flat_map(|(f, _)| f.faults.iter().filter(|f| !f.contains("got")).map(|m| (&f.name, m)))
        .collect();
    assert!(unusual.is_empty(), "{unusual:#?}");
    assert!(drops >= USERS, "too few drops to mean anything: {drops}");
    assert_eq!((lost, repeats, skips), (0, 0, 0), "lost, sent again, sent ahead of a gap");
    for (i, (follower, _)) in results.iter().enumerate() {
        let mine: Vec<RoomId> = rooms_of(i).iter().map(|r| rooms[*r]).collect();
        assert_holds_everything(follower, &db, &mine).await;
    }
}

/// With SQLite two sends cannot commit out of sequence order (the room's counter row is
/// locked until commit), but their publishes can race: the later one reaches the hub first.
#[tokio::test]
async fn publish_in_reverse_order_never_skips_the_earlier_message() {
    let (server, state) = TestServer::start_exposed().await;
    let (ann, ann_user) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    let mut socket = Socket::resumed(&server, &ann, &[room]).await;

    for round in 0..200 {
        let earlier = commit(&state, room, ann_user.id, &format!("a{round}")).await;
        let later = commit(&state, room, ann_user.id, &format!("b{round}")).await;

        state.hub.to_room(RoomId(room), created(&later));
        state.hub.to_room(RoomId(room), created(&earlier));

        let first = next_message(&mut socket).await;
        let second = next_message(&mut socket).await;
        assert_eq!((first.id, second.id), (earlier.id, later.id), "round {round}");
    }
    assert_eq!(message_seqs(&mut socket, 0).await, Vec::<i64>::new());
}

/// Between instances a message can be lost on its way (Redis restarted): the later one comes
/// alone. The socket holds it for a moment, then reads the missing one from the database.
#[tokio::test]
async fn a_message_never_published_is_read_from_the_database_after_a_short_wait() {
    let (server, state) = TestServer::start_exposed().await;
    let (ann, ann_user) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    let mut socket = Socket::resumed(&server, &ann, &[room]).await;

    let lost = commit(&state, room, ann_user.id, "lost").await;
    let later = commit(&state, room, ann_user.id, "later").await;
    let published = Instant::now();
    state.hub.to_room(RoomId(room), created(&later));

    let first = next_message(&mut socket).await;
    let second = next_message(&mut socket).await;
    assert_eq!((first.id, second.id), (lost.id, later.id));
    assert!(published.elapsed() < Duration::from_secs(1), "waited {:?}", published.elapsed());
    assert_eq!(message_seqs(&mut socket, 0).await, Vec::<i64>::new());
}

#[tokio::test]
async fn a_socket_that_has_not_resumed_yet_still_gets_the_earlier_of_two_reversed_messages() {
    let (server, state) = TestServer::start_exposed().await;
    let (ann, ann_user) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    ann.say(room, "old", "before the socket opened").await;
    let (mut socket, _) = Socket::open(&Handshake::of(&server, &ann)).await;

    let earlier = commit(&state, room, ann_user.id, "earlier").await;
    let later = commit(&state, room, ann_user.id, "later").await;
    state.hub.to_room(RoomId(room), created(&later));
    state.hub.to_room(RoomId(room), created(&earlier));

    assert_eq!(message_seqs(&mut socket, 2).await, vec![2, 3]);
}

/// The browser resumes right after `hello`, but a message may be published before its
/// `Resume` is read. It must then come once, after the replay, not early and then again.
#[tokio::test]
async fn a_message_sent_between_hello_and_resume_comes_once_and_in_order() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let room = ann.create_channel("general", false).await;
    bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    for i in 1..=3 {
        ann.say(room, &format!("m{i}"), "while bob was away").await;
    }
    let (mut socket, _) = Socket::open(&Handshake::of(&server, &bob)).await;

    ann.say(room, "m4", "before bob's resume is read").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cursor = RoomCursor { room_id: RoomId(room), seq: 1 };
    socket.send(&ClientFrame::Resume { rooms: vec![cursor] }).await;

    assert_eq!(message_seqs(&mut socket, 3).await, vec![2, 3, 4]);
}

#[tokio::test]
async fn resume_replays_exactly_what_was_missed() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let general = ann.create_channel("general", false).await;
    let random = ann.create_channel("random", false).await;
    for room in [general, random] {
        bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    }
    let rooms = [RoomId(general), RoomId(random)];
    let mut follower = Follower::new("bob", Handshake::of(&server, &bob), [general, random]);
    follower.connect().await.expect("bob connects");
    for i in 0..5 {
        ann.say(general, &format!("g{i}"), "seen live").await;
    }
    let db = server.db().await;
    assert!(follower.catch_up(&newest_seqs(&db, &rooms).await, Duration::from_secs(5)).await);

    follower.drop_connection();
    for i in 5..12 {
        ann.say(general, &format!("g{i}"), "missed").await;
        ann.say(random, &format!("r{i}"), "missed too").await;
    }
    follower.connect().await.expect("bob reconnects");
    let caught_up =
        follower.catch_up(&newest_seqs(&db, &rooms).await, Duration::from_secs(5)).await;
    ann.say(general, "after", "live again").await;
    let live = follower.catch_up(&newest_seqs(&db, &rooms).await, Duration::from_secs(5)).await;
    follower.pump(Duration::from_millis(300)).await;

    assert!(caught_up && live, "cursors {:?}", follower.cursors);
    assert_eq!(follower.connections, 2);
    assert_holds_everything(&follower, &db, &rooms).await;
}

/// Bob's cursor is `REPLAY_MAX + 10` messages behind when he resumes.
async fn bob_resumes_too_far_behind(server: &TestServer) -> (Client, Socket, i64) {
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let room = ann.create_channel("general", false).await;
    bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    ann.say(room, "seen", "bob saw this one").await;
    for i in 0..REPLAY_MAX + 10 {
        ann.say(room, &format!("m{i}"), "bob missed this").await;
    }
    let (mut socket, _) = Socket::open(&Handshake::of(server, &bob)).await;
    let cursor = RoomCursor { room_id: RoomId(room), seq: 1 };
    socket.send(&ClientFrame::Resume { rooms: vec![cursor] }).await;
    (ann, socket, room)
}

#[tokio::test]
async fn a_gap_longer_than_the_replay_window_gets_room_reset() {
    let server = TestServer::start().await;
    let (_ann, mut socket, room) = bob_resumes_too_far_behind(&server).await;

    let events = socket.events_for(Duration::from_millis(500)).await;

    let replayed = events.iter().filter(|e| matches!(e, ServerEvent::MessageCreated { .. }));
    assert_eq!(replayed.count(), 0, "replayed part of a gap it cannot replay whole");
    assert!(events.contains(&ServerEvent::RoomReset { room_id: RoomId(room) }), "{events:?}");
}

/// After a reset the client refetches the room's newest page, so live delivery must go on
/// from the newest message, not replay the tail of the gap it was told to refetch.
#[tokio::test]
async fn after_a_room_reset_live_delivery_goes_on_from_the_newest_message() {
    let server = TestServer::start().await;
    let (ann, mut socket, room) = bob_resumes_too_far_behind(&server).await;
    socket.expect(|e| matches!(e, ServerEvent::RoomReset { .. })).await;
    let newest = 1 + REPLAY_MAX + 10;

    ann.say(room, "next", "the first message after the reset").await;

    assert_eq!(message_seqs(&mut socket, 1).await, vec![newest + 1]);
}

/// The hub keeps 4,096 events per receiver. A socket that cannot keep up loses its oldest
/// events; it must be told to resume, and the resume must bring back what it lost.
#[tokio::test]
async fn a_socket_that_falls_behind_the_hub_gets_resync_and_loses_nothing() {
    let (server, state) = TestServer::start_exposed().await;
    let (ann, ann_user) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    let mut socket = Socket::resumed(&server, &ann, &[room]).await;

    // Publishing without yielding outruns the socket's task: the message's event is among
    // the oldest, which the hub drops for this receiver.
    let lost = commit(&state, room, ann_user.id, "lost").await;
    state.hub.to_room(RoomId(room), created(&lost));
    for _ in 0..5_000 {
        let typing = ServerEvent::Typing {
            room_id: RoomId(room),
            user_id: ann_user.id,
            name: "ann".into(),
            active: true,
        };
        state.hub.to_room(RoomId(room), typing);
    }
    socket.expect(|e| *e == ServerEvent::Resync).await;
    let cursor = RoomCursor { room_id: RoomId(room), seq: 0 };
    socket.send(&ClientFrame::Resume { rooms: vec![cursor] }).await;
    let replayed = next_message(&mut socket).await;
    let after = commit(&state, room, ann_user.id, "after").await;
    state.hub.to_room(RoomId(room), created(&after));

    assert_eq!(replayed.id, lost.id);
    assert_eq!(message_seqs(&mut socket, 1).await, vec![after.seq]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message() {
    let data = tempfile::tempdir().expect("data folder");
    let mut process = ServerProcess::start(data.path(), None).await;
    let names = ["ann", "bob", "cat"];
    let mut clients = Vec::new();
    for name in names {
        let client = Client::new(&process.base);
        client.sign_up(name).await;
        clients.push(Arc::new(client));
    }
    let rooms = [
        RoomId(clients[0].create_channel("one", false).await),
        RoomId(clients[0].create_channel("two", false).await),
    ];
    for client in &clients[1..] {
        for room in rooms {
            client.post_form("join_room", &[("room_id", &room.to_string())]).await;
        }
    }
    let mut watchers = Vec::new();
    for (name, client) in names.iter().zip(&clients).skip(1) {
        let handshake = Handshake::new(&process.base, client);
        let mut follower = Follower::new(name, handshake, rooms.map(|r| r.0));
        follower.connect().await.expect("a watcher connects");
        // Each watcher reads until its connection dies with the server.
        watchers.push(tokio::spawn(async move {
            while follower.pump(Duration::from_secs(1)).await == Pumped::Quiet {}
            follower
        }));
    }

    // Every client sends in a loop until the server dies under it; what was acknowledged
    // and what was still in flight are both written down.
    let acked = Arc::new(Mutex::new(Vec::<Message>::new()));
    let in_flight = Arc::new(Mutex::new(Vec::new()));
    let acks = Arc::new(AtomicUsize::new(0));
    let senders = names.into_iter().zip(&clients).map(|(name, client)| {
        let (client, acked, in_flight, acks) =
            (client.clone(), acked.clone(), in_flight.clone(), acks.clone());
        tokio::spawn(async move {
            for k in 0.. {
                let room = rooms[k % 2].0;
                let client_id = format!("{name}-{k}");
                match client.try_send(room, &client_id, "before the crash").await {
                    Ok(message) => {
                        acked.lock().unwrap().push(message);
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        in_flight.lock().unwrap().push((client.clone(), room, client_id));
                        return;
                    }
                }
            }
        })
    });
    let senders: Vec<_> = senders.collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acks.load(Ordering::Relaxed) < 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    process.kill_9();

    for sender in senders {
        sender.await.expect("a sender stopped");
    }
    let mut followers = Vec::new();
    for watcher in watchers {
        followers.push(watcher.await.expect("a watcher stopped"));
    }
    let process = ServerProcess::start(data.path(), Some(process.port)).await;
    let db = binary::database(data.path()).await;
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "only {} sends acknowledged before the kill", acked.len());
    for message in &acked {
        let stored: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT room_id, seq, client_id FROM messages WHERE id = ?")
                .bind(message.id.0)
                .fetch_optional(&db)
                .await
                .expect("read a message");
        let expected = (message.room_id.0, message.seq, message.client_id.clone());
        assert_eq!(stored, Some(expected), "acknowledged message {} is gone", message.id);
    }

    // A retry of what was in flight at the kill answers with the original, if it was stored.
    let in_flight = in_flight.lock().unwrap().clone();
    for (client, room, client_id) in &in_flight {
        client.send_until_acked(*room, client_id, "before the crash").await;
    }
    let copies: Vec<(String, i64)> = sqlx::query_as(
        "SELECT client_id, COUNT(*) FROM messages GROUP BY author_id, client_id
         HAVING COUNT(*) > 1",
    )
    .fetch_all(&db)
    .await
    .expect("count copies");
    assert_eq!(copies, vec![], "a retry was stored twice");

    // Each watcher resumes from the cursor it held when the server died.
    let newest = newest_seqs(&db, &rooms).await;
    for follower in &mut followers {
        let before = follower.cursors.clone();
        assert!(
            follower.catch_up(&newest, Duration::from_secs(10)).await,
            "{} stuck at {:?} (was {before:?})",
            follower.name,
            follower.cursors
        );
        follower.pump(Duration::from_millis(200)).await;
        assert_eq!(follower.connections, 2);
        assert_holds_everything(follower, &db, &rooms).await;
    }
    drop(process);
}

#[tokio::test]
async fn sigterm_tells_sockets_to_reconnect_and_exits_quickly() {
    let data = tempfile::tempdir().expect("data folder");
    let mut process = ServerProcess::start(data.path(), None).await;
    let ann = Client::new(&process.base);
    ann.sign_up("ann").await;
    let (mut socket, _) = Socket::open(&Handshake::new(&process.base, &ann)).await;
    let started = Instant::now();

    process.terminate();

    socket.expect(|e| *e == ServerEvent::Reconnect).await;
    assert_eq!(socket.closed_within(Duration::from_secs(5)).await, Some(1012));
    let status = process.exited_within(Duration::from_secs(5)).await;
    let status = status.unwrap_or_else(|| panic!("still running:\n{}", process.log_text()));
    assert!(status.success(), "{status}\n{}", process.log_text());
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let refused = common::plain_http().get(format!("{}/healthz", process.base)).send().await;
    assert!(refused.is_err(), "still answering after exit");
}
