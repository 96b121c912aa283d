//! Logs must never contain link tokens, API tokens, names, titles, email
//! addresses, patient ids, SDP or IP addresses. These tests capture
//! everything the server logs with the server's own filter at TRACE level,
//! during a call and during requests to the rooms API, and search it for
//! each secret.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};
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

/// Installs the capturing subscriber on first use and returns the capture.
/// The tests run in parallel, so each one searches the other's lines too.
fn log_capture() -> &'static Captured {
    static CAPTURE: OnceLock<Captured> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter(video_local::log_filter("trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        captured
    })
}

#[tokio::test]
async fn logs_hold_no_tokens_names_emails_or_sdp() {
    let captured = log_capture();

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
    let (_, room) = api_call(&server, "POST", "/api/rooms", TOKEN_A, Some(&body)).await;
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

#[tokio::test]
async fn rooms_api_logs_no_personal_data_or_tokens() {
    let captured = log_capture();
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(
        dir.path(),
        Some(Arc::new(FixedClock(test_now()))),
    ))
    .await;

    // 11:00 in Berlin on 2026-12-04: today's invitations go out at once.
    let room_body = json!({
        "date": "2026-12-04",
        "startTime": "15:00",
        "title": "Verhaltenstherapie Xaver Yilmaz",
        "patientId": "PAT-XY-0815",
        "invitees": [{"name": "Xaver Yilmaz", "email": "xaver.yilmaz@example.org", "locale": "de"}]
    });
    let (status, room) = api_call(&server, "POST", "/api/rooms", TOKEN_A, Some(&room_body)).await;
    assert_eq!(status, 201, "{room}");
    let room_path = format!("/api/rooms/{}", room["id"].as_str().unwrap());
    let link_token = room["joinUrl"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned();

    let (status, list) = api_call(&server, "GET", "/api/rooms", TOKEN_A, None).await;
    assert_eq!(status, 200, "{list}");
    let (status, _) = api_call(&server, "GET", &room_path, TOKEN_A, None).await;
    assert_eq!(status, 200);
    let resend = format!("{room_path}/invitations");
    let (status, resent) = api_call(&server, "POST", &resend, TOKEN_A, None).await;
    assert_eq!(status, 200, "{resent}");

    let preference = "/api/patients/PAT-XY-0815/video-preference";
    let (status, _) = api_call(
        &server,
        "PUT",
        preference,
        TOKEN_A,
        Some(&json!({"alwaysVideo": true})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = api_call(&server, "GET", preference, TOKEN_A, None).await;
    assert_eq!(status, 200);

    let entry = "/api/calendar-entries/termin-4711";
    let mut entry_body = json!({
        "date": "2026-12-04",
        "startTime": "16:00",
        "title": "Nachsorge Yilmaz",
        "patientId": "PAT-XY-0815",
        "video": false,
        "invitees": [{"name": "Wilma Yilmaz", "email": "wilma.yilmaz@example.org"}]
    });
    let (status, reply) = api_call(&server, "PUT", entry, TOKEN_A, Some(&entry_body)).await;
    assert_eq!(status, 201, "always video makes a room: {reply}");
    entry_body["date"] = json!("2026-12-05");
    let (status, reply) = api_call(&server, "PUT", entry, TOKEN_A, Some(&entry_body)).await;
    assert_eq!(status, 200, "{reply}");
    let (status, _) = api_call(&server, "DELETE", entry, TOKEN_A, None).await;
    assert_eq!(status, 204);

    // Rejected requests: an invalid address, and a wrong token.
    let invalid = json!({
        "date": "2026-12-04",
        "invitees": [{"name": "Xaver Yilmaz", "email": "xaver.yilmaz@@example.org"}]
    });
    let (status, _) = api_call(&server, "POST", "/api/rooms", TOKEN_A, Some(&invalid)).await;
    assert_eq!(status, 422);
    let wrong_token = "wrong-token-5b9e3d1c7a";
    let (status, _) = api_call(&server, "GET", "/api/rooms", wrong_token, None).await;
    assert_eq!(status, 401);

    let (status, _) = api_call(&server, "DELETE", &room_path, TOKEN_A, None).await;
    assert_eq!(status, 204);
    server.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "room created",
        "invitations resent",
        "video preference stored",
        "room deleted",
    ] {
        assert!(
            log.contains(expected),
            "the capture lacks {expected:?}:\n{log}"
        );
    }
    // The room id before the dot is logged on purpose; the tag after it is
    // the secret part of the link.
    let tag = link_token.split_once('.').unwrap().1;
    for secret in [
        "xaver.yilmaz",
        "wilma.yilmaz",
        "example.org",
        "Xaver",
        "Wilma",
        "Yilmaz",
        "Verhaltenstherapie",
        "Nachsorge",
        "PAT-XY-0815",
        TOKEN_A,
        wrong_token,
        &link_token,
        tag,
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}

/// Sends one request to the rooms API over TCP and returns the status and
/// the JSON body (`Value::Null` when there is none).
async fn api_call(
    server: &RunningServer,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.address,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
