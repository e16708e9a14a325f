//! The `end2end/` npm project: installing its packages and running Playwright.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::process::{self, step};
use crate::workspace::Workspace;

/// Installs `end2end/node_modules` when it is missing or older than the manifest or lockfile.
pub fn ensure_node_modules(ws: &Workspace) -> Result<()> {
    let dir = ws.end2end_dir();
    let lockfile = dir.join("package-lock.json");
    // npm writes this copy of the lockfile on every install, so its age is the install's age.
    let installed = dir.join("node_modules").join(".package-lock.json");
    if is_newer(&installed, &dir.join("package.json")) && is_newer(&installed, &lockfile) {
        return Ok(());
    }

    // `npm ci` installs exactly the lockfile and fails if it disagrees with package.json,
    // which is what CI wants; `npm install` is only for creating a missing lockfile.
    let verb = if lockfile.exists() { "ci" } else { "install" };
    step(&format!("installing end2end's npm packages (npm {verb})"));
    let mut npm = Command::new("npm");
    npm.arg(verb)
        .args(["--no-audit", "--no-fund"])
        .current_dir(&dir)
        // The browser is Debian's; Playwright's own download host is unreachable here.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    process::run(&mut npm)
}

/// Runs the Playwright suite against the freshly built server binary, passing `args` on.
pub fn playwright(ws: &Workspace, chromium: &Path, args: &[String]) -> Result<()> {
    step("running the browser tests (Playwright)");
    let dir = ws.end2end_dir();
    // The local binary rather than `npx`, which would download Playwright if it were missing.
    let mut command = Command::new(dir.join("node_modules").join(".bin").join("playwright"));
    command
        .arg("test")
        .args(args)
        .current_dir(&dir)
        // playwright.config.ts reads both; passing them makes a moved target dir or a
        // non-default Chromium work without editing the config.
        .env("CHROMIUM_PATH", chromium)
        .env("PARLEY_BIN", ws.server_binary());
    process::run(&mut command)
}

/// Whether `path` exists and was modified no earlier than `than` (or `than` is missing).
fn is_newer(path: &Path, than: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    match (modified(path), modified(than)) {
        (Some(path), Some(than)) => path >= than,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_newer_is_false_for_a_missing_install_and_true_against_a_missing_manifest() {
        let missing = Path::new("/nonexistent/xtask/.package-lock.json");
        let present = &Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");

        assert!(!is_newer(missing, present));
        assert!(is_newer(present, missing));
        assert!(is_newer(present, present));
    }
}
