//! Conversations and messages through the real server: membership, access, the per-room
//! sequence, history pages, edits, deletes, and how user text comes back over the API.
//! Server-rendered pages are in `pages.rs`.

mod common;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Client, TestServer, count};

/// A room id no test ever creates.
const NO_SUCH_ROOM: i64 = 987_654;
const NO_SUCH_MESSAGE: i64 = 987_654;

async fn my_room_ids(client: &Client) -> Vec<i64> {
    let (status, rooms) = client.post_form("list_my_rooms", &[]).await;
    assert_eq!(status, StatusCode::OK, "{rooms}");
    rooms.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

async fn listing(client: &Client, room: i64) -> Option<Value> {
    let (status, channels) = client.post_form("browse_channels", &[]).await;
    assert_eq!(status, StatusCode::OK, "{channels}");
    channels.as_array().unwrap().iter().find(|c| c["id"] == json!(room)).cloned()
}

async fn history(client: &Client, room: i64, before_seq: Option<i64>) -> (StatusCode, Value) {
    client.post_json("list_messages", json!({"room_id": room, "before_seq": before_seq})).await
}

fn seqs(page: &Value) -> Vec<i64> {
    page["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn public_channels_are_created_browsed_joined_and_left() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;

    let (status, room) =
        ann.post_form("create_channel", &[("name", "general"), ("topic", "Anything goes")]).await;

    assert_eq!(status, StatusCode::OK, "{room}");
    let room = room.as_i64().unwrap();
    assert_eq!(my_room_ids(&ann).await, vec![room]);
    let seen = listing(&bob, room).await.expect("public channels are listed");
    assert_eq!(seen["name"], "general");
    assert_eq!(seen["topic"], "Anything goes");
    assert_eq!(seen["member_count"], 1);
    assert_eq!(seen["joined"], false);
    let (_, detail) = bob.post_form("get_room", &[("room_id", &room.to_string())]).await;
    assert_eq!(detail["access"], "CanJoin");

    let (status, body) = bob.post_form("join_room", &[("room_id", &room.to_string())]).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(my_room_ids(&bob).await, vec![room]);
    let seen = listing(&bob, room).await.unwrap();
    assert_eq!((seen["member_count"].clone(), seen["joined"].clone()), (json!(2), json!(true)));

    let (status, body) = bob.post_form("leave_room", &[("room_id", &room.to_string())]).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(my_room_ids(&bob).await.is_empty());
    assert_eq!(listing(&bob, room).await.unwrap()["member_count"], 1);
}

#[tokio::test]
async fn a_public_channel_hides_its_history_until_joined() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let room = ann.create_channel("general", false).await;
    ann.say(room, "m1", "before bob joined").await;

    let (status, _) = history(&bob, room, None).await;
    let (send_status, _) = bob.send(room, "b1", "let me in").await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(send_status, StatusCode::NOT_FOUND);

    bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    let (status, page) = history(&bob, room, None).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(seqs(&page), vec![1]);
}

#[tokio::test]
async fn private_channels_are_unlisted_and_joined_only_by_invitation() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, bob_user) = server.user("bob").await;
    let room = ann.create_channel("secret plans", true).await;
    let room_field = room.to_string();

    let (join_status, _) = bob.post_form("join_room", &[("room_id", &room_field)]).await;

    assert!(listing(&bob, room).await.is_none(), "a private channel was listed");
    assert_eq!(join_status, StatusCode::NOT_FOUND);
    assert!(my_room_ids(&bob).await.is_empty());

    let (status, body) = ann
        .post_form(
            "invite_member",
            &[("room_id", &room_field), ("user_id", &bob_user.id.to_string())],
        )
        .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(my_room_ids(&bob).await, vec![room]);
    let (_, detail) = bob.post_form("get_room", &[("room_id", &room_field)]).await;
    assert_eq!(detail["access"], json!({"Member": "member"}));
    assert_eq!(detail["room"]["kind"], "private");
    let names: Vec<&str> = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ann", "bob"]);
}

#[tokio::test]
async fn a_private_room_looks_exactly_like_a_missing_one_to_a_non_member() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (eve, _) = server.user("eve").await;
    let room = ann.create_channel("secret plans", true).await;
    let message = ann.say(room, "m1", "the plan").await;
    let message = message["id"].as_i64().unwrap();

    // Each probe runs against the private room (or its message) and against nothing at all.
    let probes: Vec<(&str, Value, Value)> = vec![
        ("get_room", json!(room), json!(NO_SUCH_ROOM)),
        ("list_messages", json!(room), json!(NO_SUCH_ROOM)),
        ("send_message", json!(room), json!(NO_SUCH_ROOM)),
        ("edit_message", json!(message), json!(NO_SUCH_MESSAGE)),
        ("delete_message", json!(message), json!(NO_SUCH_MESSAGE)),
        ("join_room", json!(room), json!(NO_SUCH_ROOM)),
        ("update_room", json!(room), json!(NO_SUCH_ROOM)),
    ];
    for (endpoint, real, missing) in probes {
        let on_real = probe(&eve, endpoint, &real).await;
        let on_missing = probe(&eve, endpoint, &missing).await;

        assert_eq!(on_real.0, StatusCode::NOT_FOUND, "{endpoint}: {}", on_real.1);
        assert_eq!(on_real.1, json!({"error": "not_found"}), "{endpoint}");
        assert_eq!(on_real, on_missing, "{endpoint} tells a private room from a missing one");
    }

    let (_, page) = history(&ann, room, None).await;
    assert_eq!(page["messages"][0]["body"], "the plan");
    assert_eq!(page["messages"][0]["edited_at"], Value::Null);
    assert_eq!(count(&server.db().await, "messages").await, 1);
    assert!(my_room_ids(&eve).await.is_empty());
}

async fn probe(client: &Client, endpoint: &str, id: &Value) -> (StatusCode, Value) {
    let id_field = id.to_string();
    match endpoint {
        "get_room" | "join_room" => client.post_form(endpoint, &[("room_id", &id_field)]).await,
        "update_room" => {
            let fields = [("room_id", id_field.as_str()), ("name", "mine"), ("topic", "")];
            client.post_form(endpoint, &fields).await
        }
        "list_messages" => history(client, id.as_i64().unwrap(), None).await,
        "send_message" => client.send(id.as_i64().unwrap(), "probe-1", "hello?").await,
        "edit_message" => {
            client.post_json(endpoint, json!({"message_id": id, "body": "defaced"})).await
        }
        "delete_message" => client.post_json(endpoint, json!({"message_id": id})).await,
        other => panic!("no probe for {other}"),
    }
}

#[tokio::test]
async fn a_direct_message_is_one_room_per_pair_from_either_side() {
    let server = TestServer::start().await;
    let (ann, ann_user) = server.user("ann").await;
    let (bob, bob_user) = server.user("bob").await;
    let (ann_id, bob_id) = (ann_user.id.to_string(), bob_user.id.to_string());
    let to_bob = [("user_id", bob_id.as_str())];
    let to_ann = [("user_id", ann_id.as_str())];

    let (_, first) = ann.post_form("open_direct", &to_bob).await;
    let (_, again) = ann.post_form("open_direct", &to_bob).await;
    let (_, other_side) = bob.post_form("open_direct", &to_ann).await;
    let (_, other_again) = bob.post_form("open_direct", &to_ann).await;

    let room = first.as_i64().expect("a room id");
    assert_eq!([&again, &other_side, &other_again], [&json!(room); 3]);
    assert_eq!(my_room_ids(&ann).await, vec![room]);
    assert_eq!(my_room_ids(&bob).await, vec![room]);
    let rooms_in_db: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE kind = 'direct'")
        .fetch_one(&server.db().await)
        .await
        .unwrap();
    assert_eq!(rooms_in_db, 1);
    let (_, seen_by_ann) = ann.post_form("list_my_rooms", &[]).await;
    assert_eq!(seen_by_ann[0]["name"], "bob", "a DM is named after the other person");
}

#[tokio::test]
async fn a_direct_message_stays_two_people() {
    let server = TestServer::start().await;
    let (ann, ann_user) = server.user("ann").await;
    let (_, bob_user) = server.user("bob").await;
    let (_, cat_user) = server.user("cat").await;
    let (_, room) = ann.post_form("open_direct", &[("user_id", &bob_user.id.to_string())]).await;
    let room = room.to_string();

    let (invite, _) = ann
        .post_form("invite_member", &[("room_id", &room), ("user_id", &cat_user.id.to_string())])
        .await;
    let (leave, _) = ann.post_form("leave_room", &[("room_id", &room)]).await;
    let (myself, _) = ann.post_form("open_direct", &[("user_id", &ann_user.id.to_string())]).await;

    assert_eq!(invite, StatusCode::FORBIDDEN);
    assert_eq!(leave, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(myself, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&server.db().await, "memberships").await, 2);
}

#[tokio::test]
async fn a_group_dm_holds_everyone_named_and_nobody_else() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, bob_user) = server.user("bob").await;
    let (cat, cat_user) = server.user("cat").await;
    let (dan, _) = server.user("dan").await;

    let (status, room) =
        ann.post_json("create_group", json!({"user_ids": [bob_user.id, cat_user.id]})).await;

    assert_eq!(status, StatusCode::OK, "{room}");
    let room = room.as_i64().unwrap();
    let (_, detail) = bob.post_form("get_room", &[("room_id", &room.to_string())]).await;
    assert_eq!(detail["room"]["kind"], "group");
    assert_eq!(detail["members"].as_array().unwrap().len(), 3);
    let mut named_after: Vec<&str> =
        detail["room"]["name"].as_str().unwrap().split(", ").collect();
    named_after.sort();
    assert_eq!(named_after, ["ann", "cat"], "a group is named after the other members");
    cat.say(room, "c1", "hi all").await;
    let (_, page) = history(&bob, room, None).await;
    assert_eq!(page["messages"][0]["body"], "hi all");
    let (outsider, _) = history(&dan, room, None).await;
    assert_eq!(outsider, StatusCode::NOT_FOUND);

    let (_, with_one) = ann.post_json("create_group", json!({"user_ids": [bob_user.id]})).await;
    let (_, direct) = ann.post_form("open_direct", &[("user_id", &bob_user.id.to_string())]).await;

    assert_eq!(with_one, direct, "a group of two is the pair's direct message");
}

#[tokio::test]
async fn a_resent_client_id_returns_the_original_message_without_a_second_row() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;

    let first = ann.say(room, "retry-me", "hello").await;
    let retry = ann.say(room, "retry-me", "hello").await;
    let changed = ann.say(room, "retry-me", "hello, edited in the outbox").await;

    assert_eq!(retry, first);
    assert_eq!(changed, first, "a retry never replaces the stored body");
    assert_eq!(first["seq"], 1);
    assert_eq!(count(&server.db().await, "messages").await, 1);
    let (_, page) = history(&ann, room, None).await;
    assert_eq!(seqs(&page), vec![1]);
}

#[tokio::test]
async fn a_client_id_reused_in_another_room_is_a_conflict() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let general = ann.create_channel("general", false).await;
    let random = ann.create_channel("random", false).await;
    ann.say(general, "same-id", "hello").await;

    let (status, body) = ann.send(random, "same-id", "hello").await;

    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body, json!({"error": "client_id_reused"}));
    assert_eq!(count(&server.db().await, "messages").await, 1);
}

#[tokio::test]
async fn seq_stays_gapless_through_failed_and_concurrent_sends() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let room = ann.create_channel("general", false).await;
    bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    let too_long = "x".repeat(4001);

    for i in 0..10 {
        ann.say(room, &format!("a{i}"), &format!("message {i}")).await;
        let failures = [
            ann.send(room, &format!("long{i}"), &too_long).await.0,
            ann.send(room, &format!("blank{i}"), "   \n ").await.0,
            ann.send(room, "not a token!", "bad client id").await.0,
            ann.send(NO_SUCH_ROOM, &format!("lost{i}"), "nowhere").await.0,
        ];
        ann.say(room, &format!("a{i}"), "retry of an earlier send").await;
        assert_eq!(failures.map(|s| s.as_u16()), [422, 422, 422, 404]);
    }
    let concurrent = (0..10).map(|i| {
        let (who, id) =
            if i % 2 == 0 { (&ann, format!("ca{i}")) } else { (&bob, format!("cb{i}")) };
        async move { who.send(room, &id, "at the same time").await }
    });
    for (status, body) in join_all(concurrent).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let (_, page) = history(&ann, room, None).await;
    assert_eq!(seqs(&page), (1..=20).collect::<Vec<_>>());
    let last_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?")
        .bind(room)
        .fetch_one(&server.db().await)
        .await
        .unwrap();
    assert_eq!(last_seq, 20);
}

#[tokio::test]
async fn history_pages_newest_first_fifty_at_a_time() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    for i in 1..=120 {
        ann.say(room, &format!("m{i}"), &format!("message {i}")).await;
    }

    let (status, newest) = history(&ann, room, None).await;
    let (_, middle) = history(&ann, room, Some(71)).await;
    let (_, oldest) = history(&ann, room, Some(21)).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(seqs(&newest), (71..=120).collect::<Vec<_>>());
    assert_eq!(newest["has_more"], true);
    assert_eq!(newest["messages"][49]["body"], "message 120");
    assert_eq!(seqs(&middle), (21..=70).collect::<Vec<_>>());
    assert_eq!(middle["has_more"], true);
    assert_eq!(seqs(&oldest), (1..=20).collect::<Vec<_>>());
    assert_eq!(oldest["has_more"], false);
}

#[tokio::test]
async fn a_page_of_exactly_fifty_has_no_more() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    for i in 1..=50 {
        ann.say(room, &format!("m{i}"), "x").await;
    }

    let (_, page) = history(&ann, room, None).await;

    assert_eq!(seqs(&page).len(), 50);
    assert_eq!(page["has_more"], false);
}

#[tokio::test]
async fn only_the_author_may_edit_or_delete_a_message() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (bob, _) = server.user("bob").await;
    let room = ann.create_channel("general", false).await;
    bob.post_form("join_room", &[("room_id", &room.to_string())]).await;
    let message = ann.say(room, "m1", "mine").await;
    let id = message["id"].clone();

    let (edit, edit_body) =
        bob.post_json("edit_message", json!({"message_id": id, "body": "yours now"})).await;
    let (delete, _) = bob.post_json("delete_message", json!({"message_id": id})).await;

    assert_eq!(edit, StatusCode::FORBIDDEN);
    assert_eq!(edit_body, json!({"error": "forbidden"}));
    assert_eq!(delete, StatusCode::FORBIDDEN);
    let (_, page) = history(&ann, room, None).await;
    assert_eq!(page["messages"][0]["body"], "mine");
    assert_eq!(page["messages"][0]["deleted_at"], Value::Null);

    let (status, edited) =
        ann.post_json("edit_message", json!({"message_id": id, "body": "mine, edited"})).await;

    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["body"], "mine, edited");
    assert!(edited["edited_at"].is_i64());
    assert_eq!(edited["seq"], message["seq"]);
}

#[tokio::test]
async fn a_deleted_message_stays_as_a_tombstone_that_cannot_be_edited() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("general", false).await;
    ann.say(room, "m1", "first").await;
    let message = ann.say(room, "m2", "regrettable").await;
    ann.say(room, "m3", "third").await;
    let id = message["id"].clone();

    let (status, deleted) = ann.post_json("delete_message", json!({"message_id": id})).await;

    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["body"], "");
    assert!(deleted["deleted_at"].is_i64());
    let (_, page) = history(&ann, room, None).await;
    assert_eq!(seqs(&page), vec![1, 2, 3], "a delete leaves its sequence number");
    assert_eq!(page["messages"][1]["body"], "");
    let stored: String = sqlx::query_scalar("SELECT body FROM messages WHERE id = ?")
        .bind(id.as_i64())
        .fetch_one(&server.db().await)
        .await
        .unwrap();
    assert_eq!(stored, "", "the deleted text is still in the database");

    let (status, body) =
        ann.post_json("edit_message", json!({"message_id": id, "body": "resurrected"})).await;

    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body, json!({"error": "message_deleted"}));
    let (_, page) = history(&ann, room, None).await;
    assert_eq!(page["messages"][1]["body"], "");
}

/// Markup-looking user text, with quotes, an ampersand and a right-to-left mark.
const MARKUP: &str = "<script>alert(1)</script> <b>bold</b> & \"quoted\" 'single' \u{200F}";

#[tokio::test]
async fn user_text_comes_back_verbatim() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let room = ann.create_channel("<i>general</i> & co", false).await;

    let sent = ann.say(room, "m1", MARKUP).await;
    let (_, page) = history(&ann, room, None).await;
    let (_, detail) = ann.post_form("get_room", &[("room_id", &room.to_string())]).await;

    assert_eq!(sent["body"], MARKUP);
    assert_eq!(page["messages"][0]["body"], MARKUP);
    assert_eq!(detail["room"]["name"], "<i>general</i> & co");
}
