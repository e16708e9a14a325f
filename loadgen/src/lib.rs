//! Parley's load generator: a client of the public API only (the HTTP server functions and
//! the socket protocol from `app`), driving a real `parley` binary it starts itself.
//!
//! # Layout
//!
//! - [`target`]: the server under test, its port, data folder and memory.
//! - [`cluster`]: several instances sharing PostgreSQL and a [`redis`] of our own.
//! - [`deployment`]: what chat traffic runs against, one instance or a cluster's.
//! - [`cpu`]: CPU time of the servers, their helpers, ourselves and the whole machine.
//! - [`account`]: one signed-up user calling the HTTP API.
//! - [`population`]: users and rooms built through that API.
//! - [`socket`]: a receiving socket that resumes and tallies every message it gets.
//! - [`tally`]: latency histograms, exact lost counts, redeliveries after resync.
//! - [`traffic`]: the open-loop sender (fixed schedule, latency from the scheduled time).
//! - [`scenarios`]: the lettered benchmarks, each a [`report::Report`].
//! - [`report`]: the printed table with machine, commit and date.

pub mod account;
pub mod cluster;
pub mod cpu;
pub mod deployment;
pub mod population;
pub mod redis;
pub mod report;
pub mod scenarios;
pub mod socket;
pub mod tally;
pub mod target;
pub mod traffic;
