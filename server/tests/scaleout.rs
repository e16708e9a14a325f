//! Several instances: two `parley` processes sharing PostgreSQL and Redis. Clients on either
//! chat in the same rooms, see each other type and come and go, move between instances
//! without losing or repeating a message, and ride out a Redis restart and an instance
//! crash. The database is the truth; Redis only wakes instances up.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use app::db::Db;
use app::ids::{RoomId, UserId};
use app::live::bus::BusLink;
use app::live::hub::{Delivery, Hub, Signal};
use app::live::presence::PEER_TIMEOUT;
use app::live::protocol::{ClientFrame, PresenceStatus, ServerEvent};
use app::live::redis::HEARTBEAT_EVERY;
use app::messages::store as messages;
use app::rooms::store as rooms;

use common::Client;
use common::binary::ServerProcess;
use common::cluster::{Cluster, RedisProcess};
use common::socket::{Follower, Handshake, Socket};

/// The same browser session, pointed at another instance: sessions live in the shared
/// database, so the cookie is good on both.
fn same_session_on(client: &Client, instance: &ServerProcess) -> Client {
    let moved = Client::new(&instance.base);
    moved.set_session_cookie(&client.session_cookie().expect("signed in"));
    moved
}

async fn joined(client: &Client, room: i64) {
    let (status, body) = client.post_form("join_room", &[("room_id", &room.to_string())]).await;
    assert!(status.is_success(), "join {room}: {body}");
}

fn presence_is(user: UserId, wanted: PresenceStatus) -> impl Fn(&ServerEvent) -> bool {
    move |e| {
        matches!(e, ServerEvent::Presence { user_id, status, .. }
        if *user_id == user && *status == wanted)
    }
}

/// Each room's newest sequence number in the database.
async fn newest(db: &Db, rooms: &[i64]) -> BTreeMap<RoomId, i64> {
    let mut newest = BTreeMap::new();
    for room in rooms {
        newest.insert(RoomId(*room), rooms::last_seq(db, RoomId(*room)).await.unwrap());
    }
    newest
}

/// Asserts `follower` saw no break of the delivery contract and holds exactly the stored
/// messages of each room, in sequence order.
async fn assert_holds_everything(follower: &Follower, db: &Db, rooms: &[i64]) {
    assert!(follower.faults.is_empty(), "{}: {:#?}", follower.name, follower.faults);
    for room in rooms {
        let stored = messages::after(db, RoomId(*room), 0, 100_000).await.unwrap();
        let stored: Vec<i64> = stored.iter().map(|m| m.id.0).collect();
        assert_eq!(follower.ids(RoomId(*room)), stored, "{} in room {room}", follower.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_on_two_instances_share_messages_typing_and_presence() {
    let Some(cluster) = Cluster::start().await else { return };
    let ann = Client::new(&cluster.a.base);
    let ann_id = ann.sign_up("ann").await.id;
    let bob = Client::new(&cluster.b.base);
    let bob_id = bob.sign_up("bob").await.id;
    let room = ann.create_channel("general", false).await;
    joined(&bob, room).await;
    let (mut ann_on_a, _) = Socket::open(&Handshake::new(&cluster.a.base, &ann)).await;

    let (mut bob_on_b, _) = Socket::open(&Handshake::new(&cluster.b.base, &bob)).await;
    ann_on_a.expect(presence_is(bob_id, PresenceStatus::Online)).await;
    ann.say(room, "a1", "hello from A").await;
    let delivered = bob_on_b.expect(|e| matches!(e, ServerEvent::MessageCreated { .. })).await;
    ann_on_a.send(&ClientFrame::Typing { room_id: RoomId(room), active: true }).await;
    let typing = bob_on_b.expect(|e| matches!(e, ServerEvent::Typing { .. })).await;

    let ServerEvent::MessageCreated { message } = delivered else { unreachable!() };
    assert_eq!((message.body.as_str(), message.author_id), ("hello from A", ann_id));
    assert!(
        matches!(typing, ServerEvent::Typing { user_id, active: true, .. } if user_id == ann_id)
    );

    // Bob also opens a tab on A, then closes the one on B: still online, for longer than a
    // heartbeat, until the last tab anywhere closes.
    let (bob_on_a, _) = Socket::open(&Handshake::new(&cluster.a.base, &bob)).await;
    bob_on_b.close().await;
    let flipped = ann_on_a
        .expect_within(HEARTBEAT_EVERY * 2, presence_is(bob_id, PresenceStatus::Offline))
        .await;
    assert!(flipped.is_none(), "bob went offline with a tab still open on A");
    bob_on_a.close().await;
    ann_on_a.expect(presence_is(bob_id, PresenceStatus::Offline)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_messages_reach_clients_moving_between_instances_once_and_in_order() {
    const USERS: usize = 8;
    const MESSAGES_PER_USER: usize = 250;
    let Some(cluster) = Cluster::start().await else { return };
    let host = Client::new(&cluster.a.base);
    host.sign_up("host").await;
    let rooms: Vec<i64> = vec![
        host.create_channel("one", false).await,
        host.create_channel("two", false).await,
        host.create_channel("three", false).await,
    ];
    let mut users = Vec::new();
    for i in 0..USERS {
        let on_a = Client::new(&cluster.a.base);
        on_a.sign_up(&format!("user{i}")).await;
        for room in &rooms {
            joined(&on_a, *room).await;
        }
        let on_b = same_session_on(&on_a, &cluster.b);
        users.push(Arc::new((on_a, on_b)));
    }

    // Every user follows all rooms; every few milliseconds one of them drops its connection
    // and comes back on the other instance, as a load balancer may send it.
    let sending = Arc::new(AtomicBool::new(true));
    let mut followers = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let handshakes =
            [Handshake::new(&cluster.a.base, &user.0), Handshake::new(&cluster.b.base, &user.1)];
        let mut follower =
            Follower::new(&format!("user{i}"), handshakes[i % 2].clone(), rooms.clone());
        let sending = sending.clone();
        let mut rng = fastrand::Rng::with_seed(i as u64);
        followers.push(tokio::spawn(async move {
            let mut moves = 0;
            let mut on = i % 2;
            while sending.load(Ordering::Relaxed) {
                if !follower.is_connected() && follower.connect().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                follower.pump(Duration::from_millis(rng.u64(20..200))).await;
                on = 1 - on;
                follower.drop_connection();
                follower.move_to(handshakes[on].clone());
                moves += 1;
            }
            (follower, moves)
        }));
    }

    let senders = users.iter().enumerate().map(|(i, user)| {
        let user = user.clone();
        let rooms = rooms.clone();
        tokio::spawn(async move {
            for k in 0..MESSAGES_PER_USER {
                // Alternate instances, as requests spread over both.
                let via = if (i + k) % 2 == 0 { &user.0 } else { &user.1 };
                let room = rooms[(i + k) % rooms.len()];
                via.send_until_acked(room, &format!("u{i}-{k}"), &format!("{k} from {i}")).await;
            }
        })
    });
    for sender in futures::future::join_all(senders).await {
        sender.expect("a sender finished");
    }
    sending.store(false, Ordering::Relaxed);

    let targets = newest(&cluster.db, &rooms).await;
    assert_eq!(targets.values().sum::<i64>(), (USERS * MESSAGES_PER_USER) as i64);
    for follower in followers {
        let (mut follower, moves) = follower.await.expect("a follower finished");
        assert!(
            follower.catch_up(&targets, Duration::from_secs(30)).await,
            "{} stuck at {:?}",
            follower.name,
            follower.cursors
        );
        follower.pump(Duration::from_millis(300)).await;
        assert!(moves >= 5, "{} moved only {moves} times", follower.name);
        assert_holds_everything(&follower, &cluster.db, &rooms).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restart_loses_nothing_and_live_delivery_returns_within_five_seconds() {
    let Some(mut cluster) = Cluster::start().await else { return };
    let ann = Client::new(&cluster.a.base);
    ann.sign_up("ann").await;
    let bob = Client::new(&cluster.b.base);
    bob.sign_up("bob").await;
    let room = ann.create_channel("general", false).await;
    joined(&bob, room).await;
    let mut follower = Follower::new("bob", Handshake::new(&cluster.b.base, &bob), [room]);
    follower.connect().await.expect("bob connects to B");
    for k in 0..50 {
        ann.send_until_acked(room, &format!("before-{k}"), "before").await;
    }
    assert!(follower.catch_up(&newest(&cluster.db, &[room]).await, Duration::from_secs(10)).await);

    // Redis dies with the bus in use; sends go on (they only need the database).
    cluster.redis.kill();
    for k in 0..50 {
        ann.send_until_acked(room, &format!("during-{k}"), "while Redis is down").await;
    }
    follower.pump(Duration::from_millis(500)).await;
    cluster.redis.restart().await;
    let restarted = Instant::now();

    // What was sent during the outage arrives with nothing more sent.
    let during = newest(&cluster.db, &[room]).await;
    assert!(follower.catch_up(&during, Duration::from_secs(5)).await, "the outage's messages");
    let recovered_after = restarted.elapsed();
    // And live delivery is back: a message sent now reaches B's client by itself.
    let probe = ann.send_until_acked(room, "after", "after the restart").await;
    let sent = Instant::now();
    while follower.cursors[&RoomId(room)] < probe.seq && sent.elapsed() < Duration::from_secs(5) {
        follower.pump(Duration::from_millis(20)).await;
    }
    let back_after = restarted.elapsed();
    eprintln!("after the Redis restart: backlog in {recovered_after:?}, live by {back_after:?}");

    assert!(back_after < Duration::from_secs(5), "took {back_after:?}");
    assert!(follower.catch_up(&newest(&cluster.db, &[room]).await, Duration::from_secs(10)).await);
    follower.pump(Duration::from_millis(300)).await;
    assert_holds_everything(&follower, &cluster.db, &[room]).await;
    assert!(follower.ids(RoomId(room)).len() > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_of_a_killed_instance_resume_on_the_other_and_its_users_go_offline() {
    let Some(mut cluster) = Cluster::start().await else { return };
    let ann = Client::new(&cluster.b.base);
    ann.sign_up("ann").await;
    let room = ann.create_channel("general", false).await;
    let mut followers = Vec::new();
    let mut on_b = Vec::new();
    for name in ["bob", "cat", "dan"] {
        let client = Client::new(&cluster.a.base);
        client.sign_up(name).await;
        joined(&client, room).await;
        let mut follower = Follower::new(name, Handshake::new(&cluster.a.base, &client), [room]);
        follower.connect().await.expect("connects to A");
        on_b.push(Handshake::new(&cluster.b.base, &same_session_on(&client, &cluster.b)));
        followers.push(follower);
    }
    // Eve is on A only and stays away after the crash; Ann watches her from B.
    let eve = Client::new(&cluster.a.base);
    let eve_id = eve.sign_up("eve").await.id;
    let (mut ann_on_b, _) = Socket::open(&Handshake::new(&cluster.b.base, &ann)).await;
    let (_eve_on_a, _) = Socket::open(&Handshake::new(&cluster.a.base, &eve)).await;
    ann_on_b.expect(presence_is(eve_id, PresenceStatus::Online)).await;

    let sender = tokio::spawn(async move {
        for k in 0..300 {
            ann.send_until_acked(room, &format!("m{k}"), "through the crash").await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    for follower in &mut followers {
        follower.pump(Duration::from_millis(100)).await;
    }
    cluster.a.kill_9();
    let killed = Instant::now();
    for (follower, handshake) in followers.iter_mut().zip(on_b) {
        follower.pump(Duration::from_millis(100)).await;
        follower.move_to(handshake);
    }
    sender.await.expect("the sender finished");

    let targets = newest(&cluster.db, &[room]).await;
    for follower in &mut followers {
        assert!(follower.catch_up(&targets, Duration::from_secs(20)).await, "{}", follower.name);
        follower.pump(Duration::from_millis(200)).await;
        assert!(follower.connections >= 2, "{} never moved", follower.name);
        assert_holds_everything(follower, &cluster.db, &[room]).await;
    }
    // A silent instance's users go offline once its reports expire.
    let bound = killed + PEER_TIMEOUT + HEARTBEAT_EVERY * 2;
    let left = bound.saturating_duration_since(Instant::now());
    let offline = ann_on_b.expect_within(left, presence_is(eve_id, PresenceStatus::Offline));
    assert!(offline.await.is_some(), "eve still online {:?} after the crash", killed.elapsed());
}

/// Messages published while an instance's subscription was down are gone from Redis; the
/// instance must notice and have its sockets resume from the database, even when no later
/// message comes to reveal the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_subscription_makes_every_local_socket_resync() {
    let Some(redis) = RedisProcess::start_alone().await else { return };
    let (link, outbox) = BusLink::new();
    let hub = Hub::with_bus(link);
    app::live::redis::start(&redis.url(), hub.clone(), outbox).await.expect("bus starts");
    let mut mailbox = hub.connect(UserId(1));

    let client = redis::Client::open(redis.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .unwrap();

    assert_eq!(killed, 1, "one subscription per instance");
    let resync = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match mailbox.recv().await {
                Delivery::Event(envelope) if matches!(envelope.signal, Signal::Resync) => return,
                _ => continue,
            }
        }
    });
    assert!(resync.await.is_ok(), "no resync within 5 s of losing the subscription");
}
