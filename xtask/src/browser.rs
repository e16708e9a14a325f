//! The browser Playwright drives: Debian's Chromium, since Playwright's own download is
//! unreachable from our machines (only package registries are).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::apt;
use crate::process::step;

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
    if let Some(path) = apt::find_on_path("chromium") {
        return Ok(path);
    }

    step("chromium not found; installing Debian's package");
    apt::install(&["chromium"])?;

    apt::find_on_path("chromium").context("chromium is still not on PATH after installing it")
}
