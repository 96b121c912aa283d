//! Logs must never contain link tokens, API tokens, names, titles, email
//! addresses, patient ids, SDP or IP addresses. These tests capture
//! everything the server logs with the server's own filter at TRACE level,
//! during a call and during requests to the rooms API, and search it for
//! each secret.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
            .with(video_local::log_filter("trace"))
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
    assert_fields_documented(&log);
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
    assert_fields_documented(&log);
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

/// What the `@connections` double of the API Gateway Management API received.
type Posts = Arc<Mutex<Vec<(String, Value)>>>;

async fn record_post(
    axum::extract::State(posts): axum::extract::State<Posts>,
    axum::extract::Path((_stage, id)): axum::extract::Path<(String, String)>,
    body: String,
) -> axum::http::StatusCode {
    let message = serde_json::from_str(&body).unwrap_or(Value::Null);
    posts.lock().unwrap().push((id, message));
    axum::http::StatusCode::OK
}

/// The client's address in the events. It is a documentation address and
/// only a string here, because nothing connects to it.
const SOURCE_IP: &str = "203.0.113.7";

/// Builds an API Gateway WebSocket event from a client at `SOURCE_IP`.
fn lambda_event(route: &str, connection: &str, body: Option<&Value>) -> Value {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let mut event = json!({
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": "ext-1",
            "requestTime": "04/Dec/2026:10:00:00 +0000",
            "messageDirection": "IN",
            "stage": "prod",
            "connectedAt": 1_796_378_400_000_i64,
            "requestTimeEpoch": 1_796_378_400_500_i64,
            "identity": {"sourceIp": SOURCE_IP, "userAgent": "Mozilla/5.0 Testbrowser"},
            "requestId": "request-1",
            "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
            "connectionId": connection,
            "apiId": "abc123"
        },
        "isBase64Encoded": false
    });
    if route == "$connect" {
        event["headers"] = json!({
            "Origin": "https://video.example.test",
            "X-Forwarded-For": SOURCE_IP,
        });
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event
}

/// An offer as a browser writes it, with values that must stay out of logs.
const FAKE_SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 198.51.100.23\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 198.51.100.23\r\n\
a=ice-ufrag:Qx7v\r\na=ice-pwd:ZuL4kq8PwN2mRt6YbVh3sEjC\r\n\
a=fingerprint:sha-256 7C:3A:9F:E2:41:0B:D8:66:15:AF:C3:92:5E:7D:08:B4:21:6C:F9:3E:AA:57:0D:C1:84:2B:6F:E9:13:70:9A:DE\r\n\
a=setup:actpass\r\na=mid:0\r\n";

/// An ICE candidate with an IPv6 address, also from the documentation range.
const FAKE_CANDIDATE: &str = "candidate:842163049 1 udp 1677729535 2001:db8::23 61543 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Qx7v";

/// Returns the IP addresses in `line`: runs of hex digits, dots and colons
/// that are separate from words and parse as an address, alone or with a
/// port, so that Rust paths (`video_core::http`) and times do not count.
fn ip_addresses_in(line: &str) -> Vec<String> {
    let is_part = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = line.chars().collect();
    let mut found = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        if !is_part(chars[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < chars.len() && is_part(chars[end]) {
            end += 1;
        }
        let apart = (start == 0 || !is_word(chars[start - 1]))
            && (end == chars.len() || !is_word(chars[end]));
        let run: String = chars[start..end].iter().collect();
        let run = run.trim_end_matches(['.', ':']);
        let without_port = run.rsplit_once(':').map_or(run, |(address, _)| address);
        if apart
            && (run.parse::<std::net::IpAddr>().is_ok()
                || without_port.parse::<std::net::Ipv4Addr>().is_ok())
        {
            found.push(run.to_owned());
        }
        start = end;
    }
    found
}

/// Returns the names of the structured fields in `log`: `name=value` in the
/// text format (span fields in braces, event fields after the message), and
/// the keys of `fields` and of the spans in the JSON format.
fn field_names(log: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in log.lines() {
        if let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) {
            let mut objects: Vec<&Value> = ["fields", "span"]
                .into_iter()
                .filter_map(|key| record.get(key))
                .collect();
            if let Some(spans) = record.get("spans").and_then(Value::as_array) {
                objects.extend(spans);
            }
            for object in objects.into_iter().filter_map(Value::as_object) {
                names.extend(
                    object
                        .keys()
                        .filter(|key| !matches!(key.as_str(), "message" | "name"))
                        .cloned(),
                );
            }
            continue;
        }
        for (index, _) in line.match_indices('=') {
            let before = &line[..index];
            let name: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let preceded = before[..before.len() - name.len()].chars().last();
            if !name.is_empty() && matches!(preceded, Some(' ' | '{' | ',')) {
                names.insert(name);
            }
        }
    }
    names
}

/// Fails when `log` has a field that docs/privacy.md does not list.
fn assert_fields_documented(log: &str) {
    let doc_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/privacy.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let documented: std::collections::BTreeSet<String> = doc
        .lines()
        .skip_while(|line| line.trim() != "## Logs")
        .skip(1)
        .take_while(|line| !line.starts_with('#'))
        .filter_map(|line| {
            line.strip_prefix("| `")?
                .split('`')
                .next()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        documented.len() > 10,
        "the log fields of docs/privacy.md: {documented:?}"
    );
    let undocumented: Vec<String> = field_names(log)
        .into_iter()
        .filter(|name| !documented.contains(name))
        .collect();
    assert!(
        undocumented.is_empty(),
        "log fields missing from docs/privacy.md: {undocumented:?}"
    );
}

#[test]
fn field_names_read_both_formats() {
    let text = "INFO signaling{connection_id=c1}: video_core: participant joined room_id=r1 peer_id=p1 note=\"a = b\"";
    let json = r#"{"level":"INFO","fields":{"message":"left","room_id":"r1","code":"x"},"span":{"name":"signaling","connection_id":"c1"}}"#;
    let names: Vec<String> = field_names(&format!("{text}\n{json}"))
        .into_iter()
        .collect();
    assert_eq!(
        names,
        ["code", "connection_id", "note", "peer_id", "room_id"]
    );
}

/// Returns "secret: line" for each line that contains one of `secrets` or
/// an IP address, so an empty list means a clean log.
fn findings(log: &str, secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for line in log.lines() {
        for secret in secrets {
            if line.contains(secret) {
                found.push(format!("{secret:?}: {line}"));
            }
        }
        for address in ip_addresses_in(line) {
            found.push(format!("IP address {address}: {line}"));
        }
    }
    found
}

#[test]
fn search_finds_secrets_and_addresses() {
    let clean = "2026-12-04T10:00:00.123456Z DEBUG signaling{connection_id=c1}: video_core::signaling::apigateway: posted version=1.2.3 took=10:15";
    assert_eq!(findings(clean, &["Quirin"]), Vec::<String>::new());
    for (line, expected) in [
        ("name=Quirin Quast", "\"Quirin\""),
        ("client 203.0.113.7 connected", "IP address 203.0.113.7"),
        ("source_ip=\"203.0.113.7\"", "IP address 203.0.113.7"),
        ("peer 127.0.0.1:54321", "IP address 127.0.0.1:54321"),
        ("remote [::1]:443", "IP address ::1"),
        ("candidate 2001:db8::23 61543", "IP address 2001:db8::23"),
    ] {
        let found = findings(line, &["Quirin"]);
        assert!(
            found.iter().any(|finding| finding.starts_with(expected)),
            "{line:?} gives {found:?}"
        );
    }
}

/// Runs a call through the signaling Lambda function's handler, with
/// DynamoDB in moto server, and searches everything logged at TRACE.
/// The subscriber is this thread's only, so the local server tests, which
/// log to the global one, neither add to nor read from this capture.
#[tokio::test]
async fn signaling_function_logs_no_secrets_or_addresses() {
    use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
    use video_core::store::RoomStore;
    use video_tests::aws::{
        Moto, create_connections_table, create_rooms_table, dynamodb_client, management_config,
    };

    // The global subscriber also forwards records of the `log` crate, as
    // the function's own does.
    let _ = log_capture();
    let captured = Captured::default();
    let writer = captured.clone();
    // What `init_lambda_tracing` sets up with AWS_LAMBDA_LOG_LEVEL=TRACE and
    // the template's JSON format.
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_target(false)
        .without_time()
        .json()
        .with_writer(move || writer.clone())
        .finish()
        .with(video_core::logging::log_filter("TRACE"))
        .set_default();

    let posts = Posts::default();
    let app = axum::Router::new()
        .route(
            "/{stage}/@connections/{id}",
            axum::routing::post(record_post)
                .delete(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/prod", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let moto = Moto::start();
    let dynamodb = dynamodb_client(&moto.endpoint);
    create_rooms_table(&dynamodb, "rooms").await;
    create_connections_table(&dynamodb, "connections").await;
    let zone = video_tests::daytime_zone();
    let request = video_core::room::CreateRoomRequest {
        date: Some(video_core::validity::today_in(zone, chrono::Utc::now()).to_string()),
        time_zone: Some(zone.name().to_owned()),
        title: Some("Paartherapie Ulbricht-Vogel".to_owned()),
        invitees: Some(vec![video_core::room::InviteeRequest {
            name: Some("Ulrike Ulbricht".to_owned()),
            email: Some("ulrike.ulbricht@example.org".to_owned()),
            locale: None,
        }]),
        ..Default::default()
    };
    let room = request
        .into_room("dr-a", chrono::Utc::now(), Default::default())
        .unwrap();
    video_core::store::dynamodb::DynamoRooms::new(dynamodb.clone(), "rooms")
        .insert(&room)
        .await
        .unwrap();
    let links = video_core::link::LinkKey::generate();
    let token = links.token_for(&room.id, &room.link_salt);
    let settings = signaling::Settings {
        rooms_table: "rooms".to_owned(),
        connections_table: "connections".to_owned(),
        link_key: links,
        callback_url: Some(callback),
        allowed_origin: Some("https://video.example.test".to_owned()),
        ice_servers: Vec::new(),
        turn: None,
        away_grace: std::time::Duration::from_secs(1),
    };
    let handler = signaling::Handler::new(settings, dynamodb, management_config());
    let send = async |route: &str, connection: &str, body: Option<Value>| {
        let request: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(lambda_event(route, connection, body.as_ref()))
                .expect("the event parses");
        let status = handler.handle(request).await.status_code;
        assert_eq!(status, 200, "{route} of {connection}");
    };
    let last_post_to = |connection: &str| {
        posts
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(id, _)| id == connection)
            .map(|(_, message)| message.clone())
            .unwrap_or(Value::Null)
    };

    send("$connect", "c1", None).await;
    send(
        "$default",
        "c1",
        Some(json!({"type": "check", "v": 1, "token": token})),
    )
    .await;
    send(
        "$default",
        "c1",
        Some(json!({"type": "join", "v": 1, "token": token, "name": "Quirin Quast"})),
    )
    .await;
    let first = last_post_to("c1");
    assert_eq!(first["type"], "joined", "{first}");
    send("$connect", "c2", None).await;
    send(
        "$default",
        "c2",
        Some(json!({"type": "join", "v": 1, "token": token, "name": "Zora Zimmermann"})),
    )
    .await;
    let second = last_post_to("c2");
    assert_eq!(second["type"], "joined", "{second}");

    let offer = json!({"type": "signal", "to": first["peerId"],
        "data": {"description": {"type": "offer", "sdp": FAKE_SDP}}});
    send("$default", "c2", Some(offer)).await;
    assert_eq!(last_post_to("c1")["data"]["description"]["sdp"], FAKE_SDP);
    let answer = json!({"type": "signal", "to": second["peerId"],
        "data": {"description": {"type": "answer", "sdp": FAKE_SDP}}});
    send("$default", "c1", Some(answer)).await;
    let candidate = json!({"type": "signal", "to": second["peerId"],
        "data": {"candidate": {"candidate": FAKE_CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0}}});
    send("$default", "c1", Some(candidate)).await;
    assert_eq!(
        last_post_to("c2")["data"]["candidate"]["candidate"],
        FAKE_CANDIDATE
    );
    send("$default", "c2", Some(json!({"type": "ice-servers"}))).await;
    send("$default", "c2", Some(json!({"type": "ping"}))).await;

    // A forged link and a malformed message take the error paths.
    send("$connect", "c3", None).await;
    send(
        "$default",
        "c3",
        Some(json!({"type": "join", "v": 1, "token": "forged.token-7f3e", "name": "Quirin Quast"})),
    )
    .await;
    assert_eq!(last_post_to("c3")["type"], "error");
    send(
        "$default",
        "c3",
        Some(json!({"type": "signal", "sdp": FAKE_SDP})),
    )
    .await;

    send("$default", "c2", Some(json!({"type": "leave"}))).await;
    send("$disconnect", "c2", None).await;
    assert_eq!(last_post_to("c1")["type"], "peer-left");
    send("$default", "c1", Some(json!({"type": "leave"}))).await;
    send("$disconnect", "c1", None).await;
    send("$disconnect", "c3", None).await;
    drop(moto);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_fields_documented(&log);
    assert!(
        log.contains("participant joined") && log.contains("participant left"),
        "the capture works:\n{log}"
    );
    assert!(
        log.lines()
            .any(|line| line.contains("DEBUG") || line.contains("TRACE")),
        "the capture has DEBUG or TRACE lines:\n{log}"
    );
    let tag = token.split_once('.').unwrap().1;
    let found = findings(
        &log,
        &[
            &token,
            tag,
            "forged.token-7f3e",
            "Quirin",
            "Quast",
            "Zora",
            "Zimmermann",
            "Ulrike",
            "Ulbricht",
            "example.org",
            "Paartherapie",
            "v=0",
            "a=fingerprint",
            "a=ice-ufrag",
            "a=ice-pwd",
            "candidate:",
            "Qx7v",
            "ZuL4kq8PwN2mRt6YbVh3sEjC",
            "7C:3A:9F:E2",
            "Testbrowser",
            SOURCE_IP,
            "198.51.100.23",
            "2001:db8::23",
        ],
    );
    assert!(
        found.is_empty(),
        "the log ({} lines) contains secrets:\n{}",
        log.lines().count(),
        found.join("\n")
    );
}
