//! `video-local`: the whole video service in one process on this machine.
//!
//! Run: `cargo run --release -p video-local` and open the printed address.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use video_core::privacy::{Operator, OperatorField, OperatorSettings, check_value};
use video_core::turn::{TurnSecret, TurnServer};
use video_local::{Config, GeneratedToken, Server, log_filter};

/// How often the server checks for invitations that are due.
const MORNING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Runs the rooms API, the signaling WebSocket and the web client from one
/// origin, with rooms stored in an embedded database.
#[derive(Debug, Parser)]
#[command(name = "video-local", version)]
struct Args {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR", value_parser = parse_listen)]
    listen: SocketAddr,

    /// Directory of the room database and the link key; created when missing.
    #[arg(long, default_value = "data", value_name = "DIR")]
    data_dir: PathBuf,

    /// API token of at least 16 characters and the practitioner it stands
    /// for; repeatable. Without it, one token for practitioner "local" is
    /// generated on first start, kept in DIR/dev-token and printed once.
    #[arg(long = "dev-token", value_name = "TOKEN=PRACTITIONER")]
    dev_tokens: Vec<String>,

    /// Origin of join links without a path, e.g. https://video.example.org
    /// [default: http://ADDR]
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,

    /// Sender address written into the invitation emails in DIR/outbox.
    #[arg(long, default_value = "video@localhost", value_name = "ADDRESS", value_parser = parse_mail_from)]
    mail_from: String,

    /// Local time (HH:MM) in each room's time zone from which its
    /// invitations are written to DIR/outbox.
    #[arg(long, default_value = "06:00", value_name = "HH:MM", value_parser = parse_morning_time)]
    morning_time: chrono::NaiveTime,

    /// Practice or practitioner name, up to 100 characters, shown in the
    /// invitation emails and as the sender's name before --mail-from
    /// [default: signed "Ihr Praxisteam" / "Your practice team"]
    #[arg(long, value_name = "NAME", value_parser = parse_practice_name)]
    practice_name: Option<String>,

    /// Name of the service's operator on the privacy page at /privacy, up
    /// to 200 characters. Needs --operator-address or --operator-email
    /// [default: the page states that no details were given]
    #[arg(long, value_name = "NAME", value_parser = parse_operator_name)]
    operator_name: Option<String>,

    /// Postal address of the operator on one line, up to 300 characters,
    /// such as "Hauptstraße 1, 10115 Berlin".
    #[arg(long, value_name = "ADDRESS", value_parser = parse_operator_address)]
    operator_address: Option<String>,

    /// Contact email address of the operator on the privacy page.
    #[arg(long, value_name = "EMAIL", value_parser = parse_operator_email)]
    operator_email: Option<String>,

    /// Contact of the data protection officer on the privacy page, such as
    /// a name and an email address, up to 300 characters.
    #[arg(long, value_name = "CONTACT", value_parser = parse_data_protection_officer)]
    data_protection_officer: Option<String>,

    /// Days that rooms, their invitees' names and call durations are kept
    /// after the room's day (1 to 90). Email addresses are erased when the
    /// day is over.
    #[arg(long, default_value_t = video_core::room::DEFAULT_RETENTION_DAYS, value_name = "DAYS", value_parser = parse_retention)]
    retention_days: u32,

    /// Most invitation emails written per second.
    #[arg(long, default_value_t = 10.0, value_name = "PER_SECOND", value_parser = parse_mail_rate)]
    mail_rate: f64,

    /// STUN or TURN URL handed to browsers with fresh credentials, such as
    /// turn:turn.example.org:3478?transport=udp; repeatable. Needs
    /// --turn-secret-file.
    #[arg(long = "turn-url", value_name = "URL")]
    turn_urls: Vec<String>,

    /// File with the TURN server's shared secret (coturn's
    /// static-auth-secret), at least 32 visible ASCII characters.
    #[arg(long, value_name = "FILE")]
    turn_secret_file: Option<PathBuf>,

    /// Seconds after which the server closes a signaling socket, as API
    /// Gateway does after 2 hours; clients reconnect and keep their place.
    /// Lower values (1 to 7200) let you try reconnection.
    #[arg(long, default_value_t = 7200, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=7200))]
    max_connection_age: u64,

    /// Address of a reverse proxy in front of the server, such as 127.0.0.1;
    /// repeatable. For requests from it, the link and token throttles count
    /// the client address that it appends to X-Forwarded-For, instead of
    /// its own address for every client.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,

    /// Log format on standard error.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// Parses an IP address with a port. Host names such as localhost are not
/// resolved, so that the server listens on exactly the address given.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "expected an IP address with a port, such as 127.0.0.1:8080 or [::1]:8080, got {text:?}"
        )
    })
}

fn parse_morning_time(text: &str) -> Result<chrono::NaiveTime, String> {
    let two_digits = text.len() == 5 && text.as_bytes()[2] == b':';
    two_digits
        .then(|| chrono::NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("expected HH:MM such as 06:00, got {text:?}"))
}

/// Accepts a bare address; a display name would need header encoding.
fn parse_mail_from(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let options = email_address::Options::default().without_domain_literal();
    let bare = !trimmed.contains(['<', '>', ' ', '"']);
    if bare && email_address::EmailAddress::parse_with_options(trimmed, options).is_ok() {
        Ok(trimmed.to_owned())
    } else {
        Err(format!(
            "expected a plain email address such as video@praxis.example, got {text:?}"
        ))
    }
}

fn parse_practice_name(text: &str) -> Result<String, String> {
    video_core::mail::check_practice_name(text)
}

fn parse_operator_name(text: &str) -> Result<String, String> {
    check_value(OperatorField::Name, text)
}

fn parse_operator_address(text: &str) -> Result<String, String> {
    check_value(OperatorField::Address, text)
}

fn parse_operator_email(text: &str) -> Result<String, String> {
    check_value(OperatorField::Email, text)
}

fn parse_data_protection_officer(text: &str) -> Result<String, String> {
    check_value(OperatorField::DataProtectionOfficer, text)
}

fn operator_option(field: OperatorField) -> &'static str {
    match field {
        OperatorField::Name => "--operator-name",
        OperatorField::Address => "--operator-address",
        OperatorField::Email => "--operator-email",
        OperatorField::DataProtectionOfficer => "--data-protection-officer",
    }
}

/// Checks that the operator options fit together; each value was checked
/// when it was parsed.
fn operator_from_args(args: &Args) -> anyhow::Result<Option<Operator>> {
    OperatorSettings {
        name: args.operator_name.clone(),
        address: args.operator_address.clone(),
        email: args.operator_email.clone(),
        data_protection_officer: args.data_protection_officer.clone(),
    }
    .check()
    .map_err(|error| anyhow::anyhow!(error.describe(operator_option)))
}

fn parse_retention(text: &str) -> Result<u32, String> {
    let days: u32 = text
        .parse()
        .map_err(|_| format!("expected a number of days, got {text:?}"))?;
    video_core::room::Retention::days(days).map(|retention| retention.as_days())
}

fn parse_mail_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("expected messages per second such as 1 or 0.5, got {text:?}"))?;
    video_core::morning::SendPolicy::interval_for_rate(rate).map(|_| rate)
}

/// Builds the TURN settings from `--turn-url` and `--turn-secret-file`,
/// which go together.
fn turn_server(
    urls: Vec<String>,
    secret_file: Option<PathBuf>,
) -> anyhow::Result<Option<TurnServer>> {
    let secret_file = match (urls.is_empty(), secret_file) {
        (true, None) => return Ok(None),
        (false, Some(file)) => file,
        (true, Some(_)) => anyhow::bail!("--turn-secret-file needs at least one --turn-url"),
        (false, None) => anyhow::bail!("--turn-url needs --turn-secret-file"),
    };
    let text = std::fs::read_to_string(&secret_file)
        .with_context(|| format!("cannot read --turn-secret-file {}", secret_file.display()))?;
    let secret = TurnSecret::new(&text).map_err(|error| {
        anyhow::anyhow!("--turn-secret-file {}: {error}", secret_file.display())
    })?;
    TurnServer::new(urls, secret)
        .map(Some)
        .map_err(|error| anyhow::anyhow!("--turn-url: {error}"))
}

fn init_tracing(format: LogFormat) {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let filter = log_filter(&directives);
    // Colours only on a terminal: in a log file or a pipe, ANSI escape codes
    // are noise.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.finish().with(filter).init(),
        LogFormat::Json => builder.json().finish().with(filter).init(),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler failed");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutdown requested; closing connections");
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let format = args.log_format;
    init_tracing(format);

    let config = match config_from(args) {
        Ok(config) => config,
        Err(error) => fail(format, "start-up failed", &error),
    };
    let server = match Server::bind(config).await {
        Ok(server) => server,
        Err(error) => fail(format, "start-up failed", &error),
    };

    // Logs contain no IP address, so the full address goes only to standard output.
    tracing::info!(port = server.address.port(), "video service started");
    // The banner goes to standard output so scripts and tests can read it.
    println!("Video service listening on http://{}", server.address);
    println!(
        "Open {}/ to create a room and start a call.",
        server.public_url
    );
    if let Some(generated) = &server.generated_token {
        println!("{}", token_line(generated));
    }

    match server.serve(shutdown_signal()).await {
        Ok(()) => tracing::info!("video service stopped"),
        Err(error) => fail(format, "video service failed", &error),
    }
}

/// Parses the command line and exits with status 2 on an invalid argument.
/// With `--log-format json` the error is one JSON log record, so that a log
/// collector can parse it. Otherwise clap prints its own message.
fn parse_args() -> Args {
    match Args::try_parse() {
        Ok(args) => args,
        Err(error) if error.use_stderr() && asks_for_json(std::env::args_os().skip(1)) => {
            init_tracing(LogFormat::Json);
            tracing::error!(error = argument_error(&error), "invalid arguments");
            std::process::exit(error.exit_code())
        }
        Err(error) => error.exit(),
    }
}

/// Returns whether the raw arguments select `--log-format json`. It reads
/// them without clap because clap has just rejected them.
fn asks_for_json(arguments: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut json = false;
    let mut arguments = arguments.peekable();
    while let Some(argument) = arguments.next() {
        if argument == "--" {
            break;
        } else if argument == "--log-format" {
            json = arguments.next().is_some_and(|value| value == "json");
        } else if argument == "--log-format=json" {
            json = true;
        } else if argument
            .to_str()
            .is_some_and(|text| text.starts_with("--log-format="))
        {
            json = false;
        }
    }
    json
}

/// Returns clap's message on one line, without its "error: " prefix, its
/// usage line and its hint to try --help.
fn argument_error(error: &clap::Error) -> String {
    let text = error.render().to_string();
    // Clap adds a usage line and a hint to try --help after the message.
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect();
    let joined = lines.join(" ");
    joined.strip_prefix("error: ").unwrap_or(&joined).to_owned()
}

/// Checks the options that depend on each other and builds the server's
/// settings from them.
fn config_from(args: Args) -> anyhow::Result<Config> {
    let operator = operator_from_args(&args)?;
    Ok(Config {
        listen: args.listen,
        data_dir: args.data_dir,
        dev_tokens: args.dev_tokens,
        public_url: args.public_url,
        clock: None,
        mail_from: args.mail_from,
        morning_time: args.morning_time,
        morning_interval: MORNING_INTERVAL,
        mail_interval: video_core::morning::SendPolicy::interval_for_rate(args.mail_rate)
            .map_err(anyhow::Error::msg)?,
        practice_name: args.practice_name,
        retention: video_core::room::Retention::days(args.retention_days)
            .map_err(anyhow::Error::msg)?,
        turn: turn_server(args.turn_urls, args.turn_secret_file)?,
        away_grace: video_core::signaling::AWAY_GRACE,
        max_connection_age: std::time::Duration::from_secs(args.max_connection_age),
        operator,
        trusted_proxies: args.trusted_proxies,
    })
}

/// Returns the banner line of the generated API token: the token when this
/// start created it, otherwise the path of the file that stores it.
fn token_line(generated: &GeneratedToken) -> String {
    if generated.created {
        format!("API token for practitioner \"local\": {}", generated.token)
    } else {
        format!(
            "API token for practitioner \"local\": in {}",
            generated.file.display()
        )
    }
}

/// Reports a failure once and exits with status 1: as a log record in JSON,
/// for a log collector, or as an error message with its causes in text.
fn fail(format: LogFormat, message: &str, error: &anyhow::Error) -> ! {
    match format {
        LogFormat::Json => tracing::error!(error = format!("{error:#}"), "{message}"),
        LogFormat::Text => eprintln!("Error: {error:?}"),
    }
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(options: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("video-local").chain(options.iter().copied()))
    }

    fn os(arguments: &[&str]) -> impl Iterator<Item = std::ffi::OsString> {
        arguments
            .iter()
            .map(std::ffi::OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn json_found_in_rejected_arguments() {
        assert!(asks_for_json(os(&[
            "--listen",
            "x",
            "--log-format",
            "json"
        ])));
        assert!(asks_for_json(os(&["--log-format=json", "--listen", "x"])));
        assert!(!asks_for_json(os(&["--listen", "x"])));
        assert!(!asks_for_json(os(&[
            "--log-format",
            "text",
            "--listen",
            "x"
        ])));
        assert!(!asks_for_json(os(&[
            "--log-format=json",
            "--log-format=text"
        ])));
        assert!(!asks_for_json(os(&["--log-format"])));
        assert!(!asks_for_json(os(&["--", "--log-format", "json"])));
    }

    #[test]
    fn argument_error_one_line() {
        let error = parse(&["--listen", "nowhere"]).unwrap_err();
        let message = argument_error(&error);
        assert!(
            message.starts_with("invalid value 'nowhere' for '--listen"),
            "{message}"
        );
        assert!(message.contains("such as 127.0.0.1:8080"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert!(!message.contains("--help"), "{message}");

        let unknown = parse(&["--bogus"]).unwrap_err();
        let message = argument_error(&unknown);
        assert!(
            message.starts_with("unexpected argument '--bogus'"),
            "{message}"
        );
        assert!(!message.contains("Usage"), "{message}");
    }

    #[test]
    fn listen_needs_ip_address_and_port() {
        for text in ["localhost:8080", "0.0.0.0", "8080"] {
            let error = parse_listen(text).unwrap_err();
            assert!(error.contains("IP address with a port"), "{error}");
        }
        assert_eq!(
            parse_listen("[::1]:0").unwrap(),
            "[::1]:0".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn token_printed_only_when_created() {
        let mut generated = GeneratedToken {
            token: "0123456789abcdef0123456789abcdef".to_owned(),
            file: PathBuf::from("data/dev-token"),
            created: true,
        };
        assert_eq!(
            token_line(&generated),
            "API token for practitioner \"local\": 0123456789abcdef0123456789abcdef"
        );

        generated.created = false;
        assert_eq!(
            token_line(&generated),
            "API token for practitioner \"local\": in data/dev-token"
        );
    }

    #[test]
    fn operator_options_build_operator() {
        let args = parse(&[
            "--operator-name",
            " Praxis Weber ",
            "--operator-address",
            "Hauptstraße 1, 10115 Berlin",
            "--operator-email",
            "datenschutz@praxis.example",
            "--data-protection-officer",
            "Dr. Jana Roth, dsb@praxis.example",
        ])
        .unwrap();
        let operator = operator_from_args(&args).unwrap().unwrap();
        assert_eq!(operator.name, "Praxis Weber");
        assert_eq!(
            operator.address.as_deref(),
            Some("Hauptstraße 1, 10115 Berlin")
        );
        assert_eq!(
            operator.email.as_deref(),
            Some("datenschutz@praxis.example")
        );
        assert_eq!(
            operator.data_protection_officer.as_deref(),
            Some("Dr. Jana Roth, dsb@praxis.example")
        );
    }

    #[test]
    fn no_operator_options_is_no_operator() {
        let args = parse(&[]).unwrap();
        assert_eq!(operator_from_args(&args).unwrap(), None);
    }

    #[test]
    fn invalid_operator_values_are_rejected() {
        let too_long = "x".repeat(201);
        let cases = [
            (
                "--operator-name",
                "Praxis\nWeber",
                "control and bidirectional formatting characters are not allowed",
            ),
            (
                "--operator-name",
                too_long.as_str(),
                "expected 1 to 200 characters",
            ),
            ("--operator-name", "  ", "expected 1 to 200 characters"),
            (
                "--operator-address",
                "Hauptstraße 1\r\n10115 Berlin",
                "write the value on one line",
            ),
            (
                "--operator-email",
                "Praxis <kontakt@praxis.example>",
                "expected a plain email address",
            ),
            ("--data-protection-officer", "Dr. Roth \u{202E}", "U+202E"),
        ];
        for (option, value, expected) in cases {
            let message = parse(&[option, value]).unwrap_err().to_string();
            assert!(message.contains(option), "{option} {value:?}: {message}");
            assert!(message.contains(expected), "{option} {value:?}: {message}");
        }
    }

    #[test]
    fn operator_contact_without_name_is_rejected() {
        let args = parse(&["--operator-email", "kontakt@praxis.example"]).unwrap();
        let message = operator_from_args(&args).unwrap_err().to_string();
        assert_eq!(
            message,
            "--operator-email needs --operator-name, because the privacy page names the \
             operator with the contact"
        );
    }

    #[test]
    fn operator_name_without_contact_is_rejected() {
        let args = parse(&["--operator-name", "Praxis Weber"]).unwrap();
        let message = operator_from_args(&args).unwrap_err().to_string();
        assert!(
            message.starts_with("--operator-name needs --operator-address or --operator-email"),
            "{message}"
        );
    }
}
