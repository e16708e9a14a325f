//! Structured logs through `tracing`, filtered by `PARLEY_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("PARLEY_LOG: {e}; falling back to \"info\"");
        EnvFilter::new("info")
    });
    // A second init (tests start several servers in one process) keeps the first subscriber.
    // Colours only on a terminal: a log file or journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    if subscriber.try_init().is_err() {
        tracing::trace!("tracing already initialised");
    }
}
