//! Where things live: the repo root, cargo's target dir and the assembled site.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Name of the server binary (`[[bin]]` in `server/Cargo.toml`).
const SERVER_BINARY: &str = "parley";

/// Paths the steps share, resolved once at start-up.
pub struct Workspace {
    /// The repo root; every child command runs here so relative paths mean the same to all.
    root: PathBuf,
    /// Cargo's target dir as cargo itself resolves it (CARGO_TARGET_DIR, config, default).
    target_dir: PathBuf,
}

impl Workspace {
    /// Finds the repo root and asks cargo for its target dir.
    pub fn locate() -> Result<Self> {
        // The xtask crate sits one level below the root, so its manifest dir gives the root
        // wherever `cargo xtask` was started from. `cargo run` passes it at run time; that
        // one is preferred because cargo may reuse this binary for a copy of the repo that
        // shares a target dir (it fingerprints path crates relative to the workspace), and the
        // compile-time value would then point at the original checkout.
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        let root =
            manifest_dir.parent().context("xtask's manifest dir has no parent")?.to_path_buf();

        // A relative CARGO_TARGET_DIR is relative to the current dir; moving to the root first
        // makes our child cargo commands and our own path arithmetic agree on it.
        std::env::set_current_dir(&root)
            .with_context(|| format!("could not enter the repo root {}", root.display()))?;
        let target_dir = cargo_target_dir(&root)?;

        Ok(Self { root, target_dir })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// The folder the server serves. It stays at `<root>/target/site` even when cargo's target
    /// dir is elsewhere, because that is the server's default site root.
    pub fn site_dir(&self) -> PathBuf {
        self.root.join("target").join("site")
    }

    pub fn end2end_dir(&self) -> PathBuf {
        self.root.join("end2end")
    }

    pub fn server_binary(&self) -> PathBuf {
        self.target_dir.join("release").join(SERVER_BINARY)
    }
}

/// Asks `cargo metadata`, which honours every way of moving the target dir (environment,
/// `.cargo/config.toml`, `--config`), instead of re-implementing that lookup.
fn cargo_target_dir(root: &Path) -> Result<PathBuf> {
    let output = Command::new(crate::process::cargo_program())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("could not run `cargo metadata`")?;
    if !output.status.success() {
        bail!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }

    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` printed bad JSON")?;
    let target_dir = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` did not name a target_directory")?;
    Ok(PathBuf::from(target_dir))
}
