//! A throwaway PostgreSQL cluster: created in a new directory, listening on 127.0.0.1 only,
//! without fsync (its data dies with it anyway), and deleted once we are done with it.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use super::shell_quote;
use crate::process::{self, step};
use crate::workspace::Workspace;

/// The Debian package's system user, and the superuser role `initdb -U` creates.
const POSTGRES_USER: &str = "postgres";

/// The most the tests open at once: several test binaries run side by side, each with pools.
const MAX_CONNECTIONS: u32 = 300;

/// Longest path of a Unix socket (`sun_path` is 108 bytes on Linux, with the final NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A running cluster. Dropping it stops the cluster and deletes its directory.
pub struct Postgres {
    port: u16,
    /// Held for its destructor, which does the stopping and deleting.
    _cleanup: Cleanup,
}

impl Postgres {
    /// Creates a cluster in a new directory and starts it on a free loopback port; returns
    /// once it accepts connections. `bin` holds PostgreSQL's server tools.
    pub fn start(ws: &Workspace, bin: &Path) -> Result<Self> {
        let run_as = RunAs::detect()?;
        let dir = make_dir(ws, run_as)?;
        let data = dir.join("data");
        let log = dir.join("postgres.log");

        // Armed before anything runs in `dir`, so that a failure below deletes it too.
        let mut stop = run_as.command(&bin.join("pg_ctl"));
        stop.arg("stop").arg("-D").arg(&data).args(["-m", "immediate", "-s"]);
        let cleanup = Cleanup::arm(&dir, &data, &stop)?;

        // No authentication: the cluster listens on loopback only and lives for one run.
        // C.UTF-8 rather than the machine's locale, which may not be generated.
        let mut initdb = run_as.command(&bin.join("initdb"));
        initdb.arg("-D").arg(&data);
        initdb.args(["-A", "trust", "-U", POSTGRES_USER, "-E", "UTF8", "--locale=C.UTF-8"]);
        initdb.arg("--no-sync");
        process::run_quiet(&mut initdb)?;

        // The port comes free from the kernel, then is released for PostgreSQL to take. A
        // process that takes it in between makes the start fail with "address in use" in
        // the log below; nothing on a test machine races for ports that way.
        let port = free_port()?;
        step(&format!("starting PostgreSQL on 127.0.0.1:{port} in {}", dir.display()));
        let options = server_options(port, &dir);
        let mut pg_ctl = run_as.command(&bin.join("pg_ctl"));
        pg_ctl.arg("start").arg("-D").arg(&data).arg("-l").arg(&log);
        pg_ctl.args(["-w", "-t", "60", "-o", &options]);
        if let Err(error) = process::run_quiet(&mut pg_ctl) {
            // The log is deleted with the directory on return, so it goes in the error.
            let log = fs::read_to_string(&log).unwrap_or_default();
            bail!("{error:#}\nPostgreSQL's log:\n{}", log.trim());
        }

        // `pg_ctl -w` saw the server come up; this shows it answers on the TCP address the
        // tests will use.
        let mut ready = Command::new(bin.join("pg_isready"));
        ready.args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", POSTGRES_USER]);
        ready.args(["-t", "30"]);
        process::run_quiet(&mut ready)?;

        Ok(Self { port, _cleanup: cleanup })
    }

    /// The superuser's URL, on the `postgres` maintenance database.
    pub fn url(&self) -> String {
        format!("postgres://{POSTGRES_USER}@127.0.0.1:{}/postgres", self.port)
    }
}

/// The server settings, as `pg_ctl -o` wants them: one string that pg_ctl passes through a
/// shell, hence the quoted socket dir.
fn server_options(port: u16, socket_dir: &Path) -> String {
    let socket_dir = shell_quote(&socket_dir.to_string_lossy());
    format!(
        "-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c max_connections={MAX_CONNECTIONS}"
    )
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).context("could not find a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Who runs PostgreSQL's server tools. PostgreSQL refuses to run as root, and our machines
/// run everything as root, so then they run as the Debian package's `postgres` user.
#[derive(Clone, Copy, Debug, PartialEq)]
enum RunAs {
    Myself,
    PostgresUser,
}

impl RunAs {
    /// Asks `id -u`, because `geteuid` would need `unsafe`, which the workspace forbids.
    fn detect() -> Result<Self> {
        let output = Command::new("id").arg("-u").output().context("could not run `id -u`")?;
        let uid = String::from_utf8_lossy(&output.stdout);
        Ok(if uid.trim() == "0" { Self::PostgresUser } else { Self::Myself })
    }

    fn command(self, program: &Path) -> Command {
        let mut command = match self {
            Self::Myself => Command::new(program),
            Self::PostgresUser => {
                let mut runuser = Command::new("runuser");
                runuser.args(["-u", POSTGRES_USER, "--"]).arg(program);
                runuser
            }
        };
        // The tools look up their current dir, which the `postgres` user may not be allowed
        // into (a checkout under root's home, say).
        command.current_dir("/");
        command
    }

    /// Gives `dir` to this user; false when the user cannot write there even so, because a
    /// parent dir is closed to it.
    fn hand_over(self, dir: &Path) -> Result<bool> {
        if self == Self::Myself {
            return Ok(true);
        }
        let owner = format!("{POSTGRES_USER}:");
        process::run_quiet(Command::new("chown").arg(&owner).arg(dir))?;
        let status = self
            .command(Path::new("test"))
            .arg("-w")
            .arg(dir)
            .status()
            .context("could not run `test -w` as the postgres user")?;
        Ok(status.success())
    }
}

/// A new, empty directory for the cluster, named after this process: under the target dir,
/// or under the system's temp dir when the cluster's user cannot reach the target dir or its
/// socket path would be too long there.
fn make_dir(ws: &Workspace, run_as: RunAs) -> Result<PathBuf> {
    let name = format!("postgres-{}", std::process::id());
    let bases =
        [ws.target_dir().join("test-services"), std::env::temp_dir().join("parley-test-services")];

    for base in bases {
        let dir = base.join(&name);
        if dir.join(".s.PGSQL.65535").as_os_str().len() > MAX_SOCKET_PATH {
            continue;
        }
        // Left by an earlier process with our pid whose cleanup never ran (a reboot).
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("could not delete the stale {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        if run_as.hand_over(&dir)? {
            return Ok(dir);
        }
        fs::remove_dir_all(&dir).with_context(|| format!("could not delete {}", dir.display()))?;
    }
    bail!("found no directory that the `{POSTGRES_USER}` user can write for the test cluster")
}

/// Stops the cluster and deletes its directory, from a separate `sh` that waits for its stdin
/// to close. Dropping this closes it, but so does our death by any means (Ctrl-C, SIGTERM,
/// `kill -9`), which runs no destructor: the cluster runs detached from us (`pg_ctl` starts
/// it in its own session) and would otherwise outlive an interrupted run.
struct Cleanup {
    sh: Child,
}

impl Cleanup {
    fn arm(dir: &Path, data: &Path, stop: &Command) -> Result<Self> {
        let sh = Command::new("sh")
            .arg("-c")
            .arg(cleanup_script(dir, data, stop))
            .stdin(Stdio::piped())
            .current_dir("/")
            // Its own process group, so that the Ctrl-C that ends us does not end it too.
            .process_group(0)
            .spawn()
            .context("could not start the cleanup shell")?;
        Ok(Self { sh })
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        drop(self.sh.stdin.take());
        match self.sh.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                step(&format!("stopping PostgreSQL or deleting its dir failed ({status})"))
            }
            Err(error) => step(&format!("could not wait for the cleanup shell: {error}")),
        }
    }
}

/// Waits for stdin to close, stops the cluster if it was started, and deletes `dir`. `stop`
/// must wait for the server to exit (pg_ctl does by default), or the server would still be
/// writing files while they are deleted.
fn cleanup_script(dir: &Path, data: &Path, stop: &Command) -> String {
    let pid_file = shell_quote(&data.join("postmaster.pid").to_string_lossy());
    let dir = shell_quote(&dir.to_string_lossy());
    format!(
        "cat >/dev/null\nif [ -f {pid_file} ]; then {}; fi\nrm -rf -- {dir}\n",
        shell_line(stop)
    )
}

/// `command`'s program and arguments as one line for `sh`.
fn shell_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| shell_quote(&word.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const INITDB: &str = "/usr/lib/postgresql/15/bin/initdb";

    #[test]
    fn as_root_the_tools_run_through_runuser() {
        let command = RunAs::PostgresUser.command(Path::new(INITDB));

        assert_eq!(command.get_program(), "runuser");
        assert_eq!(command.get_args().collect::<Vec<_>>(), ["-u", "postgres", "--", INITDB]);
    }

    #[test]
    fn as_another_user_the_tools_run_directly() {
        let command = RunAs::Myself.command(Path::new(INITDB));

        assert_eq!(command.get_program(), INITDB);
        assert_eq!(command.get_args().count(), 0);
    }

    #[test]
    fn server_options_listen_on_loopback_with_a_quoted_socket_dir() {
        let options = server_options(41234, Path::new("/work/my repo/target/pg"));

        assert_eq!(
            options,
            "-p 41234 -k '/work/my repo/target/pg' -c listen_addresses=127.0.0.1 \
             -c fsync=off -c max_connections=300"
        );
    }

    #[test]
    fn cleanup_stops_a_started_cluster_as_its_user_then_deletes_the_dir() {
        let dir = Path::new("/t/test-services/postgres-7");
        let data = dir.join("data");
        let mut stop = RunAs::PostgresUser.command(Path::new("/pg/bin/pg_ctl"));
        stop.arg("stop").arg("-D").arg(&data).args(["-m", "immediate"]);

        let script = cleanup_script(dir, &data, &stop);

        assert_eq!(
            script,
            "cat >/dev/null\n\
             if [ -f /t/test-services/postgres-7/data/postmaster.pid ]; then runuser -u \
             postgres -- /pg/bin/pg_ctl stop -D /t/test-services/postgres-7/data -m immediate; \
             fi\n\
             rm -rf -- /t/test-services/postgres-7\n"
        );
    }
}
