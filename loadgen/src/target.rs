//! The server under test: a real `parley` binary started on a free loopback port with its own
//! data folder, and what the kernel says about its CPU time and memory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// Generous limits so the population can sign up and log in as fast as it likes; the
/// benchmark measures chat traffic, not the abuse defences.
const LIMIT_OVERRIDES: [(&str, &str); 2] =
    [("PARLEY_SIGNUP_PER_HOUR", "10000000"), ("PARLEY_LOGIN_PER_MINUTE", "10000000")];
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
    pub async fn start(launch: &Launch) -> Result<Self> {
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

    /// User plus system CPU time used so far.
    pub fn cpu_time(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `)`.
        let ticks: u64 = fields
            .get(11..13)
            .context("short /proc stat")?
            .iter()
            .try_fold(0u64, |sum, field| field.parse::<u64>().map(|t| sum + t))?;
        Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
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

/// CPU use over a stretch of time, as a share of one core.
pub struct CpuMeter {
    cpu: Duration,
    wall: Instant,
}

impl CpuMeter {
    pub fn start(target: &Target) -> Result<Self> {
        Ok(Self { cpu: target.cpu_time()?, wall: Instant::now() })
    }

    /// Percent of one core since `start` (200 means both cores of a 2-core machine).
    pub fn percent(&self, target: &Target) -> Result<f64> {
        let used = target.cpu_time()?.saturating_sub(self.cpu);
        Ok(100.0 * used.as_secs_f64() / self.wall.elapsed().as_secs_f64())
    }
}

fn free_port() -> Result<u16> {
    // The port is free when this returns; the server binds it a moment later. Another
    // process taking it in between makes the start fail loudly, not measure the wrong thing.
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// `getconf CLK_TCK`, asked once; 100 on every Linux we run on, asked rather than assumed.
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The repo root, from this crate's manifest dir.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}
