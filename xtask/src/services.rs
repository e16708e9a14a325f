//! The servers the Rust tests need besides our own: PostgreSQL, Redis and nginx, from Debian's
//! packages, on loopback only.
//!
//! Only PostgreSQL is started here, once per run, and shared: every test creates its own
//! database on it. Redis and nginx reach the tests as program paths instead, because the tests
//! start, stop and restart their own instances (a broker outage, a proxy in front of two
//! servers), which a shared instance would not allow.

mod postgres;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::apt;
use crate::process::step;
use crate::workspace::Workspace;

pub use postgres::Postgres;

/// The admin URL of the shared cluster; `app/src/db/scratch.rs` reads it.
pub const POSTGRES_VAR: &str = "PARLEY_TEST_POSTGRES";
/// Absolute path of the `redis-server` program the tests start their brokers with.
pub const REDIS_SERVER_VAR: &str = "PARLEY_TEST_REDIS_SERVER";
/// Absolute path of the `nginx` program the tests start their load balancers with.
pub const NGINX_VAR: &str = "PARLEY_TEST_NGINX";

/// Debian keeps each PostgreSQL major version's server tools in `<this>/<version>/bin`, off
/// PATH, so that several versions can be installed side by side.
const POSTGRES_VERSIONS_DIR: &str = "/usr/lib/postgresql";

/// What a version's `bin` must hold for us to use it: a half-removed version may not.
const POSTGRES_TOOLS: [&str; 4] = ["initdb", "pg_ctl", "postgres", "pg_isready"];

/// Where nginx lives on Debian; `/usr/sbin` is not on PATH for users other than root.
const DEBIAN_NGINX: &str = "/usr/sbin/nginx";

/// The installed programs, as absolute paths.
pub struct Programs {
    /// The newest installed PostgreSQL's `bin` dir (initdb, pg_ctl, postgres, pg_isready).
    pub postgres_bin: PathBuf,
    pub redis_server: PathBuf,
    pub nginx: PathBuf,
}

/// Finds PostgreSQL, Redis and nginx, first installing Debian's packages for those missing
/// (a fresh machine has none of them) in one `apt-get` call.
pub fn ensure_installed() -> Result<Programs> {
    let missing: Vec<&str> = [
        ("postgresql", find_postgres_bin().is_none()),
        ("redis-server", find_redis_server().is_none()),
        ("nginx", find_nginx().is_none()),
    ]
    .into_iter()
    .filter_map(|(package, absent)| absent.then_some(package))
    .collect();
    if !missing.is_empty() {
        step(&format!("not installed: {}; installing Debian's packages", missing.join(", ")));
        apt::install(&missing)?;
    }

    Ok(Programs {
        postgres_bin: find_postgres_bin().with_context(|| {
            format!("no PostgreSQL under {POSTGRES_VERSIONS_DIR} after installing it")
        })?,
        redis_server: find_redis_server()
            .context("redis-server is still not on PATH after installing it")?,
        nginx: find_nginx().context("nginx is still not found after installing it")?,
    })
}

/// The variables that hand the services to `cargo test`.
pub fn test_env(programs: &Programs, postgres: &Postgres) -> [(&'static str, OsString); 3] {
    [
        (POSTGRES_VAR, postgres.url().into()),
        (REDIS_SERVER_VAR, programs.redis_server.clone().into()),
        (NGINX_VAR, programs.nginx.clone().into()),
    ]
}

/// `cargo xtask services`: starts PostgreSQL, prints the variables as `export` lines for a
/// shell, and keeps the cluster until this process is stopped (Ctrl-C, SIGTERM), so that a
/// developer can run `cargo test` by hand against the same services as `cargo xtask test`.
pub fn hold(ws: &Workspace) -> Result<()> {
    let programs = ensure_installed()?;
    let postgres = Postgres::start(ws, &programs.postgres_bin)?;

    let env = test_env(&programs, &postgres);
    let mut stdout = std::io::stdout().lock();
    for line in export_lines(&env) {
        writeln!(stdout, "{line}").context("could not print the variables")?;
    }
    stdout.flush().context("could not print the variables")?;
    drop(stdout);
    step("PostgreSQL is running; Ctrl-C stops it and deletes its directory");

    // Nothing to do but wait for a signal. Its default action ends the process without
    // running `Postgres`'s destructor, but the cleanup does not depend on that: it is a
    // separate process that notices our exit (see `postgres::Cleanup`).
    loop {
        std::thread::park();
    }
}

/// `export NAME=value` lines, quoted for a POSIX shell when a value needs it.
fn export_lines(env: &[(&str, OsString)]) -> Vec<String> {
    env.iter()
        .map(|(name, value)| format!("export {name}={}", shell_quote(&value.to_string_lossy())))
        .collect()
}

/// The newest installed version's `bin` dir, if any version has all the tools.
fn find_postgres_bin() -> Option<PathBuf> {
    let versions = Path::new(POSTGRES_VERSIONS_DIR);
    let complete = std::fs::read_dir(versions)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|version| {
            let bin = versions.join(version).join("bin");
            POSTGRES_TOOLS.iter().all(|tool| apt::is_executable(&bin.join(tool)))
        });
    let newest = highest_version(complete)?;
    Some(versions.join(newest).join("bin"))
}

fn find_redis_server() -> Option<PathBuf> {
    absolute(apt::find_on_path("redis-server")?)
}

fn find_nginx() -> Option<PathBuf> {
    let debian = Path::new(DEBIAN_NGINX);
    let found = apt::find_on_path("nginx")
        .or_else(|| apt::is_executable(debian).then(|| debian.to_path_buf()))?;
    absolute(found)
}

/// Absolute, because the tests run in their crates' dirs, not ours. Not canonicalized: Debian's
/// `redis-server` is a symlink to `redis-check-rdb`, which picks its role from its own name.
fn absolute(path: PathBuf) -> Option<PathBuf> {
    std::path::absolute(path).ok()
}

/// The highest of PostgreSQL's version dir names, compared as numbers part by part so that
/// "10" beats "9.6"; names that are not versions are ignored.
fn highest_version(names: impl IntoIterator<Item = String>) -> Option<String> {
    names
        .into_iter()
        .filter_map(|name| {
            let parts: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
            Some((parts?, name))
        })
        .max()
        .map(|(_, name)| name)
}

/// `text` as one word for a POSIX shell: unchanged when that is already safe, otherwise in
/// single quotes (a single quote inside becomes `'\''`).
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-:@=+,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn highest_version_compares_numbers_not_text() {
        let found = highest_version(names(&["9.6", "15", "10", "16", "13"]));

        assert_eq!(found.as_deref(), Some("16"));
    }

    #[test]
    fn highest_version_ignores_names_that_are_not_versions() {
        assert_eq!(highest_version(names(&["9.6", "common", "10"])).as_deref(), Some("10"));
        assert_eq!(highest_version(names(&["common", ""])), None);
        assert_eq!(highest_version(names(&[])), None);
    }

    #[test]
    fn shell_quote_leaves_plain_words_alone() {
        assert_eq!(
            shell_quote("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(shell_quote("/usr/sbin/nginx"), "/usr/sbin/nginx");
    }

    #[test]
    fn shell_quote_quotes_spaces_quotes_and_the_empty_word() {
        assert_eq!(shell_quote("/home/a b/target"), "'/home/a b/target'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn export_lines_name_each_variable() {
        let env = [
            (POSTGRES_VAR, OsString::from("postgres://postgres@127.0.0.1:41234/postgres")),
            (REDIS_SERVER_VAR, OsString::from("/usr/bin/redis-server")),
            (NGINX_VAR, OsString::from("/opt/my nginx/nginx")),
        ];

        let lines = export_lines(&env);

        assert_eq!(
            lines,
            [
                "export PARLEY_TEST_POSTGRES=postgres://postgres@127.0.0.1:41234/postgres",
                "export PARLEY_TEST_REDIS_SERVER=/usr/bin/redis-server",
                "export PARLEY_TEST_NGINX='/opt/my nginx/nginx'",
            ]
        );
    }
}
