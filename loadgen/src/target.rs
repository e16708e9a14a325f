//! The server under test: a real `parley` binary started on a free loopback port with its own
//! data folder, and its resident memory ([`crate::cpu`] reads its CPU time).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// Generous limits so the population can sign up and log in as fast as it likes; the
/// benchmark measures chat traffic, not the abuse defences.
const LIMIT_OVERRIDES: [(&str, &str); 3] = [
    ("PARLEY_SIGNUP_PER_HOUR", "10000000"),
    ("PARLEY_LOGIN_PER_MINUTE", "10000000"),
    ("PARLEY_SENDS_PER_MINUTE", "10000000"),
];
/// Longest wait for a started server to answer `/healthz`.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// How to start the server.
#[derive(Clone, Debug)]
pub struct Launch {
    pub binary: PathBuf,
    /// The data folder; kept after the run, so a seeded database can be reused.
    pub data_dir: PathBuf,
    /// The built site (`target/site`), for page and bundle scenarios.
    pub site_root: PathBuf,
    /// Overrides the size of the history scenario's long room.
    pub history_messages: Option<usize>,
}

/// A running server. Dropping it kills the process.
pub struct Target {
    child: Child,
    pid: u32,
    pub base: String,
    /// From spawn to the first 200 from `/healthz`.
    pub start_time: Duration,
}

impl Target {
    /// The server alone on its data folder: SQLite, live events in process.
    pub async fn start(launch: &Launch) -> Result<Self> {
        Self::start_with(launch, &[]).await
    }

    /// The server with `env` set on top, e.g. another database and a Redis bus.
    pub async fn start_with(launch: &Launch, env: &[(&str, &str)]) -> Result<Self> {
        if !launch.binary.exists() {
            bail!(
                "no server binary at {} (build it with `cargo xtask build`)",
                launch.binary.display()
            );
        }
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");

        let started = Instant::now();
        let child = Command::new(&launch.binary)
            .env("PARLEY_ADDR", format!("127.0.0.1:{port}"))
            .env("PARLEY_DATA_DIR", &launch.data_dir)
            .env("PARLEY_SITE_ROOT", &launch.site_root)
            .env("PARLEY_LOG", "warn")
            .envs(LIMIT_OVERRIDES)
            // Whatever the shell running us holds, a scenario names its own storage and bus.
            .env_remove("PARLEY_DATABASE")
            .env_remove("PARLEY_REDIS_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {}", launch.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;

        let mut target = Self { child, pid, base, start_time: Duration::ZERO };
        target.wait_until_healthy().await?;
        target.start_time = started.elapsed();
        Ok(target)
    }

    async fn wait_until_healthy(&mut self) -> Result<()> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + START_PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start-up ({status})");
            }
            let health = http.get(format!("{}/healthz", self.base)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        bail!("the server did not become healthy within {START_PATIENCE:?}")
    }

    /// An HTTP client for this server.
    pub fn api(&self) -> Result<crate::account::Api> {
        crate::account::Api::new(&self.base)
    }

    /// Resident memory now.
    pub fn rss_bytes(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .context("no VmRSS in /proc status")?;
        Ok(kib * 1024)
    }

    /// The process id, for metering its CPU time (see [`crate::cpu`]).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGTERM, then wait for a graceful exit.
    pub async fn stop(mut self) -> Result<()> {
        let status =
            std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status()?;
        if !status.success() {
            bail!("could not signal the server");
        }
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .context("the server did not exit within 15 s of SIGTERM")??;
        Ok(())
    }
}

pub(crate) fn free_port() -> Result<u16> {
    // The port is free when this returns; the server binds it a moment later. Another
    // process taking it in between makes the start fail loudly, not measure the wrong thing.
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// The repo root, from this crate's manifest dir.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}
