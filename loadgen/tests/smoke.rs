//! Every scenario at smoke scale against the real server binary, so the benchmark cannot rot:
//! a scenario that can no longer sign up, send, receive or count fails here.
//!
//! Needs `target/release/parley` and `target/site`, which `cargo xtask test` builds first.

use loadgen::scenarios::{Scale, Scenario};
use loadgen::target::{Launch, repo_root};

async fn smoke(scenario: Scenario) -> String {
    let root = repo_root();
    let data = tempfile::tempdir().expect("temporary data folder");
    let binary = std::env::var_os("PARLEY_BIN")
        .map_or_else(|| root.join("target/release/parley"), Into::into);
    let launch = Launch {
        binary,
        data_dir: data.path().join("db"),
        site_root: root.join("target/site"),
        history_messages: None,
    };

    let report = scenario.run(&launch, Scale::Smoke).await.expect("the scenario runs");

    assert!(report.met(), "a smoke run missed a target:\n{}", report.render());
    report.render()
}

#[tokio::test]
async fn fanout_delivers_every_message_once() {
    let table = smoke(Scenario::Fanout).await;

    assert!(table.contains("lost"), "{table}");
}

#[tokio::test]
async fn max_rate_steps_through_its_rates() {
    let table = smoke(Scenario::MaxRate).await;

    assert!(table.contains("offered 40/s"), "{table}");
}

#[tokio::test]
async fn big_room_delivers_every_message_once() {
    smoke(Scenario::BigRoom).await;
}

#[tokio::test]
async fn idle_sockets_are_counted() {
    let table = smoke(Scenario::Idle).await;

    assert!(table.contains("RSS per connection"), "{table}");
}

#[tokio::test]
async fn history_reads_the_newest_page_and_restarts() {
    let table = smoke(Scenario::History).await;

    assert!(table.contains("cold start to first 200"), "{table}");
}

#[tokio::test]
async fn room_page_renders_with_the_newest_message() {
    smoke(Scenario::Page).await;
}

#[tokio::test]
async fn bundle_is_measured() {
    let table = smoke(Scenario::Bundle).await;

    assert!(table.contains(".wasm"), "{table}");
}

#[tokio::test]
async fn fanout_on_two_instances_delivers_every_message_once() {
    // PostgreSQL and Redis come from `cargo xtask test`; run alone, without them, the
    // scenario is skipped, but not on CI, where a skip would hide a broken set-up.
    if let Err(missing) = loadgen::cluster::Services::from_env() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true forbids skipping: {missing:#}"
        );
        eprintln!("skipping scenario (i): {missing:#}");
        return;
    }

    let table = smoke(Scenario::ScaleOut).await;

    assert!(table.contains("servers (2 summed) CPU"), "{table}");
}
