//! Log filters of the local server and the Lambda functions. Logs must never
//! contain tokens, names, email addresses, SDP or IP addresses. The service's
//! own log statements name only ids, but some dependencies write request and
//! response bodies, headers or peer addresses at DEBUG and TRACE, so those
//! are capped at INFO whatever level is asked for.

use tracing_subscriber::EnvFilter;

/// Targets, matched as prefixes, whose DEBUG and TRACE output contains
/// payloads, headers, credentials or IP addresses.
const PAYLOAD_LOGGING_TARGETS: [&str; 13] = [
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
    "aws_config",
    "aws_credential_types",
    "h2",
    "rustls",
];

/// Builds a filter from `RUST_LOG`-style directives, such as `debug` or
/// `info,video_core=trace`, capping the payload-logging dependencies at INFO.
pub fn log_filter(directives: &str) -> EnvFilter {
    let mut filter = EnvFilter::new(directives);
    for target in PAYLOAD_LOGGING_TARGETS {
        let directive = format!("{target}=info")
            .parse()
            .expect("static directive is valid");
        filter = filter.add_directive(directive);
    }
    filter
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&directives))
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    let json = crate::env::optional("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|format| format.eq_ignore_ascii_case("json"));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
