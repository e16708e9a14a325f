//! Building a population through the public API: sign up the users, have the first member of
//! each room create it as a public channel, and the others join.

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
    pub accounts: Vec<Account>,
    pub rooms: Vec<(RoomId, Vec<usize>)>,
}

impl Population {
    pub async fn build(api: &Api, shape: &Shape, tag: &str) -> Result<Self> {
        let accounts: Vec<Account> = stream::iter(0..shape.users)
            .map(|index| async move { api.sign_up(&format!("{tag}{index}")).await })
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
        Ok(Self { accounts, rooms })
    }

    /// The same accounts and rooms on a restarted server at `base` (a new port).
    pub fn moved_to(self, base: &str) -> Result<Self> {
        let api = Api::new(base)?;
        let accounts = self.accounts.into_iter().map(|a| a.with_api(api.clone())).collect();
        Ok(Self { accounts, rooms: self.rooms })
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
