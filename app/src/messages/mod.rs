//! Messages: sending with idempotent client ids, gapless per-room sequence numbers, history
//! pages, edits and tombstoning deletes.

pub mod api;
pub mod composer;
pub mod rules;
pub mod timeline;
pub mod view;

#[cfg(feature = "ssr")]
pub mod actions;
#[cfg(feature = "ssr")]
pub mod sends;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::ids::{MessageId, RoomId, UserId};

/// History is read in pages of this many messages, newest first.
pub const PAGE_SIZE: i64 = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Message {
    pub id: MessageId,
    pub room_id: RoomId,
    /// Position in the room: 1, 2, 3... with no gaps, the same for every member.
    pub seq: i64,
    pub author_id: UserId,
    /// The author's display name when the message was read.
    pub author_name: String,
    /// The id the sending client chose; lets it match its pending copy to the stored one.
    pub client_id: String,
    /// Plain text. Empty once deleted.
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

impl Message {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// One page of history in ascending order, and whether older messages exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

impl Message {
    /// Whether `self` is at least as recent a version of the same message as `other`. A
    /// tombstone beats any edit, a later edit beats an earlier one.
    pub fn supersedes(&self, other: &Message) -> bool {
        (self.deleted_at.is_some(), self.edited_at)
            >= (other.deleted_at.is_some(), other.edited_at)
    }
}
