//! Formatting and clippy, run the way each crate is really built.

use anyhow::Result;

use crate::process::{self, step};
use crate::workspace::Workspace;

pub fn run(ws: &Workspace) -> Result<()> {
    step("checking formatting");
    let mut fmt = process::cargo(ws);
    fmt.args(["fmt", "--all", "--check"]);
    process::run(&mut fmt)?;

    // Native crates with their test code. `frontend` is left out here and linted for wasm
    // below: in one run `app` would be checked with `hydrate` and `ssr` unified, a mix that
    // no real build compiles.
    step("clippy: app, server, loadgen and xtask (native)");
    let mut native = process::cargo(ws);
    native.args(["clippy", "--release", "--all-targets", "-p", "app", "-p", "server"]);
    native.args(["-p", "loadgen", "-p", "xtask", "--", "-D", "warnings"]);
    process::run(&mut native)?;

    step("clippy: frontend (wasm32)");
    let mut wasm = process::cargo(ws);
    wasm.args(["clippy", "-p", "frontend", "--target", "wasm32-unknown-unknown"]);
    wasm.args(["--profile", "wasm-release", "--", "-D", "warnings"]);
    process::run(&mut wasm)
}
