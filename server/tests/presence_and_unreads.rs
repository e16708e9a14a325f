//! What the socket says besides messages: membership and session changes reaching open
//! sockets within a second, typing, presence, unread counters, read markers and receipts.

mod common;

use std::time::Duration;

use tokio::time::Instant;

use app::ids::{RoomId, UserId};
use app::live::protocol::{ClientFrame, PresenceStatus, RoomCursor, ServerEvent, UnreadState};
use app::state::now_ms;

use common::socket::{Handshake, Socket};
use common::{Client, PASSWORD, TestServer};

/// How fast kicks, leaves, log-outs and password changes must reach open sockets.
const A_SECOND: Duration = Duration::from_secs(1);
/// How fast a read marker must reach the reader's other tabs.
const TWO_SECONDS: Duration = Duration::from_secs(2);
/// How long to listen before concluding an event is not coming.
const SILENCE: Duration = Duration::from_millis(500);

/// Ann owns `general`; Bob has joined it.
async fn ann_and_bob_in_general(server: &TestServer) -> (Client, UserId, Client, UserId, i64) {
    let (ann, ann_user) = server.user("ann").await;
    let (bob, bob_user) = server.user("bob").await;
    let general = ann.create_channel("general", false).await;
    join(&bob, general).await;
    (ann, ann_user.id, bob, bob_user.id, general)
}

async fn join(client: &Client, room: i64) {
    let (status, body) = client.post_form("join_room", &[("room_id", &room.to_string())]).await;
    assert_eq!(status, 200, "{body}");
}

fn is_message(e: &ServerEvent) -> bool {
    matches!(e, ServerEvent::MessageCreated { .. })
}

fn presence_of(user: UserId) -> impl Fn(&ServerEvent) -> bool {
    move |e| matches!(e, ServerEvent::Presence { user_id, .. } if *user_id == user)
}

fn room_of(event: &ServerEvent) -> Option<RoomId> {
    match event {
        ServerEvent::MessageCreated { message } | ServerEvent::MessageUpdated { message } => {
            Some(message.room_id)
        }
        ServerEvent::Typing { room_id, .. } | ServerEvent::ReadReceipt { room_id, .. } => {
            Some(*room_id)
        }
        _ => None,
    }
}

#[tokio::test]
async fn leaving_a_room_stops_its_events_within_a_second() {
    let server = TestServer::start().await;
    let (ann, _, bob, _, general) = ann_and_bob_in_general(&server).await;
    let random = ann.create_channel("random", false).await;
    join(&bob, random).await;
    let mut ann_socket = Socket::resumed(&server, &ann, &[general, random]).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[general, random]).await;
    let started = Instant::now();

    let (status, _) = bob.post_form("leave_room", &[("room_id", &general.to_string())]).await;

    assert_eq!(status, 200);
    let left = bob_socket.expect_within(A_SECOND, |e| matches!(e, ServerEvent::Left { .. })).await;
    assert_eq!(left, Some(ServerEvent::Left { room_id: RoomId(general) }));
    assert!(started.elapsed() < A_SECOND, "took {:?}", started.elapsed());

    ann_socket.send(&ClientFrame::Typing { room_id: RoomId(general), active: true }).await;
    ann.say(general, "secret", "bob has gone").await;
    let marker = ann.say(random, "marker", "still in random").await;
    let is_marker = |e: &ServerEvent| match e {
        ServerEvent::MessageCreated { message } => message.id.0 == marker["id"],
        _ => false,
    };
    let mut after = Vec::new();
    while let Some(event) = bob_socket.expect_within(A_SECOND, |_| true).await {
        let done = is_marker(&event);
        after.push(event);
        if done {
            break;
        }
    }
    assert!(after.iter().any(is_message), "the marker never came: {after:?}");
    let leaked: Vec<_> = after.iter().filter(|e| room_of(e) == Some(RoomId(general))).collect();
    assert!(leaked.is_empty(), "events of a room bob left: {leaked:?}");
}

#[tokio::test]
async fn logging_out_closes_the_sessions_socket_within_a_second() {
    let server = TestServer::start().await;
    let (ann, _, bob, _, general) = ann_and_bob_in_general(&server).await;
    let handshake = Handshake::of(&server, &bob);
    let mut bob_socket = Socket::resumed(&server, &bob, &[general]).await;

    let (status, _) = bob.post_form("log_out", &[]).await;
    ann.say(general, "after", "bob logged out").await;

    assert_eq!(status, 200);
    assert_eq!(bob_socket.closed_within(A_SECOND).await, Some(1008));
    let reopened = Socket::try_connect(&handshake).await;
    assert!(reopened.is_err(), "the logged-out cookie opened a socket again");
}

#[tokio::test]
async fn a_password_change_closes_the_other_sessions_socket_within_a_second() {
    let server = TestServer::start().await;
    let (laptop, _) = server.user("ann").await;
    let phone = server.client();
    phone.log_in("ann", PASSWORD).await;
    let handshake = Handshake::of(&server, &phone);
    let mut phone_socket = Socket::resumed(&server, &phone, &[]).await;

    let (status, body) = laptop
        .post_form("change_password", &[("current", PASSWORD), ("new", "a new passphrase")])
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(phone_socket.closed_within(A_SECOND).await, Some(1008));
    assert!(Socket::try_connect(&handshake).await.is_err(), "the phone's session still works");
}

/// "Ends other sessions": the tab that changed the password is not one of them.
#[tokio::test]
async fn a_password_change_keeps_the_changers_own_socket_open() {
    let server = TestServer::start().await;
    let (ann, _, bob, _, general) = ann_and_bob_in_general(&server).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[general]).await;

    let (status, body) = bob
        .post_form("change_password", &[("current", PASSWORD), ("new", "a new passphrase")])
        .await;
    let sent = ann.say(general, "after", "bob changed his password").await;

    assert_eq!(status, 200, "{body}");
    match bob_socket.expect_within(A_SECOND, is_message).await {
        Some(ServerEvent::MessageCreated { message }) => assert_eq!(message.id.0, sent["id"]),
        other => panic!("expected the message, got {other:?}"),
    }
}

#[tokio::test]
async fn joining_a_room_starts_its_delivery_at_once() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let general = ann.create_channel("general", false).await;
    ann.say(general, "m1", "before bob").await;
    ann.say(general, "m2", "before bob").await;
    let mut ann_socket = Socket::resumed(&server, &ann, &[general]).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[]).await;

    join(&bob, general).await;
    ann.say(general, "m3", "welcome bob").await;
    ann_socket.send(&ClientFrame::Typing { room_id: RoomId(general), active: true }).await;

    let joined = bob_socket.expect_within(A_SECOND, |e| matches!(e, ServerEvent::Joined { .. }));
    assert_eq!(joined.await, Some(ServerEvent::Joined { room_id: RoomId(general) }));
    match bob_socket.expect_within(A_SECOND, is_message).await {
        Some(ServerEvent::MessageCreated { message }) => assert_eq!(message.seq, 3),
        other => panic!("expected message 3, got {other:?}"),
    }
    let typing = bob_socket.expect_within(A_SECOND, |e| matches!(e, ServerEvent::Typing { .. }));
    assert!(typing.await.is_some(), "ann's typing did not reach bob");
}

#[tokio::test]
async fn typing_reaches_the_other_members_but_not_the_typist() {
    let server = TestServer::start().await;
    let (ann, ann_id, bob, bob_id, general) = ann_and_bob_in_general(&server).await;
    let mut ann_socket = Socket::resumed(&server, &ann, &[general]).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[general]).await;
    let room_id = RoomId(general);
    let is_typing = |e: &ServerEvent| matches!(e, ServerEvent::Typing { .. });

    ann_socket.send(&ClientFrame::Typing { room_id, active: true }).await;
    ann_socket.send(&ClientFrame::Typing { room_id, active: false }).await;
    bob_socket.send(&ClientFrame::Typing { room_id, active: true }).await;

    let started = bob_socket.expect(is_typing).await;
    let stopped = bob_socket.expect(is_typing).await;
    let name = "ann".to_owned();
    assert_eq!(started, ServerEvent::Typing { room_id, user_id: ann_id, name, active: true });
    assert!(
        matches!(stopped, ServerEvent::Typing { user_id, active: false, .. } if user_id == ann_id)
    );
    let first_seen_by_ann = ann_socket.expect(is_typing).await;
    assert!(
        matches!(first_seen_by_ann, ServerEvent::Typing { user_id, .. } if user_id == bob_id),
        "ann was told about her own typing: {first_seen_by_ann:?}"
    );
}

#[tokio::test]
async fn a_new_socket_is_told_who_is_online() {
    let server = TestServer::start().await;
    let (ann, ann_id, bob, _, _) = ann_and_bob_in_general(&server).await;
    let _ann_socket = Socket::resumed(&server, &ann, &[]).await;

    let (mut bob_socket, _) = Socket::open(&Handshake::of(&server, &bob)).await;

    let told = bob_socket.expect_within(A_SECOND, presence_of(ann_id)).await;
    let online =
        ServerEvent::Presence { user_id: ann_id, status: PresenceStatus::Online, last_seen: None };
    assert_eq!(told, Some(online));
}

#[tokio::test]
async fn presence_goes_offline_with_last_seen_only_when_the_last_socket_closes() {
    let server = TestServer::start().await;
    let (ann, ann_id, bob, _, _) = ann_and_bob_in_general(&server).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[]).await;
    let ann_handshake = Handshake::of(&server, &ann);

    let (tab1, _) = Socket::open(&ann_handshake).await;
    let online = bob_socket.expect_within(A_SECOND, presence_of(ann_id)).await;
    let (tab2, _) = Socket::open(&ann_handshake).await;
    let after_second_tab = bob_socket.expect_within(SILENCE, presence_of(ann_id)).await;
    tab1.close().await;
    let after_first_close = bob_socket.expect_within(SILENCE, presence_of(ann_id)).await;
    let before = now_ms();
    tab2.abandon();
    let offline = bob_socket.expect_within(A_SECOND, presence_of(ann_id)).await;
    let after = now_ms();

    let status = PresenceStatus::Online;
    assert_eq!(online, Some(ServerEvent::Presence { user_id: ann_id, status, last_seen: None }));
    assert_eq!(after_second_tab, None, "a second tab changed nothing");
    assert_eq!(after_first_close, None, "ann still has a tab open");
    let Some(ServerEvent::Presence { status, last_seen: Some(seen), .. }) = offline else {
        panic!("expected offline with last seen, got {offline:?}");
    };
    assert_eq!(status, PresenceStatus::Offline);
    assert!((before..=after).contains(&seen), "{before} <= {seen} <= {after}");
    let stored: Option<i64> = sqlx::query_scalar("SELECT last_seen_at FROM users WHERE id = ?")
        .bind(ann_id.0)
        .fetch_one(&server.db().await)
        .await
        .unwrap();
    assert_eq!(stored, Some(seen));
}

#[tokio::test]
async fn presence_is_away_only_when_every_socket_is_away() {
    let server = TestServer::start().await;
    let (ann, ann_id, bob, _, _) = ann_and_bob_in_general(&server).await;
    let (mut tab1, _) = Socket::open(&Handshake::of(&server, &ann)).await;
    let (mut tab2, _) = Socket::open(&Handshake::of(&server, &ann)).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[]).await;
    let away = ClientFrame::Presence { status: PresenceStatus::Away };
    let status_of = |e: Option<ServerEvent>| match e {
        Some(ServerEvent::Presence { status, .. }) => Some(status),
        _ => None,
    };

    tab1.send(&away).await;
    let one_tab_idle = bob_socket.expect_within(SILENCE, presence_of(ann_id)).await;
    tab2.send(&away).await;
    let both_idle = bob_socket.expect_within(A_SECOND, presence_of(ann_id)).await;
    tab1.send(&ClientFrame::Presence { status: PresenceStatus::Online }).await;
    let back = bob_socket.expect_within(A_SECOND, presence_of(ann_id)).await;

    assert_eq!(status_of(one_tab_idle), None, "one idle tab of two made ann away");
    assert_eq!(status_of(both_idle), Some(PresenceStatus::Away));
    assert_eq!(status_of(back), Some(PresenceStatus::Online));
}

/// Bob read `general` up to its first message, closed his tab, and Ann wrote three more
/// messages, `bodies`. Returns what Bob's resume reports for `general`.
async fn bobs_unreads_after(bodies: [&str; 3]) -> UnreadState {
    let server = TestServer::start().await;
    let (ann, _, bob, _, general) = ann_and_bob_in_general(&server).await;
    let room_id = RoomId(general);
    ann.say(general, "m1", "hello").await;
    let mut tab = Socket::resumed(&server, &bob, &[general]).await;
    tab.send(&ClientFrame::Read { room_id, seq: 1 }).await;
    tab.expect(|e| matches!(e, ServerEvent::ReadMarker { .. })).await;
    tab.abandon();
    for (i, body) in bodies.iter().enumerate() {
        ann.say(general, &format!("later{i}"), body).await;
    }

    let (mut tab, _) = Socket::open(&Handshake::of(&server, &bob)).await;
    tab.send(&ClientFrame::Resume { rooms: vec![RoomCursor { room_id, seq: 1 }] }).await;

    match tab.expect(|e| matches!(e, ServerEvent::Unreads { .. })).await {
        ServerEvent::Unreads { rooms } => {
            rooms.into_iter().find(|u| u.room_id == room_id).expect("general is counted")
        }
        _ => unreachable!("filtered above"),
    }
}

#[tokio::test]
async fn resume_reports_unreads_and_mentions_missed_while_away() {
    let unread = bobs_unreads_after(["one", "look at this @Bob", "three"]).await;

    assert_eq!((unread.last_seq, unread.read_seq), (4, 1));
    assert_eq!(unread.last_seq - unread.read_seq, 3);
    assert_eq!(unread.mentions, 1);
}

#[tokio::test]
async fn a_mention_of_a_longer_username_is_not_a_mention() {
    let unread =
        bobs_unreads_after(["@bobby look", "ask @bob_smith", "mail bob@bob.example"]).await;

    assert_eq!(unread.mentions, 0);
}

#[tokio::test]
async fn reading_on_one_tab_moves_the_marker_on_the_other_within_two_seconds() {
    let server = TestServer::start().await;
    let (ann, _, bob, _, general) = ann_and_bob_in_general(&server).await;
    ann.say(general, "m1", "one").await;
    ann.say(general, "m2", "two").await;
    let room_id = RoomId(general);
    let mut tab1 = Socket::resumed(&server, &bob, &[general]).await;
    let mut tab2 = Socket::resumed(&server, &bob, &[general]).await;
    let started = Instant::now();

    tab1.send(&ClientFrame::Read { room_id, seq: 2 }).await;

    let is_marker = |e: &ServerEvent| matches!(e, ServerEvent::ReadMarker { .. });
    let marker = tab2.expect_within(TWO_SECONDS, is_marker).await;
    assert_eq!(marker, Some(ServerEvent::ReadMarker { room_id, seq: 2 }));
    assert!(started.elapsed() < TWO_SECONDS);
}

#[tokio::test]
async fn reading_a_direct_message_sends_a_receipt_to_the_other_member() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, bob_user) = server.user("bob").await;
    let (status, dm) =
        ann.post_form("open_direct", &[("user_id", &bob_user.id.to_string())]).await;
    assert_eq!(status, 200, "{dm}");
    let dm = dm.as_i64().expect("a room id");
    ann.say(dm, "m1", "hi bob").await;
    let mut ann_socket = Socket::resumed(&server, &ann, &[dm]).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[dm]).await;

    bob_socket.send(&ClientFrame::Read { room_id: RoomId(dm), seq: 1 }).await;

    let is_receipt = |e: &ServerEvent| matches!(e, ServerEvent::ReadReceipt { .. });
    let receipt = ann_socket.expect_within(TWO_SECONDS, is_receipt).await;
    let expected = ServerEvent::ReadReceipt { room_id: RoomId(dm), user_id: bob_user.id, seq: 1 };
    assert_eq!(receipt, Some(expected));
}

#[tokio::test]
async fn reading_a_channel_sends_no_receipt() {
    let server = TestServer::start().await;
    let (ann, _, bob, _, general) = ann_and_bob_in_general(&server).await;
    ann.say(general, "m1", "hi all").await;
    let mut ann_socket = Socket::resumed(&server, &ann, &[general]).await;
    let mut bob_socket = Socket::resumed(&server, &bob, &[general]).await;

    bob_socket.send(&ClientFrame::Read { room_id: RoomId(general), seq: 1 }).await;

    let is_receipt = |e: &ServerEvent| matches!(e, ServerEvent::ReadReceipt { .. });
    assert_eq!(ann_socket.expect_within(SILENCE, is_receipt).await, None);
}
