//! The socket gateway's limits: who may open a socket, and how a frame that breaks a limit is
//! closed, with the right code and without disturbing anyone else.

mod common;

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};

use app::ids::RoomId;
use app::live::protocol::{ClientFrame, PresenceStatus, ServerEvent};
use server::gateway::MAX_MESSAGE_BYTES;

use common::socket::{Handshake, Socket};
use common::{Client, FOREIGN_ORIGIN, TestServer};

/// A room with a bystander's socket in it, and a second tab of the offender's, to show a
/// refused frame closes only the socket that sent it.
struct Scene {
    server: TestServer,
    ann: Client,
    offender: Client,
    room: i64,
    bystander: Socket,
    offenders_other_tab: Socket,
    sent: usize,
}

impl Scene {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let (ann, _) = server.user("ann").await;
        let (offender, _) = server.user("mallory").await;
        let room = ann.create_channel("general", false).await;
        offender.post_form("join_room", &[("room_id", &room.to_string())]).await;
        let bystander = Socket::resumed(&server, &ann, &[room]).await;
        let offenders_other_tab = Socket::resumed(&server, &offender, &[room]).await;
        Self { server, ann, offender, room, bystander, offenders_other_tab, sent: 0 }
    }

    /// A fresh socket of the offender, greeted and ready.
    async fn offending_socket(&self) -> Socket {
        Socket::open(&Handshake::of(&self.server, &self.offender)).await.0
    }

    /// Sends `frame` on a fresh socket of the offender and returns the close code it earns.
    async fn refusal_of(&self, frame: Message) -> Option<u16> {
        let mut socket = self.offending_socket().await;
        // The server may close before the whole frame is written; the close code still comes.
        socket.send_raw(frame).await.ok();
        socket.closed_within(Duration::from_secs(5)).await
    }

    /// Both sockets still get a new message of the room, and the server still answers HTTP.
    async fn assert_others_unharmed(&mut self) {
        self.sent += 1;
        let client_id = format!("check-{}", self.sent);

        let sent = self.ann.say(self.room, &client_id, "still here?").await;

        for socket in [&mut self.bystander, &mut self.offenders_other_tab] {
            let wanted = |e: &ServerEvent| matches!(e, ServerEvent::MessageCreated { .. });
            match socket.expect(wanted).await {
                ServerEvent::MessageCreated { message } => assert_eq!(message.id.0, sent["id"]),
                _ => unreachable!("filtered above"),
            }
        }
        self.server.assert_still_serving(&self.ann).await;
    }
}

#[tokio::test]
async fn a_foreign_origin_gets_403_and_no_upgrade() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let handshake = Handshake::of(&server, &ann).with_origin(FOREIGN_ORIGIN);

    let refused = Socket::try_connect(&handshake).await;

    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        Err(other) => panic!("expected 403, got {other}"),
        Ok(_) => panic!("a foreign origin got a socket"),
    }
    let (mut own, _) = Socket::open(&Handshake::of(&server, &ann)).await;
    own.send(&ClientFrame::Presence { status: PresenceStatus::Online }).await;
    server.assert_still_serving(&ann).await;
}

#[tokio::test]
async fn an_allowlisted_origin_gets_a_socket() {
    let server =
        TestServer::start_with(&[("PARLEY_ALLOWED_ORIGINS", "https://chat.example")]).await;
    let (ann, ann_user) = server.user("ann").await;
    let handshake = Handshake::of(&server, &ann).with_origin("https://chat.example");

    let (_, user) = Socket::open(&handshake).await;

    assert_eq!(user, ann_user.id);
}

#[tokio::test]
async fn a_socket_without_a_session_gets_401() {
    let server = TestServer::start().await;
    let visitor = server.client();

    let refused = Socket::try_connect(&Handshake::of(&server, &visitor)).await;

    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        Err(other) => panic!("expected 401, got {other}"),
        Ok(_) => panic!("a visitor got a socket"),
    }
}

#[tokio::test]
async fn an_oversized_frame_is_closed_with_1009() {
    let mut scene = Scene::new().await;
    let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);

    let code = scene.refusal_of(Message::text(huge)).await;

    assert_eq!(code, Some(1009));
    scene.assert_others_unharmed().await;
}

#[tokio::test]
async fn a_frame_of_exactly_the_limit_is_accepted() {
    let scene = Scene::new().await;
    let mut socket = scene.offending_socket().await;
    let frame =
        serde_json::to_string(&ClientFrame::Typing { room_id: RoomId(scene.room), active: true })
            .unwrap();
    let padded = frame.clone() + &" ".repeat(MAX_MESSAGE_BYTES - frame.len());
    assert_eq!(padded.len(), MAX_MESSAGE_BYTES);

    socket.send_raw(Message::text(padded)).await.expect("sent");

    let mut bystander = scene.bystander;
    let typing = bystander.expect(|e| matches!(e, ServerEvent::Typing { .. })).await;
    assert!(matches!(typing, ServerEvent::Typing { active: true, .. }), "{typing:?}");
}

#[tokio::test]
async fn invalid_utf8_is_closed_with_1007() {
    let mut scene = Scene::new().await;
    let bytes = b"{\"type\":\"typing\",\"room_id\":1,\"active\":\xff}".to_vec();
    let frame = Frame::message(bytes, OpCode::Data(Data::Text), true);

    let code = scene.refusal_of(Message::Frame(frame)).await;

    assert_eq!(code, Some(1007));
    scene.assert_others_unharmed().await;
}

#[tokio::test]
async fn a_thousand_deep_json_frame_is_closed_with_1008() {
    let mut scene = Scene::new().await;
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));

    let code = scene.refusal_of(Message::text(deep)).await;

    assert_eq!(code, Some(1008));
    scene.assert_others_unharmed().await;
}

#[tokio::test]
async fn an_unreadable_frame_is_closed_with_1008() {
    let mut scene = Scene::new().await;

    let code = scene.refusal_of(Message::text(r#"{"type":"shout","volume":11}"#)).await;

    assert_eq!(code, Some(1008));
    scene.assert_others_unharmed().await;
}

#[tokio::test]
async fn a_binary_frame_is_closed_with_1003() {
    let mut scene = Scene::new().await;

    let code = scene.refusal_of(Message::binary(vec![1, 2, 3])).await;

    assert_eq!(code, Some(1003));
    scene.assert_others_unharmed().await;
}

#[tokio::test]
async fn a_burst_of_frames_over_the_rate_limit_is_closed_with_1008() {
    let mut scene = Scene::new().await;
    let mut socket = scene.offending_socket().await;
    let frame =
        serde_json::to_string(&ClientFrame::Presence { status: PresenceStatus::Online }).unwrap();

    for _ in 0..60 {
        if socket.send_raw(Message::text(frame.clone())).await.is_err() {
            break;
        }
    }

    assert_eq!(socket.closed_within(Duration::from_secs(5)).await, Some(1008));
    scene.assert_others_unharmed().await;
}

#[tokio::test]
async fn frames_within_the_burst_are_all_accepted() {
    let scene = Scene::new().await;
    let mut socket = scene.offending_socket().await;
    let typing = ClientFrame::Typing { room_id: RoomId(scene.room), active: true };

    for _ in 0..30 {
        socket.send(&typing).await;
    }

    let mut bystander = scene.bystander;
    let events = bystander.events_for(Duration::from_millis(500)).await;
    let relayed = events.iter().filter(|e| matches!(e, ServerEvent::Typing { .. })).count();
    assert_eq!(relayed, 30);
    socket.events_for(Duration::from_millis(100)).await;
}
