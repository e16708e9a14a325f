//! Live delivery through real sockets: what arrives, in which rooms, and when it stops.

mod common;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::{Client, PASSWORD, TestServer};

/// Long enough for a loaded CI machine; a passing run never waits this long.
const PATIENCE: Duration = Duration::from_secs(10);

/// One browser tab's socket.
struct Socket(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Socket {
    /// Opens the socket as the browser would: the client's cookies and the page's origin.
    async fn open(server: &TestServer, client: &Client) -> Self {
        let url = server.url("/ws").replacen("http", "ws", 1);
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("cookie", HeaderValue::from_str(&client.cookie_header()).unwrap());
        headers.insert("origin", HeaderValue::from_str(&server.origin()).unwrap());
        let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("socket opens");
        Self(stream)
    }

    /// Opens the socket and checks its greeting.
    async fn ready(server: &TestServer, client: &Client) -> Self {
        let mut socket = Self::open(server, client).await;
        assert_eq!(socket.next_frame().await["type"], "hello");
        socket
    }

    /// The next event, skipping `room_updated` (a refetch hint sent around membership
    /// changes) and `presence` (other sockets coming and going): these tests are about
    /// messages and membership themselves.
    async fn next_event(&mut self) -> Value {
        loop {
            let event = self.next_frame().await;
            if !matches!(event["type"].as_str(), Some("room_updated" | "presence")) {
                return event;
            }
        }
    }

    async fn next_frame(&mut self) -> Value {
        match self.next_message().await {
            Message::Text(text) => serde_json::from_str(&text).expect("events are JSON"),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next frame that is not a ping, a pong or a presence update (sockets of these
    /// tests' own users come and go around every step).
    async fn next_message(&mut self) -> Message {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("an event within the patience window")
                .expect("the socket is still open")
                .expect("a readable frame");
            let presence =
                matches!(&frame, Message::Text(text) if text.contains(r#""type":"presence""#));
            if !presence && !matches!(frame, Message::Ping(_) | Message::Pong(_)) {
                return frame;
            }
        }
    }
}

/// Ann owns `general`; Bob has joined it. Both are signed in over HTTP.
async fn ann_and_bob_in_general(server: &TestServer) -> (Client, Client, i64) {
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let general = ann.create_channel("general", false).await;
    let (status, _) = bob.post_form("join_room", &[("room_id", &general.to_string())]).await;
    assert_eq!(status, 200);
    (ann, bob, general)
}

#[tokio::test]
async fn the_first_frame_is_hello_with_version_and_user() {
    let server = TestServer::start().await;
    let (ann, ann_user) = server.user("ann").await;

    let mut socket = Socket::open(&server, &ann).await;
    let hello = socket.next_frame().await;

    let version = app::live::protocol::PROTOCOL_VERSION;
    assert_eq!(hello, json!({"type": "hello", "version": version, "user_id": ann_user.id}));
}

#[tokio::test]
async fn a_message_sent_over_http_reaches_every_members_socket() {
    let server = TestServer::start().await;
    let (ann, bob, general) = ann_and_bob_in_general(&server).await;
    let mut ann_socket = Socket::ready(&server, &ann).await;
    let mut bob_socket = Socket::ready(&server, &bob).await;

    let sent = ann.say(general, "m1", "hello bob").await;
    let to_bob = bob_socket.next_event().await;
    let to_ann = ann_socket.next_event().await;

    assert_eq!(to_bob["type"], "message_created");
    assert_eq!(to_bob["message"]["id"], sent["id"]);
    assert_eq!(to_bob["message"]["seq"], sent["seq"]);
    assert_eq!(to_bob["message"], sent);
    assert_eq!(to_ann, to_bob, "the author's other tabs see the same event");
}

#[tokio::test]
async fn messages_arrive_in_seq_order() {
    let server = TestServer::start().await;
    let (ann, bob, general) = ann_and_bob_in_general(&server).await;
    let mut bob_socket = Socket::ready(&server, &bob).await;

    for i in 1..=20 {
        ann.say(general, &format!("m{i}"), &format!("message {i}")).await;
    }

    for seq in 1..=20 {
        assert_eq!(bob_socket.next_event().await["message"]["seq"], seq);
    }
}

#[tokio::test]
async fn edits_and_deletes_arrive_as_message_updated() {
    let server = TestServer::start().await;
    let (ann, bob, general) = ann_and_bob_in_general(&server).await;
    let sent = ann.say(general, "m1", "typo").await;
    let mut bob_socket = Socket::ready(&server, &bob).await;

    ann.post_json("edit_message", json!({"message_id": sent["id"], "body": "fixed"})).await;
    ann.post_json("delete_message", json!({"message_id": sent["id"]})).await;
    let edited = bob_socket.next_event().await;
    let deleted = bob_socket.next_event().await;

    assert_eq!(edited["type"], "message_updated");
    assert_eq!(edited["message"]["body"], "fixed");
    assert_eq!(deleted["type"], "message_updated");
    assert_eq!(deleted["message"]["body"], "");
    assert!(deleted["message"]["deleted_at"].is_i64());
}

#[tokio::test]
async fn after_leaving_a_room_its_messages_no_longer_arrive() {
    let server = TestServer::start().await;
    let (ann, bob, general) = ann_and_bob_in_general(&server).await;
    // A second shared room, whose message shows that anything from `general` would have
    // arrived by then: the hub delivers in publish order.
    let random = ann.create_channel("random", false).await;
    bob.post_form("join_room", &[("room_id", &random.to_string())]).await;
    let mut bob_socket = Socket::ready(&server, &bob).await;

    let (status, _) = bob.post_form("leave_room", &[("room_id", &general.to_string())]).await;

    assert_eq!(status, 200);
    assert_eq!(bob_socket.next_event().await, json!({"type": "left", "room_id": general}));

    ann.say(general, "secret", "bob has gone").await;
    let marker = ann.say(random, "marker", "still in random").await;

    let next = bob_socket.next_event().await;
    assert_eq!(next["type"], "message_created");
    assert_eq!(next["message"]["id"], marker["id"], "got a message of a room bob left");
}

#[tokio::test]
async fn an_invite_to_a_private_channel_joins_the_invitees_socket_to_it() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, bob_user) = server.user("bob").await;
    let mut bob_socket = Socket::ready(&server, &bob).await;
    let hideout = ann.create_channel("hideout", true).await;
    ann.say(hideout, "before", "before bob was invited").await;

    let (status, body) = ann
        .post_form(
            "invite_member",
            &[("room_id", &hideout.to_string()), ("user_id", &bob_user.id.to_string())],
        )
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(bob_socket.next_event().await, json!({"type": "joined", "room_id": hideout}));

    let sent = ann.say(hideout, "after", "welcome bob").await;

    let next = bob_socket.next_event().await;
    assert_eq!(next["type"], "message_created");
    assert_eq!(next["message"]["id"], sent["id"]);
    assert_eq!(next["message"]["seq"], 2);
}

#[tokio::test]
async fn a_password_change_closes_the_other_sessions_socket() {
    let server = TestServer::start().await;
    let (laptop, _) = server.user("ann").await;
    let phone = server.client();
    phone.log_in("ann", PASSWORD).await;
    let mut phone_socket = Socket::ready(&server, &phone).await;

    laptop
        .post_form("change_password", &[("current", PASSWORD), ("new", "a new passphrase")])
        .await;

    let closed = tokio::time::timeout(Duration::from_secs(1), phone_socket.next_message())
        .await
        .expect("the phone's socket hears of it within a second");
    match closed {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Policy),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn logging_out_closes_that_sessions_socket() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let mut socket = Socket::ready(&server, &ann).await;

    ann.post_form("log_out", &[]).await;

    let closed = tokio::time::timeout(Duration::from_secs(1), socket.next_message()).await;
    match closed {
        Ok(Message::Close(_)) => {}
        Ok(other) => panic!("expected a close frame, got {other:?}"),
        Err(_) => panic!("the logged-out session's socket stayed open"),
    }
}
