//! The daily-emailer Lambda function with DynamoDB and SES v2 in moto server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use video_core::clock::FixedClock;
use video_core::env::MailSettings;
use video_core::link::LinkKey;
use video_core::mail::ses::SesMailer;
use video_core::morning::{STALE_CLAIM, SendPolicy};
use video_core::room::{CreateRoomRequest, Delivery, InviteeRequest};
use video_core::store::RoomStore;
use video_core::store::dynamodb::DynamoRooms;
use video_tests::aws::{Moto, create_rooms_table, dynamodb_client, moto_sent_messages, ses_client};
use video_tests::daytime_zone;
use video_tests::fault_proxy::{Fault, FaultPlan, FaultProxy, Request};

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
        assert_eq!(message["source"], "Praxis Weber <video@praxis.example>");
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
    fixture.run.mailer = Arc::new(SesMailer::new(
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

#[tokio::test]
async fn practice_name_outside_ascii_reaches_ses_encoded() {
    let mut fixture = fixture().await;
    insert_room(&fixture.rooms, 0, vec![invitee("anna@example.org", "de")]).await;
    let name = "Praxis für Psychotherapie Dr. Özdemir-Weiß";
    fixture.run.mailer = Arc::new(SesMailer::new(
        ses_client(&fixture.moto.endpoint),
        video_core::mail::sender("video@praxis.example", Some(name)),
        None,
    ));
    let report = fixture.run.run().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    let messages = moto_sent_messages(&fixture.moto.endpoint).await;
    let source = messages[0]["source"].as_str().unwrap();
    assert!(source.is_ascii(), "{source}");
    assert!(source.starts_with("=?UTF-8?B?"), "{source}");
    assert!(
        source.ends_with(" <video@praxis.example>"),
        "SES checks the verified address inside the header: {source}"
    );
}

/// The path of SES v2's `SendEmail`.
const SEND_EMAIL: &str = "/v2/email/outbound-emails";

/// Puts a fault proxy with `plan` between the run's mailer and moto's SES.
async fn ses_behind_proxy(fixture: &mut Fixture, plan: FaultPlan) -> FaultProxy {
    let proxy = FaultProxy::start(&fixture.moto.endpoint, plan).await;
    fixture.run.mailer = Arc::new(SesMailer::new(
        ses_client(&proxy.endpoint),
        "video@praxis.example",
        None,
    ));
    proxy
}

/// Returns a plan that numbers the `SendEmail` requests from 0 and calls
/// `fault` with each number. Other requests pass.
fn on_sends(fault: impl Fn(usize) -> Option<Fault> + Send + Sync + 'static) -> FaultPlan {
    let sends = AtomicUsize::new(0);
    Box::new(move |request: Request| {
        (request.operation == SEND_EMAIL)
            .then(|| fault(sends.fetch_add(1, Ordering::SeqCst)))
            .flatten()
    })
}

async fn deliveries(fixture: &Fixture, room_id: &str) -> Vec<Delivery> {
    fixture
        .rooms
        .get(room_id, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap()
        .invitees
        .into_iter()
        .map(|invitee| invitee.delivery)
        .collect()
}

#[tokio::test]
async fn ses_faults_send_each_email_once() {
    let mut fixture = fixture().await;
    let invitees = (0..5)
        .map(|index| invitee(&format!("p{index}@example.org"), "de"))
        .collect();
    let room = insert_room(&fixture.rooms, 0, invitees).await;
    // Six throttled sends in a row outlast the SDK's five attempts, so the
    // run's own pause and retry take over. After that, every third send is
    // throttled and every third fails with a server error.
    let proxy = ses_behind_proxy(
        &mut fixture,
        on_sends(|send| match send {
            0..=5 => Some(Fault::TooManyRequests),
            n if n % 3 == 0 => Some(Fault::ServerError),
            n if n % 3 == 1 => Some(Fault::TooManyRequests),
            _ => None,
        }),
    )
    .await;
    let report = fixture.run.run().await.unwrap();
    assert_eq!((report.sent, report.failed), (5, 0), "{report:?}");
    assert_eq!(fixture.run.run().await.unwrap().sent, 0);
    let expected: Vec<String> = (0..5)
        .map(|index| format!("p{index}@example.org"))
        .collect();
    assert_eq!(
        recipients(&moto_sent_messages(&fixture.moto.endpoint).await),
        expected
    );
    for delivery in deliveries(&fixture, &room.id).await {
        assert!(
            matches!(delivery, Delivery::Sent { attempts: 1, .. }),
            "{delivery:?}"
        );
    }
    assert!(proxy.faults() >= 10, "faults injected: {}", proxy.faults());
}

#[tokio::test]
async fn ses_outage_defers_to_next_run() {
    let mut fixture = fixture().await;
    let room = insert_room(
        &fixture.rooms,
        0,
        vec![
            invitee("anna@example.org", "de"),
            invitee("ben@example.org", "en"),
        ],
    )
    .await;
    let down = Arc::new(AtomicBool::new(true));
    let outage = down.clone();
    let _proxy = ses_behind_proxy(
        &mut fixture,
        on_sends(move |_| outage.load(Ordering::SeqCst).then_some(Fault::ServerError)),
    )
    .await;

    let report = fixture.run.run().await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 2));
    assert!(moto_sent_messages(&fixture.moto.endpoint).await.is_empty());
    for delivery in deliveries(&fixture, &room.id).await {
        assert!(
            matches!(
                delivery,
                Delivery::Failed {
                    permanent: false,
                    attempts: 1,
                    ..
                }
            ),
            "{delivery:?}"
        );
    }

    down.store(false, Ordering::SeqCst);
    let report = fixture.run.run().await.unwrap();
    assert_eq!((report.sent, report.failed), (2, 0));
    assert_eq!(
        recipients(&moto_sent_messages(&fixture.moto.endpoint).await),
        vec!["anna@example.org", "ben@example.org"]
    );
    for delivery in deliveries(&fixture, &room.id).await {
        assert!(
            matches!(delivery, Delivery::Sent { attempts: 2, .. }),
            "{delivery:?}"
        );
    }
}

#[tokio::test]
async fn cut_off_run_claim_taken_over() {
    let mut fixture = fixture().await;
    let room = insert_room(&fixture.rooms, 0, vec![invitee("anna@example.org", "de")]).await;
    let _proxy = ses_behind_proxy(
        &mut fixture,
        on_sends(|send| (send == 0).then_some(Fault::NoAnswer)),
    )
    .await;

    // The invocation ends (timeout, crash) before SES responds.
    let cut_off = tokio::time::timeout(Duration::from_secs(2), fixture.run.run()).await;
    assert!(cut_off.is_err(), "the run waited for SES");
    assert!(moto_sent_messages(&fixture.moto.endpoint).await.is_empty());
    assert!(
        matches!(
            deliveries(&fixture, &room.id).await[0],
            Delivery::Sending { attempts: 1, .. }
        ),
        "the claim stays"
    );

    // While the claim is fresh another run leaves it alone...
    assert_eq!(fixture.run.run().await.unwrap().skipped, 1);
    assert!(moto_sent_messages(&fixture.moto.endpoint).await.is_empty());

    // ...and once it is stale, the next run sends the email.
    let later = chrono::Utc::now() + STALE_CLAIM + chrono::Duration::minutes(1);
    fixture.run.clock = Arc::new(FixedClock(later));
    assert_eq!(fixture.run.run().await.unwrap().sent, 1);
    assert_eq!(
        recipients(&moto_sent_messages(&fixture.moto.endpoint).await),
        vec!["anna@example.org"]
    );
    assert!(matches!(
        deliveries(&fixture, &room.id).await[0],
        Delivery::Sent { attempts: 2, .. }
    ));
}

/// SES offers no idempotency key. When its response is lost after it
/// accepted a message, the SDK's retry sends the message again, so the
/// invitee gets a second email rather than none.
#[tokio::test]
async fn lost_ses_response_sends_twice() {
    let mut fixture = fixture().await;
    let room = insert_room(&fixture.rooms, 0, vec![invitee("anna@example.org", "de")]).await;
    let _proxy = ses_behind_proxy(
        &mut fixture,
        on_sends(|send| (send == 0).then_some(Fault::ResponseLost)),
    )
    .await;
    let report = fixture.run.run().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert_eq!(
        recipients(&moto_sent_messages(&fixture.moto.endpoint).await),
        vec!["anna@example.org", "anna@example.org"]
    );
    assert!(matches!(
        deliveries(&fixture, &room.id).await[0],
        Delivery::Sent { attempts: 1, .. }
    ));
    assert_eq!(fixture.run.run().await.unwrap().sent, 0);
}
