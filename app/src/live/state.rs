//! What the browser knows live: messages received since the page loaded and counters that tell
//! resources to refetch. Provided as context by the signed-in layout.

use std::collections::{BTreeMap, HashMap};

use leptos::prelude::*;

use super::protocol::ServerEvent;
use crate::ids::{RoomId, UserId};
use crate::messages::Message;

#[derive(Clone, Copy)]
pub struct LiveState {
    pub me: UserId,
    /// Bumped when the caller's room list, or any room's name, topic or members, may have
    /// changed.
    pub rooms_changed: RwSignal<u64>,
    /// Joins and leaves of the caller, counted per room: a room screen re-checks access when
    /// its own count moves, and nothing else disturbs it.
    pub memberships: RwSignal<HashMap<RoomId, u64>>,
    /// Bumped after a reconnect: history may have missed events and is fetched again.
    pub resyncs: RwSignal<u64>,
    /// Messages received live or acknowledged to this tab, by room and sequence. Views lay
    /// these over the history they fetched.
    pub messages: RwSignal<HashMap<RoomId, BTreeMap<i64, Message>>>,
    /// False while rendering on the server and hydrating; then true, and times switch from UTC
    /// to the viewer's zone.
    pub local_time: RwSignal<bool>,
}

impl LiveState {
    pub fn new(me: UserId) -> Self {
        Self {
            me,
            rooms_changed: RwSignal::new(0),
            memberships: RwSignal::new(HashMap::new()),
            resyncs: RwSignal::new(0),
            messages: RwSignal::new(HashMap::new()),
            local_time: RwSignal::new(false),
        }
    }

    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::Hello { .. } => {}
            ServerEvent::MessageCreated { message } | ServerEvent::MessageUpdated { message } => {
                self.remember(message)
            }
            ServerEvent::RoomUpdated { .. } => self.rooms_changed.update(|n| *n += 1),
            ServerEvent::Joined { room_id } | ServerEvent::Left { room_id } => {
                self.memberships.update(|m| *m.entry(room_id).or_default() += 1);
                self.rooms_changed.update(|n| *n += 1);
            }
            ServerEvent::Resync => {
                self.resyncs.update(|n| *n += 1);
                self.rooms_changed.update(|n| *n += 1);
            }
        }
    }

    /// How often the caller's membership of `room` changed since the page loaded.
    pub fn membership_changes(&self, room: RoomId) -> u64 {
        self.memberships.read().get(&room).copied().unwrap_or(0)
    }

    /// Keeps the newest version of a message; an older copy arriving late changes nothing.
    pub fn remember(&self, message: Message) {
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
}
