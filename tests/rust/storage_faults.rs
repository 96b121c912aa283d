//! DynamoDB responses with throttling and internal errors, injected by a
//! proxy on loopback between the adapters and moto server: every operation
//! must still end in the right state, through the SDK's retries with backoff.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use video_core::store::contract::sample_room;
use video_core::store::dynamodb::{DynamoParticipants, DynamoRooms};
use video_core::store::{JoinOutcome, Participant, ParticipantStore, RoomStore, update_room};
use video_tests::aws::{Moto, create_connections_table, create_rooms_table, dynamodb_client};
use video_tests::fault_proxy::{Fault, FaultPlan, FaultProxy, Request};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Fails the first two requests (throttled, then a server error) and every
/// fourth one after that, so each operation meets at least one retry while
/// never failing three attempts in a row.
fn faults(request: Request) -> Option<Fault> {
    match request.number {
        0 => Some(Fault::Throttling),
        1 => Some(Fault::ServerError),
        n if n % 4 == 2 => Some(Fault::Throttling),
        n if n % 4 == 0 => Some(Fault::ServerError),
        _ => None,
    }
}

#[tokio::test]
async fn room_store_survives_throttling_and_server_errors() {
    let moto = Moto::start();
    let direct = dynamodb_client(&moto.endpoint);
    create_rooms_table(&direct, "rooms").await;
    let proxy = FaultProxy::start(&moto.endpoint, Box::new(faults)).await;
    let rooms = DynamoRooms::new(dynamodb_client(&proxy.endpoint), "rooms");

    let room = sample_room("dr-a", "2026-12-10");
    rooms.insert(&room).await.expect("insert despite faults");
    let updated = update_room(&rooms, &room.id, now(), |room| {
        room.title = Some("Folgetermin".to_owned());
        true
    })
    .await
    .expect("update despite faults")
    .expect("the room exists");
    assert_eq!(updated.version, room.version + 1);
    let listed = rooms
        .list(
            "dr-a",
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            now(),
        )
        .await
        .expect("list despite faults");
    assert_eq!(listed.len(), 1);

    // Read without the proxy: exactly one room, changed once.
    let stored = DynamoRooms::new(direct.clone(), "rooms")
        .get(&room.id, now())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.title.as_deref(), Some("Folgetermin"));
    assert_eq!(stored.version, room.version + 1);

    assert!(
        rooms
            .delete("dr-a", &room.id)
            .await
            .expect("delete despite faults")
    );
    assert!(
        DynamoRooms::new(direct, "rooms")
            .get(&room.id, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(proxy.faults() >= 4, "faults injected: {}", proxy.faults());
    assert!(proxy.requests() > proxy.faults());
}

#[tokio::test]
async fn joins_survive_throttling_and_server_errors() {
    let moto = Moto::start();
    let direct = dynamodb_client(&moto.endpoint);
    create_connections_table(&direct, "connections").await;
    let proxy = FaultProxy::start(&moto.endpoint, Box::new(faults)).await;
    let participants = DynamoParticipants::new(dynamodb_client(&proxy.endpoint), "connections");
    let room_id = video_core::random::random_id();
    for index in 0..3 {
        let participant = Participant {
            room_id: room_id.clone(),
            peer_id: video_core::random::random_id(),
            name: format!("Gast {index}"),
            connection_id: format!("connection-{index}"),
            resume_key_hash: [1; 32],
            joined_at: Utc::now(),
            away_since: None,
        };
        assert_eq!(
            participants
                .add(participant, 8)
                .await
                .expect("join despite faults"),
            JoinOutcome::Joined
        );
    }
    let away = participants
        .mark_away("connection-1", Utc::now())
        .await
        .expect("mark away despite faults");
    assert!(away.is_some());

    // Read without the proxy: three participants, each once, one away.
    let stored = DynamoParticipants::new(direct, "connections")
        .in_room(&room_id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored.iter().filter(|p| p.away_since.is_some()).count(), 1);
    assert!(proxy.faults() >= 3, "faults injected: {}", proxy.faults());
}

/// Cancels two of every three transactions for a conflict with another
/// transaction. DynamoDB does this when concurrent joins meet on the room's
/// counter. Every other request passes.
fn conflicts() -> FaultPlan {
    let transactions = AtomicUsize::new(0);
    Box::new(move |request: Request| {
        (request.operation == "TransactWriteItems"
            && transactions.fetch_add(1, Ordering::SeqCst) % 3 != 2)
            .then_some(Fault::TransactionConflict)
    })
}

#[tokio::test]
async fn participants_survive_transaction_conflicts() {
    let moto = Moto::start();
    let direct = dynamodb_client(&moto.endpoint);
    create_connections_table(&direct, "connections").await;
    let proxy = FaultProxy::start(&moto.endpoint, conflicts()).await;
    let participants = DynamoParticipants::new(dynamodb_client(&proxy.endpoint), "connections");
    let room_id = video_core::random::random_id();
    let participant = |index: usize| Participant {
        room_id: room_id.clone(),
        peer_id: format!("peer-{index}"),
        name: format!("Gast {index}"),
        connection_id: format!("connection-{index}"),
        resume_key_hash: [7; 32],
        joined_at: Utc::now(),
        away_since: None,
    };
    for index in 0..2 {
        assert_eq!(
            participants
                .add(participant(index), 8)
                .await
                .expect("join despite conflicts"),
            JoinOutcome::Joined
        );
    }
    let (resumed, previous) = participants
        .resume(&room_id, "peer-0", &[7; 32], "connection-0b")
        .await
        .expect("resume despite conflicts")
        .expect("the place is still there");
    assert_eq!(
        (resumed.connection_id.as_str(), previous.as_str()),
        ("connection-0b", "connection-0")
    );
    let left = participants
        .remove_connection("connection-1")
        .await
        .expect("leave despite conflicts");
    assert_eq!(left.map(|left| left.peer_id), Some("peer-1".to_owned()));

    // Read without the proxy: one participant on its new connection, and
    // the counter admits seven more, not six or eight.
    let direct_participants = DynamoParticipants::new(direct, "connections");
    let stored = direct_participants.in_room(&room_id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].connection_id, "connection-0b");
    for index in 2..9 {
        assert_eq!(
            direct_participants
                .add(participant(index), 8)
                .await
                .unwrap(),
            JoinOutcome::Joined
        );
    }
    assert_eq!(
        direct_participants.add(participant(9), 8).await.unwrap(),
        JoinOutcome::Full
    );
    assert_eq!(
        proxy.faults(),
        8,
        "two conflicts for each of four transactions"
    );
}

#[tokio::test]
async fn lasting_conflict_fails_join_not_full() {
    let moto = Moto::start();
    let direct = dynamodb_client(&moto.endpoint);
    create_connections_table(&direct, "connections").await;
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Box::new(|request: Request| {
            (request.operation == "TransactWriteItems").then_some(Fault::TransactionConflict)
        }),
    )
    .await;
    let participants = DynamoParticipants::new(dynamodb_client(&proxy.endpoint), "connections");
    let outcome = participants
        .add(
            Participant {
                room_id: video_core::random::random_id(),
                peer_id: "peer-0".to_owned(),
                name: "Gast".to_owned(),
                connection_id: "connection-0".to_owned(),
                resume_key_hash: [7; 32],
                joined_at: Utc::now(),
                away_since: None,
            },
            8,
        )
        .await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert!(proxy.faults() > 1, "the conflict was retried");
}
