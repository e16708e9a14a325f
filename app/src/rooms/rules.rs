//! Who may do what in a room, and what a room name or topic may be.

use super::{Access, Role, RoomKind};
use crate::error::AppError;
use crate::text::{clean_name, is_bidi_control};

pub const ROOM_NAME_MAX: usize = 80;
pub const TOPIC_MAX: usize = 250;
/// Group DMs stay small; larger groups belong in a private channel.
pub const GROUP_MAX_MEMBERS: usize = 16;

pub fn clean_room_name(raw: &str) -> Result<String, AppError> {
    clean_name(raw, ROOM_NAME_MAX)
        .map_err(|problem| AppError::invalid("name", problem.message("A room name")))
}

/// Topics may be empty; otherwise they follow the name rules with a longer limit.
pub fn clean_topic(raw: &str) -> Result<String, AppError> {
    if raw.trim().is_empty() && !raw.chars().any(is_bidi_control) {
        return Ok(String::new());
    }
    clean_name(raw, TOPIC_MAX)
        .map_err(|problem| AppError::invalid("topic", problem.message("A topic")))
}

/// Renaming and setting the topic: channel owners and admins; any member of a group DM.
pub fn may_edit_room(kind: RoomKind, role: Role) -> bool {
    match kind {
        RoomKind::Public | RoomKind::Private => matches!(role, Role::Owner | Role::Admin),
        RoomKind::Group => true,
        RoomKind::Direct => false,
    }
}

/// Any member may bring people into a channel or group DM. A direct message stays two people.
pub fn may_invite(kind: RoomKind) -> bool {
    kind != RoomKind::Direct
}

/// Only public channels can be joined without an invitation.
pub fn may_join(kind: RoomKind) -> bool {
    kind == RoomKind::Public
}

/// A direct message cannot be left: it is the pair's one conversation and reappears anyway.
pub fn may_leave(kind: RoomKind) -> bool {
    kind != RoomKind::Direct
}

pub fn is_member(access: Access) -> bool {
    matches!(access, Access::Member(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_channel_owners_and_admins_rename_channels() {
        assert!(may_edit_room(RoomKind::Public, Role::Owner));
        assert!(may_edit_room(RoomKind::Private, Role::Admin));
        assert!(!may_edit_room(RoomKind::Public, Role::Member));
        assert!(may_edit_room(RoomKind::Group, Role::Member));
        assert!(!may_edit_room(RoomKind::Direct, Role::Owner));
    }

    #[test]
    fn private_rooms_cannot_be_joined_uninvited() {
        assert!(may_join(RoomKind::Public));
        assert!(!may_join(RoomKind::Private));
        assert!(!may_join(RoomKind::Direct));
        assert!(!may_join(RoomKind::Group));
    }

    #[test]
    fn direct_messages_stay_two_people() {
        assert!(!may_invite(RoomKind::Direct));
        assert!(!may_leave(RoomKind::Direct));
        assert!(may_invite(RoomKind::Group));
    }

    #[test]
    fn topics_may_be_empty_but_not_bidi() {
        assert_eq!(clean_topic("   ").unwrap(), "");
        assert!(clean_topic("\u{202E}").is_err());
        assert!(clean_topic(&"x".repeat(TOPIC_MAX + 1)).is_err());
    }

    #[test]
    fn room_names_are_validated() {
        assert_eq!(clean_room_name("  general ").unwrap(), "general");
        assert!(clean_room_name("\u{200B}").is_err());
    }
}
