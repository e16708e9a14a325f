//! Hostile and broken requests. Each is refused with a clear status, stores nothing half-way,
//! and leaves the server answering normally.

mod common;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use common::{Client, FOREIGN_ORIGIN, PASSWORD, TestServer, count};

/// A server with one user, ann, who has a channel with one message in it.
struct World {
    server: TestServer,
    ann: Client,
    room: i64,
}

impl World {
    async fn new() -> Self {
        Self::with(&[]).await
    }

    async fn with(env: &[(&str, &str)]) -> Self {
        let server = TestServer::start_with(env).await;
        let (ann, _) = server.user("ann").await;
        let room = ann.create_channel("general", false).await;
        ann.say(room, "first", "hello").await;
        Self { server, ann, room }
    }

    /// Nothing new was stored, and the server still serves: `/healthz`, a signed-in read,
    /// and a send that lands on the very next sequence number.
    async fn assert_unharmed(&self, users: i64, rooms: i64, messages: i64) {
        let db = self.server.db().await;
        assert_eq!(count(&db, "users").await, users, "users");
        assert_eq!(count(&db, "rooms").await, rooms, "rooms");
        assert_eq!(count(&db, "messages").await, messages, "messages");

        self.server.assert_still_serving(&self.ann).await;
        let next = self.ann.say(self.room, "after", "still here?").await;
        assert_eq!(next["seq"], json!(messages_in(&db, self.room).await), "a gap in seq");
    }
}

async fn messages_in(db: &sqlx::SqlitePool, room: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE room_id = ?")
        .bind(room)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let world = World::with(&[("PARLEY_MAX_BODY_BYTES", "4096")]).await;
    // Valid as a message (1,000 graphemes), too big as a request (8,000 bytes).
    let body = "👍🏽".repeat(1000);

    let (status, _) = world.ann.send(world.room, "big", &body).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_form_over_the_limit_is_413_and_creates_no_account() {
    let world = World::with(&[("PARLEY_MAX_BODY_BYTES", "4096")]).await;
    let padding = "p".repeat(5000);

    let (status, _) = world
        .server
        .client()
        .post_form(
            "sign_up",
            &[("username", "bob"), ("display_name", "Bob"), ("password", &padding)],
        )
        .await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    let world = World::new().await;
    let truncated = format!(r#"{{"room_id": {}, "client_id": "x1", "body": "hel"#, world.room);

    let (status, body) =
        world.ann.post_raw("send_message", "application/json", truncated.into_bytes()).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_400() {
    let world = World::new().await;

    let (status, body) =
        world.ann.post_json("send_message", json!({"room_id": "general", "body": 5})).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_json_body_is_400() {
    let world = World::new().await;
    let mut raw =
        format!(r#"{{"room_id": {}, "client_id": "x1", "body": "ab"#, world.room).into_bytes();
    raw.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    raw.extend_from_slice(br#"cd"}"#);

    let (status, body) = world.ann.post_raw("send_message", "application/json", raw).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_raw_form_body_is_400() {
    let world = World::new().await;
    let mut raw = b"username=bob&password=correct+horse+battery&display_name=B".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe]);

    let (status, body) =
        world.server.client().post_raw("sign_up", "application/x-www-form-urlencoded", raw).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_missing_form_field_is_400() {
    let world = World::new().await;

    let (status, body) = world.server.client().post_form("sign_up", &[("username", "bob")]).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn an_unknown_room_is_404() {
    let world = World::new().await;

    let (send, send_body) = world.ann.send(987_654, "lost", "anyone?").await;
    let (read, _) = world
        .ann
        .post_json("list_messages", json!({"room_id": 987_654, "before_seq": null}))
        .await;

    assert_eq!(send, StatusCode::NOT_FOUND);
    assert_eq!(send_body, json!({"error": "not_found"}));
    assert_eq!(read, StatusCode::NOT_FOUND);
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_foreign_private_room_is_404() {
    let world = World::new().await;
    let (eve, _) = world.server.user("eve").await;
    let hideout = eve.create_channel("hideout", true).await;

    let (send, send_body) = world.ann.send(hideout, "sneak", "hi").await;
    let (read, _) = world
        .ann
        .post_json("list_messages", json!({"room_id": hideout, "before_seq": null}))
        .await;

    assert_eq!(send, StatusCode::NOT_FOUND);
    assert_eq!(send_body, json!({"error": "not_found"}));
    assert_eq!(read, StatusCode::NOT_FOUND);
    world.assert_unharmed(2, 2, 1).await;
}

#[tokio::test]
async fn a_wrong_password_is_401() {
    let world = World::new().await;
    let stranger = world.server.client();

    let (status, body) = stranger.log_in("ann", "not the password").await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"error": "wrong_credentials"}));
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_message_of_4001_graphemes_is_422_and_4000_long_emoji_pass() {
    let world = World::new().await;
    // A family emoji is one grapheme of seven code points and 25 bytes.
    let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";

    let (status, body) = world.ann.send(world.room, "long", &family.repeat(4001)).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, json!({"error": "message_too_long", "max": 4000}));
    world.assert_unharmed(1, 1, 1).await;

    let longest = family.repeat(4000);
    let (status, stored) = world.ann.send(world.room, "longest", &longest).await;

    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["body"], Value::String(longest));
}

#[tokio::test]
async fn sending_too_fast_is_429_stores_nothing_and_holds_back_no_one_else() {
    // Three a minute, three at once: ann's first message used one of them.
    let world = World::with(&[("PARLEY_SENDS_PER_MINUTE", "3")]).await;
    let (bob, _) = world.server.user("bob").await;
    bob.post_form("join_room", &[("room_id", &world.room.to_string())]).await;
    world.ann.say(world.room, "second", "two").await;
    world.ann.say(world.room, "third", "three").await;

    let response = world
        .ann
        .http
        .post(world.ann.url("/api/send_message"))
        .json(&json!({"room_id": world.room, "client_id": "fourth", "body": "four"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "Retry-After: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "rate_limited", "retry_after_secs": retry_after}));
    let db = world.server.db().await;
    assert_eq!(messages_in(&db, world.room).await, 3, "the refused send was stored");

    // A retry of a send that was stored still gets the original, limit or not.
    let again = world.ann.say(world.room, "third", "three").await;
    assert_eq!(again["seq"], json!(3));

    // The limit is ann's alone, and the refused send took no sequence number.
    let bobs = bob.say(world.room, "bob-1", "my turn").await;
    assert_eq!(bobs["seq"], json!(4));
}

#[tokio::test]
async fn a_duplicate_username_is_409() {
    let world = World::new().await;

    let (status, body) = world
        .server
        .client()
        .post_form(
            "sign_up",
            &[("username", "Ann"), ("display_name", "Ann"), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body, json!({"error": "username_taken"}));
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_post_from_a_foreign_origin_is_403() {
    let world = World::new().await;

    let (status, _) = world
        .ann
        .post_form_from(FOREIGN_ORIGIN, "create_channel", &[("name", "planted"), ("topic", "")])
        .await;
    let (null_origin, _) = world
        .ann
        .post_form_from("null", "create_channel", &[("name", "planted"), ("topic", "")])
        .await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(null_origin, StatusCode::FORBIDDEN);
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_post_from_the_servers_own_origin_passes() {
    let world = World::new().await;

    let (status, body) = world
        .ann
        .post_form_from(&world.server.origin(), "create_channel", &[("name", "ok"), ("topic", "")])
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_socket_from_a_foreign_origin_is_403() {
    let world = World::new().await;
    let mut request = world.server.url("/ws").replace("http", "ws").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("cookie", HeaderValue::from_str(&world.ann.cookie_header()).unwrap());
    headers.insert("origin", HeaderValue::from_static(FOREIGN_ORIGIN));

    let refused = tokio_tungstenite::connect_async(request).await;

    assert_eq!(handshake_status(refused), StatusCode::FORBIDDEN);
    world.assert_unharmed(1, 1, 1).await;
}

#[tokio::test]
async fn a_socket_without_a_session_is_401() {
    let world = World::new().await;
    let mut request = world.server.url("/ws").replace("http", "ws").into_client_request().unwrap();
    let origin = HeaderValue::from_str(&world.server.origin()).unwrap();
    request.headers_mut().insert("origin", origin);

    let refused = tokio_tungstenite::connect_async(request).await;

    assert_eq!(handshake_status(refused), StatusCode::UNAUTHORIZED);
    world.assert_unharmed(1, 1, 1).await;
}

fn handshake_status<T>(result: Result<T, tokio_tungstenite::tungstenite::Error>) -> StatusCode {
    match result {
        Ok(_) => panic!("the socket was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            StatusCode::from_u16(response.status().as_u16()).unwrap()
        }
        Err(other) => panic!("unexpected handshake failure: {other}"),
    }
}
