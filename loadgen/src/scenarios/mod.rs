//! The benchmark scenarios, lettered as in BENCHMARKS.md. Each starts its own server (or
//! servers) on a fresh data folder, builds its population through the API, and returns a
//! [`Report`].

pub mod bundle;
pub mod chat;
pub mod history;
pub mod idle;
pub mod page;
pub mod scaleout;

use anyhow::Result;
use clap::ValueEnum;

use crate::report::Report;
use crate::target::Launch;

/// The full run, or a few seconds of the same code paths for the test suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Full,
    Smoke,
}

impl Scale {
    /// A speed or size target applies to full runs only: a smoke run on a busy test machine
    /// checks that the figures are produced and correct (nothing lost), not how fast.
    pub fn target(self, full: f64) -> f64 {
        match self {
            Self::Full => full,
            Self::Smoke => f64::INFINITY,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// (a) 1,000 users, rooms of 10 and one of 500, 1,000 messages/s for 60 s.
    #[value(alias = "a")]
    Fanout,
    /// (b) The highest persisted rate that keeps p99 delivery at or under 100 ms.
    #[value(alias = "b")]
    MaxRate,
    /// (c) One room of 1,000 members receiving 100 messages/s.
    #[value(alias = "c")]
    BigRoom,
    /// (d) 10,000 idle authenticated sockets: server RSS per connection.
    #[value(alias = "d")]
    Idle,
    /// (e) and (h): newest page of a 1,000,000-message room, and cold start on it.
    #[value(alias = "e", alias = "h")]
    History,
    /// (f) Server-rendered room page, time to first byte.
    #[value(alias = "f")]
    Page,
    /// (g) WASM plus JS bundle, gzip size.
    #[value(alias = "g")]
    Bundle,
    /// (i) (a) on two instances sharing PostgreSQL (from `PARLEY_TEST_POSTGRES`) and Redis.
    #[value(alias = "i")]
    ScaleOut,
}

impl Scenario {
    pub async fn run(self, launch: &Launch, scale: Scale) -> Result<Report> {
        match self {
            Self::Fanout => chat::fanout(launch, scale).await,
            Self::MaxRate => chat::max_rate(launch, scale).await,
            Self::BigRoom => chat::big_room(launch, scale).await,
            Self::Idle => idle::idle_connections(launch, scale).await,
            Self::History => history::long_room(launch, scale).await,
            Self::Page => page::room_page(launch, scale).await,
            Self::Bundle => bundle::bundle_size(launch, scale),
            Self::ScaleOut => scaleout::two_instances(launch, scale).await,
        }
    }
}
