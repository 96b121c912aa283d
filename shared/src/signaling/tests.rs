//! Signaling state machine tests with an in-memory store, a fixed clock and a
//! push adapter that records what each connection was sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::clock::{FixedClock, ManualClock};
use crate::store::contract::sample_room;
use crate::store::embedded::EmbeddedStore;
use crate::store::memory_participants::MemoryParticipants;

#[derive(Default)]
struct RecordingPush {
    sent: Mutex<HashMap<String, Vec<Value>>>,
    closed: Mutex<HashMap<String, u16>>,
    gone: Mutex<Vec<String>>,
}

#[async_trait]
impl Push for RecordingPush {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), PushError> {
        if self
            .gone
            .lock()
            .unwrap()
            .iter()
            .any(|id| id == connection_id)
        {
            return Err(PushError::Gone);
        }
        let value = serde_json::from_str(text).unwrap();
        self.sent
            .lock()
            .unwrap()
            .entry(connection_id.to_owned())
            .or_default()
            .push(value);
        Ok(())
    }

    async fn close(&self, connection_id: &str, code: u16) -> Result<(), PushError> {
        self.closed
            .lock()
            .unwrap()
            .insert(connection_id.to_owned(), code);
        Ok(())
    }
}

impl RecordingPush {
    fn take(&self, connection_id: &str) -> Vec<Value> {
        self.sent
            .lock()
            .unwrap()
            .remove(connection_id)
            .unwrap_or_default()
    }

    fn last(&self, connection_id: &str) -> Value {
        self.take(connection_id).pop().unwrap_or(Value::Null)
    }

    fn close_code(&self, connection_id: &str) -> Option<u16> {
        self.closed.lock().unwrap().get(connection_id).copied()
    }
}

struct Harness {
    signaling: Signaling,
    push: Arc<RecordingPush>,
    token: String,
    _dir: tempfile::TempDir,
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Builds signaling with a room on `day` in Europe/Berlin and the clock fixed at `now`.
async fn harness(day: &str, now: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap();
    let room = sample_room("dr-a", day);
    RoomStore::insert(&store, &room).await.unwrap();
    let links = LinkKey::generate();
    let push = Arc::new(RecordingPush::default());
    Harness {
        token: links.token_for(&room.id, &room.link_salt),
        signaling: Signaling {
            rooms: Arc::new(store),
            participants: Arc::new(MemoryParticipants::default()),
            push: push.clone(),
            links,
            clock: Arc::new(FixedClock(utc(now))),
            ice_servers: Vec::new(),
            turn: None,
            away_grace: AWAY_GRACE,
        },
        push,
        _dir: dir,
    }
}

impl Harness {
    async fn send(&self, connection: &str, message: Value) {
        let _ = self
            .signaling
            .handle_message(connection, &message.to_string())
            .await;
    }

    async fn join(&self, connection: &str, name: &str) -> Value {
        self.send(
            connection,
            json!({"type": "join", "v": 1, "token": self.token, "name": name}),
        )
        .await;
        self.push.last(connection)
    }

    async fn check_state(&self) -> Value {
        self.send(
            "checker",
            json!({"type": "check", "v": 1, "token": self.token}),
        )
        .await;
        self.push.last("checker")
    }
}

/// Joins and leaves at set times on a clock the test moves.
#[tokio::test]
async fn call_time_counts_while_two_are_connected() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = Arc::new(ManualClock::new(utc("2026-12-13T10:00:00Z")));
    h.signaling.clock = clock.clone();
    let room_id = h.token.split('.').next().unwrap().to_owned();
    let call_seconds = |h: &Harness| {
        let rooms = h.signaling.rooms.clone();
        let id = room_id.clone();
        let now = clock.now();
        async move {
            rooms
                .get(&id, now)
                .await
                .unwrap()
                .unwrap()
                .call_seconds(now)
        }
    };

    h.join("a", "Anna").await;
    clock.advance(chrono::Duration::minutes(5));
    assert_eq!(call_seconds(&h).await, 0, "one participant is no call");
    h.join("b", "Ben").await;
    clock.advance(chrono::Duration::minutes(10));
    assert_eq!(call_seconds(&h).await, 600, "a running call counts");
    h.join("c", "Carla").await;
    clock.advance(chrono::Duration::minutes(2));
    h.send("c", json!({"type": "leave"})).await;
    clock.advance(chrono::Duration::minutes(3));
    h.send("b", json!({"type": "leave"})).await;
    assert_eq!(call_seconds(&h).await, 900);
    clock.advance(chrono::Duration::minutes(20));
    assert_eq!(
        call_seconds(&h).await,
        900,
        "alone again: the time stands still"
    );
    h.join("d", "Ben").await;
    clock.advance(chrono::Duration::seconds(90));
    h.send("a", json!({"type": "leave"})).await;
    h.send("d", json!({"type": "leave"})).await;
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(call_seconds(&h).await, 990);
}

#[tokio::test]
async fn joined_carries_fresh_turn_credentials() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let secret = crate::turn::TurnSecret::new("coturn-shared-secret-for-tests-only").unwrap();
    h.signaling.turn = Some(
        TurnServer::new(
            vec!["turn:turn.example.org:3478?transport=udp".to_owned()],
            secret.clone(),
        )
        .unwrap(),
    );
    let first = h.join("a", "Anna").await;
    let second = h.join("b", "Ben").await;
    let server = &first["iceServers"][0];
    assert_eq!(
        server["urls"][0],
        "turn:turn.example.org:3478?transport=udp"
    );
    let username = server["username"].as_str().unwrap();
    assert_eq!(server["credential"], secret.password_for(username).as_str());
    // 2026-12-13 ends at 23:00 UTC in Berlin; the margin is 3 hours.
    assert!(username.starts_with(&format!("{}:", utc("2026-12-14T02:00:00Z").timestamp())));
    assert_ne!(second["iceServers"][0]["username"], server["username"]);
}

/// Returns the expiry that a TURN REST API username starts with.
fn username_expiry(server: &Value) -> DateTime<Utc> {
    let username = server["username"]
        .as_str()
        .expect("a TURN entry has a username");
    let seconds = username.split(':').next().unwrap().parse().unwrap();
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn test_turn_server() -> TurnServer {
    let secret = crate::turn::TurnSecret::new("coturn-shared-secret-for-tests-only").unwrap();
    TurnServer::new(
        vec!["turn:turn.example.org:3478?transport=udp".to_owned()],
        secret,
    )
    .unwrap()
}

impl Harness {
    async fn request_ice_servers(&self, connection: &str) -> Value {
        self.send(connection, json!({"type": "ice-servers"})).await;
        self.push.last(connection)
    }
}

#[tokio::test]
async fn ice_servers_before_join_is_not_joined() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.signaling.turn = Some(test_turn_server());
    let reply = h.request_ice_servers("a").await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "not-joined");
    assert_eq!(h.push.close_code("a"), None);
    assert_eq!(h.join("a", "Anna").await["type"], "joined");
}

#[tokio::test]
async fn ice_servers_mints_credentials_at_current_time() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = Arc::new(ManualClock::new(utc("2026-12-13T10:00:00Z")));
    h.signaling.clock = clock.clone();
    let turn = test_turn_server();
    h.signaling.turn = Some(turn.clone());
    let joined = h.join("a", "Anna").await;

    clock.advance(chrono::Duration::hours(2));
    let during_day = h.request_ice_servers("a").await;
    assert_eq!(during_day["type"], "ice-servers");
    let server = &during_day["iceServers"][0];
    assert_eq!(
        server["urls"][0],
        "turn:turn.example.org:3478?transport=udp"
    );
    let username = server["username"].as_str().unwrap();
    assert_eq!(
        server["credential"],
        turn.secret.password_for(username).as_str()
    );
    assert_ne!(server["username"], joined["iceServers"][0]["username"]);
    // 2026-12-13 ends at 23:00 UTC in Berlin; the margin is 3 hours.
    assert_eq!(username_expiry(server), utc("2026-12-14T02:00:00Z"));

    // Past the day's end a call goes on, and credentials count from now.
    clock.advance(chrono::Duration::hours(13));
    let after_day = h.request_ice_servers("a").await;
    assert_eq!(after_day["type"], "ice-servers");
    assert_eq!(
        username_expiry(&after_day["iceServers"][0]),
        utc("2026-12-14T04:00:00Z")
    );
}

#[tokio::test]
async fn ice_servers_after_room_deleted_count_from_now() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.signaling.turn = Some(test_turn_server());
    h.join("a", "Anna").await;
    let room_id = h.token.split('.').next().unwrap();
    assert!(h.signaling.rooms.delete("dr-a", room_id).await.unwrap());

    let reply = h.request_ice_servers("a").await;
    assert_eq!(reply["type"], "ice-servers");
    assert_eq!(
        username_expiry(&reply["iceServers"][0]),
        utc("2026-12-13T13:00:00Z")
    );
}

#[tokio::test]
async fn ice_servers_without_turn_is_empty() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.join("a", "Anna").await;
    let reply = h.request_ice_servers("a").await;
    assert_eq!(reply["type"], "ice-servers");
    assert_eq!(reply["iceServers"], json!([]));
}

#[tokio::test]
async fn check_reports_open_during_day() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let status = h.check_state().await;
    assert_eq!(status["type"], "status");
    assert_eq!(status["state"], "open");
    assert_eq!(status["date"], "2026-12-13");
    assert_eq!(status["validFrom"], "2026-12-12T23:00:00Z");
}

#[tokio::test]
async fn check_reports_not_yet_open_before_midnight() {
    let h = harness("2026-12-13", "2026-12-12T22:59:59Z").await;
    assert_eq!(h.check_state().await["state"], "not-yet-open");
}

#[tokio::test]
async fn check_reports_expired_after_day() {
    let h = harness("2026-12-13", "2026-12-13T23:00:00Z").await;
    assert_eq!(h.check_state().await["state"], "expired");
}

#[tokio::test]
async fn fall_back_day_admits_until_local_midnight() {
    // 23:30 CET on the 25-hour day of 2026-10-25 is 22:30 UTC.
    let h = harness("2026-10-25", "2026-10-25T22:30:00Z").await;
    assert_eq!(h.join("a", "Anna").await["type"], "joined");
}

#[tokio::test]
async fn spring_forward_day_ends_after_23_hours() {
    // Midnight after 2026-03-29 in Berlin is 22:00 UTC (CEST).
    let h = harness("2026-03-29", "2026-03-29T22:00:00Z").await;
    let reply = h.join("a", "Anna").await;
    assert_eq!(reply["code"], "room-not-open");
    assert_eq!(reply["state"], "expired");
}

#[tokio::test]
async fn join_before_day_is_refused_with_date() {
    let h = harness("2026-12-13", "2026-12-12T12:00:00Z").await;
    let reply = h.join("a", "Anna").await;
    assert_eq!(reply["code"], "room-not-open");
    assert_eq!(reply["date"], "2026-12-13");
    assert_eq!(reply["state"], "not-yet-open");
    assert_eq!(h.push.close_code("a"), Some(4002));
}

#[tokio::test]
async fn invalid_token_is_refused_and_closed() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let forged = format!("{}x", &h.token[..h.token.len() - 1]);
    h.send(
        "a",
        json!({"type": "join", "v": 1, "token": forged, "name": "Anna"}),
    )
    .await;
    assert_eq!(h.push.last("a")["code"], "invalid-link");
    assert_eq!(h.push.close_code("a"), Some(4001));
}

#[tokio::test]
async fn deleted_room_link_is_invalid() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let room_id = h.token.split('.').next().unwrap();
    assert!(h.signaling.rooms.delete("dr-a", room_id).await.unwrap());
    assert_eq!(h.join("a", "Anna").await["code"], "invalid-link");
}

#[tokio::test]
async fn unsupported_version_is_refused() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.send(
        "a",
        json!({"type": "join", "v": 2, "token": h.token, "name": "Anna"}),
    )
    .await;
    assert_eq!(h.push.last("a")["code"], "unsupported-version");
    assert_eq!(h.push.close_code("a"), Some(4000));
}

#[tokio::test]
async fn second_participant_sees_first_and_is_announced() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let first = h.join("a", "Dr. Weber").await;
    assert_eq!(first["peers"], json!([]));
    let second = h.join("b", "Anna").await;
    assert_eq!(second["type"], "joined");
    assert_eq!(second["peers"][0]["peerId"], first["peerId"]);
    assert_eq!(second["peers"][0]["name"], "Dr. Weber");
    assert_eq!(second["maxParticipants"], 8);
    let announced = h.push.last("a");
    assert_eq!(announced["type"], "peer-joined");
    assert_eq!(announced["peerId"], second["peerId"]);
    assert_eq!(announced["name"], "Anna");
}

#[tokio::test]
async fn ninth_participant_gets_room_full() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    for index in 0..8 {
        assert_eq!(h.join(&format!("c{index}"), "Gast").await["type"], "joined");
    }
    assert_eq!(h.join("c8", "Gast").await["code"], "room-full");
    assert_eq!(h.push.close_code("c8"), Some(4003));
}

#[tokio::test]
async fn place_frees_after_leave() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    for index in 0..8 {
        h.join(&format!("c{index}"), "Gast").await;
    }
    h.send("c3", json!({"type": "leave"})).await;
    assert_eq!(h.join("c8", "Gast").await["type"], "joined");
}

/// Replaces the harness clock with one the test moves, starting at `now`.
fn manual_clock(h: &mut Harness, now: &str) -> Arc<ManualClock> {
    let clock = Arc::new(ManualClock::new(utc(now)));
    h.signaling.clock = clock.clone();
    clock
}

fn grace() -> chrono::Duration {
    chrono::Duration::from_std(AWAY_GRACE).unwrap()
}

#[tokio::test]
async fn closed_socket_keeps_place_until_grace_ends() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = manual_clock(&mut h, "2026-12-13T10:00:00Z");
    for index in 0..8 {
        h.join(&format!("c{index}"), "Gast").await;
    }
    h.push.take("c0");
    assert_eq!(
        h.signaling
            .handle_disconnect("c3")
            .await
            .unwrap()
            .as_deref(),
        Some(h.token.split('.').next().unwrap())
    );
    assert!(
        h.push.take("c0").is_empty(),
        "no departure within the grace time"
    );
    assert_eq!(h.join("c8", "Gast").await["code"], "room-full");

    clock.advance(grace());
    let joined = h.join("c9", "Gast").await;
    assert_eq!(joined["type"], "joined");
    assert_eq!(joined["peers"].as_array().unwrap().len(), 7);
    let told: Vec<Value> = h.push.take("c0");
    assert!(
        told.iter().any(|message| message["type"] == "peer-left"),
        "the others hear of the departure: {told:?}"
    );
}

#[tokio::test]
async fn resume_after_socket_close_keeps_peer_id_silently() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = manual_clock(&mut h, "2026-12-13T10:00:00Z");
    h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.push.take("a");
    h.signaling.handle_disconnect("b").await.unwrap();
    clock.advance(grace() - chrono::Duration::seconds(1));

    // A signal to the away participant is dropped, not an error.
    h.send(
        "a",
        json!({"type": "signal", "to": second["peerId"], "data": {"candidate": null}}),
    )
    .await;
    assert!(h.push.take("a").is_empty());

    let resume = json!({"peerId": second["peerId"], "key": second["resumeKey"]});
    h.send(
        "b2",
        json!({"type": "join", "v": 1, "token": h.token, "name": "B", "resume": resume}),
    )
    .await;
    let resumed = h.push.last("b2");
    assert_eq!(resumed["type"], "joined");
    assert_eq!(resumed["peerId"], second["peerId"]);

    // Long after the grace time, the resumed participant is still there.
    clock.advance(grace() * 4);
    h.send("a", json!({"type": "ping"})).await;
    assert_eq!(h.push.take("a"), vec![json!({"type": "pong"})]);
    h.send(
        "a",
        json!({"type": "signal", "to": second["peerId"], "data": {"candidate": null}}),
    )
    .await;
    assert_eq!(h.push.last("b2")["type"], "signal");
}

#[tokio::test]
async fn ping_announces_participant_that_did_not_return() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = manual_clock(&mut h, "2026-12-13T10:00:00Z");
    h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.signaling.handle_disconnect("b").await.unwrap();
    h.push.take("a");

    clock.advance(grace() - chrono::Duration::seconds(1));
    h.send("a", json!({"type": "ping"})).await;
    assert_eq!(h.push.take("a"), vec![json!({"type": "pong"})]);

    clock.advance(chrono::Duration::seconds(1));
    h.send("a", json!({"type": "ping"})).await;
    let messages = h.push.take("a");
    assert_eq!(messages[0], json!({"type": "pong"}));
    assert_eq!(messages[1]["type"], "peer-left");
    assert_eq!(messages[1]["peerId"], second["peerId"]);

    // Too late: the resume joins as a new participant.
    let resume = json!({"peerId": second["peerId"], "key": second["resumeKey"]});
    h.send(
        "b2",
        json!({"type": "join", "v": 1, "token": h.token, "name": "B", "resume": resume}),
    )
    .await;
    assert_ne!(h.push.last("b2")["peerId"], second["peerId"]);
}

#[tokio::test]
async fn signal_is_relayed_with_sender_id() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let first = h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.push.take("a");
    let data = json!({"description": {"type": "offer", "sdp": "v=0"}});
    h.send(
        "b",
        json!({"type": "signal", "to": first["peerId"], "data": data}),
    )
    .await;
    let relayed = h.push.last("a");
    assert_eq!(relayed["type"], "signal");
    assert_eq!(relayed["from"], second["peerId"]);
    assert_eq!(relayed["data"], data);
    assert!(h.push.take("b").is_empty());
}

#[tokio::test]
async fn signal_before_join_is_rejected() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.send(
        "a",
        json!({"type": "signal", "to": "x", "data": {"candidate": null}}),
    )
    .await;
    assert_eq!(h.push.last("a")["code"], "not-joined");
    assert_eq!(h.push.close_code("a"), None);
}

#[tokio::test]
async fn signal_to_self_or_stranger_is_unknown_peer() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let me = h.join("a", "A").await;
    for to in [me["peerId"].clone(), json!(random_id())] {
        h.send(
            "a",
            json!({"type": "signal", "to": to, "data": {"candidate": null}}),
        )
        .await;
        assert_eq!(h.push.last("a")["code"], "unknown-peer");
    }
}

#[tokio::test]
async fn second_join_on_same_connection_is_rejected() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.join("a", "A").await;
    assert_eq!(h.join("a", "A").await["code"], "already-joined");
}

#[tokio::test]
async fn invalid_name_keeps_connection_open() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    assert_eq!(h.join("a", "   ").await["code"], "invalid-name");
    assert_eq!(h.push.close_code("a"), None);
    assert_eq!(h.join("a", "Anna").await["type"], "joined");
}

#[tokio::test]
async fn disconnect_announces_departure_after_grace() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = manual_clock(&mut h, "2026-12-13T10:00:00Z");
    h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.push.take("a");
    let room_id = h.signaling.handle_disconnect("b").await.unwrap().unwrap();
    h.signaling.prune_room(&room_id).await.unwrap();
    assert!(h.push.take("a").is_empty(), "still within the grace time");
    clock.advance(grace());
    h.signaling.prune_room(&room_id).await.unwrap();
    let left = h.push.last("a");
    assert_eq!(left["type"], "peer-left");
    assert_eq!(left["peerId"], second["peerId"]);
}

#[tokio::test]
async fn leave_announces_and_closes_normally() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.join("a", "A").await;
    h.join("b", "B").await;
    h.send("b", json!({"type": "leave"})).await;
    assert_eq!(h.push.last("a")["type"], "peer-left");
    assert_eq!(h.push.close_code("b"), Some(1000));
}

#[tokio::test]
async fn gone_peer_is_removed_and_others_still_served() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.join("a", "A").await;
    let gone = h.join("b", "B").await;
    h.join("c", "C").await;
    h.push.take("a");
    h.push.gone.lock().unwrap().push("b".to_owned());
    h.send(
        "d",
        json!({"type": "join", "v": 1, "token": h.token, "name": "D"}),
    )
    .await;
    // The newcomer's arrival is announced first, which finds the gone
    // connection, so `joined` does not list it and no one negotiates with it.
    let joined = h
        .push
        .take("d")
        .into_iter()
        .find(|m| m["type"] == "joined")
        .expect("joined");
    let peers: Vec<&Value> = joined["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|peer| &peer["peerId"])
        .collect();
    assert_eq!(peers.len(), 2, "{joined}");
    assert!(!peers.contains(&&gone["peerId"]), "{joined}");
    let to_a = h.push.take("a");
    assert!(to_a.iter().any(|m| m["type"] == "peer-joined"), "{to_a:?}");
    assert!(
        to_a.iter()
            .any(|m| m["type"] == "peer-left" && m["peerId"] == gone["peerId"]),
        "{to_a:?}"
    );
    let left_c = h.push.take("c");
    assert!(
        left_c.iter().any(|m| m["type"] == "peer-left"),
        "{left_c:?}"
    );
}

#[tokio::test]
async fn resume_keeps_peer_id_without_announcements() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.push.take("a");
    let resume = json!({"peerId": second["peerId"], "key": second["resumeKey"]});
    h.send(
        "b2",
        json!({"type": "join", "v": 1, "token": h.token, "name": "B", "resume": resume}),
    )
    .await;
    let resumed = h.push.last("b2");
    assert_eq!(resumed["type"], "joined");
    assert_eq!(resumed["peerId"], second["peerId"]);
    assert_eq!(resumed["peers"].as_array().unwrap().len(), 1);
    assert_eq!(h.push.close_code("b"), Some(1000));
    // The old socket's late close must not announce a departure.
    h.signaling.handle_disconnect("b").await.unwrap();
    assert!(h.push.take("a").is_empty());
}

#[tokio::test]
async fn resume_with_wrong_key_joins_as_new_peer() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let first = h.join("a", "A").await;
    let resume = json!({"peerId": first["peerId"], "key": "guessed"});
    h.send(
        "x",
        json!({"type": "join", "v": 1, "token": h.token, "name": "X", "resume": resume}),
    )
    .await;
    let joined = h.push.last("x");
    assert_eq!(joined["type"], "joined");
    assert_ne!(joined["peerId"], first["peerId"]);
}

#[tokio::test]
async fn bad_messages_get_errors_and_ping_still_works() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    for (text, code) in [
        ("{", "invalid-message"),
        (r#"{"type":"dance"}"#, "unknown-type"),
        (
            &format!(r#"{{"type":"ping","x":"{}"}}"#, "y".repeat(40_000)),
            "message-too-large",
        ),
    ] {
        let _ = h.signaling.handle_message("a", text).await;
        assert_eq!(
            h.push.last("a")["code"],
            code,
            "{}",
            &text[..text.len().min(30)]
        );
    }
    h.send("a", json!({"type": "ping"})).await;
    assert_eq!(h.push.last("a")["type"], "pong");
    assert_eq!(h.push.close_code("a"), None);
}

/// Joins as "b2" with `replaces` naming `place` (peerId and resumeKey of a `joined`).
async fn join_replacing(h: &Harness, place: &Value, key: &Value) -> Value {
    let replaces = json!({"peerId": place["peerId"], "key": key});
    h.send(
        "b2",
        json!({"type": "join", "v": 1, "token": h.token, "name": "B", "replaces": replaces}),
    )
    .await;
    h.push.last("b2")
}

#[tokio::test]
async fn replaced_away_place_leaves_before_newcomer_joins() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    manual_clock(&mut h, "2026-12-13T10:00:00Z");
    let first = h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.signaling.handle_disconnect("b").await.unwrap();
    h.push.take("a");

    let third = join_replacing(&h, &second, &second["resumeKey"]).await;
    assert_eq!(third["type"], "joined");
    assert_ne!(
        third["peerId"], second["peerId"],
        "a replacing page gets a new place"
    );
    let peers: Vec<&Value> = third["peers"].as_array().unwrap().iter().collect();
    assert_eq!(
        peers.len(),
        1,
        "the replaced place is not listed: {peers:?}"
    );
    assert_eq!(peers[0]["peerId"], first["peerId"]);

    let messages = h.push.take("a");
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["type"], "peer-left");
    assert_eq!(messages[0]["peerId"], second["peerId"]);
    assert_eq!(messages[1]["type"], "peer-joined");
    assert_eq!(messages[1]["peerId"], third["peerId"]);
}

#[tokio::test]
async fn replaces_keeps_open_or_unproven_places() {
    let h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    h.join("a", "A").await;
    let second = h.join("b", "B").await;
    h.push.take("a");

    // "b" is still connected, as a second tab of the same browser would be.
    let third = join_replacing(&h, &second, &second["resumeKey"]).await;
    assert_eq!(third["peers"].as_array().unwrap().len(), 2);
    let messages = h.push.take("a");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["type"], "peer-joined");

    // An away place with a wrong key stays until its grace time ends.
    h.signaling.handle_disconnect("b").await.unwrap();
    h.send("b2", json!({"type": "leave"})).await;
    h.push.take("a");
    let fourth = join_replacing(&h, &second, &json!("guessed")).await;
    assert_eq!(fourth["peers"].as_array().unwrap().len(), 2);
    assert_eq!(h.push.take("a")[0]["type"], "peer-joined");
}

/// Returns whether the harness room's call time is running, and its call
/// seconds, at the time of `clock`.
async fn call_time(h: &Harness, clock: &ManualClock) -> (bool, i64) {
    let room_id = h.token.split('.').next().unwrap();
    let now = clock.now();
    let room = h.signaling.rooms.get(room_id, now).await.unwrap().unwrap();
    (room.call.since.is_some(), room.call_seconds(now))
}

/// Starts a call of A and B on a manual clock and lets it run 10 minutes.
/// Returns the harness, the clock and B's `joined` message.
async fn ten_minute_call() -> (Harness, Arc<ManualClock>, Value) {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = manual_clock(&mut h, "2026-12-13T10:00:00Z");
    h.join("a", "A").await;
    let second = h.join("b", "B").await;
    clock.advance(chrono::Duration::minutes(10));
    (h, clock, second)
}

#[tokio::test]
async fn call_time_survives_page_replacement() {
    let (h, clock, second) = ten_minute_call().await;
    h.signaling.handle_disconnect("b").await.unwrap();
    clock.advance(chrono::Duration::seconds(5));
    join_replacing(&h, &second, &second["resumeKey"]).await;
    clock.advance(chrono::Duration::minutes(10));

    let (running, seconds) = call_time(&h, &clock).await;
    assert!(running, "the call runs on after the replacement");
    assert_eq!(seconds, 1200, "the 5 s away do not count");
}

#[tokio::test]
async fn call_time_survives_pruning_on_join() {
    let (h, clock, _) = ten_minute_call().await;
    h.signaling.handle_disconnect("b").await.unwrap();
    clock.advance(grace());
    h.join("c", "C").await;
    clock.advance(chrono::Duration::minutes(10));

    let (running, seconds) = call_time(&h, &clock).await;
    assert!(running, "the call runs on with the newcomer");
    assert_eq!(seconds, 1200, "the grace time alone does not count");
}

#[tokio::test]
async fn call_time_pauses_while_away() {
    let (h, clock, second) = ten_minute_call().await;
    h.signaling.handle_disconnect("b").await.unwrap();
    clock.advance(chrono::Duration::seconds(20));

    let (running, seconds) = call_time(&h, &clock).await;
    assert!(!running, "one connected participant is no call");
    assert_eq!(seconds, 600);

    let resume = json!({"peerId": second["peerId"], "key": second["resumeKey"]});
    h.send(
        "b2",
        json!({"type": "join", "v": 1, "token": h.token, "name": "B", "resume": resume}),
    )
    .await;
    clock.advance(chrono::Duration::minutes(5));
    let (running, seconds) = call_time(&h, &clock).await;
    assert!(running, "the call runs again after the resume");
    assert_eq!(seconds, 900);
}

#[tokio::test]
async fn call_time_ends_when_all_are_away() {
    let (h, clock, _) = ten_minute_call().await;
    h.signaling.handle_disconnect("a").await.unwrap();
    clock.advance(chrono::Duration::seconds(5));
    h.signaling.handle_disconnect("b").await.unwrap();

    // No participant is left to prune the room, as on Lambda.
    clock.advance(chrono::Duration::hours(3));
    let (running, seconds) = call_time(&h, &clock).await;
    assert!(!running);
    assert_eq!(seconds, 600);
}

#[tokio::test]
async fn call_time_stops_with_one_connected() {
    let mut h = harness("2026-12-13", "2026-12-13T10:00:00Z").await;
    let clock = manual_clock(&mut h, "2026-12-13T10:00:00Z");
    h.join("a", "A").await;
    h.join("b", "B").await;
    h.join("c", "C").await;
    clock.advance(chrono::Duration::minutes(10));
    h.signaling.handle_disconnect("c").await.unwrap();
    clock.advance(chrono::Duration::minutes(2));
    h.send("b", json!({"type": "leave"})).await;
    clock.advance(chrono::Duration::minutes(30));

    let (running, seconds) = call_time(&h, &clock).await;
    assert!(!running, "A alone is connected once B left");
    assert_eq!(seconds, 720);
}
