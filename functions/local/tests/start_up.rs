//! Runs the `video-local` binary with options that cannot work and checks
//! its output: one error message, exit status 1 (2 for options that cannot
//! be parsed) and no new files.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary and waits for it to exit. A server that starts in spite
/// of the options is stopped after 20 s, and the test fails.
fn run(data_dir: &Path, options: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_video-local"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(options)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the video-local binary runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "video-local started instead of failing: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the binary with `options` on a new data directory, checks the exit
/// status and that the failed start created no data directory, and returns
/// standard error.
fn failed_start(options: &[&str], code: i32) -> String {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let output = run(&data_dir, options);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{message}");
    assert!(
        !data_dir.exists(),
        "a failed start creates no data directory"
    );
    message
}

#[test]
fn port_in_use_is_reported_once() {
    let occupied = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = occupied.local_addr().unwrap().to_string();

    let message = failed_start(&["--listen", &address], 1);
    assert_eq!(
        message.matches("cannot listen on").count(),
        1,
        "the error appears once: {message}"
    );
    assert!(message.contains("--listen"), "names the option: {message}");
}

#[test]
fn public_url_with_a_path_is_rejected() {
    let options = [
        "--listen",
        "127.0.0.1:0",
        "--public-url",
        "https://video.example.org/praxis/",
    ];
    let message = failed_start(&options, 1);
    assert!(message.contains("without a path"), "{message}");
}

#[test]
fn json_log_reports_the_failure_as_one_record() {
    let occupied = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = occupied.local_addr().unwrap().to_string();

    let message = failed_start(&["--listen", &address, "--log-format", "json"], 1);
    let failures: Vec<&str> = message
        .lines()
        .filter(|line| line.contains("cannot listen on"))
        .collect();
    assert_eq!(failures.len(), 1, "{message}");
    assert!(failures[0].starts_with('{'), "a JSON record: {message}");
    assert!(failures[0].contains("\"start-up failed\""), "{message}");
}

/// Parses each line of standard error as one JSON record.
fn json_records(message: &str) -> Vec<serde_json::Value> {
    message
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

#[test]
fn json_log_option_conflict() {
    let options = [
        "--listen",
        "127.0.0.1:0",
        "--turn-url",
        "turn:127.0.0.1:3478",
        "--log-format",
        "json",
    ];
    let message = failed_start(&options, 1);
    let records = json_records(&message);
    assert_eq!(records.len(), 1, "{message}");
    assert_eq!(records[0]["level"], "ERROR", "{message}");
    assert_eq!(records[0]["fields"]["message"], "start-up failed");
    let error = records[0]["fields"]["error"].as_str().unwrap();
    assert!(error.contains("--turn-secret-file"), "{message}");
}

#[test]
fn json_log_invalid_argument() {
    let message = failed_start(&["--log-format", "json", "--listen", "nowhere"], 2);
    let records = json_records(&message);
    assert_eq!(records.len(), 1, "{message}");
    assert_eq!(records[0]["fields"]["message"], "invalid arguments");
    let error = records[0]["fields"]["error"].as_str().unwrap();
    assert!(error.contains("'--listen <ADDR>'"), "{message}");
    assert!(error.contains("such as 127.0.0.1:8080"), "{message}");

    let message = failed_start(&["--listen", "nowhere"], 2);
    assert!(
        message.starts_with("error: invalid value"),
        "clap's own words: {message}"
    );
}

#[test]
fn invalid_dev_token_creates_no_files() {
    let options = ["--listen", "127.0.0.1:0", "--dev-token", "short=doc"];
    let message = failed_start(&options, 1);
    assert!(message.contains("invalid --dev-token"), "{message}");
}

#[test]
fn short_token_file_creates_no_link_key() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::write(data_dir.join("dev-token"), "short\n").unwrap();

    let output = run(&data_dir, &["--listen", "127.0.0.1:0"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("dev-token does not contain a token"),
        "{message}"
    );
    assert!(
        !data_dir.join("link-key").exists(),
        "a failed start writes no link key"
    );
}
