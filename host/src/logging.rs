//! Structured logs on stderr (stdout carries the parseable "listening" line).

use tracing_subscriber::EnvFilter;

/// Logs filtered by `TOLLGATE_LOG` (tracing's directive syntax, default `info`); set
/// `TOLLGATE_LOG_FORMAT=json` for one JSON object per line.
pub fn init() {
    let filter = EnvFilter::try_from_env("TOLLGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if std::env::var("TOLLGATE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // Already initialised (e.g. twice in one process) is harmless.
    drop(result);
}
