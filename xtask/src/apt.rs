//! Debian packages: installing the ones a step needs, and finding the programs they bring.
//!
//! Only package registries are reachable from our machines, so tools the tests drive (Chromium,
//! PostgreSQL, Redis, nginx) come from Debian's apt rather than from their vendors.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::process::{self, step};

/// `apt-get install -y` the given packages in one call.
pub fn install(packages: &[&str]) -> Result<()> {
    let mut args = vec!["install", "-y"];
    args.extend_from_slice(packages);

    // A fresh machine's package lists may be missing or stale, but `apt-get update` costs
    // time and only matters when the install fails, so it is the fallback, not the first try.
    if process::run(&mut apt_get(&args)).is_err() {
        step("install failed; refreshing the package lists and retrying");
        process::run(&mut apt_get(&["update"]))?;
        process::run(&mut apt_get(&args))?;
    }
    Ok(())
}

fn apt_get(args: &[&str]) -> Command {
    let mut command = Command::new("apt-get");
    // Without this, a package that asks a question would wait forever on CI's empty stdin.
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// `command -v name`, without a shell.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
