//! Live updates: the socket protocol shared by every client, the server's fan-out hub, the bus
//! that carries events between instances (in-process or Redis), presence, and the browser's
//! socket client.

pub mod protocol;
pub mod state;

#[cfg(feature = "ssr")]
pub mod bus;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod presence;
#[cfg(feature = "ssr")]
mod queue;
#[cfg(feature = "ssr")]
pub mod redis;

#[cfg(feature = "hydrate")]
pub mod client;
