//! Practitioners are isolated from each other on every route of the rooms
//! API: practitioner `dr-b` gets for `dr-a`'s rooms, calendar entries,
//! patient preferences and patient data exactly the response a missing one
//! gets, and `dr-a`'s data reads back unchanged afterwards. Each case runs on the local server
//! over TCP and on the rooms-api Lambda function with DynamoDB and SES in
//! moto server. Requests without a valid token get one identical 401 that
//! repeats no token, neither in the response nor in the log, and repeated
//! failures from one client are throttled on the local server.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use video_core::clock::{FixedClock, ManualClock};
use video_core::link::LinkKey;
use video_core::room::Retention;
use video_core::zone::Zone;
use video_tests::aws::{Moto, create_rooms_table, dynamodb_client, moto_sent_messages, ses_client};
use video_tests::{RunningServer, TOKEN_A, TOKEN_B, local_config, test_now};

/// A room id of the right form that no backend stores.
const MISSING_ROOM_ID: &str = "5f0c3e8f0b2a4d6e9c1b7a3d2e4f6a8b";

// ---------------------------------------------------------------------------
// Log capture

/// Everything logged in this test binary, at TRACE level with the local
/// server's own filter.
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
/// Tests run in parallel, so the log also contains other tests' lines.
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

fn captured_log() -> String {
    String::from_utf8_lossy(&log_capture().0.lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------
// HTTP over TCP

/// One HTTP response as received, with the raw text for leak checks.
struct Answer {
    status: StatusCode,
    /// Status line and headers.
    head: String,
    json: Value,
    raw: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Sends one HTTP/1.1 request with `Connection: close` from `from` (or
/// from any loopback address) and reads the whole response.
async fn http_from(
    from: Option<SocketAddr>,
    address: SocketAddr,
    method: &Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(from) = from {
        socket.bind(from).unwrap();
    }
    let mut stream = socket.connect(address).await.unwrap();

    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(authorization) = authorization {
        request.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();

    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let raw = String::from_utf8(bytes).expect("the response is UTF-8");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("the response has a header block");
    let code: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "this client reads only bodies with a length: {head}"
    );
    Answer {
        status: StatusCode::from_u16(code).unwrap(),
        head: head.to_owned(),
        json: serde_json::from_str(body).unwrap_or(Value::Null),
        raw,
    }
}

async fn http(
    address: SocketAddr,
    method: &Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    http_from(None, address, method, path, authorization, body).await
}

// ---------------------------------------------------------------------------
// Backends

/// One backend behind the rooms API.
#[async_trait]
trait Backend: Send + Sync {
    /// Calls the API as practitioner `dr-a` or `dr-b`.
    async fn call(
        &self,
        practitioner: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value);

    /// Recipients of every invitation sent so far, sorted.
    async fn recipients(&self) -> Vec<String>;

    fn now(&self) -> DateTime<Utc>;
}

/// The local server on 127.0.0.1 with its embedded store, at a fixed "now".
struct Local {
    server: RunningServer,
    dir: tempfile::TempDir,
}

async fn local() -> Local {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(
        dir.path(),
        Some(Arc::new(FixedClock(test_now()))),
    ))
    .await;
    Local { server, dir }
}

#[async_trait]
impl Backend for Local {
    async fn call(
        &self,
        practitioner: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = match practitioner {
            "dr-a" => TOKEN_A,
            "dr-b" => TOKEN_B,
            other => panic!("no token for {other}"),
        };
        let answer = http(
            self.server.address,
            &method,
            path,
            Some(&format!("Bearer {token}")),
            body.as_ref(),
        )
        .await;
        (answer.status, answer.json)
    }

    async fn recipients(&self) -> Vec<String> {
        let outbox = self.dir.path().join("outbox");
        let mut all: Vec<String> = std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
                    .filter_map(|mail| {
                        mail.lines()
                            .find_map(|line| line.strip_prefix("To: "))
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        all
    }

    fn now(&self) -> DateTime<Utc> {
        test_now()
    }
}

/// The rooms-api Lambda function's router with DynamoDB and SES in moto
/// server, called with API Gateway events that carry the JWT's `sub` claim.
struct Dynamo {
    router: axum::Router,
    moto: Moto,
}

async fn dynamo() -> Dynamo {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_rooms_table(&client, "rooms").await;
    let ses = ses_client(&moto.endpoint);
    ses.create_email_identity()
        .email_identity("video@praxis.example")
        .send()
        .await
        .unwrap();
    let settings = rooms_api::Settings {
        rooms_table: "rooms".to_owned(),
        public_url: "https://video.example.test".to_owned(),
        link_key: LinkKey::generate(),
        practitioner_claim: "sub".to_owned(),
        retention: Retention::default(),
        mail: video_core::env::MailSettings {
            mail_from: "video@praxis.example".to_owned(),
            practice_name: Some("Praxis Weber".to_owned()),
            configuration_set: None,
            policy: video_core::morning::SendPolicy {
                interval: std::time::Duration::ZERO,
                ..Default::default()
            },
        },
    };
    Dynamo {
        router: rooms_api::app(&settings, client, ses),
        moto,
    }
}

impl Dynamo {
    /// Calls the function with an event of `subject`, or with no authorizer
    /// claims at all when `subject` is `None`.
    async fn call_as(
        &self,
        subject: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let event = video_tests::aws::http_api_event(
            method.as_str(),
            path,
            subject,
            body.map(|body| body.to_string()).as_deref(),
        );
        let request = lambda_http::request::from_str(&event.to_string()).expect("the event parses");
        let request = request.map(|body| Body::from(body.to_vec()));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[async_trait]
impl Backend for Dynamo {
    async fn call(
        &self,
        practitioner: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(Some(practitioner), method, path, body).await
    }

    async fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = moto_sent_messages(&self.moto.endpoint)
            .await
            .iter()
            .flat_map(|message| {
                message["destinations"]["ToAddresses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|address| address.as_str().map(str::to_owned))
            .collect();
        all.sort();
        all
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

// ---------------------------------------------------------------------------
// Requests

/// Returns a zone where it is between 06:00 and 22:00 at `now`, so today's
/// rooms are due for mail and "today" lasts through the test.
fn mail_zone(now: DateTime<Utc>) -> Zone {
    [
        Zone::BERLIN,
        Zone::parse("America/New_York").unwrap(),
        Zone::parse("Asia/Tokyo").unwrap(),
    ]
    .into_iter()
    .find(|zone| (6..22).contains(&now.with_timezone(zone).hour()))
    .expect("three zones 8 hours apart cover the day")
}

fn room_body(date: NaiveDate, zone: Zone, title: &str, email: &str) -> Value {
    json!({
        "date": date.to_string(),
        "startTime": "09:30",
        "timeZone": zone.name(),
        "title": title,
        "patientId": "P-7",
        "invitees": [{"name": "Anna Beispiel", "email": email}],
    })
}

fn entry_body(date: NaiveDate, zone: Zone, video: bool, title: &str) -> Value {
    let mut body = room_body(date, zone, title, "anna@example.org");
    body["video"] = json!(video);
    body
}

/// Creates a room as `practitioner` and returns it.
async fn create_room(backend: &dyn Backend, practitioner: &str, body: Value) -> Value {
    let (status, room) = backend
        .call(practitioner, Method::POST, "/api/rooms", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    room
}

/// Reads one room as `practitioner` and panics unless the status is 200.
async fn read_room(backend: &dyn Backend, practitioner: &str, id: &str) -> Value {
    let (status, room) = backend
        .call(practitioner, Method::GET, &format!("/api/rooms/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{practitioner} reads {id}: {room}");
    room
}

/// Returns the ids of the rooms `practitioner` lists from `from` to `to`.
async fn listed_ids(
    backend: &dyn Backend,
    practitioner: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<String> {
    let path = format!("/api/rooms?from={from}&to={to}");
    let (status, list) = backend.call(practitioner, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| room["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Reads one room as `practitioner` once no invitee is `pending` or
/// `sending` any more. The local server's morning run may claim a new
/// room's email while the create request sends it, and then the email is
/// `sending` a moment longer.
async fn settled_room(backend: &dyn Backend, practitioner: &str, id: &str) -> Value {
    for _ in 0..100 {
        let room = read_room(backend, practitioner, id).await;
        let pending = room["invitees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|invitee| invitee["status"] == "pending" || invitee["status"] == "sending");
        if !pending {
            return room;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the invitations of room {id} stayed pending for 5 s");
}

fn id_of(room: &Value) -> String {
    room["id"].as_str().expect("the room has an id").to_owned()
}

// ---------------------------------------------------------------------------
// Cases on both backends

async fn listing_shows_only_own_rooms(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let today = video_core::validity::today_in(zone, backend.now());
    let tomorrow = today + Duration::days(1);
    let a_today = create_room(
        backend,
        "dr-a",
        room_body(today, zone, "A heute", "a1@example.org"),
    )
    .await;
    let a_tomorrow = create_room(
        backend,
        "dr-a",
        room_body(tomorrow, zone, "A morgen", "a2@example.org"),
    )
    .await;
    let b_today = create_room(
        backend,
        "dr-b",
        room_body(today, zone, "B heute", "b1@example.org"),
    )
    .await;

    let mut own_a = vec![id_of(&a_today), id_of(&a_tomorrow)];
    own_a.sort();
    for (from, to) in [
        (today, tomorrow),
        (today - Duration::days(7), today + Duration::days(30)),
    ] {
        let mut listed = listed_ids(backend, "dr-a", from, to).await;
        listed.sort();
        assert_eq!(
            listed, own_a,
            "dr-a lists exactly its own rooms from {from} to {to}"
        );
        let listed = listed_ids(backend, "dr-b", from, to).await;
        assert_eq!(
            listed,
            vec![id_of(&b_today)],
            "dr-b lists exactly its own room"
        );
    }

    // The default range too.
    let (status, list) = backend.call("dr-b", Method::GET, "/api/rooms", None).await;
    assert_eq!(status, StatusCode::OK);
    let titles: Vec<&str> = list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| room["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["B heute"]);
}

async fn foreign_room_looks_missing(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let today = video_core::validity::today_in(zone, backend.now());
    let room = create_room(
        backend,
        "dr-a",
        room_body(today, zone, "Erstgespräch", "anna@example.org"),
    )
    .await;
    let id = id_of(&room);
    let before = settled_room(backend, "dr-a", &id).await;
    assert_eq!(
        before["invitees"][0]["status"], "sent",
        "created today: mailed"
    );
    let list_before = listed_ids(backend, "dr-a", today, today).await;
    let recipients_before = backend.recipients().await;

    let attempts: [(Method, &str, Option<Value>); 4] = [
        (Method::GET, "/api/rooms/{id}", None),
        (Method::POST, "/api/rooms/{id}/invitations", None),
        (Method::DELETE, "/api/rooms/{id}", None),
        // No route changes a room in place, and the 405 must not differ either.
        (
            Method::PUT,
            "/api/rooms/{id}",
            Some(room_body(today, zone, "Übernommen", "mallory@example.org")),
        ),
    ];
    for (method, template, body) in attempts {
        let foreign = backend
            .call(
                "dr-b",
                method.clone(),
                &template.replace("{id}", &id),
                body.clone(),
            )
            .await;
        let missing = backend
            .call(
                "dr-b",
                method.clone(),
                &template.replace("{id}", MISSING_ROOM_ID),
                body,
            )
            .await;
        assert_eq!(
            foreign, missing,
            "{method} {template}: dr-a's room must be answered like a missing one"
        );
        assert!(
            foreign.0 == StatusCode::NOT_FOUND || foreign.0 == StatusCode::METHOD_NOT_ALLOWED,
            "{method} {template}: {foreign:?}"
        );
        assert!(
            foreign.1["error"].is_string(),
            "{method} {template}: {foreign:?}"
        );
    }

    let after = read_room(backend, "dr-a", &id).await;
    assert_eq!(after, before, "dr-a's room is unchanged");
    assert_eq!(listed_ids(backend, "dr-a", today, today).await, list_before);
    assert_eq!(
        backend.recipients().await,
        recipients_before,
        "dr-b's resend sent nothing"
    );
}

async fn foreign_entry_id_makes_own_room(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let today = video_core::validity::today_in(zone, backend.now());
    let tomorrow = today + Duration::days(1);
    let entry = "/api/calendar-entries/termin-4711";
    let (status, created) = backend
        .call(
            "dr-a",
            Method::PUT,
            entry,
            Some(entry_body(tomorrow, zone, true, "Termin A")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let a_room_id = id_of(&created["room"]);
    let before = read_room(backend, "dr-a", &a_room_id).await;

    // Cancelling dr-a's entry id as dr-b returns what an unknown entry returns.
    let foreign = backend.call("dr-b", Method::DELETE, entry, None).await;
    let missing = backend
        .call(
            "dr-b",
            Method::DELETE,
            "/api/calendar-entries/termin-unbekannt",
            None,
        )
        .await;
    assert_eq!(foreign, missing);
    assert_eq!(foreign.0, StatusCode::NO_CONTENT);
    // So does an update that removes the video.
    let (status, reply) = backend
        .call(
            "dr-b",
            Method::PUT,
            entry,
            Some(entry_body(tomorrow, zone, false, "Termin B")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"entryId": "termin-4711", "room": null}));
    assert_eq!(read_room(backend, "dr-a", &a_room_id).await, before);

    // dr-b's own entry with the same id is a new room of dr-b's.
    let (status, reply) = backend
        .call(
            "dr-b",
            Method::PUT,
            entry,
            Some(entry_body(today, zone, true, "Termin B")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let b_room = &reply["room"];
    let b_room_id = id_of(b_room);
    assert_ne!(b_room_id, a_room_id);
    assert_ne!(b_room["joinUrl"], before["joinUrl"]);
    assert_eq!(b_room["entryId"], "termin-4711");
    assert_eq!(b_room["title"], "Termin B");
    read_room(backend, "dr-b", &b_room_id).await;
    let (status, _) = backend
        .call(
            "dr-a",
            Method::GET,
            &format!("/api/rooms/{b_room_id}"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "dr-a cannot read dr-b's room either"
    );

    // dr-a's room id used as dr-b's entry id is another new room, too.
    let (status, reply) = backend
        .call(
            "dr-b",
            Method::PUT,
            &format!("/api/calendar-entries/{a_room_id}"),
            Some(entry_body(tomorrow, zone, true, "Termin B2")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_ne!(id_of(&reply["room"]), a_room_id);

    assert_eq!(
        read_room(backend, "dr-a", &a_room_id).await,
        before,
        "dr-a's entry room is unchanged"
    );
    assert_eq!(
        listed_ids(backend, "dr-a", today, tomorrow).await,
        vec![a_room_id.clone()]
    );

    // dr-b cancelling its own entry leaves dr-a's room alone.
    let (status, _) = backend.call("dr-b", Method::DELETE, entry, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(read_room(backend, "dr-a", &a_room_id).await, before);
}

async fn foreign_patient_preference_is_invisible(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let tomorrow = video_core::validity::today_in(zone, backend.now()) + Duration::days(1);
    let preference = "/api/patients/P-7/video-preference";
    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            preference,
            Some(json!({"alwaysVideo": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");

    // dr-b reads what an unset patient reads.
    let foreign = backend.call("dr-b", Method::GET, preference, None).await;
    let (status, unset) = backend
        .call(
            "dr-b",
            Method::GET,
            "/api/patients/P-unbekannt/video-preference",
            None,
        )
        .await;
    assert_eq!(foreign.0, status);
    assert_eq!(foreign.1["alwaysVideo"], unset["alwaysVideo"]);
    assert_eq!(foreign.1, json!({"patientId": "P-7", "alwaysVideo": false}));

    // dr-a's flag does not give dr-b's entries rooms.
    let (status, reply) = backend
        .call(
            "dr-b",
            Method::PUT,
            "/api/calendar-entries/termin-b",
            Some(entry_body(tomorrow, zone, false, "Termin B")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["room"], Value::Null, "{reply}");

    // dr-b clearing the flag clears only dr-b's.
    let (status, _) = backend
        .call(
            "dr-b",
            Method::PUT,
            preference,
            Some(json!({"alwaysVideo": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, reply) = backend.call("dr-a", Method::GET, preference, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply, json!({"patientId": "P-7", "alwaysVideo": true}));

    // And dr-b setting it does not set dr-a's for another patient.
    backend
        .call(
            "dr-b",
            Method::PUT,
            "/api/patients/P-8/video-preference",
            Some(json!({"alwaysVideo": true})),
        )
        .await;
    let (_, reply) = backend
        .call(
            "dr-a",
            Method::GET,
            "/api/patients/P-8/video-preference",
            None,
        )
        .await;
    assert_eq!(reply["alwaysVideo"], false);
}

/// Export and erasure of a patient id that only `dr-a` has data for: `dr-b`
/// gets what an unknown patient gets, and erases nothing of `dr-a`'s.
async fn foreign_patient_data_looks_missing(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let tomorrow = video_core::validity::today_in(zone, backend.now()) + Duration::days(1);
    let room = create_room(
        backend,
        "dr-a",
        room_body(tomorrow, zone, "Erstgespräch", "anna@example.org"),
    )
    .await;
    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            "/api/patients/P-7/video-preference",
            Some(json!({"alwaysVideo": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (status, before) = backend
        .call("dr-a", Method::GET, "/api/patients/P-7/data", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["rooms"][0]["id"], room["id"], "{before}");

    // Reading: the same response as for an unknown patient, but for the id.
    let (foreign_status, mut foreign) = backend
        .call("dr-b", Method::GET, "/api/patients/P-7/data", None)
        .await;
    let (missing_status, mut missing) = backend
        .call("dr-b", Method::GET, "/api/patients/P-unbekannt/data", None)
        .await;
    assert_eq!(foreign_status, missing_status);
    assert_eq!(foreign["patientId"], "P-7");
    assert_eq!(missing["patientId"], "P-unbekannt");
    foreign["patientId"] = Value::Null;
    missing["patientId"] = Value::Null;
    assert_eq!(foreign, missing, "dr-a's patient reads like an unknown one");
    assert_eq!(
        foreign,
        json!({"patientId": null, "videoPreference": null, "rooms": []})
    );

    // Erasing: the same 204, and dr-a's data stays.
    let foreign = backend
        .call("dr-b", Method::DELETE, "/api/patients/P-7", None)
        .await;
    let missing = backend
        .call("dr-b", Method::DELETE, "/api/patients/P-unbekannt", None)
        .await;
    assert_eq!(foreign, missing);
    assert_eq!(foreign.0, StatusCode::NO_CONTENT);
    let (_, after) = backend
        .call("dr-a", Method::GET, "/api/patients/P-7/data", None)
        .await;
    assert_eq!(after, before, "dr-a's patient data is unchanged");
    let (_, preference) = backend
        .call(
            "dr-a",
            Method::GET,
            "/api/patients/P-7/video-preference",
            None,
        )
        .await;
    assert_eq!(preference["alwaysVideo"], true);
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod local_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = super::local().await;
                    super::$case(&backend).await;
                    backend.server.stop().await;
                }
            )*
        }
        mod dynamodb_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = super::dynamo().await;
                    super::$case(&backend).await;
                }
            )*
        }
    };
}

on_both_backends!(
    listing_shows_only_own_rooms,
    foreign_room_looks_missing,
    foreign_entry_id_makes_own_room,
    foreign_patient_preference_is_invisible,
    foreign_patient_data_looks_missing,
);

// ---------------------------------------------------------------------------
// Unauthenticated requests

/// Returns every operation of the rooms API as `(method, path, body)`, with
/// `{id}`, `{entryId}` and `{patientId}` placeholders and a valid body.
fn operations(date: NaiveDate) -> Vec<(Method, &'static str, Option<Value>)> {
    let zone = Zone::BERLIN;
    vec![
        (Method::GET, "/api/rooms", None),
        (
            Method::POST,
            "/api/rooms",
            Some(room_body(date, zone, "Titel", "anna@example.org")),
        ),
        (Method::GET, "/api/rooms/{id}", None),
        (Method::DELETE, "/api/rooms/{id}", None),
        (Method::POST, "/api/rooms/{id}/invitations", None),
        (
            Method::PUT,
            "/api/calendar-entries/{entryId}",
            Some(entry_body(date, zone, true, "Titel")),
        ),
        (Method::DELETE, "/api/calendar-entries/{entryId}", None),
        (
            Method::GET,
            "/api/patients/{patientId}/video-preference",
            None,
        ),
        (
            Method::PUT,
            "/api/patients/{patientId}/video-preference",
            Some(json!({"alwaysVideo": true})),
        ),
        (Method::GET, "/api/patients/{patientId}/data", None),
        (Method::DELETE, "/api/patients/{patientId}", None),
    ]
}

fn fill(template: &str, room_id: &str) -> String {
    template
        .replace("{id}", room_id)
        .replace("{entryId}", "termin-1")
        .replace("{patientId}", "P-7")
}

/// Authorization headers that must all fail alike: a malformed header
/// carries the valid token of `dr-a` in the wrong place.
const BAD_AUTHORIZATIONS: [Option<&str>; 6] = [
    None,
    Some("Bearer"),
    Some("Basic token-for-dr-a-0001"),
    Some("token-for-dr-a-0001"),
    Some("Bearer unknown-token-7f3a9c2e51d0"),
    Some("Bearer token-for-dr-a-0001x"),
];

#[tokio::test]
async fn operations_table_covers_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(dir.path(), None)).await;
    let answer = http(
        server.address,
        &Method::GET,
        "/api/openapi.json",
        None,
        None,
    )
    .await;
    server.stop().await;
    assert_eq!(answer.status, StatusCode::OK);
    let mut documented = BTreeSet::new();
    for (path, item) in answer.json["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let tested: BTreeSet<String> = operations(test_now().date_naive())
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    assert_eq!(
        tested, documented,
        "every documented operation is tested here"
    );
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_get_one_401() {
    log_capture();
    // Rooms of tomorrow get no email during the test, so they stay as they are.
    let tomorrow = test_now().date_naive() + Duration::days(1);
    let mut first_body: Option<Value> = None;
    for (method, template, body) in operations(tomorrow) {
        // One server per operation keeps each below the throttle's limit.
        let dir = tempfile::tempdir().unwrap();
        let server = RunningServer::start(local_config(
            dir.path(),
            Some(Arc::new(FixedClock(test_now()))),
        ))
        .await;
        let room = http(
            server.address,
            &Method::POST,
            "/api/rooms",
            Some(&format!("Bearer {TOKEN_A}")),
            Some(&room_body(
                tomorrow,
                Zone::BERLIN,
                "Titel",
                "anna@example.org",
            )),
        )
        .await;
        assert_eq!(room.status, StatusCode::CREATED);
        let path = fill(template, &id_of(&room.json));
        let before = http(
            server.address,
            &Method::GET,
            &format!("/api/rooms/{}", id_of(&room.json)),
            Some(&format!("Bearer {TOKEN_A}")),
            None,
        )
        .await;

        for authorization in BAD_AUTHORIZATIONS {
            let answer = http(server.address, &method, &path, authorization, body.as_ref()).await;
            let case = format!("{method} {path} with {authorization:?}");
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {}",
                answer.raw
            );
            assert_eq!(answer.json["error"], "unauthorized", "{case}");
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"), "{case}");
            let body = first_body.get_or_insert_with(|| answer.json.clone());
            assert_eq!(&answer.json, body, "{case}: every 401 has the same body");
            for secret in ["token-for-dr-a", "unknown-token", "7f3a9c2e51d0"] {
                assert!(
                    !answer.raw.contains(secret),
                    "{case}: the answer repeats {secret:?}"
                );
            }
        }

        let after = http(
            server.address,
            &Method::GET,
            &format!("/api/rooms/{}", id_of(&room.json)),
            Some(&format!("Bearer {TOKEN_A}")),
            None,
        )
        .await;
        assert_eq!(after.json, before.json, "{method} {path}: nothing changed");
        server.stop().await;
    }

    let log = captured_log();
    assert!(log.contains("room created"), "the capture works:\n{log}");
    for secret in [
        "token-for-dr-a",
        "token-for-dr-b",
        "unknown-token",
        "7f3a9c2e51d0",
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}

#[tokio::test]
async fn lambda_without_claims_gets_the_same_401() {
    let backend = dynamo().await;
    let local_body = {
        let dir = tempfile::tempdir().unwrap();
        let server = RunningServer::start(local_config(dir.path(), None)).await;
        let answer = http(server.address, &Method::GET, "/api/rooms", None, None).await;
        server.stop().await;
        answer.json
    };
    for (method, template, body) in operations(backend.now().date_naive()) {
        let path = fill(template, MISSING_ROOM_ID);
        for subject in [None, Some("")] {
            let (status, reply) = backend
                .call_as(subject, method.clone(), &path, body.clone())
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} as {subject:?}"
            );
            assert_eq!(
                reply, local_body,
                "{method} {path}: the body matches the local server's"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Throttling of failed authentications

/// The local server's throttle: 20 failures per minute from one client.
const MAX_FAILURES: usize = 20;

#[tokio::test]
async fn wrong_tokens_are_throttled_on_local_server() {
    log_capture();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(test_now()));
    let server = RunningServer::start(local_config(dir.path(), Some(clock.clone()))).await;
    let right = format!("Bearer {TOKEN_A}");
    let wrong = "Bearer wrong-guess-8c1d4e7f20a9";
    let list = |authorization: &str| {
        let authorization = authorization.to_owned();
        let address = server.address;
        async move {
            http(
                address,
                &Method::GET,
                "/api/rooms",
                Some(&authorization),
                None,
            )
            .await
        }
    };

    for attempt in 1..MAX_FAILURES {
        let answer = list(wrong).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    for _ in 0..5 {
        let answer = list(&right).await;
        assert_eq!(answer.status, StatusCode::OK, "right tokens never count");
    }
    let last = list(wrong).await;
    assert_eq!(
        last.status,
        StatusCode::UNAUTHORIZED,
        "failure {MAX_FAILURES} is still a 401"
    );

    let blocked = list(&right).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.raw
    );
    assert_eq!(blocked.json["error"], "too-many-attempts");
    assert_eq!(blocked.header("retry-after"), Some("60"));
    assert!(!blocked.raw.contains("wrong-guess"));
    assert!(!blocked.raw.contains(TOKEN_A));
    let other_route = http(
        server.address,
        &Method::GET,
        "/api/patients/P-7/video-preference",
        Some(&right),
        None,
    )
    .await;
    assert_eq!(other_route.status, StatusCode::TOO_MANY_REQUESTS);
    let page = http(server.address, &Method::GET, "/", None, None).await;
    assert_eq!(page.status, StatusCode::OK, "the web pages stay reachable");

    clock.advance(Duration::seconds(45));
    assert_eq!(list(&right).await.header("retry-after"), Some("15"));
    clock.advance(Duration::seconds(15));
    assert_eq!(
        list(&right).await.status,
        StatusCode::OK,
        "the block ends after the window"
    );
    assert_eq!(
        list(wrong).await.status,
        StatusCode::UNAUTHORIZED,
        "a new window starts"
    );
    server.stop().await;

    let log = captured_log();
    let warning = log
        .lines()
        .find(|line| line.contains("too many failed authentications"))
        .unwrap_or_else(|| panic!("the block is logged:\n{log}"));
    assert!(!warning.contains("127.0.0.1"), "{warning}");
    assert!(
        !log.contains("wrong-guess"),
        "the log contains the wrong token"
    );
}

/// The shared router served with connect info, as the local server would
/// serve it, counts each client address on its own.
#[tokio::test]
async fn throttle_counts_each_client_address() {
    let app = video_tests::app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move { axum::serve(listener, service).await });
    let attacker: SocketAddr = "127.0.0.2:0".parse().unwrap();
    let neighbour: SocketAddr = "127.0.0.3:0".parse().unwrap();
    let right = format!("Bearer {TOKEN_A}");

    for _ in 0..MAX_FAILURES {
        let answer = http_from(
            Some(attacker),
            address,
            &Method::GET,
            "/api/rooms",
            Some("Bearer wrong-guess-000000000"),
            None,
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = http_from(
        Some(attacker),
        address,
        &Method::GET,
        "/api/rooms",
        Some(&right),
        None,
    )
    .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let other = http_from(
        Some(neighbour),
        address,
        &Method::GET,
        "/api/rooms",
        Some(&right),
        None,
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another address is not blocked"
    );
    task.abort();
}
