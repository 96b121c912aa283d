//! Log filters of the local server and the Lambda functions. Logs must never
//! contain tokens, names, email addresses, SDP or IP addresses. The service's
//! own log statements name only ids, but some dependencies write request and
//! response bodies, headers or peer addresses at DEBUG and TRACE, so those
//! are capped at INFO whatever level is asked for.
//!
//! The filter is a [`Targets`] filter, which matches targets by prefix and
//! compiles no regular expressions. `tracing-subscriber`'s `EnvFilter` added
//! about 0.5 MB of regular-expression code to each function.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Targets, matched as prefixes, whose DEBUG and TRACE output contains
/// payloads, headers, credentials or IP addresses.
const PAYLOAD_LOGGING_TARGETS: [&str; 12] = [
    // The local server's HTTP and WebSocket stack.
    "tungstenite",
    "tokio_tungstenite",
    "axum::serve",
    "hyper",
    "tower_http",
    // The AWS SDK: DynamoDB items with names and email addresses, messages
    // posted to sockets, emails, signed headers and endpoint addresses.
    "aws_smithy",
    "aws_sdk",
    "aws_sigv4",
    "aws_runtime",
    "aws_credential_types",
    "h2",
    "rustls",
];

/// Builds a filter from `RUST_LOG`-style directives, such as `debug` or
/// `info,video_core=trace`: a default level and `target=level` pairs,
/// separated by commas. Directives that are not of this form are skipped.
/// The payload-logging dependencies and every target below them are capped
/// at INFO, also when a directive names one of their modules.
pub fn log_filter(directives: &str) -> Targets {
    let mut requested = Targets::new();
    for directive in directives.split(',').map(str::trim) {
        if directive.is_empty() {
            continue;
        }
        if let Ok(parsed) = directive.parse::<Targets>() {
            if let Some(level) = parsed.default_level() {
                requested = requested.with_default(level);
            }
            requested = requested.with_targets(parsed);
        }
    }
    let default = requested.default_level().unwrap_or(LevelFilter::OFF);
    let mut filter = Targets::new().with_default(default);
    for (target, level) in requested.iter() {
        let level = if is_payload_logging(target) {
            level.min(LevelFilter::INFO)
        } else {
            level
        };
        filter = filter.with_target(target, level);
    }
    for target in PAYLOAD_LOGGING_TARGETS {
        // The level the directives give this target: that of the longest
        // directive target it starts with, else the default.
        let requested_level = requested
            .iter()
            .filter(|(directive, _)| target.starts_with(directive))
            .max_by_key(|(directive, _)| directive.len())
            .map_or(default, |(_, level)| level);
        filter = filter.with_target(target, requested_level.min(LevelFilter::INFO));
    }
    filter
}

/// Returns whether `target` is one of the payload-logging targets or below
/// one. Like the filter itself, this matches by prefix.
fn is_payload_logging(target: &str) -> bool {
    PAYLOAD_LOGGING_TARGETS
        .iter()
        .any(|payload| target.starts_with(payload))
}

/// Sets up tracing in a Lambda function with [`log_filter`], in place of the
/// runtime's default subscriber. The level comes from `AWS_LAMBDA_LOG_LEVEL`
/// (the template's `ApplicationLogLevel`), else from the directives in
/// `RUST_LOG`, else it is INFO. Lines go to standard output without time,
/// which CloudWatch adds, as JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON`.
pub fn init_lambda_tracing() {
    let directives = match crate::env::optional("AWS_LAMBDA_LOG_LEVEL") {
        // tracing has no FATAL level, so FATAL maps to ERROR.
        Some(level) if level.trim().eq_ignore_ascii_case("fatal") => "error".to_owned(),
        Some(level) => level,
        None => crate::env::optional("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
    };
    let filter = log_filter(&directives);
    // The formatter's own level is opened to TRACE, so that the filter alone
    // decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    let json = crate::env::optional("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|format| format.eq_ignore_ascii_case("json"));
    if json {
        builder.json().finish().with(filter).init();
    } else {
        builder.finish().with(filter).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn log_filter_level_alone_caps_payload_targets() {
        for directives in ["trace", "TRACE", " trace "] {
            let filter = log_filter(directives);
            assert!(filter.would_enable("video_core::signal", &Level::TRACE));
            assert!(filter.would_enable("hyper::proto::h1", &Level::INFO));
            assert!(!filter.would_enable("hyper::proto::h1", &Level::DEBUG));
            assert!(!filter.would_enable("aws_smithy_runtime", &Level::DEBUG));
            assert!(!filter.would_enable("rustls::client", &Level::TRACE));
        }
    }

    #[test]
    fn log_filter_caps_payload_module_directives() {
        let filter = log_filter("info,hyper::proto=trace,aws_sdk_dynamodb=debug,hyper_util=trace");
        assert!(!filter.would_enable("hyper::proto::h1::io", &Level::DEBUG));
        assert!(filter.would_enable("hyper::proto::h1::io", &Level::INFO));
        assert!(!filter.would_enable("aws_sdk_dynamodb::operation", &Level::DEBUG));
        assert!(!filter.would_enable("hyper_util::client", &Level::TRACE));
    }

    #[test]
    fn log_filter_keeps_lower_payload_levels() {
        let filter = log_filter("debug,hyper=error");
        assert!(filter.would_enable("video_core", &Level::DEBUG));
        assert!(filter.would_enable("hyper::proto", &Level::ERROR));
        assert!(!filter.would_enable("hyper::proto", &Level::WARN));
        let quiet = log_filter("warn");
        assert!(!quiet.would_enable("tungstenite::protocol", &Level::INFO));
        assert!(quiet.would_enable("tungstenite::protocol", &Level::WARN));
    }

    #[test]
    fn target_directives_and_unparsable_ones() {
        let filter = log_filter("warn,video_core=trace,not a directive,video_local=bogus");
        assert!(filter.would_enable("video_core::room", &Level::TRACE));
        assert!(!filter.would_enable("video_local", &Level::INFO));
        assert!(filter.would_enable("video_local", &Level::WARN));
        let nothing = log_filter("");
        assert!(!nothing.would_enable("video_core", &Level::ERROR));
    }
}
