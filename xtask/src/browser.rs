//! The browser Playwright drives: Debian's Chromium, since Playwright's own download is
//! unreachable from our machines (only package registries are).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{self, step};

/// Returns the Chromium to use: `$CHROMIUM_PATH` if set, else `chromium` on PATH, installing
/// Debian's package first when it is missing (a fresh machine does not have it).
pub fn ensure_chromium() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM_PATH") {
        let path = PathBuf::from(path);
        if !path.exists() {
            bail!("CHROMIUM_PATH is set to {}, which does not exist", path.display());
        }
        return Ok(path);
    }
    if let Some(path) = find_on_path("chromium") {
        return Ok(path);
    }

    step("chromium not found; installing Debian's package");
    // A fresh machine's package lists may be missing or stale, but `apt-get update` costs
    // time and only matters when the install fails, so it is the fallback, not the first try.
    if process::run(&mut apt_get(&["install", "-y", "chromium"])).is_err() {
        step("install failed; refreshing the package lists and retrying");
        process::run(&mut apt_get(&["update"]))?;
        process::run(&mut apt_get(&["install", "-y", "chromium"]))?;
    }

    find_on_path("chromium").context("chromium is still not on PATH after installing it")
}

fn apt_get(args: &[&str]) -> Command {
    let mut command = Command::new("apt-get");
    // Without this, a package that asks a question would wait forever on CI's empty stdin.
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// `command -v name`, without a shell.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
