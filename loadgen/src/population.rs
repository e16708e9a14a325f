//! Building a population through the public API: sign up the users, have the first member of
//! each room create it as a public channel, and the others join.
//!
//! With several instances of the server, users are dealt out over them in turn: each user
//! signs up, joins and later holds its socket on its home instance, so half the rooms'
//! members sit on each of two instances and every room spans both.

use anyhow::Result;
use futures::{StreamExt, TryStreamExt, stream};

use app::ids::RoomId;

use crate::account::{Account, Api};

/// Requests in flight while building. Sign-up hashes a password (argon2id), so more than a
/// few per core only queues up inside the server.
const SETUP_CONCURRENCY: usize = 16;

/// Who is in which room, by user index.
#[derive(Clone, Debug)]
pub struct Shape {
    pub users: usize,
    pub rooms: Vec<Vec<usize>>,
}

impl Shape {
    /// `count` rooms of `size` consecutive users each, starting at user 0.
    pub fn small_rooms(count: usize, size: usize) -> Vec<Vec<usize>> {
        (0..count).map(|room| (room * size..(room + 1) * size).collect()).collect()
    }
}

/// The built population: accounts by index, rooms with their member indices.
pub struct Population {
    /// Each bound to its user's home instance.
    pub accounts: Vec<Account>,
    pub rooms: Vec<(RoomId, Vec<usize>)>,
    /// One per instance of the server, in the order given to [`Population::build`].
    pub apis: Vec<Api>,
}

impl Population {
    /// Signs up `shape`'s users, user `i` on instance `i % apis.len()`, and builds its rooms.
    pub async fn build(apis: &[Api], shape: &Shape, tag: &str) -> Result<Self> {
        anyhow::ensure!(!apis.is_empty(), "a population needs a server to live on");
        let accounts: Vec<Account> = stream::iter(0..shape.users)
            .map(|index| {
                let api = &apis[index % apis.len()];
                async move { api.sign_up(&format!("{tag}{index}")).await }
            })
            .buffered(SETUP_CONCURRENCY)
            .try_collect()
            .await?;

        let mut rooms = Vec::with_capacity(shape.rooms.len());
        for (number, members) in shape.rooms.iter().enumerate() {
            let Some(&owner) = members.first() else { continue };
            let room = accounts[owner].create_channel(&format!("{tag}-room-{number}")).await?;
            stream::iter(&members[1..])
                .map(|&member| accounts[member].join(room))
                .buffer_unordered(SETUP_CONCURRENCY)
                .try_collect::<()>()
                .await?;
            rooms.push((room, members.clone()));
        }
        Ok(Self { accounts, rooms, apis: apis.to_vec() })
    }

    /// The same accounts and rooms on a restarted server at `base` (a new port).
    pub fn moved_to(self, base: &str) -> Result<Self> {
        let api = Api::new(base)?;
        let accounts = self.accounts.into_iter().map(|a| a.with_api(api.clone())).collect();
        Ok(Self { accounts, rooms: self.rooms, apis: vec![api] })
    }

    /// The rooms each user is in, by user index.
    pub fn rooms_of_each(&self) -> Vec<Vec<RoomId>> {
        let mut rooms_of = vec![Vec::new(); self.accounts.len()];
        for (room, members) in &self.rooms {
            for &member in members {
                rooms_of[member].push(*room);
            }
        }
        rooms_of
    }
}
