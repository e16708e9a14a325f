//! One socket's state and loop: which rooms it follows, how far each room has been delivered,
//! and what each hub event or client frame means for it.
//!
//! Per room, events leave in sequence order with no gaps. Sends commit in sequence order (the
//! room's counter row is locked by each sending transaction), but two senders may publish in
//! the opposite order, and sends committed together (SQLite's group commit) are published in
//! any order. So a message that skips ahead of the cursor is held for a moment
//! ([`GAP_WAIT`]) for the ones before it; if they do not come, the skipped messages, already
//! committed, are read from the database. A message at or behind the cursor was already
//! delivered and is dropped.
//!
//! Every cursor is known from the start: a new socket reads each room's newest sequence right
//! after registering with the hub, and follows those rooms before the client can resume.
//! Until the client's `Resume` says how far it really is, new messages are left in the
//! database rather than sent, so they come once, in order, with the replay. A client that
//! never resumes (a simple bot) is treated, after [`RESUME_GRACE`], as having resumed from
//! where each room stood when it connected.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use app::error::AppError;
use app::ids::{RoomId, UserId};
use app::live::hub::{Audience, Delivery, Envelope, Mailbox, Signal};
use app::live::protocol::{
    ClientFrame, LOGGED_OUT, PROTOCOL_VERSION, PresenceStatus, RoomCursor, SESSION_ENDED,
    SESSION_OVER_CODE, ServerEvent,
};
use app::messages::store as messages;
use app::rooms::RoomKind;
use app::rooms::store as room_store;
use app::state::{AppState, now_ms};
use app::unreads::store as unreads;
use app::users::User;

use super::frames::{self, Refusal, close};

/// Messages replayed per room on resume or gap; a longer gap gets `RoomReset`.
pub const REPLAY_MAX: i64 = 500;
/// How long a socket waits for the client's `Resume` before delivering from its open-time
/// cursors. The browser resumes within milliseconds of `Hello`; a late `Resume` still works,
/// at the cost of resending what was delivered meanwhile (the client drops those by id).
pub const RESUME_GRACE: Duration = Duration::from_secs(2);
const PING_EVERY: Duration = Duration::from_secs(30);
/// No frame (not even a pong) for this long and the peer is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long a message that arrived ahead of its room's cursor waits for the ones before it
/// before they are read from the database. They are usually a moment behind; reading them for
/// every socket of a big room cost more than the wait (BENCHMARKS.md, (c)).
const GAP_WAIT: Duration = Duration::from_millis(25);
/// Messages held per room while waiting; one more and the socket reads the database at once.
const HELD_MAX: usize = 64;
/// Sustained client frames per second, and the burst allowed above it.
const FRAMES_PER_SECOND: u32 = 20;
const FRAME_BURST: u32 = 40;

/// Who is on the other end.
pub struct Peer {
    pub user: User,
    /// The session the socket was opened under; its log-out closes the socket.
    pub session: tower_sessions::Session,
    pub session_id: Option<String>,
}

/// What the loop does after handling one input.
enum Step {
    Send(Vec<ServerEvent>),
    /// Hub events as they are: every socket sends the same text, serialized once.
    Forward(Vec<Arc<Envelope>>),
    Close(Refusal),
}

struct Connection {
    user: UserId,
    name: String,
    /// Rooms followed, each with the newest sequence delivered or, before the first delivery,
    /// the room's newest when the socket opened (or joined it).
    cursors: HashMap<RoomId, i64>,
    /// Set until the client resumes (or the grace ends): new messages wait in the database.
    resume_due: Option<Instant>,
    /// Per room, messages that arrived ahead of the cursor, waiting for the ones before them.
    held: HashMap<RoomId, BTreeMap<i64, Arc<Envelope>>>,
    /// When the oldest wait for a missing message ends.
    gap_due: Option<Instant>,
    /// Whether this socket reported itself idle.
    away: bool,
}

pub async fn run<W, R>(mut sink: W, mut stream: R, state: AppState, peer: Peer)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let user = peer.user.id;

    // Register before reading the room list, so a membership event published in between
    // is not lost. Room events that arrive before the rooms are followed are committed, so
    // the client's resume (which this socket waits for) replays them from the database.
    let mut mailbox = state.hub.connect(user);
    let mut shutdown = state.hub.shutdown_signal();
    let rooms = match room_store::positions_of(&state.db, user).await {
        Ok(rooms) => rooms,
        Err(_) => return,
    };
    for (room, _) in &rooms {
        mailbox.follow(*room);
    }
    let mut conn = Connection {
        user,
        name: peer.user.display_name.clone(),
        cursors: rooms.into_iter().collect(),
        resume_due: Some(Instant::now() + RESUME_GRACE),
        held: HashMap::new(),
        gap_due: None,
        away: false,
    };
    tracing::debug!(user_id = %user, rooms = conn.cursors.len(), "socket open");

    // Greet, then tell the newcomer who is online, then tell everyone about the newcomer.
    let mut greeting = vec![ServerEvent::Hello { version: PROTOCOL_VERSION, user_id: user }];
    greeting.extend(
        state.hub.presence.snapshot().into_iter().map(|(user_id, status)| ServerEvent::Presence {
            user_id,
            status,
            last_seen: None,
        }),
    );
    state.hub.socket_opened(user);
    let quota = Quota::per_second(NonZeroU32::new(FRAMES_PER_SECOND).expect("nonzero"))
        .allow_burst(NonZeroU32::new(FRAME_BURST).expect("nonzero"));
    let limiter: DefaultDirectRateLimiter = RateLimiter::direct(quota);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_heard = Instant::now();

    let mut step = Step::Send(greeting);
    let ending = loop {
        match step {
            Step::Send(outgoing) => {
                if send_all(&mut sink, outgoing).await.is_err() {
                    break None;
                }
            }
            Step::Forward(envelopes) => {
                if forward_all(&mut sink, &envelopes).await.is_err() {
                    break None;
                }
            }
            Step::Close(refusal) => break Some(refusal),
        }

        step = tokio::select! {
            _ = shutdown.changed() => {
                // Best effort: a peer that misses this still reconnects on the close.
                if send_all(&mut sink, vec![ServerEvent::Reconnect]).await.is_err() {
                    break None;
                }
                Step::Close(Refusal { code: close::RESTART, reason: "server restarting" })
            }
            received = mailbox.recv() => match received {
                Delivery::Event(envelope) => conn.route(&state, &peer, &envelope, &mailbox).await,
                // This socket fell behind its mailbox. It may have missed any event, so
                // re-read its rooms and have the client resume from what it holds.
                Delivery::Behind => {
                    tracing::warn!(user_id = %user, "socket fell behind; asking to resume");
                    conn.resync(&state, &peer, &mailbox).await
                }
            },
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    None | Some(Ok(Message::Close(_))) => break None,
                    Some(Err(error)) => match frames::refusal_for(error) {
                        Some(refusal) => Step::Close(refusal),
                        None => break None,
                    },
                    Some(Ok(Message::Text(text))) => {
                        if limiter.check().is_err() {
                            Step::Close(Refusal { code: close::POLICY, reason: "too many frames" })
                        } else {
                            match frames::decode(text.as_str()) {
                                Ok(frame) => conn.handle(&state, frame).await,
                                Err(refusal) => Step::Close(refusal),
                            }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => Step::Close(Refusal {
                        code: close::UNSUPPORTED,
                        reason: "binary frames are not used",
                    }),
                    // Pings are answered by the library; pongs only prove the peer is alive.
                    Some(Ok(_)) => Step::Send(Vec::new()),
                }
            }
            _ = sleep_until_due(conn.resume_due) => conn.resume_from_cursors(&state).await,
            _ = sleep_until_due(conn.gap_due) => conn.fill_gaps(&state).await,
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    Step::Close(Refusal { code: close::GOING_AWAY, reason: "idle timeout" })
                } else if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break None;
                } else {
                    Step::Send(Vec::new())
                }
            }
        };
    };

    if let Some(refusal) = ending {
        tracing::debug!(user_id = %user, code = refusal.code, reason = refusal.reason, "closing");
        let frame = CloseFrame { code: refusal.code, reason: refusal.reason.into() };
        // The peer may already be gone; the socket is ending either way.
        if sink.send(Message::Close(Some(frame))).await.is_err() {
            tracing::trace!(user_id = %user, "close frame not delivered");
        }
    }
    conn.disconnected(&state).await;
    tracing::debug!(user_id = %user, "socket closed");
}

/// Completes at `due`, or never when there is nothing due.
async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

async fn send_all<W: Sink<Message> + Unpin>(
    sink: &mut W,
    events: Vec<ServerEvent>,
) -> Result<(), ()> {
    let mut texts = Vec::with_capacity(events.len());
    for event in events {
        texts.push(serde_json::to_string(&event).map_err(|e| {
            tracing::error!(error = %e, "event serialization failed");
        })?);
    }
    send_texts(sink, texts.iter().map(String::as_str)).await
}

async fn forward_all<W: Sink<Message> + Unpin>(
    sink: &mut W,
    envelopes: &[Arc<Envelope>],
) -> Result<(), ()> {
    send_texts(sink, envelopes.iter().filter_map(|envelope| envelope.frame())).await
}

/// Writes each text as a frame, then flushes once.
async fn send_texts<'a, W: Sink<Message> + Unpin>(
    sink: &mut W,
    texts: impl Iterator<Item = &'a str>,
) -> Result<(), ()> {
    for text in texts {
        sink.feed(Message::Text(text.into())).await.map_err(|_| ())?;
    }
    sink.flush().await.map_err(|_| ())
}

impl Connection {
    /// What a hub envelope means for this socket.
    async fn route(
        &mut self,
        state: &AppState,
        peer: &Peer,
        envelope: &Arc<Envelope>,
        mailbox: &Mailbox,
    ) -> Step {
        let for_me = match envelope.audience {
            Audience::Room(room) => self.cursors.contains_key(&room),
            Audience::User(id) => id == self.user,
            Audience::Everyone => true,
        };
        if !for_me {
            return Step::Send(Vec::new());
        }
        let event = match &envelope.signal {
            Signal::Event(event) => event,
            Signal::SessionsRevoked { kept } if kept.is_some() && *kept == peer.session_id => {
                return Step::Send(Vec::new());
            }
            Signal::SessionsRevoked { .. } => {
                return match app::session::current_user(&peer.session, state).await {
                    Ok(Some(_)) => Step::Send(Vec::new()),
                    _ => Step::Close(Refusal { code: SESSION_OVER_CODE, reason: SESSION_ENDED }),
                };
            }
            Signal::Resync => {
                tracing::debug!(user_id = %self.user, "bus was away; asking to resume");
                return self.resync(state, peer, mailbox).await;
            }
            Signal::SessionEnded(id) => {
                return if peer.session_id.as_deref() == Some(id.as_str()) {
                    Step::Close(Refusal { code: SESSION_OVER_CODE, reason: LOGGED_OUT })
                } else {
                    Step::Send(Vec::new())
                };
            }
        };

        match event {
            ServerEvent::MessageCreated { message } => {
                let (room, seq) = (message.room_id, message.seq);
                self.in_order(state, room, seq, envelope).await
            }
            ServerEvent::Joined { room_id } => {
                // The client fetches the room's history on `Joined`, after this read: what is
                // committed up to here comes from that fetch, what follows from here. The
                // room is followed first, so nothing published after the read is missed.
                if !self.cursors.contains_key(room_id) {
                    mailbox.follow(*room_id);
                    let newest = room_store::last_seq(&state.db, *room_id).await.unwrap_or(0);
                    self.cursors.insert(*room_id, newest);
                }
                Step::Send(vec![event.clone()])
            }
            ServerEvent::Left { room_id } => {
                mailbox.unfollow(*room_id);
                self.cursors.remove(room_id);
                self.held.remove(room_id);
                Step::Send(vec![event.clone()])
            }
            ServerEvent::Typing { user_id, .. } if *user_id == self.user => Step::Send(Vec::new()),
            _ => Step::Forward(vec![envelope.clone()]),
        }
    }

    /// Delivers a new message (`envelope`) so that the room's stream stays gapless and in
    /// order: at once when it follows the cursor, together with the held messages that follow
    /// it; held when it is ahead.
    async fn in_order(
        &mut self,
        state: &AppState,
        room: RoomId,
        seq: i64,
        envelope: &Arc<Envelope>,
    ) -> Step {
        let Some(delivered) = self.cursors.get(&room).copied() else {
            return Step::Send(Vec::new());
        };
        if self.resume_due.is_some() || seq <= delivered {
            // Committed, so the coming replay brings it; or already delivered.
            return Step::Send(Vec::new());
        }
        if seq > delivered + 1 {
            let held = self.held.entry(room).or_default();
            held.insert(seq, envelope.clone());
            if held.len() > HELD_MAX {
                return Step::Send(self.replay(state, room, delivered).await);
            }
            self.gap_due.get_or_insert_with(|| Instant::now() + GAP_WAIT);
            return Step::Send(Vec::new());
        }

        let mut out = vec![envelope.clone()];
        let mut cursor = seq;
        if let Some(held) = self.held.get_mut(&room) {
            while let Some(next) = held.remove(&(cursor + 1)) {
                cursor += 1;
                out.push(next);
            }
            if held.is_empty() {
                self.held.remove(&room);
            }
        }
        if self.held.is_empty() {
            self.gap_due = None;
        }
        self.cursors.insert(room, cursor);
        Step::Forward(out)
    }

    /// The wait for missing messages ended: read them, and everything after, from the
    /// database. What was held is committed, so the reads include it.
    async fn fill_gaps(&mut self, state: &AppState) -> Step {
        self.gap_due = None;
        let rooms: Vec<RoomId> = self.held.keys().copied().collect();
        let mut out = Vec::new();
        for room in rooms {
            if let Some(&after) = self.cursors.get(&room) {
                out.extend(self.replay(state, room, after).await);
            }
        }
        self.held.clear();
        Step::Send(out)
    }

    /// Everything committed in `room` after `after`, oldest first, moving the cursor; or a
    /// `RoomReset` when the gap is longer than [`REPLAY_MAX`].
    async fn replay(&mut self, state: &AppState, room: RoomId, after: i64) -> Vec<ServerEvent> {
        // What was held is committed, so this read brings it again.
        self.held.remove(&room);
        let missed = match messages::after(&state.db, room, after, REPLAY_MAX + 1).await {
            Ok(missed) => missed,
            Err(_) => return vec![ServerEvent::RoomReset { room_id: room }],
        };
        if missed.len() as i64 > REPLAY_MAX {
            // The client refetches the room's newest page, so live delivery goes on from the
            // room's newest message, not from the end of this partial read.
            let newest = match room_store::last_seq(&state.db, room).await {
                Ok(newest) => newest,
                Err(_) => missed.last().map_or(after, |m| m.seq),
            };
            self.cursors.insert(room, newest);
            return vec![ServerEvent::RoomReset { room_id: room }];
        }
        self.cursors.insert(room, missed.last().map_or(after, |m| m.seq));
        missed.into_iter().map(|message| ServerEvent::MessageCreated { message }).collect()
    }

    /// After events may have been missed: a log-out or password change among them would have
    /// closed this socket, so the session is checked again before the rooms are reloaded.
    async fn resync(&mut self, state: &AppState, peer: &Peer, mailbox: &Mailbox) -> Step {
        match app::session::current_user(&peer.session, state).await {
            Ok(Some(_)) => self.reload_rooms(state, mailbox).await,
            _ => Step::Close(Refusal { code: SESSION_OVER_CODE, reason: SESSION_ENDED }),
        }
    }

    /// After a lag: the membership may have changed unseen, so the room list is read again
    /// (keeping the cursors of rooms still held), and the socket waits for the client's
    /// `Resume` as if it had just connected.
    async fn reload_rooms(&mut self, state: &AppState, mailbox: &Mailbox) -> Step {
        if let Ok(rooms) = room_store::positions_of(&state.db, self.user).await {
            let old = std::mem::take(&mut self.cursors);
            self.cursors = rooms
                .into_iter()
                .map(|(room, newest)| (room, old.get(&room).copied().unwrap_or(newest)))
                .collect();
            for room in old.keys().filter(|room| !self.cursors.contains_key(room)) {
                mailbox.unfollow(*room);
            }
            for room in self.cursors.keys() {
                mailbox.follow(*room);
            }
        }
        self.held.clear();
        self.resume_due = Some(Instant::now() + RESUME_GRACE);
        Step::Send(vec![ServerEvent::Resync])
    }

    /// The grace ran out without a `Resume`: deliver from the cursors held.
    async fn resume_from_cursors(&mut self, state: &AppState) -> Step {
        self.resume_due = None;
        let held: Vec<(RoomId, i64)> = self.cursors.iter().map(|(r, s)| (*r, *s)).collect();
        let mut out = Vec::new();
        for (room, seq) in held {
            out.extend(self.replay(state, room, seq).await);
        }
        Step::Send(out)
    }

    async fn handle(&mut self, state: &AppState, frame: ClientFrame) -> Step {
        let result = match frame {
            ClientFrame::Resume { rooms } => self.resume(state, rooms).await,
            ClientFrame::Typing { room_id, active } => {
                if self.cursors.contains_key(&room_id) {
                    let name = self.name.clone();
                    let typing = ServerEvent::Typing { room_id, user_id: self.user, name, active };
                    state.hub.to_room(room_id, typing);
                }
                Ok(Vec::new())
            }
            ClientFrame::Read { room_id, seq } => self.read(state, room_id, seq).await,
            ClientFrame::Presence { status } => {
                let away = status == PresenceStatus::Away;
                if away != self.away {
                    self.away = away;
                    state.hub.socket_away(self.user, away);
                }
                Ok(Vec::new())
            }
        };
        match result {
            Ok(events) => Step::Send(events),
            // A store failure was logged where it happened; the client can resume again.
            Err(_) => Step::Send(vec![ServerEvent::Resync]),
        }
    }

    /// Replays what the client missed in each room it names, then sends unread counters.
    /// Rooms the user is not in are skipped silently, as if they did not exist.
    async fn resume(
        &mut self,
        state: &AppState,
        rooms: Vec<RoomCursor>,
    ) -> Result<Vec<ServerEvent>, AppError> {
        // On the first resume, rooms the client does not name start where they stood when
        // the socket opened; what arrived since is replayed with the rest.
        let first = self.resume_due.take().is_some();
        let mut pending: HashMap<RoomId, i64> =
            if first { self.cursors.clone() } else { HashMap::new() };
        for RoomCursor { room_id, seq } in rooms.into_iter().take(self.cursors.len()) {
            if self.cursors.contains_key(&room_id) {
                pending.insert(room_id, seq.max(0));
            }
        }
        let mut out = Vec::new();
        for (room, seq) in pending {
            out.extend(self.replay(state, room, seq).await);
        }
        out.push(ServerEvent::Unreads { rooms: unreads::unreads_of(&state.db, self.user).await? });
        Ok(out)
    }

    async fn read(
        &mut self,
        state: &AppState,
        room: RoomId,
        seq: i64,
    ) -> Result<Vec<ServerEvent>, AppError> {
        if !self.cursors.contains_key(&room) {
            return Ok(Vec::new());
        }
        let Some(read) = unreads::mark_read(&state.db, room, self.user, seq).await? else {
            return Ok(Vec::new());
        };

        state.hub.to_user(self.user, ServerEvent::ReadMarker { room_id: room, seq: read });
        let standing = room_store::standing(&state.db, room, self.user).await?;
        if matches!(standing, Some((RoomKind::Direct, _))) {
            let receipt =
                ServerEvent::ReadReceipt { room_id: room, user_id: self.user, seq: read };
            state.hub.to_room(room, receipt);
        }
        Ok(Vec::new())
    }

    async fn disconnected(&self, state: &AppState) {
        if state.hub.socket_closed(self.user, self.away)
            && app::users::store::set_last_seen(&state.db, self.user, now_ms()).await.is_err()
        {
            tracing::debug!(user_id = %self.user, "last seen not stored");
        }
    }
}
