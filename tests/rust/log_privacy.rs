//! Logs must never contain link tokens, names, email addresses, SDP or IP
//! addresses. This test captures everything the server logs with the
//! server's own filter at TRACE level during a call, and searches it for
//! each secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use video_core::clock::FixedClock;
use video_tests::{
    RunningServer, TOKEN_A, connect, local_config, receive_json, send_json, test_now,
};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_hold_no_tokens_names_emails_or_sdp() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(video_local::log_filter("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(
        dir.path(),
        Some(Arc::new(FixedClock(test_now()))),
    ))
    .await;

    let body = json!({
        "date": "2026-12-04",
        "title": "Therapiesitzung Zimmermann",
        "invitees": [{"name": "Zora Zimmermann", "email": "zora.zimmermann@example.org"}]
    });
    let room = post_room(&server, &body.to_string()).await;
    let token = room["joinUrl"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned();

    let mut first = connect(server.address).await;
    send_json(
        &mut first,
        json!({"type": "join", "v": 1, "token": token, "name": "Quirin Quast"}),
    )
    .await;
    let first_joined = receive_json(&mut first).await;
    let mut second = connect(server.address).await;
    send_json(
        &mut second,
        json!({"type": "join", "v": 1, "token": token, "name": "Zora Zimmermann"}),
    )
    .await;
    receive_json(&mut second).await;
    receive_json(&mut first).await;
    let offer = json!({"description": {"type": "offer", "sdp": "v=0 o=SECRET-SDP-LINE"}});
    send_json(
        &mut second,
        json!({"type": "signal", "to": first_joined["peerId"], "data": offer}),
    )
    .await;
    receive_json(&mut first).await;
    send_json(
        &mut second,
        json!({"type": "join", "v": 1, "token": "forged.token", "name": "Zora Zimmermann"}),
    )
    .await;
    receive_json(&mut second).await;
    drop(second);
    receive_json(&mut first).await;
    server.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("participant joined"),
        "the capture works:\n{log}"
    );
    let tag = token.split_once('.').unwrap().1;
    for secret in [
        "127.0.0.1",
        tag,
        "Quirin",
        "Zimmermann",
        "zora.zimmermann@example.org",
        "SECRET-SDP",
        "forged.token",
        TOKEN_A,
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}

async fn post_room(server: &RunningServer, body: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let request = format!(
        "POST /api/rooms HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN_A}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.address,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}
