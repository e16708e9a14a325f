//! The real `parley` binary as a child process, for what only a process can show: how it
//! survives SIGKILL and how it behaves on SIGTERM.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use tokio::time::Instant;

use super::plain_http;

/// One run of the binary. Dropping it kills the process if it is still running.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    pub base: String,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the binary on 127.0.0.1:`port` (a free one if `None`) with its data in `data`,
    /// with sign-up and log-in limits raised for tests; returns once `/healthz` answers.
    pub async fn start(data: &Path, port: Option<u16>) -> Self {
        Self::start_with(data, port, &[]).await
    }

    /// The same, with `env` set on top (another database, a Redis bus).
    pub async fn start_with(data: &Path, port: Option<u16>, env: &[(&str, &str)]) -> Self {
        let port = port.unwrap_or_else(free_port);
        let runs = std::fs::read_dir(data).map(|d| d.count()).unwrap_or(0);
        let log = data.join(format!("server-{runs}.log"));
        let output = File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .env("PARLEY_ADDR", format!("127.0.0.1:{port}"))
            .env("PARLEY_DATA_DIR", data)
            .env("PARLEY_SITE_ROOT", data.join("no-site"))
            .env("PARLEY_SIGNUP_PER_HOUR", "1000")
            .env("PARLEY_LOGIN_PER_MINUTE", "1000")
            .env("PARLEY_SENDS_PER_MINUTE", "1000000")
            .env("PARLEY_LOG", "warn")
            .env_remove("PARLEY_DATABASE")
            .env_remove("PARLEY_REDIS_URL")
            .env_remove("PARLEY_ALLOWED_ORIGINS")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(output)
            .spawn()
            .expect("the parley binary starts");

        let mut process = Self { child, port, base: format!("http://127.0.0.1:{port}"), log };
        process.wait_until_healthy().await;
        process
    }

    async fn wait_until_healthy(&mut self) {
        let http = plain_http();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("parley exited at start-up ({status}):\n{}", self.log_text());
            }
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("parley never became healthy:\n{}", self.log_text());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), and reaps the process.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("the killed process is reaped");
    }

    /// SIGTERM, as an init system stopping the service sends it.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// The exit status, if the process exits within `wait`.
    pub async fn exited_within(&mut self, wait: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.child.try_wait().expect("the process can be polled") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the server logged (warnings and errors), for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The test is over either way; an already dead process needs nothing.
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// A port nothing listens on right now. Another process could take it before the server
/// binds it; on a test machine that has not happened, and the start-up check would say so.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("bound address").port()
}

/// A read-only connection to the database in `data`.
pub async fn database(data: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(data.join("parley.db")).read_only(true);
    SqlitePool::connect_with(options).await.expect("open the database")
}
