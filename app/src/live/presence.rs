//! Who is online: a count of open sockets per user, and how many of them are idle.
//!
//! The registry lives in this process. Several instances would each know only their own
//! sockets; sharing it (Redis) is part of the scale-out design, not of this file.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ids::UserId;
use crate::live::protocol::PresenceStatus;

#[derive(Default, Clone, Copy)]
struct Sockets {
    open: usize,
    away: usize,
}

impl Sockets {
    fn status(self) -> PresenceStatus {
        match self {
            Sockets { open: 0, .. } => PresenceStatus::Offline,
            Sockets { open, away } if away >= open => PresenceStatus::Away,
            _ => PresenceStatus::Online,
        }
    }
}

/// Socket counts per user. A std `Mutex`: every critical section is a map update with no
/// `.await` inside, so it is never held across a suspension point.
#[derive(Default)]
pub struct PresenceRegistry {
    users: Mutex<HashMap<UserId, Sockets>>,
}

impl PresenceRegistry {
    /// Applies `change` to the user's counts; returns the new status if it changed.
    fn update(&self, user: UserId, change: impl FnOnce(&mut Sockets)) -> Option<PresenceStatus> {
        let mut users = self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = users.entry(user).or_default();
        let before = entry.status();
        change(entry);
        let after = entry.status();
        if entry.open == 0 {
            users.remove(&user);
        }
        (before != after).then_some(after)
    }

    pub fn connected(&self, user: UserId) -> Option<PresenceStatus> {
        self.update(user, |s| s.open += 1)
    }

    /// `was_away`: whether the closing socket had reported itself idle.
    pub fn disconnected(&self, user: UserId, was_away: bool) -> Option<PresenceStatus> {
        self.update(user, |s| {
            s.open = s.open.saturating_sub(1);
            if was_away {
                s.away = s.away.saturating_sub(1);
            }
        })
    }

    pub fn set_away(&self, user: UserId, away: bool) -> Option<PresenceStatus> {
        self.update(user, |s| {
            if away {
                s.away += 1;
            } else {
                s.away = s.away.saturating_sub(1);
            }
        })
    }

    /// Everyone with at least one socket, and their status.
    pub fn snapshot(&self) -> Vec<(UserId, PresenceStatus)> {
        let users = self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        users.iter().map(|(id, s)| (*id, s.status())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_stays_online_until_the_last_socket_closes() {
        let registry = PresenceRegistry::default();
        let ann = UserId(1);

        assert_eq!(registry.connected(ann), Some(PresenceStatus::Online));
        assert_eq!(registry.connected(ann), None);
        assert_eq!(registry.disconnected(ann, false), None);
        assert_eq!(registry.disconnected(ann, false), Some(PresenceStatus::Offline));
        assert!(registry.snapshot().is_empty());
    }

    #[test]
    fn away_only_when_every_socket_is_idle() {
        let registry = PresenceRegistry::default();
        let ann = UserId(1);
        registry.connected(ann);
        registry.connected(ann);

        assert_eq!(registry.set_away(ann, true), None);
        assert_eq!(registry.set_away(ann, true), Some(PresenceStatus::Away));
        assert_eq!(registry.set_away(ann, false), Some(PresenceStatus::Online));
    }
}
