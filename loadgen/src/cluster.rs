//! Several instances of the server as they run behind a load balancer: `parley` processes
//! sharing one PostgreSQL database and one Redis.
//!
//! PostgreSQL is not ours to start: `PARLEY_TEST_POSTGRES` holds the admin URL of a cluster
//! (`cargo xtask bench` and `cargo xtask test` start one on loopback and set it), and each
//! cluster of instances gets a new database there. Redis and the instances are our children.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use sqlx::{Connection, PgConnection};

use crate::cpu;
use crate::deployment::Deployment;
use crate::redis::Redis;
use crate::target::{Launch, Target};

/// The admin URL of the PostgreSQL cluster, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub const POSTGRES_VAR: &str = "PARLEY_TEST_POSTGRES";
/// The `redis-server` to run; without it, the one on PATH.
pub const REDIS_SERVER_VAR: &str = "PARLEY_TEST_REDIS_SERVER";

/// Where the shared services come from. The same variables as the server's own tests, so
/// that `cargo xtask test` hands them to the smoke run too.
#[derive(Clone, Debug)]
pub struct Services {
    pub postgres_admin: String,
    pub redis_server: PathBuf,
}

impl Services {
    /// Both services from the environment; the error names what is missing.
    pub fn from_env() -> Result<Self> {
        let postgres_admin = std::env::var(POSTGRES_VAR).map_err(|_| {
            anyhow!(
                "{POSTGRES_VAR} is not set; it names a PostgreSQL cluster to create databases \
                 on (`cargo xtask bench` starts one)"
            )
        })?;
        let redis_server = std::env::var_os(REDIS_SERVER_VAR)
            .map(PathBuf::from)
            .or_else(redis_on_path)
            .with_context(|| format!("no redis-server: {REDIS_SERVER_VAR} unset, none on PATH"))?;
        Ok(Self { postgres_admin, redis_server })
    }
}

fn redis_on_path() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join("redis-server")).find(|p| p.is_file())
}

/// Running instances and what they share. Dropping it kills the processes and leaves the
/// database behind; [`Cluster::stop`] stops them in order and drops the database.
pub struct Cluster {
    /// In start order; every one serves every user.
    pub instances: Vec<Target>,
    pub redis: Redis,
    database: Database,
    /// PostgreSQL's parent process, whose children are its backends and workers; `None`
    /// when the cluster runs elsewhere (or out of our sight).
    postmaster: Option<u32>,
}

impl Cluster {
    /// Starts Redis, creates a database, and starts `count` instances on them.
    pub async fn start(launch: &Launch, services: &Services, count: usize) -> Result<Self> {
        let redis = Redis::start(&services.redis_server).await?;
        let database = Database::create(&services.postgres_admin).await?;
        let redis_url = redis.url();
        let env = [("PARLEY_DATABASE", database.url.as_str()), ("PARLEY_REDIS_URL", &redis_url)];

        // One after another: the first applies the migrations, so the others do not race it.
        // Each keeps its own data folder, where media would go; the database is shared.
        let mut instances = Vec::with_capacity(count);
        for n in 0..count {
            let own = Launch {
                data_dir: launch.data_dir.join(format!("instance-{n}")),
                ..launch.clone()
            };
            instances.push(Target::start_with(&own, &env).await?);
        }
        let postmaster = database.postmaster().await?;
        Ok(Self { instances, redis, database, postmaster })
    }

    /// The instances, with Redis and (when it runs on this machine) PostgreSQL metered
    /// beside them.
    pub fn deployment(&self) -> Deployment<'_> {
        let mut helpers = vec![("Redis", self.redis.pid())];
        helpers.extend(self.postmaster.map(|pid| ("PostgreSQL (all its processes)", pid)));
        Deployment { instances: &self.instances, helpers }
    }

    /// The PostgreSQL server and how it commits, which decides what a send costs.
    pub async fn postgres_settings(&self) -> Result<String> {
        let mut conn = PgConnection::connect(&self.database.url).await?;
        let (version, fsync, synchronous_commit): (String, String, String) = sqlx::query_as(
            "SELECT current_setting('server_version'), current_setting('fsync'), \
             current_setting('synchronous_commit')",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        // "15.18 (Debian 15.18-0+deb12u1)": the number is enough.
        let version = version.split_whitespace().next().unwrap_or_default();
        Ok(format!("{version}, fsync {fsync}, synchronous_commit {synchronous_commit}"))
    }

    /// Stops the instances gracefully, then Redis, then drops the database.
    pub async fn stop(self) -> Result<()> {
        for instance in self.instances {
            instance.stop().await?;
        }
        self.redis.stop().await?;
        self.database.drop().await
    }
}

/// A database of our own on the cluster named by [`POSTGRES_VAR`].
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(admin: &str) -> Result<Self> {
        // Unique across load generators sharing the cluster, and across reruns.
        let since = std::time::UNIX_EPOCH.elapsed().unwrap_or_default();
        let name = format!("parley_bench_{}_{}", std::process::id(), since.as_micros());

        let mut conn = PgConnection::connect(admin)
            .await
            .with_context(|| format!("{POSTGRES_VAR} does not answer"))?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
        conn.close().await?;

        let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
        let url = format!("{base}/{name}");
        Ok(Self { admin: admin.to_owned(), name, url })
    }

    /// The postmaster, found as the parent of the backend serving a connection of ours.
    async fn postmaster(&self) -> Result<Option<u32>> {
        let mut conn = PgConnection::connect(&self.url).await?;
        let (backend,): (i32,) =
            sqlx::query_as("SELECT pg_backend_pid()").fetch_one(&mut conn).await?;
        // A pid from another pid namespace (PostgreSQL in a container) would name some
        // unrelated process here, so the backend must be a `postgres` process.
        let postmaster = u32::try_from(backend)
            .ok()
            .filter(|&pid| cpu::command_name(pid).as_deref() == Some("postgres"))
            .and_then(|pid| cpu::parent_of(pid).ok());
        conn.close().await?;
        Ok(postmaster)
    }

    /// Deletes it, so that a long-lived development cluster does not fill up with runs.
    async fn drop(self) -> Result<()> {
        let mut conn = PgConnection::connect(&self.admin).await?;
        let sql = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        sqlx::query(&sql).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }
}
