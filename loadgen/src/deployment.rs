//! What a scenario runs against: one instance of the server, or several sharing a database
//! and a broker, each serving any user.

use anyhow::Result;

use crate::account::Api;
use crate::target::Target;

/// What chat traffic runs against: one or more instances of the server, each serving any
/// user, and the processes beside them whose CPU the report shows.
pub struct Deployment<'a> {
    pub instances: &'a [Target],
    /// By name, each metered with its child processes: Redis and PostgreSQL's postmaster
    /// for instances that share them.
    pub helpers: Vec<(&'static str, u32)>,
}

impl<'a> Deployment<'a> {
    /// One server on its own (SQLite, live events in process).
    pub fn single(target: &'a Target) -> Self {
        Self { instances: std::slice::from_ref(target), helpers: Vec::new() }
    }

    /// An HTTP client per instance, in order.
    pub fn apis(&self) -> Result<Vec<Api>> {
        self.instances.iter().map(Target::api).collect()
    }

    /// The metered processes: instances, then helpers.
    pub fn pids(&self) -> Vec<u32> {
        let instances = self.instances.iter().map(Target::pid);
        instances.chain(self.helpers.iter().map(|(_, pid)| *pid)).collect()
    }
}
