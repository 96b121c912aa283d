//! Holds the code to docs/privacy.md: every attribute the DynamoDB adapters
//! write, every field of the stored room record and every file of the local
//! data directory must be listed there, and everything listed must occur.
//! The German version must list the same names in the same order.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::{Value, json};
use video_core::clock::FixedClock;
use video_core::room::{Appointment, CallTime, Delivery, Room, SentEmail};
use video_core::store::contract::sample_room;
use video_core::store::dynamodb::{DynamoParticipants, DynamoRooms};
use video_core::store::dynamodb_link_failures::DynamoLinkFailures;
use video_core::store::{
    LinkFailureStore, Participant, ParticipantStore, PreferenceStore, RoomStore,
};
use video_tests::aws::{Moto, create_connections_table, create_rooms_table, dynamodb_client};
use video_tests::{RunningServer, TOKEN_A, local_config, test_now};

fn read_doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Returns the backticked names in the first column of the table rows under
/// `heading`, up to the next heading.
fn documented(doc: &str, heading: &str) -> BTreeSet<String> {
    let mut lines = doc.lines().skip_while(|line| line.trim() != heading);
    assert!(lines.next().is_some(), "heading {heading:?} not found");
    lines
        .take_while(|line| !line.starts_with('#'))
        .filter_map(first_column_name)
        .collect()
}

/// Returns the backticked name at the start of a table row, without a
/// trailing `/` of a directory.
fn first_column_name(line: &str) -> Option<String> {
    let rest = line.strip_prefix("| `")?;
    let name = rest.split('`').next()?;
    Some(name.trim_end_matches('/').to_owned())
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Rooms that together use every optional field: a start time, a calendar
/// entry, a running call, and invitees in each delivery state.
fn rooms_with_every_field() -> Vec<Room> {
    let mut first = sample_room("dr-a", "2026-12-10");
    first.start_time = NaiveTime::from_hms_opt(9, 30, 0);
    first.entry_id = Some("E-1".to_owned());
    first.call = CallTime {
        seconds: 300,
        since: Some(utc("2026-12-10T09:00:00Z")),
    };

    let mut sent = first.invitees[0].clone();
    sent.email = "ben@example.org".to_owned();
    sent.delivery = Delivery::Sent {
        at: utc("2026-12-10T05:00:00Z"),
        message_id: "m-1".to_owned(),
        attempts: 1,
    };
    sent.last_sent = Some(SentEmail {
        appointment: Appointment {
            date: first.date,
            time_zone: first.time_zone,
            start_time: first.start_time,
        },
        at: utc("2026-12-10T05:00:00Z"),
        message_id: "m-1".to_owned(),
    });

    let mut sending = first.invitees[0].clone();
    sending.email = "carla@example.org".to_owned();
    sending.delivery = Delivery::Sending {
        since: utc("2026-12-10T05:00:00Z"),
        attempts: 1,
    };

    let mut failed = first.invitees[0].clone();
    failed.email = "dora@example.org".to_owned();
    failed.delivery = Delivery::Failed {
        at: utc("2026-12-10T05:00:00Z"),
        reason: "rejected".to_owned(),
        permanent: true,
        attempts: 1,
    };

    first.invitees.extend([sent, sending, failed]);
    vec![first, sample_room("dr-b", "2026-12-11")]
}

/// Collects the object keys of `value` at every depth.
fn keys(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                into.insert(key.clone());
                keys(inner, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

async fn scanned_attributes(client: &aws_sdk_dynamodb::Client, table: &str) -> BTreeSet<String> {
    let output = client.scan().table_name(table).send().await.unwrap();
    output
        .items()
        .iter()
        .flat_map(|item| item.keys().cloned())
        .collect()
}

#[test]
fn room_record_fields_documented() {
    let mut found = BTreeSet::new();
    for room in rooms_with_every_field() {
        keys(&serde_json::to_value(&room).unwrap(), &mut found);
    }
    assert_eq!(
        found,
        documented(&read_doc("privacy.md"), "### Room record")
    );
}

#[tokio::test]
async fn rooms_table_attributes_documented() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_rooms_table(&client, "rooms").await;
    let rooms = DynamoRooms::new(client.clone(), "rooms");
    for room in rooms_with_every_field() {
        rooms.insert(&room).await.unwrap();
    }
    rooms
        .set_always_video("dr-a", "P-1", true, test_now())
        .await
        .unwrap();
    assert_eq!(
        scanned_attributes(&client, "rooms").await,
        documented(&read_doc("privacy.md"), "## Rooms table")
    );
}

#[tokio::test]
async fn connections_table_attributes_documented() {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_connections_table(&client, "connections").await;
    let participants = DynamoParticipants::new(client.clone(), "connections");
    participants
        .add(
            Participant {
                room_id: "room-1".to_owned(),
                peer_id: "peer-1".to_owned(),
                name: "Anna".to_owned(),
                connection_id: "connection-1".to_owned(),
                resume_key_hash: [1; 32],
                joined_at: Utc::now(),
                away_since: None,
            },
            8,
        )
        .await
        .unwrap();
    participants
        .mark_away("connection-1", Utc::now())
        .await
        .unwrap();
    let failures = DynamoLinkFailures::new(client.clone(), "connections");
    let window = Utc::now();
    failures
        .add_failure("client-tag", window, window + chrono::Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        scanned_attributes(&client, "connections").await,
        documented(&read_doc("privacy.md"), "## Connections table")
    );
}

#[tokio::test]
async fn local_data_files_documented() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(
        dir.path(),
        Some(Arc::new(FixedClock(test_now()))),
    ))
    .await;
    // A room for today with an invitee puts an email into the outbox.
    let body = json!({
        "date": "2026-12-04",
        "invitees": [{"name": "Anna Beispiel", "email": "anna@example.org"}]
    });
    let status = post_json(server.address, "/api/rooms", &body).await;
    assert!(status.starts_with("HTTP/1.1 201"), "{status}");

    // The morning run at start-up may have claimed the email while the
    // request sent it, and then it writes the file a moment later.
    let outbox_count = || {
        std::fs::read_dir(dir.path().join("outbox"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    for _ in 0..100 {
        if outbox_count() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        found.insert(entry.unwrap().file_name().to_string_lossy().into_owned());
    }
    let documented = documented(&read_doc("privacy.md"), "## Local server");
    // The API token file exists only when no token was configured.
    let required: BTreeSet<String> = documented
        .iter()
        .filter(|name| name.as_str() != "dev-token")
        .cloned()
        .collect();
    assert!(
        found.is_subset(&documented),
        "undocumented files: {found:?}"
    );
    assert!(
        required.is_subset(&found),
        "documented but missing: {found:?}"
    );
    assert_eq!(
        outbox_count(),
        1,
        "the invitation was written to the outbox"
    );
}

/// Posts `body` with practitioner A's token and returns the status line.
async fn post_json(address: std::net::SocketAddr, path: &str, body: &Value) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN_A}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn german_version_lists_the_same_names() {
    let names = |doc: &str| -> Vec<String> { doc.lines().filter_map(first_column_name).collect() };
    let english = names(&read_doc("privacy.md"));
    assert!(english.len() > 50, "{english:?}");
    assert_eq!(names(&read_doc("privacy.de.md")), english);
}
