//! The daily-emailer Lambda function with DynamoDB and SES v2 in moto server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use video_core::env::MailSettings;
use video_core::link::LinkKey;
use video_core::mail::{Email, MailError, Mailer};
use video_core::morning::SendPolicy;
use video_core::room::{CreateRoomRequest, Delivery, InviteeRequest};
use video_core::store::RoomStore;
use video_core::store::dynamodb::DynamoRooms;
use video_tests::aws::{Moto, create_rooms_table, dynamodb_client, moto_sent_messages, ses_client};
use video_tests::daytime_zone;

fn invitee(email: &str, locale: &str) -> InviteeRequest {
    InviteeRequest {
        name: Some("Anna Beispiel".to_owned()),
        email: Some(email.to_owned()),
        locale: Some(locale.to_owned()),
    }
}

async fn insert_room(
    rooms: &DynamoRooms,
    days_ahead: i64,
    invitees: Vec<InviteeRequest>,
) -> video_core::room::Room {
    let zone = daytime_zone();
    let today = video_core::validity::today_in(zone, chrono::Utc::now());
    let request = CreateRoomRequest {
        date: Some((today + chrono::Duration::days(days_ahead)).to_string()),
        time_zone: Some(zone.name().to_owned()),
        invitees: Some(invitees),
        ..Default::default()
    };
    let room = request
        .into_room("dr-a", chrono::Utc::now(), Default::default())
        .unwrap();
    rooms.insert(&room).await.unwrap();
    room
}

struct Fixture {
    run: video_core::morning::Invitations,
    rooms: DynamoRooms,
    links: LinkKey,
    moto: Moto,
}

async fn fixture() -> Fixture {
    let moto = Moto::start();
    let dynamodb = dynamodb_client(&moto.endpoint);
    create_rooms_table(&dynamodb, "rooms").await;
    let ses = ses_client(&moto.endpoint);
    ses.create_email_identity()
        .email_identity("video@praxis.example")
        .send()
        .await
        .unwrap();
    let links = LinkKey::generate();
    let settings = daily_emailer::Settings {
        rooms_table: "rooms".to_owned(),
        link_key: links.clone(),
        public_url: "https://video.example.test".to_owned(),
        mail: MailSettings {
            mail_from: "video@praxis.example".to_owned(),
            practice_name: Some("Praxis Weber".to_owned()),
            configuration_set: None,
            policy: SendPolicy {
                send_after: chrono::NaiveTime::MIN,
                interval: Duration::ZERO,
                throttle_retries: 3,
                backoff: Duration::from_millis(10),
            },
        },
    };
    Fixture {
        run: daily_emailer::invitations(&settings, dynamodb.clone(), ses),
        rooms: DynamoRooms::new(dynamodb, "rooms"),
        links,
        moto,
    }
}

fn recipients(messages: &[Value]) -> Vec<String> {
    let mut all: Vec<String> = messages
        .iter()
        .flat_map(|message| {
            message["destinations"]["ToAddresses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|address| address.as_str().unwrap_or_default().to_owned())
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn two_invocations_send_each_email_once() {
    let fixture = fixture().await;
    let room = insert_room(
        &fixture.rooms,
        0,
        vec![
            invitee("anna@example.org", "de"),
            invitee("ben@example.org", "en"),
        ],
    )
    .await;
    insert_room(
        &fixture.rooms,
        1,
        vec![invitee("tomorrow@example.org", "de")],
    )
    .await;

    let scheduler_input = json!({"source": "aws.scheduler", "detail": {}});
    let first = daily_emailer::handle(&fixture.run, scheduler_input.clone(), None)
        .await
        .unwrap();
    assert_eq!(first.sent, 2);
    let second = daily_emailer::handle(&fixture.run, json!("anything"), None)
        .await
        .unwrap();
    // The sparse index no longer contains the room: the run reads nothing.
    assert_eq!((second.rooms, second.sent), (0, 0));

    let messages = moto_sent_messages(&fixture.moto.endpoint).await;
    assert_eq!(
        recipients(&messages),
        vec!["anna@example.org", "ben@example.org"]
    );
    let token = fixture.links.token_for(&room.id, &room.link_salt);
    for message in &messages {
        assert!(
            message["body"].as_str().unwrap().contains(&token),
            "the email carries the room's link"
        );
        assert_eq!(message["source"], "video@praxis.example");
    }
    let subjects: Vec<&str> = messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Ihr Videotermin heute")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Your video appointment today")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn concurrent_invocations_send_each_email_once() {
    let fixture = fixture().await;
    let invitees = (0..4)
        .map(|index| invitee(&format!("p{index}@example.org"), "de"))
        .collect();
    insert_room(&fixture.rooms, 0, invitees).await;
    let (first, second) = tokio::join!(
        daily_emailer::handle(&fixture.run, json!({}), None),
        daily_emailer::handle(&fixture.run, json!({}), None)
    );
    assert_eq!(first.unwrap().sent + second.unwrap().sent, 4);
    assert_eq!(moto_sent_messages(&fixture.moto.endpoint).await.len(), 4);
}

#[tokio::test]
async fn rejected_sender_is_recorded_and_not_retried() {
    let mut fixture = fixture().await;
    let room_id = insert_room(&fixture.rooms, 0, vec![invitee("anna@example.org", "de")])
        .await
        .id;
    fixture.run.mailer = Arc::new(video_core::mail::ses::SesMailer::new(
        ses_client(&fixture.moto.endpoint),
        "unverified@praxis.example",
        None,
    ));
    let report = fixture.run.run().await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    let room = fixture
        .rooms
        .get(&room_id, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            &room.invitees[0].delivery,
            Delivery::Failed { permanent: true, reason, .. } if reason.starts_with("rejected")
        ),
        "{:?}",
        room.invitees[0].delivery
    );
    let again = fixture.run.run().await.unwrap();
    assert_eq!((again.rooms, again.failed), (0, 0));
    assert!(moto_sent_messages(&fixture.moto.endpoint).await.is_empty());
}

/// Returns "throttled" for the first two sends to each address and passes
/// the rest to SES, so every email needs two retries within the run.
struct Throttling {
    inner: Arc<dyn Mailer>,
    attempts: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl Mailer for Throttling {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let count = attempts.entry(email.to.clone()).or_default();
            *count += 1;
            *count
        };
        if attempt <= 2 {
            return Err(MailError::Throttled);
        }
        self.inner.send(email).await
    }
}

#[tokio::test]
async fn throttled_run_sends_everything_once() {
    let mut fixture = fixture().await;
    let invitees = (0..5)
        .map(|index| invitee(&format!("p{index}@example.org"), "de"))
        .collect();
    insert_room(&fixture.rooms, 0, invitees).await;
    fixture.run.mailer = Arc::new(Throttling {
        inner: fixture.run.mailer.clone(),
        attempts: Mutex::new(HashMap::new()),
    });
    let (first, second) = tokio::join!(fixture.run.run(), fixture.run.run());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.sent + second.sent, 5);
    assert_eq!(first.failed + second.failed, 0);
    let messages = moto_sent_messages(&fixture.moto.endpoint).await;
    let sent = recipients(&messages);
    let mut unique = sent.clone();
    unique.dedup();
    assert_eq!(sent.len(), 5);
    assert_eq!(unique, sent);
}
