//! Who is online: open sockets per user on this instance, merged with what the other
//! instances report about theirs.
//!
//! A user's status is the best of every instance's: online anywhere beats away, away beats
//! offline. Each instance announces its own users' status when it changes, and the whole list
//! with every heartbeat (`live::bus`); an instance not heard from for [`PEER_TIMEOUT`] is
//! presumed crashed and its users count as offline, so a dead instance cannot keep anyone
//! online for longer than that.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::UserId;
use crate::live::protocol::PresenceStatus;

/// How long another instance's reports stay valid without a heartbeat.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// Names one server process among several; chosen at random when it starts.
pub type InstanceId = u64;

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

/// Another instance's users, as it last reported them.
struct Peer {
    users: HashMap<UserId, PresenceStatus>,
    heard: Instant,
}

/// A user whose merged status changed, and to what.
pub type Change = (UserId, PresenceStatus);

#[derive(Default)]
struct Registry {
    local: HashMap<UserId, Sockets>,
    peers: HashMap<InstanceId, Peer>,
}

impl Registry {
    fn status(&self, user: UserId) -> PresenceStatus {
        let local = self.local.get(&user).map_or(PresenceStatus::Offline, |s| s.status());
        self.peers.values().filter_map(|peer| peer.users.get(&user).copied()).fold(local, best)
    }
}

/// Online beats away beats offline.
fn best(a: PresenceStatus, b: PresenceStatus) -> PresenceStatus {
    let rank = |s| match s {
        PresenceStatus::Online => 2,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 0,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// Socket counts here and reports from elsewhere. A std `Mutex`: every critical section is
/// map work with no `.await` inside, so it is never held across a suspension point.
#[derive(Default)]
pub struct PresenceRegistry {
    inner: Mutex<Registry>,
}

/// What a local socket change means: the user's status on this instance (for the other
/// instances) and, if it moved, the merged status (for this instance's sockets).
#[derive(Debug, PartialEq, Eq)]
pub struct LocalChange {
    pub here: PresenceStatus,
    pub merged: Option<PresenceStatus>,
}

impl PresenceRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to the user's local counts.
    fn update(&self, user: UserId, change: impl FnOnce(&mut Sockets)) -> LocalChange {
        let mut registry = self.lock();
        let before = registry.status(user);
        let entry = registry.local.entry(user).or_default();
        change(entry);
        let here = entry.status();
        if entry.open == 0 {
            registry.local.remove(&user);
        }
        let after = registry.status(user);
        LocalChange { here, merged: (before != after).then_some(after) }
    }

    pub fn connected(&self, user: UserId) -> LocalChange {
        self.update(user, |s| s.open += 1)
    }

    /// `was_away`: whether the closing socket had reported itself idle.
    pub fn disconnected(&self, user: UserId, was_away: bool) -> LocalChange {
        self.update(user, |s| {
            s.open = s.open.saturating_sub(1);
            if was_away {
                s.away = s.away.saturating_sub(1);
            }
        })
    }

    pub fn set_away(&self, user: UserId, away: bool) -> LocalChange {
        self.update(user, |s| {
            if away {
                s.away += 1;
            } else {
                s.away = s.away.saturating_sub(1);
            }
        })
    }

    /// Everyone online or away by any instance's account, with the merged status.
    pub fn snapshot(&self) -> Vec<Change> {
        let registry = self.lock();
        let mut users: Vec<UserId> = registry.local.keys().copied().collect();
        users.extend(registry.peers.values().flat_map(|peer| peer.users.keys().copied()));
        users.sort();
        users.dedup();
        users.into_iter().map(|user| (user, registry.status(user))).collect()
    }

    /// This instance's own users and their status here: what a heartbeat carries.
    pub fn local(&self) -> Vec<Change> {
        let registry = self.lock();
        registry.local.iter().map(|(user, sockets)| (*user, sockets.status())).collect()
    }

    /// Whether any socket is open on this instance.
    pub fn has_local_sockets(&self) -> bool {
        !self.lock().local.is_empty()
    }

    /// Applies another instance's report. `complete`: the report lists every user of that
    /// instance (a heartbeat), so users missing from it are offline there. Returns the users
    /// whose merged status changed.
    pub fn peer_reported(
        &self,
        peer: InstanceId,
        users: &[Change],
        complete: bool,
        now: Instant,
    ) -> Vec<Change> {
        let mut registry = self.lock();
        let mut touched: Vec<UserId> = users.iter().map(|(user, _)| *user).collect();
        if complete && let Some(known) = registry.peers.get(&peer) {
            touched.extend(known.users.keys().copied());
        }
        touched.sort();
        touched.dedup();
        let before: Vec<PresenceStatus> = touched.iter().map(|u| registry.status(*u)).collect();

        let entry = registry
            .peers
            .entry(peer)
            .or_insert_with(|| Peer { users: HashMap::new(), heard: now });
        entry.heard = now;
        if complete {
            entry.users.clear();
        }
        for (user, status) in users {
            if *status == PresenceStatus::Offline {
                entry.users.remove(user);
            } else {
                entry.users.insert(*user, *status);
            }
        }

        changes(&registry, touched, before)
    }

    /// Forgets instances not heard from within [`PEER_TIMEOUT`]; returns the users whose
    /// merged status changed as a result.
    pub fn expire_peers(&self, now: Instant) -> Vec<Change> {
        let mut registry = self.lock();
        let dead: Vec<InstanceId> = registry
            .peers
            .iter()
            .filter(|(_, peer)| now.duration_since(peer.heard) > PEER_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        let mut touched: Vec<UserId> =
            dead.iter().flat_map(|id| registry.peers[id].users.keys().copied()).collect();
        touched.sort();
        touched.dedup();
        let before: Vec<PresenceStatus> = touched.iter().map(|u| registry.status(*u)).collect();

        for id in &dead {
            tracing::warn!(instance = id, "instance silent; its users count as offline");
            registry.peers.remove(id);
        }
        changes(&registry, touched, before)
    }
}

fn changes(registry: &Registry, users: Vec<UserId>, before: Vec<PresenceStatus>) -> Vec<Change> {
    users
        .into_iter()
        .zip(before)
        .filter_map(|(user, was)| {
            let now = registry.status(user);
            (now != was).then_some((user, now))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: UserId = UserId(1);
    const OTHER: InstanceId = 42;

    #[test]
    fn a_user_stays_online_until_the_last_socket_closes() {
        let registry = PresenceRegistry::default();

        assert_eq!(registry.connected(ANN).merged, Some(PresenceStatus::Online));
        assert_eq!(registry.connected(ANN).merged, None);
        assert_eq!(registry.disconnected(ANN, false).merged, None);
        assert_eq!(registry.disconnected(ANN, false).merged, Some(PresenceStatus::Offline));
        assert!(registry.snapshot().is_empty());
    }

    #[test]
    fn away_only_when_every_socket_is_idle() {
        let registry = PresenceRegistry::default();
        registry.connected(ANN);
        registry.connected(ANN);

        assert_eq!(registry.set_away(ANN, true).merged, None);
        assert_eq!(registry.set_away(ANN, true).merged, Some(PresenceStatus::Away));
        assert_eq!(registry.set_away(ANN, false).merged, Some(PresenceStatus::Online));
    }

    #[test]
    fn online_on_another_instance_keeps_a_user_online_after_the_local_socket_closes() {
        let registry = PresenceRegistry::default();
        let now = Instant::now();
        registry.connected(ANN);
        registry.peer_reported(OTHER, &[(ANN, PresenceStatus::Online)], false, now);

        let closed = registry.disconnected(ANN, false);
        let gone_there = registry.peer_reported(OTHER, &[], true, now);

        assert_eq!(closed, LocalChange { here: PresenceStatus::Offline, merged: None });
        assert_eq!(gone_there, vec![(ANN, PresenceStatus::Offline)]);
    }

    #[test]
    fn a_silent_instance_takes_its_users_offline_after_the_timeout() {
        let registry = PresenceRegistry::default();
        let start = Instant::now();
        let joined = registry.peer_reported(OTHER, &[(ANN, PresenceStatus::Away)], true, start);

        let early = registry.expire_peers(start + PEER_TIMEOUT / 2);
        let late = registry.expire_peers(start + PEER_TIMEOUT + Duration::from_millis(1));

        assert_eq!(joined, vec![(ANN, PresenceStatus::Away)]);
        assert!(early.is_empty());
        assert_eq!(late, vec![(ANN, PresenceStatus::Offline)]);
        assert!(registry.snapshot().is_empty());
    }

    #[test]
    fn online_anywhere_beats_away_elsewhere() {
        let registry = PresenceRegistry::default();
        registry.connected(ANN);
        registry.set_away(ANN, true);

        let changed =
            registry.peer_reported(OTHER, &[(ANN, PresenceStatus::Online)], false, Instant::now());

        assert_eq!(changed, vec![(ANN, PresenceStatus::Online)]);
        assert_eq!(registry.local(), vec![(ANN, PresenceStatus::Away)]);
    }
}
