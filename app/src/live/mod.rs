//! Live updates: the socket protocol shared by every client, the server's fan-out hub, and the
//! browser's socket client.

pub mod protocol;
pub mod state;

#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod presence;

#[cfg(feature = "hydrate")]
pub mod client;
