//! Assembles the folder the server serves, laid out as `cargo leptos` would:
//!
//! ```text
//! target/site/
//!   pkg/parley.js, pkg/parley_bg.wasm   the hydrate bundle (see `wasm`)
//!   pkg/parley.css                      style/main.css
//!   ...                                 everything in public/ (manifest, icons, worker)
//! ```

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::process::step;
use crate::wasm::{self, OUTPUT_NAME};
use crate::workspace::Workspace;

/// Folder under the site root for the bundle; `site-pkg-dir` in the leptos metadata.
const PKG_DIR: &str = "pkg";

pub fn build(ws: &Workspace) -> Result<()> {
    let site = ws.site_dir();
    let pkg = site.join(PKG_DIR);
    fs::create_dir_all(&site).with_context(|| format!("could not create {}", site.display()))?;

    wasm::build_package(ws, &pkg, &site.with_extension("stamp"))?;

    // Start the static part from scratch each time so a file deleted from public/ does not
    // live on in the site. The bundle is kept: it is the expensive part and has its own stamp.
    step("copying public/ and style/main.css into target/site");
    clear_except(&site, PKG_DIR)?;
    copy_dir(&ws.root().join("public"), &site)?;

    let stylesheet = ws.root().join("style").join("main.css");
    if !stylesheet.exists() {
        bail!(
            "{} is missing; the page links to it as pkg/{OUTPUT_NAME}.css",
            stylesheet.display()
        );
    }
    let destination = pkg.join(format!("{OUTPUT_NAME}.css"));
    fs::copy(&stylesheet, &destination).with_context(|| {
        format!("could not copy {} to {}", stylesheet.display(), destination.display())
    })?;
    Ok(())
}

/// Removes every entry of `dir` except the one named `keep`.
fn clear_except(dir: &Path, keep: &str) -> Result<()> {
    let entries =
        fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", dir.display()))?;
        if entry.file_name() == keep {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type()?.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.with_context(|| format!("could not remove {}", path.display()))?;
    }
    Ok(())
}

/// Copies the contents of `from` into `to`, recursively. A missing `from` copies nothing:
/// git does not keep empty folders, so a fresh clone may have no public/ yet.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    if !from.exists() {
        return Ok(());
    }
    fs::create_dir_all(to).with_context(|| format!("could not create {}", to.display()))?;

    let entries =
        fs::read_dir(from).with_context(|| format!("could not list {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", from.display()))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            fs::copy(&source, &target).with_context(|| {
                format!("could not copy {} to {}", source.display(), target.display())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_dir_copies_nested_files_and_clear_except_keeps_only_the_named_entry() {
        let scratch = std::env::temp_dir().join(format!("xtask-site-{}", std::process::id()));
        let (from, to) = (scratch.join("public"), scratch.join("site"));
        fs::create_dir_all(from.join("icons")).unwrap();
        fs::write(from.join("manifest.json"), "{}").unwrap();
        fs::write(from.join("icons").join("icon.png"), "png").unwrap();
        fs::create_dir_all(to.join("pkg")).unwrap();

        copy_dir(&from, &to).unwrap();
        let copied = fs::read_to_string(to.join("icons").join("icon.png")).unwrap();
        clear_except(&to, "pkg").unwrap();
        let left: Vec<_> = fs::read_dir(&to).unwrap().map(|e| e.unwrap().file_name()).collect();

        assert_eq!(copied, "png");
        assert_eq!(left, ["pkg"]);
        fs::remove_dir_all(&scratch).unwrap();
    }
}
