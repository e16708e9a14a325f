//! Build, run, lint and test Parley with one command: `cargo xtask <command>`.
//!
//! The xtask replaces `cargo leptos` so that nothing has to be installed from outside the
//! registries: wasm-bindgen runs as a library pinned to the version in `Cargo.lock`, and
//! `wasm-opt` and Playwright come from `end2end/`'s npm dependencies.
//!
//! # Layout
//!
//! - `main` parses the command line and composes the steps below.
//! - `workspace` knows where things are: repo root, cargo's target dir, the site folder.
//! - `process` runs child commands, echoing them and turning failures into errors.
//! - `wasm` compiles the `frontend` crate and turns it into `pkg/parley.js` + `_bg.wasm`.
//! - `site` assembles `target/site`: the wasm package, `public/` and the stylesheet.
//! - `apt` installs missing Debian packages and finds the programs they bring.
//! - `browser` makes sure Debian's Chromium is installed for Playwright.
//! - `services` provides PostgreSQL, Redis and nginx to the Rust tests, on loopback.
//! - `end2end` installs the npm dependencies and runs Playwright.
//! - `lint` runs rustfmt and clippy for both targets.
//!
//! `bench` runs the `loadgen` crate's scenarios against the built server, with PostgreSQL
//! from `services` when scenario (i) is among them.

mod apt;
mod browser;
mod end2end;
mod lint;
mod process;
mod services;
mod site;
mod wasm;
mod workspace;

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::workspace::Workspace;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  build          build the browser bundle into target/site and the server binary
  run [args]     build, then start the server from the repo root with [args]
  test           build, run the Rust tests of app and server, then Playwright
  e2e [args]     build, then only Playwright, passing [args] (e.g. a spec file or --grep)
  services       start PostgreSQL for a hand-run `cargo test`, print its variables, wait
  lint           cargo fmt --check and clippy -D warnings for server and wasm targets
  bench [args]   build, then run the load generator (e.g. `bench fanout`, `bench --help`);
                 scenario i also gets a PostgreSQL cluster and Redis";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();

    let outcome = match command.as_str() {
        "build" => Workspace::locate().and_then(|ws| build(&ws)),
        "run" => Workspace::locate().and_then(|ws| run(&ws, &rest)),
        "test" => Workspace::locate().and_then(|ws| test(&ws)),
        "e2e" => Workspace::locate().and_then(|ws| e2e(&ws, &rest)),
        "services" => Workspace::locate().and_then(|ws| services::hold(&ws)),
        "lint" => Workspace::locate().and_then(|ws| lint::run(&ws)),
        "bench" => Workspace::locate().and_then(|ws| bench(&ws, &rest)),
        "help" | "-h" | "--help" => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: what failed, then why.
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything a browser session needs: the site folder and the server binary.
fn build(ws: &Workspace) -> Result<()> {
    // `wasm-opt` comes from end2end's npm packages; without them the bundle ships unoptimized.
    end2end::ensure_node_modules(ws)?;
    site::build(ws)?;
    build_server(ws)
}

fn build_server(ws: &Workspace) -> Result<()> {
    process::step("building the server (release)");

    // Leptos bakes LEPTOS_OUTPUT_NAME into the binary at compile time, and when it is set the
    // page asks for `<name>.wasm` instead of the `parley_bg.wasm` that `wasm` writes. A value
    // left in the shell by `cargo leptos` would silently break hydration, so drop it.
    let mut cargo = process::cargo(ws);
    cargo.args(["build", "--release", "-p", "server"]).env_remove("LEPTOS_OUTPUT_NAME");
    process::run(&mut cargo)
}

/// Replaces this process with the server so that Ctrl-C and exit codes reach it directly.
fn run(ws: &Workspace, args: &[String]) -> Result<()> {
    build(ws)?;

    let binary = ws.server_binary();
    process::step(&format!("starting {}", binary.display()));
    let error = Command::new(&binary).args(args).current_dir(ws.root()).exec();
    Err(error).with_context(|| format!("could not start {}", binary.display()))
}

/// The whole suite in the order CI wants it: cheap failures first, Playwright last so that
/// its summary ends the output.
fn test(ws: &Workspace) -> Result<()> {
    let chromium = browser::ensure_chromium()?;
    let programs = services::ensure_installed()?;
    end2end::ensure_node_modules(ws)?;
    build(ws)?;

    // Only `app` and `server`: a `--workspace` run would unify `app`'s `hydrate` feature (from
    // `frontend`) with `ssr` and build a crate that exists in neither real binary. Plain
    // `cargo test` rather than nextest so doctests run too and no extra tool is needed.
    process::step("running the Rust tests of app, server and the load generator's smoke run");
    let postgres = services::Postgres::start(ws, &programs.postgres_bin)?;
    let mut cargo = process::cargo(ws);
    cargo.args(["test", "--release", "-p", "app", "-p", "server", "-p", "loadgen"]);
    cargo.envs(services::test_env(&programs, &postgres));
    let outcome = process::run(&mut cargo);

    // Only these tests use the cluster: stop it, pass or fail, before Playwright starts.
    drop(postgres);
    outcome?;

    end2end::playwright(ws, &chromium, &[])
}

/// The load generator against the freshly built server; BENCHMARKS.md lists the scenarios.
fn bench(ws: &Workspace, args: &[String]) -> Result<()> {
    // Installing is the step most likely to fail, so it comes before the long build.
    let programs =
        if bench_needs_services(args) { Some(services::ensure_installed()?) } else { None };
    build(ws)?;

    // Built together with the server so `app` is compiled once, with the server's features,
    // rather than a second time without them for the load generator alone.
    process::step("building the load generator (release)");
    let mut cargo = process::cargo(ws);
    cargo.args(["build", "--release", "-p", "server", "-p", "loadgen"]);
    cargo.env_remove("LEPTOS_OUTPUT_NAME");
    process::run(&mut cargo)?;

    // Scenario (i) creates its database on a cluster named by the same variables as the
    // tests get, and starts its own Redis from the program named there.
    let cluster = match &programs {
        Some(programs) => Some((programs, services::Postgres::start(ws, &programs.postgres_bin)?)),
        None => None,
    };
    process::step("running the load generator");
    let binary = ws.target_dir().join("release").join("loadgen");
    let mut loadgen = Command::new(binary);
    loadgen.args(args).current_dir(ws.root());
    if let Some((programs, postgres)) = &cluster {
        loadgen.envs(services::test_env(programs, postgres));
    }
    let outcome = process::run(&mut loadgen);

    // Stops the cluster and deletes its directory, pass or fail.
    drop(cluster);
    outcome
}

/// Whether `cargo xtask bench <args>` runs scenario (i), which needs PostgreSQL and Redis:
/// when it is named (by letter or name), or when no scenario is, since then all of them run.
/// This reads loadgen's command line without clap, so it must know loadgen's options that
/// take a value; an unknown option only makes it start PostgreSQL without need.
fn bench_needs_services(args: &[String]) -> bool {
    const OPTIONS_WITH_VALUE: [&str; 3] = ["--server", "--site-root", "--messages"];
    const SCENARIO_I: [&str; 2] = ["i", "scale-out"];

    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        return false;
    }
    let mut scenarios = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if OPTIONS_WITH_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            scenarios.push(arg.as_str());
        }
    }
    scenarios.is_empty() || scenarios.iter().any(|name| SCENARIO_I.contains(name))
}

/// Playwright alone, for iterating on specs without rerunning the Rust tests.
fn e2e(ws: &Workspace, args: &[String]) -> Result<()> {
    let chromium = browser::ensure_chromium()?;
    end2end::ensure_node_modules(ws)?;
    build(ws)?;
    end2end::playwright(ws, &chromium, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn bench_starts_services_for_scenario_i_or_all_scenarios() {
        assert!(bench_needs_services(&args(&["i"])));
        assert!(bench_needs_services(&args(&["a", "scale-out", "--smoke"])));
        assert!(bench_needs_services(&args(&[])));
        assert!(bench_needs_services(&args(&["--messages", "100000"])));
    }

    #[test]
    fn bench_skips_services_for_other_scenarios_and_help() {
        assert!(!bench_needs_services(&args(&["a", "fanout", "--smoke"])));
        assert!(!bench_needs_services(&args(&["history", "--messages", "100000"])));
        assert!(!bench_needs_services(&args(&["--server", "/tmp/parley", "page"])));
        assert!(!bench_needs_services(&args(&["--help"])));
    }
}
