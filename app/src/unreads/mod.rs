//! Unread counts and read markers. The counters travel over the socket
//! ([`crate::live::protocol::ServerEvent::Unreads`]); the browser keeps them current from
//! live messages, and read markers sync across a user's tabs and devices.

#[cfg(feature = "ssr")]
pub mod store;
