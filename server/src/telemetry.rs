//! Structured logs through `tracing`, filtered by `PARLEY_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("PARLEY_LOG: {e}; falling back to \"info\"");
        EnvFilter::new("info")
    });
    // A second init (tests start several servers in one process) keeps the first subscriber.
    if tracing_subscriber::fmt().with_env_filter(filter).try_init().is_err() {
        tracing::trace!("tracing already initialised");
    }
}
