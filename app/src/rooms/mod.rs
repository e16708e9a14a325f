//! Conversations: public and private channels, direct messages, group DMs, and who is in them.
//!
//! `rules` decides who may do what; `store` is the SQL; `actions` the server-side operations
//! (each checks access, applies a rule, stores, publishes); `api` the server functions;
//! `pages` the browse, people and room-settings screens.

pub mod api;
pub mod pages;
pub mod rules;

#[cfg(feature = "ssr")]
pub mod actions;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::ids::RoomId;
use crate::users::User;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// Listed for everyone; anyone may join.
    Public,
    /// Unlisted; members join by invitation.
    Private,
    /// Exactly two people; one such room per pair.
    Direct,
    /// A small unnamed conversation between several people.
    Group,
}

impl RoomKind {
    pub fn is_channel(self) -> bool {
        matches!(self, Self::Public | Self::Private)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

/// A room as one member sees it. Direct and group rooms are named after the other members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Room {
    pub id: RoomId,
    pub kind: RoomKind,
    pub name: String,
    pub topic: String,
    /// Sequence number of the newest message.
    pub last_seq: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: User,
    pub role: Role,
    /// When the member's last socket closed, if ever.
    pub last_seen: Option<i64>,
}

/// How the viewer stands with a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    Member(Role),
    /// A public channel the viewer has not joined: visible, joinable, history hidden.
    CanJoin,
}

/// The room screen's header and settings: the room, the viewer's standing, its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomDetail {
    pub room: Room,
    pub access: Access,
    pub members: Vec<Member>,
}

/// A row of the public channel directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChannelListing {
    pub id: RoomId,
    pub name: String,
    pub topic: String,
    pub member_count: i64,
    pub joined: bool,
}
