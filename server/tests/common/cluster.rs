//! Two instances of the real binary sharing one PostgreSQL database and one Redis, as they
//! run behind a load balancer. PostgreSQL comes from `PARLEY_TEST_POSTGRES` (a fresh database
//! per cluster); Redis is a process of the test's own, so a test can restart it.
//!
//! Without PostgreSQL or Redis the cluster is `None` and the test returns early, saying so,
//! except under `CI=true`, where that is a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::time::Instant;

use app::db::{Db, scratch};

use super::binary::{ServerProcess, free_port};

/// The `redis-server` to run: `PARLEY_TEST_REDIS_SERVER`, else the one on PATH.
const REDIS_VAR: &str = "PARLEY_TEST_REDIS_SERVER";

pub struct Cluster {
    pub a: ServerProcess,
    pub b: ServerProcess,
    pub redis: RedisProcess,
    /// The shared database, for checking what was stored.
    pub db: Db,
    database_url: String,
    /// Settings every instance gets besides the database and Redis.
    extra_env: Vec<(&'static str, String)>,
    a_data: TempDir,
    b_data: TempDir,
}

impl Cluster {
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// Two instances that also get `extra_env`.
    pub async fn start_with(extra_env: &[(&'static str, &str)]) -> Option<Self> {
        let extra_env: Vec<(&'static str, String)> =
            extra_env.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let redis = RedisProcess::start(redis_binary()?, free_port()).await;
        let database_url = scratch::postgres_database().await?;
        let db = Db::open(&database_url).await.expect("the shared database opens");
        let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut env = instance_env(&database_url, &redis).to_vec();
        env.extend(extra_env.iter().cloned());

        Some(Self {
            a: instance(&a_data, None, &env).await,
            b: instance(&b_data, None, &env).await,
            redis,
            db,
            database_url,
            extra_env,
            a_data,
            b_data,
        })
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = instance_env(&self.database_url, &self.redis).to_vec();
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// The URL of the shared database.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Starts instance A again on its port (killing it first with SIGKILL if `kill`).
    pub async fn restart_a(&mut self, kill: bool) {
        if kill {
            self.a.kill_9();
        }
        let env = self.env();
        self.a = instance(&self.a_data, Some(self.a.port), &env).await;
    }

    pub async fn restart_b(&mut self, kill: bool) {
        if kill {
            self.b.kill_9();
        }
        let env = self.env();
        self.b = instance(&self.b_data, Some(self.b.port), &env).await;
    }
}

fn instance_env(database_url: &str, redis: &RedisProcess) -> [(&'static str, String); 2] {
    [("PARLEY_DATABASE", database_url.to_owned()), ("PARLEY_REDIS_URL", redis.url())]
}

async fn instance(data: &TempDir, port: Option<u16>, env: &[(&str, String)]) -> ServerProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start_with(data.path(), port, &env).await
}

fn redis_binary() -> Option<PathBuf> {
    let found = std::env::var_os(REDIS_VAR).map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths).map(|dir| dir.join("redis-server")).find(|p| p.exists())
        })
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no redis-server ({REDIS_VAR} unset, none on PATH), and CI=true forbids skipping"
        );
        eprintln!("no redis-server: skipping a test of several instances");
    }
    found
}

/// A Redis server on loopback, without persistence: a restart empties it, as a crash of a
/// cache-only Redis would.
pub struct RedisProcess {
    child: Option<Child>,
    binary: PathBuf,
    pub port: u16,
}

impl RedisProcess {
    /// A Redis of its own, for tests of the bus without servers; `None` as for [`Cluster`].
    pub async fn start_alone() -> Option<Self> {
        Some(Self::start(redis_binary()?, free_port()).await)
    }

    async fn start(binary: PathBuf, port: u16) -> Self {
        let mut redis = Self { child: None, binary, port };
        redis.spawn().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);

        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "redis-server never listened on {}", self.port);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: connections drop at once and everything in flight is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL delivered");
            child.wait().expect("redis-server reaped");
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
