//! What the browser knows live: messages received since the page loaded, unread counters,
//! who is typing and who is online, and the messages this tab is still sending. Provided as
//! context by the signed-in layout; the socket feeds it through [`LiveState::apply`].

use std::collections::{BTreeMap, HashMap};

use leptos::prelude::*;

use super::protocol::{ClientFrame, PresenceStatus, RoomCursor, ServerEvent, UnreadState};
use crate::ids::{RoomId, UserId};
use crate::messages::Message;
use crate::messages::composer::Pending;
use crate::messages::rules::mentions;

/// A typing indicator disappears this long after the last "typing" signal.
pub const TYPING_TTL_MS: f64 = 6_000.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Typist {
    pub user_id: UserId,
    pub name: String,
    /// Browser clock (ms) after which the indicator is stale.
    pub until: f64,
}

#[derive(Clone, Copy)]
pub struct LiveState {
    pub me: UserId,
    /// Lower-cased username, for spotting mentions of the viewer (the server's rule).
    /// Usernames are ASCII, and ASCII lower-casing is the server's key; Unicode lower-casing
    /// would give the same string but pull the Unicode case tables into the browser bundle.
    pub mention: StoredValue<String>,
    /// Bumped when the caller's room list, or any room's name, topic or members, may have
    /// changed.
    pub rooms_changed: RwSignal<u64>,
    /// Joins and leaves of the caller, counted per room: a room screen re-checks access when
    /// its own count moves, and nothing else disturbs it.
    pub memberships: RwSignal<HashMap<RoomId, u64>>,
    /// Bumped per room when the server cannot replay a gap: the room's history is refetched.
    pub resets: RwSignal<HashMap<RoomId, u64>>,
    /// Messages received live or acknowledged to this tab, by room and sequence. Views lay
    /// these over the history they fetched.
    pub messages: RwSignal<HashMap<RoomId, BTreeMap<i64, Message>>>,
    /// Per room, the newest sequence this tab holds with nothing missing before it: sent on
    /// resume, so the server replays exactly what follows.
    pub cursors: StoredValue<HashMap<RoomId, i64>>,
    pub unreads: RwSignal<HashMap<RoomId, UnreadState>>,
    pub typing: RwSignal<HashMap<RoomId, Vec<Typist>>>,
    pub presence: RwSignal<HashMap<UserId, (PresenceStatus, Option<i64>)>>,
    /// Other members' read positions in direct messages.
    pub receipts: RwSignal<HashMap<RoomId, HashMap<UserId, i64>>>,
    /// Messages sent from this tab and not yet acknowledged, in every room.
    pub pending: RwSignal<Vec<Pending>>,
    /// The room on screen, if any: its messages are read as they arrive.
    pub viewing: RwSignal<Option<RoomId>>,
    /// Whether the socket is open.
    pub connected: RwSignal<bool>,
    /// How many times the socket has said hello; a second hello follows a reconnect.
    pub hellos: RwSignal<u64>,
    /// False while rendering on the server and hydrating; then true, and times switch from UTC
    /// to the viewer's zone.
    pub local_time: RwSignal<bool>,
}

impl LiveState {
    pub fn new(me: UserId, username: &str) -> Self {
        Self {
            me,
            mention: StoredValue::new(username.to_ascii_lowercase()),
            rooms_changed: RwSignal::new(0),
            memberships: RwSignal::new(HashMap::new()),
            resets: RwSignal::new(HashMap::new()),
            messages: RwSignal::new(HashMap::new()),
            cursors: StoredValue::new(HashMap::new()),
            unreads: RwSignal::new(HashMap::new()),
            typing: RwSignal::new(HashMap::new()),
            presence: RwSignal::new(HashMap::new()),
            receipts: RwSignal::new(HashMap::new()),
            pending: RwSignal::new(Vec::new()),
            viewing: RwSignal::new(None),
            connected: RwSignal::new(false),
            hellos: RwSignal::new(0),
            local_time: RwSignal::new(false),
        }
    }

    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::Hello { .. } => {
                self.connected.set(true);
                self.hellos.update(|n| *n += 1);
                self.resume();
                if self.hellos.get_untracked() > 1 {
                    // Names, topics and memberships may have changed while disconnected.
                    self.rooms_changed.update(|n| *n += 1);
                }
            }
            ServerEvent::MessageCreated { message } => {
                self.count_unread(&message);
                // The socket delivers each room in order without gaps: the tab now holds the
                // room up to here.
                self.note_seq(message.room_id, message.seq);
                self.remember(message);
            }
            ServerEvent::MessageUpdated { message } => self.remember(message),
            ServerEvent::RoomUpdated { .. } => self.rooms_changed.update(|n| *n += 1),
            ServerEvent::Joined { room_id } | ServerEvent::Left { room_id } => {
                self.memberships.update(|m| *m.entry(room_id).or_default() += 1);
                self.rooms_changed.update(|n| *n += 1);
            }
            ServerEvent::RoomReset { room_id } => {
                // The gap is too long to replay: forget the room's live copies and refetch.
                self.messages.update(|rooms| {
                    rooms.remove(&room_id);
                });
                self.cursors.update_value(|c| {
                    c.remove(&room_id);
                });
                self.resets.update(|r| *r.entry(room_id).or_default() += 1);
            }
            ServerEvent::Resync => {
                self.resume();
                self.rooms_changed.update(|n| *n += 1);
            }
            ServerEvent::Typing { room_id, user_id, name, active } => {
                self.typing.update(|rooms| {
                    let typists = rooms.entry(room_id).or_default();
                    typists.retain(|t| t.user_id != user_id);
                    if active {
                        typists.push(Typist { user_id, name, until: now() + TYPING_TTL_MS });
                    }
                });
                if active {
                    self.expire_typing_later();
                }
            }
            ServerEvent::Presence { user_id, status, last_seen } => {
                self.presence.update(|p| {
                    p.insert(user_id, (status, last_seen));
                });
            }
            ServerEvent::Unreads { rooms } => {
                self.unreads.set(rooms.into_iter().map(|u| (u.room_id, u)).collect());
                if let Some(room) = self.viewing.get_untracked() {
                    self.read_to_latest(room);
                }
            }
            ServerEvent::ReadMarker { room_id, seq } => self.unreads.update(|u| {
                if let Some(state) = u.get_mut(&room_id)
                    && seq > state.read_seq
                {
                    state.read_seq = seq;
                    state.mentions = 0;
                }
            }),
            ServerEvent::ReadReceipt { room_id, user_id, seq } => {
                if user_id != self.me {
                    self.receipts.update(|r| {
                        r.entry(room_id).or_default().insert(user_id, seq);
                    });
                }
            }
            ServerEvent::Reconnect => self.connected.set(false),
        }
    }

    /// Keeps the newest version of a message; an older copy arriving late changes nothing.
    ///
    /// A message that came another way (the answer to this tab's own send, an edit) may be
    /// ahead of one the socket has not delivered yet, for instance when the send went to
    /// another instance: it moves the cursor only if it is the very next one. Moving it
    /// further would make the next resume skip the message in between.
    pub fn remember(&self, message: Message) {
        self.cursors.update_value(|c| follow_on(c, message.room_id, message.seq));
        self.messages.update(|rooms| {
            let room = rooms.entry(message.room_id).or_default();
            match room.get(&message.seq) {
                Some(known) if !message.supersedes(known) => {}
                _ => {
                    room.insert(message.seq, message);
                }
            }
        });
    }

    /// Records that this tab holds `room` up to `seq`.
    pub fn note_seq(&self, room: RoomId, seq: i64) {
        self.cursors.update_value(|c| {
            let held = c.entry(room).or_insert(seq);
            *held = (*held).max(seq);
        });
    }

    /// After fetching a room's newest page: tell the server where this tab stands, so live
    /// delivery continues from exactly there.
    pub fn history_loaded(&self, room: RoomId, newest: Option<i64>) {
        let seq = newest.unwrap_or(0);
        self.note_seq(room, seq);
        send(ClientFrame::Resume { rooms: vec![RoomCursor { room_id: room, seq }] });
    }

    fn resume(&self) {
        let rooms = self.cursors.with_value(|c| {
            c.iter().map(|(room_id, seq)| RoomCursor { room_id: *room_id, seq: *seq }).collect()
        });
        send(ClientFrame::Resume { rooms });
    }

    fn count_unread(&self, message: &Message) {
        let mine = message.author_id == self.me;
        let mentioned = !mine && self.mention.with_value(|m| mentions(&message.body, m));
        self.unreads.update(|u| {
            let state = u.entry(message.room_id).or_insert(UnreadState {
                room_id: message.room_id,
                last_seq: 0,
                read_seq: 0,
                mentions: 0,
            });
            state.last_seq = state.last_seq.max(message.seq);
            if mine {
                state.read_seq = state.read_seq.max(message.seq);
            } else if mentioned && message.seq > state.read_seq {
                state.mentions += 1;
            }
        });
        if self.viewing.get_untracked() == Some(message.room_id) {
            self.read_to_latest(message.room_id);
        }
    }

    /// How often the caller's membership of `room` changed since the page loaded.
    pub fn membership_changes(&self, room: RoomId) -> u64 {
        self.memberships.read().get(&room).copied().unwrap_or(0)
    }

    /// Marks the room read up to its newest message if the viewer can see it.
    pub fn read_to_latest(&self, room: RoomId) {
        if !page_visible() {
            return;
        }
        let Some(latest) = self.unreads.with_untracked(|u| u.get(&room).map(|s| s.last_seq))
        else {
            return;
        };
        let moved = self.unreads.try_update(|u| match u.get_mut(&room) {
            Some(state) if state.read_seq < latest => {
                state.read_seq = latest;
                state.mentions = 0;
                true
            }
            _ => false,
        });
        if moved == Some(true) {
            send(ClientFrame::Read { room_id: room, seq: latest });
        }
    }

    /// Unread count and mention count for the sidebar badge.
    pub fn unread(&self, room: RoomId) -> (i64, i64) {
        self.unreads.with(|u| {
            u.get(&room).map(|s| ((s.last_seq - s.read_seq).max(0), s.mentions)).unwrap_or((0, 0))
        })
    }

    /// "Ann is typing…", "Ann and Bob are typing…", "3 people are typing…".
    pub fn typing_line(&self, room: RoomId) -> String {
        let now = now();
        let names: Vec<String> = self.typing.with(|t| {
            t.get(&room)
                .map(|typists| {
                    typists.iter().filter(|t| t.until > now).map(|t| t.name.clone()).collect()
                })
                .unwrap_or_default()
        });
        match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            [a, b] => format!("{a} and {b} are typing…"),
            many => format!("{} people are typing…", many.len()),
        }
    }

    fn expire_typing_later(&self) {
        let typing = self.typing;
        set_timeout(
            move || {
                let now = now();
                typing
                    .update(|rooms| rooms.values_mut().for_each(|t| t.retain(|t| t.until > now)));
            },
            std::time::Duration::from_millis(TYPING_TTL_MS as u64 + 50),
        );
    }
}

/// Sends a frame if the socket is open; frames are hints the server can live without, so a
/// closed socket simply drops them (resume and read state are re-sent on reconnect).
pub fn send(frame: ClientFrame) {
    #[cfg(feature = "hydrate")]
    super::client::send(&frame);
    #[cfg(not(feature = "hydrate"))]
    let _ = frame;
}

fn now() -> f64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now();
    #[cfg(not(feature = "hydrate"))]
    0.0
}

fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    return web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Moves `room`'s cursor to `seq` if `seq` directly follows it.
fn follow_on(cursors: &mut HashMap<RoomId, i64>, room: RoomId, seq: i64) {
    if let Some(held) = cursors.get_mut(&room)
        && seq == *held + 1
    {
        *held = seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bug: a tab whose send was answered by another instance set its cursor to that
    /// message, and its resume after a reconnect skipped the message sent just before it.
    #[test]
    fn an_answered_send_ahead_of_a_missing_message_leaves_the_cursor() {
        let room = RoomId(1);
        let mut cursors = HashMap::from([(room, 2)]);

        follow_on(&mut cursors, room, 4);
        assert_eq!(cursors[&room], 2, "3 is still missing");
        follow_on(&mut cursors, room, 3);
        assert_eq!(cursors[&room], 3);
        follow_on(&mut cursors, RoomId(9), 1);
        assert!(!cursors.contains_key(&RoomId(9)));
    }
}
