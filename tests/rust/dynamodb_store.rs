//! The storage contract against DynamoDB in moto server: the same cases the
//! embedded store passes, plus concurrent joins and the loopback guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use video_core::random::random_id;
use video_core::store::dynamodb::{DynamoParticipants, DynamoRooms};
use video_core::store::{JoinOutcome, Participant, ParticipantStore, RoomStore, contract};
use video_tests::aws::{
    Moto, create_connections_table, create_rooms_table, dynamodb_client, is_loopback_host,
};

#[tokio::test]
async fn dynamodb_rooms_pass_contract() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    let counter = AtomicUsize::new(0);
    contract::room_store_contract(|| {
        let client = client.clone();
        let table = format!("rooms-{}", counter.fetch_add(1, Ordering::Relaxed));
        async move {
            create_rooms_table(&client, &table).await;
            DynamoRooms::new(client, table)
        }
    })
    .await;
}

#[tokio::test]
async fn dynamodb_participants_pass_contract() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    let counter = AtomicUsize::new(0);
    contract::participant_store_contract(|| {
        let client = client.clone();
        let table = format!("connections-{}", counter.fetch_add(1, Ordering::Relaxed));
        async move {
            create_connections_table(&client, &table).await;
            DynamoParticipants::new(client, table)
        }
    })
    .await;
}

#[tokio::test]
async fn dynamodb_preferences_pass_contract() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_rooms_table(&client, "rooms").await;
    let store = DynamoRooms::new(client, "rooms");
    contract::preference_store_contract(&store).await;
    // A preference item is not a room and stays out of every room query.
    let now = Utc::now();
    assert!(store.mail_due(now, now).await.unwrap().is_empty());
    assert!(store.emails_to_erase(now).await.unwrap().is_empty());
}

// NOTE: the joins run one after another. moto does not make a transaction's
// condition check and write atomic against concurrent requests: with nine
// concurrent joins it admitted nine in about one run in twelve on a loaded
// machine. DynamoDB itself serializes conflicting transactions, which is what
// the counter item relies on; moto cannot show that part.
#[tokio::test]
async fn nine_joins_admit_eight() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_connections_table(&client, "connections").await;
    let store = Arc::new(DynamoParticipants::new(client, "connections"));
    let room_id = random_id();
    let joins = (0..9).map(|index| {
        let store = Arc::clone(&store);
        let participant = Participant {
            room_id: room_id.clone(),
            peer_id: random_id(),
            name: format!("Gast {index}"),
            connection_id: format!("connection-{index}"),
            resume_key_hash: [1; 32],
            joined_at: Utc::now(),
            away_since: None,
        };
        async move { store.add(participant, 8).await.unwrap() }
    });
    let mut joined = 0;
    let mut full = 0;
    for join in joins {
        match join.await {
            JoinOutcome::Joined => joined += 1,
            JoinOutcome::Full => full += 1,
        }
    }
    assert_eq!(joined, 8);
    assert_eq!(full, 1);
    assert_eq!(store.in_room(&room_id).await.unwrap().len(), 8);
}

/// Two function instances share the table. Each remembers the room of the
/// connections it handled, and a change made by the other instance must
/// still show in what it returns.
#[tokio::test]
async fn changes_by_another_instance_are_seen() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_connections_table(&client, "connections").await;
    let first = DynamoParticipants::new(client.clone(), "connections");
    let second = DynamoParticipants::new(client, "connections");
    let room_id = random_id();
    let joined = |connection: &str| Participant {
        room_id: room_id.clone(),
        peer_id: random_id(),
        name: "Gast".to_owned(),
        connection_id: connection.to_owned(),
        resume_key_hash: [3; 32],
        joined_at: Utc::now(),
        away_since: None,
    };
    let anna = joined("anna-1");
    let ben = joined("ben-1");
    first.add(anna.clone(), 8).await.unwrap();
    first.add(ben.clone(), 8).await.unwrap();
    assert!(first.with_room("anna-1").await.unwrap().is_some());

    // The other instance moves Anna to a new connection.
    second
        .resume(&room_id, &anna.peer_id, &anna.resume_key_hash, "anna-2")
        .await
        .unwrap()
        .unwrap();
    assert!(first.with_room("anna-1").await.unwrap().is_none());
    assert!(first.by_connection("anna-1").await.unwrap().is_none());
    assert!(first.remove_connection("anna-1").await.unwrap().is_none());
    let (resumed, present) = first.with_room("anna-2").await.unwrap().unwrap();
    assert_eq!(resumed.peer_id, anna.peer_id);
    assert_eq!(present.len(), 2);

    // The other instance removes Ben, then Anna leaves through the first.
    second.remove_connection("ben-1").await.unwrap().unwrap();
    assert!(first.with_room("ben-1").await.unwrap().is_none());
    assert!(first.by_connection("ben-1").await.unwrap().is_none());
    let (_, present) = first.with_room("anna-2").await.unwrap().unwrap();
    assert_eq!(present.len(), 1, "Ben is gone: {present:?}");
    let left = first.remove_connection("anna-2").await.unwrap().unwrap();
    assert_eq!(left.peer_id, anna.peer_id);
    assert!(second.with_room("anna-2").await.unwrap().is_none());
    assert!(first.in_room(&room_id).await.unwrap().is_empty());
}

#[tokio::test]
async fn loopback_guard_blocks_real_endpoints() {
    let client = dynamodb_client("https://dynamodb.eu-central-1.amazonaws.com");
    let error = client.list_tables().send().await.unwrap_err();
    let chain = format!("{:?}", error);
    assert!(chain.contains("tests may only reach loopback"), "{chain}");
    assert!(is_loopback_host("127.0.0.1"));
    assert!(is_loopback_host("[::1]"));
    assert!(is_loopback_host("localhost"));
    assert!(!is_loopback_host("169.254.169.254"));
    assert!(!is_loopback_host("10.0.0.1"));
}
