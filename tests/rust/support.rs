//! Helpers for the black-box tests: the router without a socket, the local
//! server on port 0, and a small WebSocket client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;
use video_core::clock::{Clock, FixedClock};
use video_core::http::auth::DevTokens;
use video_core::http::{AppState, router};
use video_core::link::LinkKey;
use video_core::mail::outbox::OutboxMailer;
use video_core::morning::{Invitations, SendPolicy};
use video_core::room::Retention;
use video_core::store::embedded::EmbeddedStore;

#[path = "aws.rs"]
pub mod aws;
pub mod fault_proxy;

pub const TOKEN_A: &str = "token-for-dr-a-0001";
pub const TOKEN_B: &str = "token-for-dr-b-0002";
pub const PUBLIC_URL: &str = "https://video.example.test";

/// Grace time of away participants on test servers: long enough for a
/// resume in the same test, short enough that a departure arrives quickly.
pub const AWAY_GRACE_FOR_TESTS: Duration = Duration::from_millis(500);

/// Returns a zone where it is between 02:00 and 22:00 now, so "today" stays
/// today for the length of a test that uses the real clock.
pub fn daytime_zone() -> video_core::zone::Zone {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    [
        video_core::zone::Zone::BERLIN,
        video_core::zone::Zone::parse("America/New_York").unwrap(),
        video_core::zone::Zone::parse("Asia/Tokyo").unwrap(),
    ]
    .into_iter()
    .find(|zone| (2..22).contains(&now.with_timezone(zone).hour()))
    .expect("one of three zones 8 to 14 hours apart is in daytime")
}

/// 10:00 UTC on 2026-12-04, 11:00 in Berlin: the tests' "now".
pub fn test_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub router: Router,
    pub links: LinkKey,
    pub store: Arc<EmbeddedStore>,
    /// Where the invitations sent through the API land as `.eml` files.
    pub outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Reads the `.eml` files in the outbox as text.
    pub fn outbox_mails(&self) -> Vec<String> {
        let mut mails: Vec<(std::path::PathBuf, String)> = std::fs::read_dir(&self.outbox)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                (path, text)
            })
            .collect();
        mails.sort();
        mails.into_iter().map(|(_, text)| text).collect()
    }
}

/// Builds the router on a fresh embedded store with two practitioners, at
/// [`test_now`].
pub fn app() -> TestApp {
    app_at(test_now())
}

/// Builds the router with the clock fixed at `now`; invitations are due
/// from 06:00 in each room's zone and written to an outbox.
pub fn app_at(now: DateTime<Utc>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap());
    let mut tokens = DevTokens::default();
    tokens.insert(TOKEN_A, "dr-a").unwrap();
    tokens.insert(TOKEN_B, "dr-b").unwrap();
    let links = LinkKey::generate();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now));
    let outbox = dir.path().join("outbox");
    let mailer = OutboxMailer::new(&outbox, "video@praxis.example".to_owned()).unwrap();
    let invitations = Invitations::new(
        store.clone(),
        Arc::new(mailer),
        links.clone(),
        PUBLIC_URL.to_owned(),
        Some("Praxis Weber".to_owned()),
        clock.clone(),
        SendPolicy {
            interval: Duration::ZERO,
            ..SendPolicy::default()
        },
    );
    let state = AppState {
        rooms: store.clone(),
        preferences: store.clone(),
        invitations: Arc::new(invitations),
        retention: Retention::default(),
        auth: Arc::new(tokens),
        links: links.clone(),
        clock,
        public_url: PUBLIC_URL.to_owned(),
        local_signaling: None,
        signaling_url: None,
        privacy: None,
    };
    TestApp {
        router: router(state),
        links,
        store,
        outbox,
        _dir: dir,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

/// Sends one request through the router and parses a JSON reply body.
pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        json,
    }
}

/// Builds a request with an optional bearer token and JSON body.
pub fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// A local server on 127.0.0.1 with a free port and a fresh data directory.
pub struct RunningServer {
    pub address: SocketAddr,
    pub generated_token: Option<String>,
    /// Flag set when this start created the generated token.
    pub token_created: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow_free::Result>>,
}

mod anyhow_free {
    pub type Result = std::result::Result<(), String>;
}

pub fn local_config(
    data_dir: &std::path::Path,
    clock: Option<Arc<dyn Clock>>,
) -> video_local::Config {
    video_local::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        dev_tokens: vec![format!("{TOKEN_A}=dr-a"), format!("{TOKEN_B}=dr-b")],
        public_url: None,
        clock,
        mail_from: "video@praxis.example".to_owned(),
        morning_time: chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        morning_interval: Duration::from_secs(3600),
        mail_interval: Duration::ZERO,
        practice_name: Some("Praxis Weber".to_owned()),
        retention: Retention::default(),
        turn: None,
        away_grace: AWAY_GRACE_FOR_TESTS,
        max_connection_age: Duration::from_secs(7200),
        operator: None,
        trusted_proxies: Vec::new(),
    }
}

impl RunningServer {
    pub async fn start(config: video_local::Config) -> Self {
        let server = video_local::Server::bind(config).await.unwrap();
        let address = server.address;
        let generated_token = server
            .generated_token
            .as_ref()
            .map(|generated| generated.token.clone());
        let token_created = server
            .generated_token
            .as_ref()
            .is_some_and(|generated| generated.created);
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(async {
                    let _ = signal.await;
                })
                .await
                .map_err(|error| format!("{error:#}"))
        });
        Self {
            address,
            generated_token,
            token_created,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Stops the server and waits until it has released the database.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server did not stop within 10 s")
                .unwrap()
                .unwrap();
        }
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(address: SocketAddr) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
        .await
        .unwrap();
    socket
}

pub async fn send_json(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

pub async fn send_text(socket: &mut Socket, text: String) {
    socket.send(Message::text(text)).await.unwrap();
}

/// What the next frame of a socket was.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Closed(Option<u16>),
}

/// Waits up to 5 s for the next text message or close.
pub async fn receive(socket: &mut Socket) -> Received {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no message within 5 s");
        match next {
            Some(Ok(Message::Text(text))) => {
                return Received::Json(serde_json::from_str(&text).unwrap());
            }
            Some(Ok(Message::Close(frame))) => {
                return Received::Closed(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Received::Closed(None),
        }
    }
}

pub async fn receive_json(socket: &mut Socket) -> Value {
    match receive(socket).await {
        Received::Json(value) => value,
        Received::Closed(code) => panic!("socket closed ({code:?}) while a message was expected"),
    }
}
