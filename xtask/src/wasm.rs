//! The browser bundle: compile `frontend` to wasm, generate the JS glue with wasm-bindgen, and
//! shrink the result with `wasm-opt` when `end2end/`'s npm packages provide it.
//!
//! The output is `pkg/parley.js` + `pkg/parley_bg.wasm`, the names the server's hydration
//! script asks for when the workspace's leptos `name` is `parley` and LEPTOS_OUTPUT_NAME is not
//! set at compile time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use wasm_bindgen_cli_support::Bindgen;

use crate::process::{self, step};
use crate::workspace::Workspace;

/// Stem of the generated files, from `[[workspace.metadata.leptos]] name`.
pub const OUTPUT_NAME: &str = "parley";

const TARGET: &str = "wasm32-unknown-unknown";

/// Cargo profile in the root `Cargo.toml`: size over speed, LTO, abort on panic.
const PROFILE: &str = "wasm-release";

/// `wasm-opt` rejects any instruction whose feature is not enabled. These are the features
/// Rust 1.95 enables by default for wasm32 (what `wasm-opt --print-features` reports for our
/// module). wasm-opt could also read them from the module's `target_features` section, but
/// naming them keeps the build working if a toolchain step ever drops that section.
const WASM_OPT_ARGS: &[&str] = &[
    "-Oz",
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds `pkg_dir` unless `stamp_path` says it already holds this wasm, processed this way.
/// The stamp lives outside the site so that the server never serves it.
pub fn build_package(ws: &Workspace, pkg_dir: &Path, stamp_path: &Path) -> Result<()> {
    let wasm = compile(ws)?;
    let wasm_opt = wasm_opt_path(ws);
    let stamp = stamp_for(&wasm, wasm_opt.is_some())?;
    if is_fresh(pkg_dir, stamp_path, &stamp) {
        step("browser bundle is up to date");
        return Ok(());
    }

    // Generate into a staging folder and swap it in at the end, so an interrupted or failed
    // run never leaves a half-written bundle that a later run would take as fresh.
    let staging = pkg_dir.with_extension("partial");
    recreate_dir(&staging)?;
    bindgen(&wasm, &staging)?;
    match &wasm_opt {
        Some(wasm_opt) => optimize(wasm_opt, &staging.join(format!("{OUTPUT_NAME}_bg.wasm")))?,
        None => step("wasm-opt not found (run `npm ci` in end2end/); bundle left unoptimized"),
    }

    if pkg_dir.exists() {
        fs::remove_dir_all(pkg_dir)
            .with_context(|| format!("could not remove the old {}", pkg_dir.display()))?;
    }
    fs::rename(&staging, pkg_dir)
        .with_context(|| format!("could not move the new bundle to {}", pkg_dir.display()))?;
    fs::write(stamp_path, stamp)
        .with_context(|| format!("could not write {}", stamp_path.display()))
}

/// Compiles the hydrate crate and returns the path of its `.wasm`.
fn compile(ws: &Workspace) -> Result<PathBuf> {
    ensure_target(ws)?;
    step("building the frontend (wasm32, wasm-release)");
    let mut cargo = process::cargo(ws);
    cargo.args(["build", "-p", "frontend", "--lib", "--target", TARGET, "--profile", PROFILE]);
    process::run(&mut cargo)?;

    Ok(ws.target_dir().join(TARGET).join(PROFILE).join("frontend.wasm"))
}

/// `rust-toolchain.toml` names the wasm target, but rustup only adds it on its own when
/// auto-install is on; many machines (and CI images) set `RUSTUP_AUTO_INSTALL=0`.
fn ensure_target(ws: &Workspace) -> Result<()> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(ws.root())
        .output();
    let Ok(listed) = listed else {
        // No rustup: the toolchain was installed some other way and must bring the target.
        return Ok(());
    };
    if String::from_utf8_lossy(&listed.stdout).lines().any(|line| line.trim() == TARGET) {
        return Ok(());
    }
    step(&format!("adding the {TARGET} target"));
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]).current_dir(ws.root());
    process::run(&mut rustup)
}

/// Runs wasm-bindgen as a library, at the version pinned to the `wasm-bindgen` crate in
/// `Cargo.lock`: the two must match exactly or the generated glue refuses the module.
fn bindgen(wasm: &Path, out_dir: &Path) -> Result<()> {
    step("generating JS bindings with wasm-bindgen");
    Bindgen::new()
        .input_path(wasm)
        .out_name(OUTPUT_NAME)
        .web(true)?
        .typescript(false)
        // Keep `new URL('parley_bg.wasm', import.meta.url)` as the default, so the glue also
        // works when loaded without Leptos' hydration script passing the path.
        .omit_default_module_path(false)
        .generate(out_dir)
        .with_context(|| format!("wasm-bindgen failed on {}", wasm.display()))
}

/// `wasm-opt` from the `binaryen` npm package: Debian's is too old for current Rust output.
fn wasm_opt_path(ws: &Workspace) -> Option<PathBuf> {
    let path = ws.end2end_dir().join("node_modules").join(".bin").join("wasm-opt");
    path.exists().then_some(path)
}

fn optimize(wasm_opt: &Path, wasm: &Path) -> Result<()> {
    step("shrinking the wasm with wasm-opt -Oz");
    let before = file_len(wasm)?;

    let optimized = wasm.with_extension("opt.wasm");
    let mut command = Command::new(wasm_opt);
    command.args(WASM_OPT_ARGS).arg(wasm).arg("-o").arg(&optimized);
    process::run(&mut command)?;
    fs::rename(&optimized, wasm).with_context(|| {
        format!("could not replace {} with its optimized form", wasm.display())
    })?;

    let after = file_len(wasm)?;
    step(&format!("wasm size {} KiB -> {} KiB", before / 1024, after / 1024));
    Ok(())
}

/// What the bundle was made from: the input wasm's identity and the recipe applied to it.
/// Skipping bindgen and wasm-opt when nothing changed saves most of a rebuild's time.
fn stamp_for(wasm: &Path, optimized: bool) -> Result<String> {
    let metadata =
        fs::metadata(wasm).with_context(|| format!("could not read {}", wasm.display()))?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_nanos());
    let wasm_opt = if optimized { WASM_OPT_ARGS.join(" ") } else { "none".to_owned() };

    Ok(format!(
        "input {} len={} modified={modified}\nwasm-bindgen web out-name={OUTPUT_NAME}\n\
         wasm-opt {wasm_opt}\n",
        wasm.display(),
        metadata.len(),
    ))
}

fn is_fresh(pkg_dir: &Path, stamp_path: &Path, stamp: &str) -> bool {
    let outputs_exist = [".js", "_bg.wasm"]
        .iter()
        .all(|suffix| pkg_dir.join(format!("{OUTPUT_NAME}{suffix}")).exists());
    outputs_exist && fs::read_to_string(stamp_path).is_ok_and(|old| old == stamp)
}

fn recreate_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("could not remove {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path).with_context(|| format!("could not read {}", path.display()))?.len())
}
