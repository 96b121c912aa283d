//! Black-box tests of the local server on port 0: persistence, link secrecy
//! and the signaling WebSocket.

use std::sync::Arc;

use serde_json::{Value, json};
use video_core::clock::{Clock, FixedClock, ManualClock};
use video_core::room::{CreateRoomRequest, Retention};
use video_core::store::RoomStore;
use video_core::store::embedded::EmbeddedStore;
use video_tests::{
    Received, RunningServer, Socket, TOKEN_A, connect, local_config, receive, receive_json,
    send_json, send_text, test_now,
};

fn fixed_clock() -> Option<Arc<dyn Clock>> {
    Some(Arc::new(FixedClock(test_now())))
}

async fn start(dir: &std::path::Path) -> RunningServer {
    RunningServer::start(local_config(dir, fixed_clock())).await
}

/// Creates a room through the HTTP API and returns its JSON.
async fn create_room(server: &RunningServer, date: &str) -> Value {
    let client = reqwest_free::Client;
    client
        .post_json(server, "/api/rooms", TOKEN_A, &json!({ "date": date }))
        .await
}

/// A tiny HTTP/1.1 client over a TCP stream, enough for these tests and free
/// of another HTTP stack.
mod reqwest_free {
    use serde_json::Value;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Client;

    impl Client {
        pub async fn request(
            &self,
            server: &super::RunningServer,
            method: &str,
            path: &str,
            token: &str,
            body: Option<&Value>,
        ) -> (u16, String) {
            let mut stream = tokio::net::TcpStream::connect(server.address)
                .await
                .unwrap();
            let body_text = body.map(Value::to_string).unwrap_or_default();
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body_text}",
                server.address,
                body_text.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            let status = response[9..12].parse().unwrap();
            let body = response
                .split_once("\r\n\r\n")
                .map(|(_, body)| body.to_owned())
                .unwrap_or_default();
            (status, body)
        }

        pub async fn post_json(
            &self,
            server: &super::RunningServer,
            path: &str,
            token: &str,
            body: &Value,
        ) -> Value {
            let (status, text) = self.request(server, "POST", path, token, Some(body)).await;
            assert_eq!(status, 201, "{text}");
            serde_json::from_str(&text).unwrap()
        }
    }
}

fn token_of(room: &Value) -> String {
    room["joinUrl"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned()
}

async fn join(server: &RunningServer, token: &str, name: &str) -> (Socket, Value) {
    let mut socket = connect(server.address).await;
    send_json(
        &mut socket,
        json!({"type": "join", "v": 1, "token": token, "name": name}),
    )
    .await;
    let reply = receive_json(&mut socket).await;
    (socket, reply)
}

async fn expect_closed(socket: &mut Socket, code: u16) {
    match receive(socket).await {
        Received::Closed(received) => assert_eq!(received, Some(code)),
        Received::Json(value) => panic!("expected close {code}, got {value}"),
    }
}

#[tokio::test]
async fn generated_token_works_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = local_config(dir.path(), fixed_clock());
        config.dev_tokens.clear();
        config
    };
    let server = RunningServer::start(config()).await;
    let token = server
        .generated_token
        .clone()
        .expect("a token is generated");
    assert_eq!(token.len(), 32);
    assert!(server.token_created, "the first start creates the token");
    let (status, body) = reqwest_free::Client
        .request(&server, "GET", "/api/rooms", &token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;

    let server = RunningServer::start(config()).await;
    assert_eq!(server.generated_token.as_deref(), Some(token.as_str()));
    assert!(!server.token_created, "a restart reads the kept token");
    server.stop().await;
}

#[tokio::test]
async fn rooms_and_links_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let room = create_room(&server, "2026-12-04").await;
    server.stop().await;

    let server = start(dir.path()).await;
    let path = format!("/api/rooms/{}", room["id"].as_str().unwrap());
    let (status, body) = reqwest_free::Client
        .request(&server, "GET", &path, TOKEN_A, None)
        .await;
    assert_eq!(status, 200, "{body}");
    let reloaded: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(token_of(&reloaded), token_of(&room));
    let (_socket, joined) = join(&server, &token_of(&room), "Anna").await;
    assert_eq!(joined["type"], "joined");
    server.stop().await;
}

#[tokio::test]
async fn database_copy_alone_yields_no_working_link() {
    let original = tempfile::tempdir().unwrap();
    let server = start(original.path()).await;
    let room = create_room(&server, "2026-12-04").await;
    let token = token_of(&room);
    server.stop().await;

    let database = std::fs::read(original.path().join("rooms.redb")).unwrap();
    let tag = token.split_once('.').unwrap().1;
    assert!(
        !database
            .windows(tag.len())
            .any(|window| window == tag.as_bytes()),
        "the database holds the link tag"
    );

    let copy = tempfile::tempdir().unwrap();
    std::fs::write(copy.path().join("rooms.redb"), &database).unwrap();
    let server = start(copy.path()).await;
    let path = format!("/api/rooms/{}", room["id"].as_str().unwrap());
    let (status, body) = reqwest_free::Client
        .request(&server, "GET", &path, TOKEN_A, None)
        .await;
    assert_eq!(status, 200, "the copy holds the room");
    let copied: Value = serde_json::from_str(&body).unwrap();
    assert_ne!(token_of(&copied), token);
    let (mut socket, reply) = join(&server, &token, "Mallory").await;
    assert_eq!(reply["code"], "invalid-link");
    expect_closed(&mut socket, 4001).await;
    server.stop().await;
}

#[tokio::test]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path(), fixed_clock());
    config.dev_tokens.clear();
    let server = RunningServer::start(config).await;
    for file in ["link-key", "rooms.redb", "dev-token"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    server.stop().await;
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn data_directories_are_owner_only() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("practice").join("data");
    let server = start(&data).await;
    server.stop().await;
    assert_eq!(mode_of(&data), 0o700, "a new data directory");
    assert_eq!(mode_of(&data.join("outbox")), 0o700, "a new outbox");
}

#[tokio::test]
async fn open_data_directories_are_restricted_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path(), fixed_clock());
    config.dev_tokens.clear();
    RunningServer::start(config.clone()).await.stop().await;

    // As after a copy or an unpacked backup with the usual umask.
    let set_mode = |name: &str, mode: u32| {
        let path = dir.path().join(name);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    set_mode("", 0o755);
    set_mode("outbox", 0o755);
    for file in ["link-key", "dev-token", "rooms.redb"] {
        set_mode(file, 0o644);
    }

    let server = RunningServer::start(config).await;
    assert_eq!(mode_of(dir.path()), 0o700, "the data directory");
    assert_eq!(mode_of(&dir.path().join("outbox")), 0o700, "the outbox");
    for file in ["link-key", "dev-token", "rooms.redb"] {
        assert_eq!(mode_of(&dir.path().join(file)), 0o600, "{file}");
    }
    server.stop().await;
}

/// Returns the call seconds of the room with `patient`, and whether a
/// stretch of call is running, read from the patient's data.
async fn call_of(server: &RunningServer, patient: &str) -> (i64, bool) {
    let (status, body) = reqwest_free::Client
        .request(
            server,
            "GET",
            &format!("/api/patients/{patient}/data"),
            TOKEN_A,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let data: Value = serde_json::from_str(&body).unwrap();
    let room = &data["rooms"][0];
    (
        room["callSeconds"].as_i64().unwrap(),
        room.get("callRunningSince")
            .is_some_and(|since| !since.is_null()),
    )
}

#[tokio::test]
async fn stop_ends_running_call_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(test_now()));
    let config = local_config(dir.path(), Some(clock.clone()));
    let server = RunningServer::start(config.clone()).await;
    let room = reqwest_free::Client
        .post_json(
            &server,
            "/api/rooms",
            TOKEN_A,
            &json!({"date": "2026-12-04", "patientId": "P-stop"}),
        )
        .await;
    let token = token_of(&room);
    let (_anna, _) = join(&server, &token, "Anna").await;
    let (_ben, _) = join(&server, &token, "Ben").await;
    for _ in 0..100 {
        if call_of(&server, "P-stop").await.1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(call_of(&server, "P-stop").await.1, "the call runs");

    clock.advance(chrono::Duration::minutes(10));
    server.stop().await;
    clock.advance(chrono::Duration::hours(2));

    let server = RunningServer::start(config).await;
    assert_eq!(
        call_of(&server, "P-stop").await,
        (600, false),
        "the call ended when the server stopped"
    );
    server.stop().await;
}

/// Writes a room of practitioner dr-a for the test day whose call has run
/// since 09:30 UTC, as a server that crashed during the call leaves it, and
/// returns the room's id.
async fn store_room_with_running_call(
    dir: &std::path::Path,
    last_running_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let store = EmbeddedStore::open(&dir.join("rooms.redb")).unwrap();
    let request = CreateRoomRequest {
        date: Some("2026-12-04".to_owned()),
        patient_id: Some("P-crash".to_owned()),
        ..Default::default()
    };
    let mut room = request
        .into_room(
            "dr-a",
            test_now() - chrono::Duration::hours(1),
            Retention::default(),
        )
        .unwrap();
    room.call.since = Some(test_now() - chrono::Duration::minutes(30));
    RoomStore::insert(&store, &room).await.unwrap();
    if let Some(at) = last_running_at {
        store.record_running_at(at).await.unwrap();
    }
    room.id
}

#[tokio::test]
async fn start_ends_call_left_running_by_crash() {
    let dir = tempfile::tempdir().unwrap();
    // The server last recorded that it ran 20 minutes before this start.
    store_room_with_running_call(dir.path(), Some(test_now() - chrono::Duration::minutes(20)))
        .await;

    let server = start(dir.path()).await;
    assert_eq!(
        call_of(&server, "P-crash").await,
        (600, false),
        "the call ends at the last record of the crashed run"
    );
    server.stop().await;

    // Later starts leave the ended call as it is.
    let later = Arc::new(FixedClock(test_now() + chrono::Duration::hours(3)));
    let server = RunningServer::start(local_config(dir.path(), Some(later))).await;
    assert_eq!(call_of(&server, "P-crash").await, (600, false));
    server.stop().await;
}

#[tokio::test]
async fn start_without_running_record_ends_call_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // A database of a version before the records.
    store_room_with_running_call(dir.path(), None).await;

    let server = start(dir.path()).await;
    assert_eq!(call_of(&server, "P-crash").await, (1800, false));
    server.stop().await;
}

#[tokio::test]
async fn check_reports_state_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    for (date, state) in [("2026-12-04", "open"), ("2026-12-05", "not-yet-open")] {
        let room = create_room(&server, date).await;
        let mut socket = connect(server.address).await;
        send_json(
            &mut socket,
            json!({"type": "check", "v": 1, "token": token_of(&room)}),
        )
        .await;
        let status = receive_json(&mut socket).await;
        assert_eq!(status["type"], "status");
        assert_eq!(status["state"], state);
        assert_eq!(status["date"], date);
    }
    server.stop().await;
}

#[tokio::test]
async fn joined_carries_turn_credentials_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let secret = video_core::turn::TurnSecret::new("coturn-shared-secret-for-tests-only").unwrap();
    let mut config = local_config(dir.path(), fixed_clock());
    config.turn = Some(
        video_core::turn::TurnServer::new(
            vec![
                "stun:127.0.0.1:3478".to_owned(),
                "turn:127.0.0.1:3478?transport=tcp".to_owned(),
            ],
            secret.clone(),
        )
        .unwrap(),
    );
    let server = RunningServer::start(config).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let (_socket, joined) = join(&server, &token, "Anna").await;
    assert_eq!(
        joined["iceServers"][0],
        json!({"urls": ["stun:127.0.0.1:3478"]})
    );
    let turn = &joined["iceServers"][1];
    assert_eq!(turn["urls"], json!(["turn:127.0.0.1:3478?transport=tcp"]));
    let username = turn["username"].as_str().unwrap();
    assert_eq!(turn["credential"], secret.password_for(username).as_str());
}

#[tokio::test]
async fn two_participants_exchange_signals() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let (mut first, first_joined) = join(&server, &token, "Dr. Weber").await;
    let (mut second, second_joined) = join(&server, &token, "Anna").await;
    assert_eq!(second_joined["peers"][0]["peerId"], first_joined["peerId"]);
    let arrival = receive_json(&mut first).await;
    assert_eq!(arrival["type"], "peer-joined");
    assert_eq!(arrival["name"], "Anna");

    let offer = json!({"description": {"type": "offer", "sdp": "v=0\r\n"}});
    send_json(
        &mut second,
        json!({"type": "signal", "to": first_joined["peerId"], "data": offer}),
    )
    .await;
    let relayed = receive_json(&mut first).await;
    assert_eq!(
        relayed,
        json!({"type": "signal", "from": second_joined["peerId"], "data": offer})
    );

    let candidate = json!({"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}});
    send_json(
        &mut first,
        json!({"type": "signal", "to": second_joined["peerId"], "data": candidate}),
    )
    .await;
    assert_eq!(receive_json(&mut second).await["data"], candidate);
    server.stop().await;
}

#[tokio::test]
async fn ninth_socket_gets_room_full_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let mut sockets = Vec::new();
    for index in 0..8 {
        let (socket, joined) = join(&server, &token, &format!("Gast {index}")).await;
        assert_eq!(joined["type"], "joined", "participant {index}");
        sockets.push(socket);
    }
    let (mut ninth, reply) = join(&server, &token, "Gast 9").await;
    assert_eq!(reply["code"], "room-full");
    expect_closed(&mut ninth, 4003).await;
    server.stop().await;
}

#[tokio::test]
async fn tomorrow_room_refuses_join_with_date() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let token = token_of(&create_room(&server, "2026-12-05").await);
    let (mut socket, reply) = join(&server, &token, "Anna").await;
    assert_eq!(reply["code"], "room-not-open");
    assert_eq!(reply["date"], "2026-12-05");
    assert_eq!(reply["state"], "not-yet-open");
    expect_closed(&mut socket, 4002).await;
    server.stop().await;
}

#[tokio::test]
async fn rooms_are_isolated_from_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let first_token = token_of(&create_room(&server, "2026-12-04").await);
    let second_token = token_of(&create_room(&server, "2026-12-04").await);
    let (_first, first_joined) = join(&server, &first_token, "A").await;
    let (mut stranger, _) = join(&server, &second_token, "B").await;
    let data = json!({"candidate": null});
    send_json(
        &mut stranger,
        json!({"type": "signal", "to": first_joined["peerId"], "data": data}),
    )
    .await;
    assert_eq!(receive_json(&mut stranger).await["code"], "unknown-peer");
    server.stop().await;
}

#[tokio::test]
async fn bad_messages_keep_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut socket = connect(server.address).await;
    let oversized = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(40 * 1024));
    // 5,000 levels of nesting in 10 KB, far past the parser's depth limit.
    let deep = format!(
        r#"{{"type":"ping","pad":{}{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let signal = r#"{"type":"signal","to":"someone","data":{"candidate":null}}"#;
    for (text, code) in [
        ("not json".to_owned(), "invalid-message"),
        (r#"{"type":"teleport"}"#.to_owned(), "unknown-type"),
        (r#"{"type":"join","v":1}"#.to_owned(), "invalid-message"),
        (oversized, "message-too-large"),
        (deep, "invalid-message"),
        (signal.to_owned(), "not-joined"),
    ] {
        send_text(&mut socket, text).await;
        assert_eq!(receive_json(&mut socket).await["code"], code);
    }
    socket.send_binary_for_test().await;
    assert_eq!(receive_json(&mut socket).await["code"], "invalid-message");
    send_json(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(receive_json(&mut socket).await["type"], "pong");
    server.stop().await;
}

/// A text frame that is not UTF-8 breaks the WebSocket protocol, so the
/// server drops that socket; it goes on serving the others.
#[tokio::test]
async fn invalid_utf8_closes_only_that_socket() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut socket = connect(server.address).await;
    let frame = Frame::message(vec![0xff, 0xfe, b'{'], OpCode::Data(Data::Text), true);
    socket
        .send(tokio_tungstenite::tungstenite::Message::Frame(frame))
        .await
        .unwrap();
    match receive(&mut socket).await {
        Received::Closed(_) => {}
        Received::Json(value) => panic!("expected the socket to close, got {value}"),
    }

    let mut other = connect(server.address).await;
    send_json(&mut other, json!({"type": "ping"})).await;
    assert_eq!(receive_json(&mut other).await["type"], "pong");
    server.stop().await;
}

trait SendBinary {
    async fn send_binary_for_test(&mut self);
}

impl SendBinary for Socket {
    async fn send_binary_for_test(&mut self) {
        use futures_util::SinkExt;
        self.send(tokio_tungstenite::tungstenite::Message::binary(vec![
            1, 2, 3,
        ]))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn closing_socket_announces_departure() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let (mut first, _) = join(&server, &token, "A").await;
    let (second, second_joined) = join(&server, &token, "B").await;
    assert_eq!(receive_json(&mut first).await["type"], "peer-joined");
    // The departure follows once the grace time has passed without a resume.
    drop(second);
    let left = receive_json(&mut first).await;
    assert_eq!(left["type"], "peer-left");
    assert_eq!(left["peerId"], second_joined["peerId"]);
    server.stop().await;
}

#[tokio::test]
async fn resume_on_new_socket_keeps_peer_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let (mut first, _) = join(&server, &token, "A").await;
    let (mut old, joined) = join(&server, &token, "B").await;
    assert_eq!(receive_json(&mut first).await["type"], "peer-joined");

    let mut replacement = connect(server.address).await;
    let resume = json!({"peerId": joined["peerId"], "key": joined["resumeKey"]});
    send_json(
        &mut replacement,
        json!({"type": "join", "v": 1, "token": token, "name": "B", "resume": resume}),
    )
    .await;
    let resumed = receive_json(&mut replacement).await;
    assert_eq!(resumed["peerId"], joined["peerId"]);
    expect_closed(&mut old, 1000).await;

    // The first participant hears nothing about the swap; a ping proves the
    // queue is empty.
    send_json(&mut first, json!({"type": "ping"})).await;
    assert_eq!(receive_json(&mut first).await["type"], "pong");
    server.stop().await;
}

#[tokio::test]
async fn cross_origin_upgrade_is_forbidden() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut request = format!("ws://{}/ws", server.address)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let result = tokio_tungstenite::connect_async(request).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = result else {
        panic!("cross-origin upgrade was accepted");
    };
    assert_eq!(response.status(), 403);

    let mut request = format!("ws://{}/ws", server.address)
        .into_client_request()
        .unwrap();
    let same_origin = format!("http://{}", server.address);
    request
        .headers_mut()
        .insert("origin", same_origin.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn due_invitation_lands_once_in_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path(), fixed_clock());
    config.morning_interval = std::time::Duration::from_millis(100);
    let server = RunningServer::start(config).await;
    let body =
        json!({"date": "2026-12-04", "invitees": [{"name": "Anna", "email": "anna@example.org"}]});
    reqwest_free::Client
        .post_json(&server, "/api/rooms", TOKEN_A, &body)
        .await;

    let outbox = dir.path().join("outbox");
    let emails = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&outbox)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while emails().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no invitation in the outbox within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Several more runs pass; none may write the invitation again.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let written = emails();
    assert_eq!(written.len(), 1);
    let eml = std::fs::read_to_string(&written[0]).unwrap();
    assert!(eml.contains("To: anna@example.org"));
    assert!(
        eml.contains("From: Praxis Weber <video@praxis.example>\r\n"),
        "the practice's name comes before the sender address"
    );
    server.stop().await;
}

/// Each guessed link costs a socket, because `invalid-link` closes it. After
/// 20 invalid links within a minute the client gets 429 instead of a socket,
/// even for a valid link, until the minute is over.
#[tokio::test]
async fn invalid_links_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(video_core::clock::ManualClock::new(test_now()));
    let server = RunningServer::start(local_config(dir.path(), Some(clock.clone()))).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let (room_id, _) = token.split_once('.').unwrap();
    let guessed = format!("{room_id}.{}", "A".repeat(43));

    for _ in 0..20 {
        let (mut socket, reply) = join(&server, &guessed, "Mallory").await;
        assert_eq!(reply["code"], "invalid-link");
        expect_closed(&mut socket, 4001).await;
    }
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.address))
        .await
        .expect_err("the 21st socket is refused");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 429);
            assert_eq!(response.headers()["retry-after"], "60");
        }
        other => panic!("expected HTTP 429, got {other}"),
    }

    clock.advance(chrono::Duration::seconds(61));
    let (_socket, reply) = join(&server, &token, "Anna").await;
    assert_eq!(reply["type"], "joined", "the block ends after the window");
    server.stop().await;
}

/// Opens a signaling socket with `X-Forwarded-For: forwarded_for` and sends
/// `join`; returns the reply, or the HTTP status when the upgrade is refused.
async fn join_forwarded_for(
    server: &RunningServer,
    forwarded_for: &str,
    token: &str,
) -> Result<Value, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/ws", server.address)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded_for.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, _)) => {
            send_json(
                &mut socket,
                json!({"type": "join", "v": 1, "token": token, "name": "Mallory"}),
            )
            .await;
            Ok(receive_json(&mut socket).await)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("connecting failed: {other}"),
    }
}

/// Behind a trusted reverse proxy, a guesser is blocked under the client
/// address the proxy forwards, and other clients behind the same proxy
/// still join. Without `--trusted-proxy`, the header changes nothing, so a
/// client cannot escape the block by writing another address into it.
#[tokio::test]
async fn trusted_proxy_blocks_only_the_guesser() {
    const GUESSER: &str = "203.0.113.7";
    const PATIENT: &str = "198.51.100.9";
    for trusted in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = local_config(dir.path(), fixed_clock());
        if trusted {
            config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        }
        let server = RunningServer::start(config).await;
        let token = token_of(&create_room(&server, "2026-12-04").await);
        let (room_id, _) = token.split_once('.').unwrap();
        let guessed = format!("{room_id}.{}", "A".repeat(43));

        for _ in 0..20 {
            let reply = join_forwarded_for(&server, GUESSER, &guessed).await;
            assert_eq!(reply.unwrap()["code"], "invalid-link");
        }
        let guesser = join_forwarded_for(&server, GUESSER, &token).await;
        assert_eq!(guesser, Err(429), "trusted proxy: {trusted}");
        let patient = join_forwarded_for(&server, &format!("{GUESSER}, {PATIENT}"), &token).await;
        if trusted {
            assert_eq!(patient.unwrap()["type"], "joined");
        } else {
            assert_eq!(
                patient,
                Err(429),
                "the header alone must not lift the block"
            );
        }
        server.stop().await;
    }
}

/// A participant that left without `leave` must not keep a stopping server
/// waiting for its grace time.
#[tokio::test]
async fn stop_does_not_wait_for_away_participants() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path(), fixed_clock());
    config.away_grace = std::time::Duration::from_secs(30);
    let server = RunningServer::start(config).await;
    let token = token_of(&create_room(&server, "2026-12-04").await);
    let (first, _) = join(&server, &token, "A").await;
    let (second, _) = join(&server, &token, "B").await;
    drop(first);
    drop(second);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "stopping took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn damaged_database_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rooms.redb"), "not a database").unwrap();
    let config = local_config(dir.path(), fixed_clock());
    let Err(error) = video_local::Server::bind(config).await else {
        panic!("a damaged database must stop the start");
    };
    let message = error.to_string();
    assert!(message.contains("damaged"), "{message}");
    assert!(!message.contains("another video-local"), "{message}");
    assert!(
        !dir.path().join("link-key").exists(),
        "a failed start creates no link key"
    );
}

#[tokio::test]
async fn database_in_use_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let _server = start(dir.path()).await;
    let Err(error) = video_local::Server::bind(local_config(dir.path(), fixed_clock())).await
    else {
        panic!("a second server on the same directory must not start");
    };
    let message = error.to_string();
    assert!(message.contains("another video-local"), "{message}");
}
