//! `loadgen <scenario>`: runs one benchmark against a fresh `parley` server and prints its
//! table. `cargo xtask bench <scenario>` builds the server and site first.

#![allow(clippy::print_stdout, reason = "the tables are this program's output")]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use loadgen::scenarios::{Scale, Scenario};
use loadgen::target::{Launch, repo_root};

#[derive(Parser)]
#[command(about = "Parley load generator: one scenario, one table")]
struct Args {
    /// Which benchmarks, by name or letter; none runs every one in letter order.
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Run the few-second version the test suite uses.
    #[arg(long)]
    smoke: bool,
    /// The server binary (default: target/release/parley).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The built site (default: target/site).
    #[arg(long)]
    site_root: Option<PathBuf>,
    /// Messages seeded into the long room of `history` (default 1,000,000); seeding runs
    /// through the real send path, so a million takes as long as the server needs for it.
    #[arg(long)]
    messages: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let root = repo_root();
    let data = match tempfile::Builder::new().prefix("parley-bench-").tempdir() {
        Ok(data) => data,
        Err(error) => {
            eprintln!("loadgen: no temporary data folder: {error}");
            return ExitCode::FAILURE;
        }
    };
    let scale = if args.smoke { Scale::Smoke } else { Scale::Full };
    let scenarios = if args.scenarios.is_empty() {
        <Scenario as clap::ValueEnum>::value_variants().to_vec()
    } else {
        args.scenarios
    };

    let mut failed = false;
    for (n, scenario) in scenarios.into_iter().enumerate() {
        // Each scenario starts on an empty database of its own.
        let launch = Launch {
            binary: args.server.clone().unwrap_or_else(|| root.join("target/release/parley")),
            data_dir: data.path().join(format!("run-{n}")),
            site_root: args.site_root.clone().unwrap_or_else(|| root.join("target/site")),
            history_messages: args.messages,
        };
        match scenario.run(&launch, scale).await {
            Ok(report) => {
                failed |= !report.met();
                println!("{}", report.render());
            }
            Err(error) => {
                failed = true;
                eprintln!("loadgen: scenario {scenario:?} failed: {error:#}");
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
