//! Logging to stderr: human lines or JSON objects, filtered by `PASSDROP_LOG`, with the
//! libraries whose detailed logs would carry secrets capped at warnings.

use std::io::IsTerminal as _;

use clap::ValueEnum;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Libraries whose detailed logs would carry secrets: tower-http's CSRF layer logs full
/// URIs (a link token) at trace level, and async-imap logs every command it sends (the
/// LOGIN line, the AUTHENTICATE PLAIN message). Only their warnings and errors are kept.
const CAPPED_TARGETS: [&str; 4] = ["tower_http::csrf", "async_imap", "rustls", "lettre"];

/// Whether an event from `target` at `level` may be logged at all.
fn allowed(target: &str, level: tracing::Level) -> bool {
    let capped = CAPPED_TARGETS.iter().any(|c| {
        target
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    !capped || level <= tracing::Level::WARN
}

/// Sets up logging to stderr, filtered by `PASSDROP_LOG` (default `info`). The targets
/// in `CAPPED_TARGETS` are capped at warnings by a second filter that no `PASSDROP_LOG`
/// directive can loosen.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::FilterExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let env = tracing_subscriber::EnvFilter::try_from_env("PASSDROP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let capped =
        tracing_subscriber::filter::filter_fn(|meta| allowed(meta.target(), *meta.level()));
    let filter = env.and(capped);
    // Colours only on a terminal, never in a log file.
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let layer = match format {
        LogFormat::Human => layer.with_filter(filter).boxed(),
        LogFormat::Json => layer.json().with_filter(filter).boxed(),
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_bearing_targets_keep_only_warnings() {
        use tracing::Level;
        assert!(!allowed("async_imap::imap_stream", Level::TRACE));
        assert!(!allowed("async_imap", Level::DEBUG));
        assert!(allowed("async_imap", Level::WARN));
        assert!(!allowed("tower_http::csrf", Level::TRACE));
        assert!(allowed("tower_http::trace", Level::TRACE));
        assert!(allowed("async_imapx", Level::TRACE));
        assert!(allowed("passdrop::web", Level::TRACE));
    }
}
