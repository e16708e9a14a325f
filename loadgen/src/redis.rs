//! A Redis server of our own on loopback, for the instances of a [`crate::cluster`] to carry
//! live events through. Nothing is saved to disk: it lives for one scenario.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

use crate::target::free_port;

/// Longest wait for a started Redis to accept connections.
const START_PATIENCE: Duration = Duration::from_secs(10);

/// A running `redis-server`. Dropping it kills the process.
pub struct Redis {
    child: Child,
    pid: u32,
    port: u16,
}

impl Redis {
    /// Starts `program` (a `redis-server`) on a free loopback port; returns once it listens.
    pub async fn start(program: &Path) -> Result<Self> {
        let port = free_port()?;
        let mut child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {}", program.display()))?;
        let pid = child.id().context("redis-server exited at once")?;

        let deadline = Instant::now() + START_PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = child.try_wait()? {
                bail!("redis-server exited during start-up ({status})");
            }
            if Instant::now() > deadline {
                bail!("redis-server did not listen on port {port} within {START_PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Self { child, pid, port })
    }

    /// What the servers' `PARLEY_REDIS_URL` is set to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The process id, for metering its CPU time.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills it (it holds nothing worth a graceful shutdown) and waits for it to exit.
    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await.context("could not stop redis-server")
    }
}
