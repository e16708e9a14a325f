//! Parley's product: shared types, rules, server functions, and the Leptos UI.
//!
//! # Layout
//!
//! Every chat concept is a module laid out the same way: types in `mod.rs`, pure `rules`
//! shared by browser and server, `store` (SQL, server only), `actions` (server-side operations
//! that check access, store and publish), `api` (server functions, thin), then its screens.
//!
//! - [`users`]: accounts, sessions, profiles, the user directory.
//! - [`rooms`]: channels, direct and group messages, membership.
//! - [`messages`]: sending, history, edits, deletes; the room screen.
//! - [`live`]: the socket protocol, the server's fan-out hub and presence, the browser's
//!   socket and live state.
//! - [`unreads`]: read markers and unread counts.
//! - [`ui`]: the app shell, router and signed-in layout.
//! - [`error`]: the one error type of the API and its HTTP statuses.
//! - [`text`], [`time`]: rules for user text and dates used by several concepts.
//!
//! Anything touching the database, the filesystem or tokio is behind the `ssr` feature; the
//! `hydrate` feature adds what only the browser has.

#![recursion_limit = "256"]

pub mod error;
pub mod ids;
pub mod live;
pub mod messages;
pub mod rooms;
pub mod text;
pub mod time;
pub mod ui;
pub mod unreads;
pub mod users;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod limits;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;

pub use ui::{App, shell};
