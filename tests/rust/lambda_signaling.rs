//! The signaling Lambda function fed API Gateway WebSocket events, with
//! DynamoDB in moto server and a loopback double of the `@connections` API
//! (moto's lacks 410 responses and the stage in the path).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};
use video_core::clock::{Clock, ManualClock};
use video_core::link::LinkKey;
use video_core::random::random_id;
use video_core::room::CreateRoomRequest;
use video_core::store::RoomStore;
use video_core::store::dynamodb::DynamoRooms;
use video_tests::aws::{
    Moto, create_connections_table, create_rooms_table, dynamodb_client, management_config,
};
use video_tests::daytime_zone;

/// What the `@connections` double received, and which connections are gone.
#[derive(Default)]
struct Connections {
    posts: Mutex<Vec<(String, String, Value)>>,
    deletes: Mutex<Vec<String>>,
    gone: Mutex<HashSet<String>>,
}

fn gone_response() -> axum::response::Response {
    (
        StatusCode::GONE,
        [
            ("x-amzn-errortype", "GoneException"),
            ("content-type", "application/json"),
        ],
        r#"{"message":"Gone"}"#,
    )
        .into_response()
}

async fn post_to_connection(
    State(connections): State<Arc<Connections>>,
    Path((stage, id)): Path<(String, String)>,
    body: String,
) -> axum::response::Response {
    if connections.gone.lock().unwrap().contains(&id) {
        connections
            .posts
            .lock()
            .unwrap()
            .push((stage, id, Value::Null));
        return gone_response();
    }
    let message = serde_json::from_str(&body).unwrap_or(Value::Null);
    connections.posts.lock().unwrap().push((stage, id, message));
    StatusCode::OK.into_response()
}

async fn delete_connection(
    State(connections): State<Arc<Connections>>,
    Path((_stage, id)): Path<(String, String)>,
) -> axum::response::Response {
    if connections.gone.lock().unwrap().contains(&id) {
        return gone_response();
    }
    connections.deletes.lock().unwrap().push(id);
    StatusCode::NO_CONTENT.into_response()
}

struct Fixture {
    handler: signaling::Handler,
    connections: Arc<Connections>,
    dynamodb: aws_sdk_dynamodb::Client,
    token: String,
    _moto: Moto,
}

impl Fixture {
    /// Starts a fixture whose handler reads the time from `clock`.
    async fn start_with_clock(clock: Arc<ManualClock>) -> Self {
        let mut fixture = Self::start(None).await;
        fixture.handler = fixture.handler.with_clock(clock);
        fixture
    }

    async fn start(allowed_origin: Option<&str>) -> Self {
        let connections = Arc::new(Connections::default());
        let app = Router::new()
            .route(
                "/{stage}/@connections/{id}",
                post(post_to_connection).delete(delete_connection),
            )
            .with_state(connections.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let moto = Moto::start();
        let dynamodb = dynamodb_client(&moto.endpoint);
        create_rooms_table(&dynamodb, "rooms").await;
        create_connections_table(&dynamodb, "connections").await;
        let links = LinkKey::generate();
        let request = CreateRoomRequest {
            date: Some(
                video_core::validity::today_in(daytime_zone(), chrono::Utc::now()).to_string(),
            ),
            time_zone: Some(daytime_zone().name().to_owned()),
            ..Default::default()
        };
        let room = request
            .into_room("dr-a", chrono::Utc::now(), Default::default())
            .unwrap();
        DynamoRooms::new(dynamodb.clone(), "rooms")
            .insert(&room)
            .await
            .unwrap();

        let settings = signaling::Settings {
            rooms_table: "rooms".to_owned(),
            connections_table: "connections".to_owned(),
            link_key: links.clone(),
            callback_url: Some(format!("http://{address}/prod")),
            allowed_origin: allowed_origin.map(str::to_owned),
            ice_servers: Vec::new(),
            turn: None,
            // Long enough that a loaded machine still sends the next event
            // within it, short enough for the tests that wait it out.
            away_grace: std::time::Duration::from_secs(3),
        };
        Self {
            handler: signaling::Handler::new(settings, dynamodb.clone(), management_config()),
            connections,
            dynamodb,
            token: links.token_for(&room.id, &room.link_salt),
            _moto: moto,
        }
    }

    async fn send(&self, event: Value) -> i64 {
        let request: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(event).expect("the event parses");
        self.handler.handle(request).await.status_code
    }

    async fn join(&self, connection: &str, name: &str) -> Value {
        let body = json!({"type": "join", "v": 1, "token": self.token, "name": name}).to_string();
        assert_eq!(
            self.send(event("$default", connection, Some(&body))).await,
            200
        );
        self.posts_to(connection).pop().expect("a reply to join")
    }

    fn posts_to(&self, connection: &str) -> Vec<Value> {
        self.connections
            .posts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, id, _)| id == connection)
            .map(|(_, _, message)| message.clone())
            .collect()
    }
}

/// Builds a WebSocket route event from the client address `source_ip`.
fn event_from(route: &str, connection: &str, body: Option<&str>, source_ip: &str) -> Value {
    let mut event = event(route, connection, body);
    event["requestContext"]["identity"]["sourceIp"] = json!(source_ip);
    event
}

/// Builds a WebSocket route event as API Gateway sends it.
fn event(route: &str, connection: &str, body: Option<&str>) -> Value {
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
            "identity": {"sourceIp": "192.0.2.7"},
            "requestId": "request-1",
            "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
            "connectionId": connection,
            "apiId": "abc123",
            "someFieldAddedLater": true
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

#[tokio::test]
async fn connect_posts_nothing() {
    let fixture = Fixture::start(None).await;
    assert_eq!(fixture.send(event("$connect", "c1", None)).await, 200);
    assert!(fixture.connections.posts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn connect_from_foreign_origin_is_403() {
    let fixture = Fixture::start(Some("https://video.example.test")).await;
    let mut foreign = event("$connect", "c1", None);
    foreign["headers"] = json!({"Origin": "https://evil.example"});
    assert_eq!(fixture.send(foreign).await, 403);
    let mut own = event("$connect", "c2", None);
    own["headers"] = json!({"Origin": "https://video.example.test"});
    assert_eq!(fixture.send(own).await, 200);
}

#[tokio::test]
async fn join_and_relay_post_with_stage() {
    let fixture = Fixture::start(None).await;
    let first = fixture.join("c1", "Dr. Weber").await;
    assert_eq!(first["type"], "joined");
    let second = fixture.join("c2", "Anna").await;
    assert_eq!(second["peers"][0]["peerId"], first["peerId"]);
    assert_eq!(
        fixture.posts_to("c1").last().unwrap()["type"],
        "peer-joined"
    );

    let signal =
        json!({"type": "signal", "to": first["peerId"], "data": {"candidate": null}}).to_string();
    assert_eq!(
        fixture.send(event("$default", "c2", Some(&signal))).await,
        200
    );
    let relayed = fixture.posts_to("c1").pop().unwrap();
    assert_eq!(relayed["from"], second["peerId"]);
    let stages: HashSet<String> = fixture
        .connections
        .posts
        .lock()
        .unwrap()
        .iter()
        .map(|(stage, _, _)| stage.clone())
        .collect();
    assert_eq!(stages, HashSet::from(["prod".to_owned()]));
}

#[tokio::test]
async fn gone_peer_is_removed_and_not_retried() {
    let fixture = Fixture::start(None).await;
    let gone = fixture.join("c1", "A").await;
    fixture.join("c2", "B").await;
    fixture
        .connections
        .gone
        .lock()
        .unwrap()
        .insert("c1".to_owned());

    // Announcing the newcomer first finds the gone connection, so `joined`
    // does not list it.
    let third = fixture.join("c3", "C").await;
    assert_eq!(third["type"], "joined");
    let peers: Vec<&Value> = third["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|peer| &peer["peerId"])
        .collect();
    assert_eq!(peers.len(), 1, "{third}");
    assert!(!peers.contains(&&gone["peerId"]), "{third}");
    let to_c2 = fixture.posts_to("c2");
    assert!(
        to_c2.iter().any(|m| m["type"] == "peer-joined"),
        "{to_c2:?}"
    );
    assert!(
        to_c2
            .iter()
            .any(|m| m["type"] == "peer-left" && m["peerId"] == gone["peerId"]),
        "{to_c2:?}"
    );
    let attempts_to_c1 = fixture
        .posts_to("c1")
        .iter()
        .filter(|m| m.is_null())
        .count();
    assert_eq!(attempts_to_c1, 1, "a gone connection is tried once");

    // The gone participant no longer counts: a signal to it is unknown-peer.
    let signal =
        json!({"type": "signal", "to": gone["peerId"], "data": {"candidate": null}}).to_string();
    fixture.send(event("$default", "c2", Some(&signal))).await;
    assert_eq!(
        fixture.posts_to("c2").pop().unwrap()["code"],
        "unknown-peer"
    );
}

/// A closed socket keeps its place for the grace time, 3 s here. The
/// departure is announced with the next ping in the room after that.
#[tokio::test]
async fn disconnect_announces_departure_after_grace() {
    let fixture = Fixture::start(None).await;
    fixture.join("c1", "A").await;
    let second = fixture.join("c2", "B").await;
    let mut disconnect = event("$disconnect", "c2", None);
    disconnect["requestContext"]["disconnectStatusCode"] = json!(1001);
    disconnect["requestContext"]["disconnectReason"] = json!("Going away");
    assert_eq!(fixture.send(disconnect).await, 200);
    // A repeated $disconnect (best effort may deliver twice) changes nothing.
    assert_eq!(fixture.send(event("$disconnect", "c2", None)).await, 200);
    let ping = json!({"type": "ping"}).to_string();
    assert_eq!(
        fixture.send(event("$default", "c1", Some(&ping))).await,
        200
    );
    assert_eq!(fixture.posts_to("c1").pop().unwrap()["type"], "pong");

    // awaySince has whole seconds, so wait past the next full second.
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    assert_eq!(
        fixture.send(event("$default", "c1", Some(&ping))).await,
        200
    );
    let left = fixture.posts_to("c1").pop().unwrap();
    assert_eq!(left["type"], "peer-left");
    assert_eq!(left["peerId"], second["peerId"]);
}

/// A client whose socket closed takes its place back with `resume`, as the
/// web client does after API Gateway closed an idle or 2-hour-old socket.
#[tokio::test]
async fn resume_after_disconnect_keeps_peer_id() {
    let fixture = Fixture::start(None).await;
    fixture.join("c1", "A").await;
    let second = fixture.join("c2", "B").await;
    assert_eq!(fixture.send(event("$disconnect", "c2", None)).await, 200);
    let posts_before = fixture.posts_to("c1").len();

    let resume = json!({"peerId": second["peerId"], "key": second["resumeKey"]});
    let body =
        json!({"type": "join", "v": 1, "token": fixture.token, "name": "B", "resume": resume})
            .to_string();
    assert_eq!(
        fixture.send(event("$default", "c3", Some(&body))).await,
        200
    );
    let resumed = fixture.posts_to("c3").pop().unwrap();
    assert_eq!(resumed["type"], "joined");
    assert_eq!(resumed["peerId"], second["peerId"]);
    assert_eq!(
        fixture.posts_to("c1").len(),
        posts_before,
        "the others notice nothing"
    );

    // Signals reach the resumed participant on its new connection.
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let signal =
        json!({"type": "signal", "to": second["peerId"], "data": {"candidate": null}}).to_string();
    assert_eq!(
        fixture.send(event("$default", "c1", Some(&signal))).await,
        200
    );
    assert_eq!(fixture.posts_to("c3").pop().unwrap()["type"], "signal");
}

#[tokio::test]
async fn ninth_join_gets_room_full_and_delete() {
    let fixture = Fixture::start(None).await;
    for index in 0..8 {
        assert_eq!(
            fixture.join(&format!("c{index}"), "Gast").await["type"],
            "joined"
        );
    }
    assert_eq!(fixture.join("c8", "Gast").await["code"], "room-full");
    assert_eq!(
        *fixture.connections.deletes.lock().unwrap(),
        vec!["c8".to_owned()]
    );
}

#[tokio::test]
async fn binary_and_malformed_messages_get_errors() {
    let fixture = Fixture::start(None).await;
    let mut binary = event("$default", "c1", Some("AAEC"));
    binary["isBase64Encoded"] = json!(true);
    assert_eq!(fixture.send(binary).await, 200);
    assert_eq!(
        fixture.posts_to("c1").pop().unwrap()["code"],
        "invalid-message"
    );
    assert_eq!(
        fixture.send(event("$default", "c1", Some("{nope"))).await,
        200
    );
    assert_eq!(
        fixture.posts_to("c1").pop().unwrap()["code"],
        "invalid-message"
    );
    assert_eq!(fixture.send(event("$default", "c1", None)).await, 200);
    assert_eq!(
        fixture.posts_to("c1").pop().unwrap()["code"],
        "invalid-message"
    );
}

/// Client addresses of the throttle tests (documentation ranges, never
/// contacted).
const GUESSER: &str = "203.0.113.9";
const BYSTANDER: &str = "198.51.100.4";

/// Builds a token of the fixture's room with a wrong tag, which fails
/// verification.
fn forged_token(fixture: &Fixture) -> String {
    let (room_id, tag) = fixture.token.split_once('.').unwrap();
    let replaced = if tag.starts_with('A') { 'B' } else { 'A' };
    format!("{room_id}.{replaced}{}", &tag[1..])
}

impl Fixture {
    /// Opens a new connection from `source_ip` and sends one invalid link,
    /// in a `join` for even `index` and in a `check` for odd. Every third
    /// link is malformed, the others carry a forged tag. Returns the
    /// `$connect` status.
    async fn guess(&self, index: usize, source_ip: &str) -> i64 {
        let connection = format!("guess-{}", random_id());
        let connected = self
            .send(event_from("$connect", &connection, None, source_ip))
            .await;
        if connected != 200 {
            return connected;
        }
        let token = if index.is_multiple_of(3) {
            "not-a-token".to_owned()
        } else {
            forged_token(self)
        };
        let body = if index.is_multiple_of(2) {
            json!({"type": "join", "v": 1, "token": token, "name": "Gast"})
        } else {
            json!({"type": "check", "v": 1, "token": token})
        };
        let status = self
            .send(event_from(
                "$default",
                &connection,
                Some(&body.to_string()),
                source_ip,
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            self.posts_to(&connection).pop().unwrap()["code"],
            "invalid-link"
        );
        assert!(
            self.connections
                .deletes
                .lock()
                .unwrap()
                .contains(&connection),
            "an invalid link closes the connection"
        );
        connected
    }

    /// Sends `count` invalid links from `source_ip`, each on a new
    /// connection that `$connect` must accept.
    async fn guess_times(&self, count: usize, source_ip: &str) {
        for index in 0..count {
            assert_eq!(
                self.guess(index, source_ip).await,
                200,
                "guess {index} must still connect"
            );
        }
    }

    /// Connects from `source_ip` and joins with the room's valid link.
    async fn join_from(&self, connection: &str, source_ip: &str) -> i64 {
        let connected = self
            .send(event_from("$connect", connection, None, source_ip))
            .await;
        if connected == 200 {
            let body =
                json!({"type": "join", "v": 1, "token": self.token, "name": "Anna"}).to_string();
            self.send(event_from("$default", connection, Some(&body), source_ip))
                .await;
        }
        connected
    }

    /// Returns every item of the connections table.
    async fn connection_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name("connections")
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(chrono::Utc::now()))
}

#[tokio::test]
async fn twenty_invalid_links_block_connect() {
    let fixture = Fixture::start_with_clock(manual_clock()).await;
    fixture.guess_times(20, GUESSER).await;

    let mut blocked = fixture
        .handler
        .handle(serde_json::from_value(event_from("$connect", "c21", None, GUESSER)).unwrap())
        .await;
    assert_eq!(blocked.status_code, 429);
    let retry_after: i64 = blocked
        .headers
        .remove("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");

    assert_eq!(
        fixture.join_from("other", BYSTANDER).await,
        200,
        "another address still connects"
    );
    assert_eq!(fixture.posts_to("other").pop().unwrap()["type"], "joined");
}

#[tokio::test]
async fn blocked_address_cannot_use_valid_link() {
    let fixture = Fixture::start_with_clock(manual_clock()).await;
    fixture.guess_times(19, GUESSER).await;
    assert_eq!(
        fixture.join_from("valid", GUESSER).await,
        200,
        "19 invalid links do not block"
    );
    assert_eq!(fixture.posts_to("valid").pop().unwrap()["type"], "joined");
    // A valid link neither counts nor resets the count, so one more
    // invalid link reaches the limit.
    assert_eq!(fixture.guess(19, GUESSER).await, 200);

    assert_eq!(fixture.join_from("valid-again", GUESSER).await, 429);
    assert!(fixture.posts_to("valid-again").is_empty());
    assert_eq!(fixture.guess(20, GUESSER).await, 429);
}

#[tokio::test]
async fn block_ends_with_window() {
    let clock = manual_clock();
    let fixture = Fixture::start_with_clock(clock.clone()).await;
    fixture.guess_times(20, GUESSER).await;
    assert_eq!(fixture.guess(20, GUESSER).await, 429);

    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(
        fixture.join_from("later", GUESSER).await,
        200,
        "the next window starts from 0"
    );
    assert_eq!(fixture.posts_to("later").pop().unwrap()["type"], "joined");
    fixture.guess_times(19, GUESSER).await;
    assert_eq!(fixture.guess(19, GUESSER).await, 200);
    assert_eq!(fixture.guess(20, GUESSER).await, 429);
}

#[tokio::test]
async fn stored_counts_hold_no_address() {
    let clock = manual_clock();
    let fixture = Fixture::start_with_clock(clock.clone()).await;
    fixture.guess_times(3, GUESSER).await;
    fixture.guess_times(2, "2001:db8:7:7::15").await;

    let items = fixture.connection_items().await;
    let counts: Vec<_> = items
        .iter()
        .filter(|item| item["pk"].as_s().unwrap().starts_with("LINKFAIL#"))
        .collect();
    let mut failures: Vec<&str> = counts
        .iter()
        .map(|item| item["failures"].as_n().unwrap().as_str())
        .collect();
    failures.sort_unstable();
    assert_eq!(failures, ["2", "3"], "one item per address: {items:?}");

    let now = clock.now().timestamp();
    for item in &counts {
        let expires_at: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
        assert!(
            (now + 60..=now + 120).contains(&expires_at),
            "expires one minute after its window: {expires_at} at {now}"
        );
    }

    let text = format!("{items:?}");
    for address in [GUESSER, "203.0.113", "cb007109", "2001:db8", "20010db8"] {
        assert!(
            !text.contains(address),
            "the table contains {address}: {text}"
        );
    }
}

#[tokio::test]
async fn connect_allowed_when_store_fails() {
    let fixture = Fixture::start_with_clock(manual_clock()).await;
    fixture
        .dynamodb
        .delete_table()
        .table_name("connections")
        .send()
        .await
        .unwrap();

    assert_eq!(
        fixture
            .send(event_from("$connect", "c1", None, GUESSER))
            .await,
        200,
        "a failed read lets the connection through"
    );
    // A failed count leaves the reply and the close as they are.
    let body = json!({"type": "check", "v": 1, "token": forged_token(&fixture)}).to_string();
    assert_eq!(
        fixture
            .send(event_from("$default", "c1", Some(&body), GUESSER))
            .await,
        200
    );
    assert_eq!(
        fixture.posts_to("c1").pop().unwrap()["code"],
        "invalid-link"
    );
    assert_eq!(
        *fixture.connections.deletes.lock().unwrap(),
        vec!["c1".to_owned()]
    );
}
