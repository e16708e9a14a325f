//! A WebSocket client that speaks `app::live::protocol` as a browser tab does: the session
//! cookie and the page's Origin on the handshake, `ClientFrame`s out, `ServerEvent`s in.
//!
//! [`Socket`] is one connection. [`Follower`] is a client that outlives its connections: it
//! keeps a cursor and the messages held per room, resumes after every reconnect, and writes
//! down every break of the delivery contract it sees instead of panicking, so a test can run
//! many of them and judge them all at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use app::ids::{RoomId, UserId};
use app::live::protocol::{ClientFrame, PROTOCOL_VERSION, RoomCursor, SOCKET_PATH, ServerEvent};
use app::messages::Message as ChatMessage;

use super::{Client, TestServer};

/// Longest wait for an event that should come; a passing run never waits this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Where and as whom a socket connects.
#[derive(Clone, Debug)]
pub struct Handshake {
    pub url: String,
    pub cookie: String,
    pub origin: String,
}

impl Handshake {
    /// As a page of the site at `base` (`http://host:port`) signed in as `client`.
    pub fn new(base: &str, client: &Client) -> Self {
        Self {
            url: format!("{}{SOCKET_PATH}", base.replacen("http", "ws", 1)),
            cookie: client.cookie_header(),
            origin: base.to_owned(),
        }
    }

    pub fn of(server: &TestServer, client: &Client) -> Self {
        Self::new(&server.base, client)
    }

    /// The same, claiming to come from a page at `origin`.
    pub fn with_origin(mut self, origin: &str) -> Self {
        self.origin = origin.to_owned();
        self
    }
}

/// What one read produced.
#[derive(Debug)]
pub enum Received {
    Event(ServerEvent),
    /// A close frame, with its code (`None` for a close without a code).
    Closed(Option<u16>),
    /// The connection ended without a close frame, or failed.
    Gone(String),
    /// Nothing within the wait.
    Nothing,
}

/// One open socket.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// The handshake, and nothing read yet. An `Err` carries the server's refusal.
    pub async fn try_connect(handshake: &Handshake) -> Result<Self, tungstenite::Error> {
        let mut request = handshake.url.as_str().into_client_request()?;
        let headers = request.headers_mut();
        if !handshake.cookie.is_empty() {
            headers.insert("cookie", HeaderValue::from_str(&handshake.cookie).expect("cookie"));
        }
        headers.insert("origin", HeaderValue::from_str(&handshake.origin).expect("origin"));
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { ws })
    }

    /// Connects and reads the greeting; panics unless it is a `hello` of this protocol.
    pub async fn open(handshake: &Handshake) -> (Self, UserId) {
        let mut socket = Self::try_connect(handshake).await.expect("the socket opens");
        match socket.next_event().await {
            ServerEvent::Hello { version, user_id } => {
                assert_eq!(version, PROTOCOL_VERSION);
                (socket, user_id)
            }
            other => panic!("expected hello first, got {other:?}"),
        }
    }

    /// Opens a tab of `client` on `server` and resumes `rooms` from `seq` 0, then waits for
    /// the resume's `unreads`, after which the server routes live events by those cursors.
    pub async fn resumed(server: &TestServer, client: &Client, rooms: &[i64]) -> Self {
        let (mut socket, _) = Self::open(&Handshake::of(server, client)).await;
        let cursors = rooms.iter().map(|room| RoomCursor { room_id: RoomId(*room), seq: 0 });
        socket.send(&ClientFrame::Resume { rooms: cursors.collect() }).await;
        socket.expect(|e| matches!(e, ServerEvent::Unreads { .. })).await;
        socket
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).expect("frames serialize");
        self.send_raw(Message::text(text)).await.expect("the frame is sent");
    }

    /// Sends exactly `message`, for frames no well-behaved client would send.
    pub async fn send_raw(&mut self, message: Message) -> Result<(), tungstenite::Error> {
        self.ws.send(message).await
    }

    /// The next event, skipping pings and pongs, within `wait`.
    pub async fn recv(&mut self, wait: Duration) -> Received {
        let deadline = Instant::now() + wait;
        loop {
            let read = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Received::Nothing,
                Ok(read) => read,
            };
            match read {
                None => return Received::Gone("stream ended".into()),
                Some(Err(e)) => return Received::Gone(e.to_string()),
                Some(Ok(Message::Text(text))) => {
                    let event = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("not a ServerEvent ({e}): {text}"));
                    return Received::Event(event);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(other)) => panic!("the server sent a frame it never sends: {other:?}"),
            }
        }
    }

    /// The next event; panics on a close or after [`PATIENCE`].
    pub async fn next_event(&mut self) -> ServerEvent {
        match self.recv(PATIENCE).await {
            Received::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The first event matching `wanted`, skipping others; panics after [`PATIENCE`].
    pub async fn expect(&mut self, wanted: impl Fn(&ServerEvent) -> bool) -> ServerEvent {
        self.expect_within(PATIENCE, wanted)
            .await
            .expect("the expected event within the patience window")
    }

    /// The first event matching `wanted` within `wait`, skipping others; `None` if none came.
    /// Panics if the socket closes first.
    pub async fn expect_within(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&ServerEvent) -> bool,
    ) -> Option<ServerEvent> {
        let deadline = Instant::now() + wait;
        loop {
            match self.recv(deadline.saturating_duration_since(Instant::now())).await {
                Received::Event(event) if wanted(&event) => return Some(event),
                Received::Event(_) => {}
                Received::Nothing => return None,
                other => panic!("the socket ended while waiting: {other:?}"),
            }
        }
    }

    /// Every event of the next `wait`; panics if the socket closes.
    pub async fn events_for(&mut self, wait: Duration) -> Vec<ServerEvent> {
        let deadline = Instant::now() + wait;
        let mut events = Vec::new();
        loop {
            match self.recv(deadline.saturating_duration_since(Instant::now())).await {
                Received::Event(event) => events.push(event),
                Received::Nothing => return events,
                other => panic!("the socket ended while listening: {other:?}"),
            }
        }
    }

    /// The close code, skipping events; panics if the socket stays open for `wait`.
    /// `None` means the connection ended without a close frame.
    pub async fn closed_within(&mut self, wait: Duration) -> Option<u16> {
        let deadline = Instant::now() + wait;
        loop {
            match self.recv(deadline.saturating_duration_since(Instant::now())).await {
                Received::Event(_) => {}
                Received::Closed(code) => return code,
                Received::Gone(_) => return None,
                Received::Nothing => panic!("the socket stayed open for {wait:?}"),
            }
        }
    }

    /// Ends the connection without a close frame, as a phone losing its network does: the
    /// TCP connection is reset, so the server's next read or write on it fails.
    pub fn abandon(self) {
        if let MaybeTlsStream::Plain(tcp) = self.ws.get_ref() {
            // A zero linger makes the drop send RST at once; the deprecation concerns a
            // non-zero linger, which would block the thread on drop. Should it fail, the drop
            // still ends the connection, with FIN instead of RST.
            #[allow(deprecated)]
            let reset = tcp.set_linger(Some(Duration::ZERO));
            reset.ok();
        }
    }

    /// A clean close, as a tab being closed does.
    pub async fn close(mut self) {
        // The server may already have closed; either way the connection is over.
        if self.ws.close(None).await.is_err() {
            return;
        }
        while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, self.ws.next()).await {}
    }
}

/// A client that keeps what it was delivered across connections and checks the contract:
/// per room, on every connection, each `message_created` is exactly one past the cursor the
/// client holds (the one it resumed from, then the last one delivered).
pub struct Follower {
    pub name: String,
    handshake: Handshake,
    socket: Option<Socket>,
    /// Per followed room, the newest sequence held with nothing missing before it: what
    /// `Resume` sends.
    pub cursors: BTreeMap<RoomId, i64>,
    /// Every message delivered, per room and sequence. Kept by sequence, as the browser keeps
    /// them, so a message delivered out of order still counts as delivered.
    pub held: BTreeMap<RoomId, BTreeMap<i64, ChatMessage>>,
    /// Each break of the contract, described with the connection it happened on.
    pub faults: Vec<String>,
    /// Messages delivered again (also in `faults`).
    pub repeats: usize,
    /// Messages delivered ahead of one missing before them (also in `faults`).
    pub skips: usize,
    /// Rooms the server said it could not replay.
    pub resets: BTreeSet<RoomId>,
    pub resyncs: usize,
    /// Connections opened so far.
    pub connections: usize,
    /// Whether the current connection has answered its `Resume` (with `unreads`).
    resumed: bool,
}

/// How a [`Follower::pump`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Pumped {
    /// The wait ran out with the connection open.
    Quiet,
    /// The connection ended; the code if it was closed with one.
    Ended(Option<u16>),
}

impl Follower {
    /// A client following `rooms` from their beginning, not connected yet.
    pub fn new(name: &str, handshake: Handshake, rooms: impl IntoIterator<Item = i64>) -> Self {
        Self {
            name: name.to_owned(),
            handshake,
            socket: None,
            cursors: rooms.into_iter().map(|room| (RoomId(room), 0)).collect(),
            held: BTreeMap::new(),
            faults: Vec::new(),
            repeats: 0,
            skips: 0,
            resets: BTreeSet::new(),
            resyncs: 0,
            connections: 0,
            resumed: false,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.socket.is_some()
    }

    /// Connects, and resumes every followed room from its cursor as the browser does right
    /// after `hello`. Returns the server's refusal if the handshake fails.
    pub async fn connect(&mut self) -> Result<(), tungstenite::Error> {
        let mut socket = Socket::try_connect(&self.handshake).await?;
        self.connections += 1;
        match socket.recv(PATIENCE).await {
            Received::Event(ServerEvent::Hello { .. }) => {}
            other => {
                let fault =
                    format!("connection {}: expected hello, got {other:?}", self.connections);
                self.faults.push(fault);
                return Ok(());
            }
        }
        self.socket = Some(socket);
        self.resumed = false;
        self.resume().await;
        Ok(())
    }

    async fn resume(&mut self) {
        let rooms =
            self.cursors.iter().map(|(room, seq)| RoomCursor { room_id: *room, seq: *seq });
        let frame = ClientFrame::Resume { rooms: rooms.collect() };
        if let Some(socket) = &mut self.socket {
            let text = serde_json::to_string(&frame).expect("frames serialize");
            if socket.send_raw(Message::text(text)).await.is_err() {
                // The connection died under us; the next read says so and the caller
                // reconnects.
            }
        }
    }

    /// From the next connection on, connects as `handshake` says: another instance behind
    /// the same load balancer, say.
    pub fn move_to(&mut self, handshake: Handshake) {
        self.handshake = handshake;
    }

    /// Drops the connection abruptly (no close frame).
    pub fn drop_connection(&mut self) {
        if let Some(socket) = self.socket.take() {
            socket.abandon();
        }
    }

    /// Applies everything that arrives within `wait`.
    pub async fn pump(&mut self, wait: Duration) -> Pumped {
        let deadline = Instant::now() + wait;
        loop {
            let Some(socket) = &mut self.socket else {
                return Pumped::Ended(None);
            };
            match socket.recv(deadline.saturating_duration_since(Instant::now())).await {
                Received::Event(event) => self.apply(event).await,
                Received::Nothing => return Pumped::Quiet,
                Received::Closed(code) => {
                    self.socket = None;
                    return Pumped::Ended(code);
                }
                Received::Gone(_) => {
                    self.socket = None;
                    return Pumped::Ended(None);
                }
            }
        }
    }

    /// Pumps (reconnecting if needed) until every room in `targets` has its cursor at the
    /// target sequence; false if `wait` runs out first.
    pub async fn catch_up(&mut self, targets: &BTreeMap<RoomId, i64>, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            let mut followed = targets.iter().filter(|(room, _)| self.cursors.contains_key(room));
            let behind = followed.any(|(room, seq)| self.cursors[room] < *seq);
            if !behind {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            if !self.is_connected() && self.connect().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            self.pump(Duration::from_millis(100)).await;
        }
    }

    /// The ids held for `room`, in sequence order.
    pub fn ids(&self, room: RoomId) -> Vec<i64> {
        self.held.get(&room).map(|m| m.values().map(|m| m.id.0).collect()).unwrap_or_default()
    }

    async fn apply(&mut self, event: ServerEvent) {
        let when = if self.resumed { "after its resume" } else { "before its resume" };
        let connection = format!("connection {} ({when})", self.connections);
        match event {
            ServerEvent::MessageCreated { message } => {
                let room = message.room_id;
                let Some(cursor) = self.cursors.get(&room).copied() else {
                    self.faults.push(format!(
                        "{connection}: seq {} of room {room}, which is not followed",
                        message.seq
                    ));
                    return;
                };
                let held = self.held.entry(room).or_default();
                let seq = message.seq;
                if seq <= cursor || held.contains_key(&seq) {
                    self.repeats += 1;
                    self.faults
                        .push(format!("connection {connection}: room {room} got {seq} again"));
                    return;
                }
                if seq != cursor + 1 {
                    self.skips += 1;
                    self.faults.push(format!(
                        "{connection}: room {room} got {seq} while missing {}",
                        cursor + 1
                    ));
                }
                held.insert(seq, message);
                let mut cursor = cursor;
                while held.contains_key(&(cursor + 1)) {
                    cursor += 1;
                }
                self.cursors.insert(room, cursor);
            }
            ServerEvent::RoomReset { room_id } => {
                self.resets.insert(room_id);
            }
            ServerEvent::Resync => {
                self.resyncs += 1;
                self.resumed = false;
                self.resume().await;
            }
            ServerEvent::Unreads { .. } => self.resumed = true,
            ServerEvent::Left { room_id } => {
                self.cursors.remove(&room_id);
            }
            _ => {}
        }
    }
}
