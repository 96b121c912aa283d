//! The practice workflow through the rooms API on both backends: calendar
//! entries, "always video" patients, invitations sent at once and resent,
//! and the overview's status and call time. Each case runs against the
//! embedded store with the outbox, and against DynamoDB and SES in moto
//! server behind the rooms-api Lambda function.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use video_core::link::LinkKey;
use video_core::room::{CreateRoomRequest, InviteeRequest, Retention, Room};
use video_core::store::RoomStore;
use video_core::store::dynamodb::DynamoRooms;
use video_core::zone::Zone;
use video_tests::aws::{Moto, create_rooms_table, dynamodb_client, moto_sent_messages, ses_client};
use video_tests::{TOKEN_A, TOKEN_B, TestApp, app_at, request, send};

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

    /// Stores a room directly, for days the API does not accept.
    async fn insert(&self, room: &Room);

    fn now(&self) -> DateTime<Utc>;
}

struct Embedded {
    app: TestApp,
    now: DateTime<Utc>,
}

#[async_trait]
impl Backend for Embedded {
    async fn call(
        &self,
        practitioner: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = if practitioner == "dr-a" {
            TOKEN_A
        } else {
            TOKEN_B
        };
        let body = body.map(|body| body.to_string());
        let reply = send(
            &self.app.router,
            request(method, path, Some(token), body.as_deref()),
        )
        .await;
        (reply.status, reply.json)
    }

    async fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .app
            .outbox_mails()
            .iter()
            .filter_map(|mail| {
                mail.lines()
                    .find_map(|line| line.strip_prefix("To: "))
                    .map(str::to_owned)
            })
            .collect();
        all.sort();
        all
    }

    async fn insert(&self, room: &Room) {
        self.app.store.insert(room).await.unwrap();
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

/// 10:00 UTC: 11:00 in Berlin, after the 06:00 send time.
fn embedded() -> Embedded {
    let now = video_tests::test_now();
    Embedded {
        app: app_at(now),
        now,
    }
}

struct Dynamo {
    router: axum::Router,
    rooms: DynamoRooms,
    moto: Moto,
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
        let event = video_tests::aws::http_api_event(
            method.as_str(),
            path,
            Some(practitioner),
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

    async fn insert(&self, room: &Room) {
        self.rooms.insert(room).await.unwrap();
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
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
        router: rooms_api::app(&settings, client.clone(), ses),
        rooms: DynamoRooms::new(client, "rooms"),
        moto,
    }
}

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

fn days(backend: &dyn Backend, zone: Zone) -> (NaiveDate, NaiveDate) {
    let today = video_core::validity::today_in(zone, backend.now());
    (today, today + Duration::days(1))
}

fn entry(date: NaiveDate, zone: Zone, video: bool, emails: &[&str]) -> Value {
    let invitees: Vec<Value> = emails
        .iter()
        .map(|email| json!({"name": "Anna Beispiel", "email": email}))
        .collect();
    json!({
        "date": date.to_string(),
        "startTime": "09:30",
        "timeZone": zone.name(),
        "patientId": "P-7",
        "invitees": invitees,
        "video": video,
    })
}

async fn concurrent_upserts_make_one_room(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let (_, tomorrow) = days(backend, zone);
    let body = entry(tomorrow, zone, true, &["anna@example.org"]);
    let calls = (0..8).map(|_| {
        backend.call(
            "dr-a",
            Method::PUT,
            "/api/calendar-entries/termin-42",
            Some(body.clone()),
        )
    });
    let replies = futures_util::future::join_all(calls).await;
    let mut created = 0;
    for (status, reply) in &replies {
        assert!(
            *status == StatusCode::CREATED || *status == StatusCode::OK,
            "{status} {reply}"
        );
        created += usize::from(*status == StatusCode::CREATED);
        assert_eq!(reply["room"]["id"], replies[0].1["room"]["id"]);
        assert_eq!(reply["entryId"], "termin-42");
    }
    assert_eq!(created, 1, "exactly one upsert created the room");
    let path = format!("/api/rooms?from={tomorrow}&to={tomorrow}");
    let (status, list) = backend.call("dr-a", Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let rooms = list["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1, "{list}");
    assert_eq!(rooms[0]["entryId"], "termin-42");
    assert_eq!(rooms[0]["status"], "planned");
    assert_eq!(rooms[0]["startTime"], "09:30");

    // The same entry id of another practitioner is another room.
    let (status, other) = backend
        .call(
            "dr-b",
            Method::PUT,
            "/api/calendar-entries/termin-42",
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(other["room"]["id"], replies[0].1["room"]["id"]);
}

async fn entry_moved_to_today_is_mailed_at_once(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let (today, tomorrow) = days(backend, zone);
    let path = "/api/calendar-entries/termin-7";
    let (status, first) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(tomorrow, zone, true, &["anna@example.org"])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["room"]["invitees"][0]["status"], "pending");
    assert!(backend.recipients().await.is_empty());

    let (status, moved) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(today, zone, true, &["anna@example.org"])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["room"]["id"], first["room"]["id"]);
    assert_eq!(moved["room"]["date"], today.to_string());
    assert_eq!(moved["room"]["status"], "today");
    assert_eq!(moved["room"]["invitees"][0]["status"], "sent", "{moved}");
    assert!(moved["room"]["invitees"][0]["sentAt"].is_string());
    assert_eq!(backend.recipients().await, vec!["anna@example.org"]);

    // A retry of the same entry sends nothing more.
    let (status, _) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(today, zone, true, &["anna@example.org"])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(backend.recipients().await.len(), 1);

    // Moving it away makes the email due again on the new day.
    let (_, back) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(tomorrow, zone, true, &["anna@example.org"])),
        )
        .await;
    assert_eq!(back["room"]["invitees"][0]["status"], "pending");

    // Cancelling deletes the room; cancelling again still succeeds.
    let room_path = format!("/api/rooms/{}", first["room"]["id"].as_str().unwrap());
    for _ in 0..2 {
        let (status, _) = backend.call("dr-a", Method::DELETE, path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = backend.call("dr-a", Method::GET, &room_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Booked again, the entry gets a room with a new link: the cancelled
    // link stays dead. Deleting the room by its id does the same.
    let body = entry(tomorrow, zone, true, &["anna@example.org"]);
    let (status, again) = backend
        .call("dr-a", Method::PUT, path, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["room"]["id"], first["room"]["id"]);
    assert_ne!(again["room"]["joinUrl"], first["room"]["joinUrl"]);
    let (status, _) = backend.call("dr-a", Method::DELETE, &room_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, third) = backend.call("dr-a", Method::PUT, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(third["room"]["joinUrl"], again["room"]["joinUrl"]);
}

async fn always_video_patients_get_rooms(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let (_, tomorrow) = days(backend, zone);
    let path = "/api/calendar-entries/termin-9";
    let preference = "/api/patients/P-7/video-preference";
    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(tomorrow, zone, false, &[])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["room"], Value::Null);

    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            preference,
            Some(json!({"alwaysVideo": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"patientId": "P-7", "alwaysVideo": true}));
    let (_, reply) = backend.call("dr-a", Method::GET, preference, None).await;
    assert_eq!(reply["alwaysVideo"], true);
    let (_, reply) = backend.call("dr-b", Method::GET, preference, None).await;
    assert_eq!(
        reply["alwaysVideo"], false,
        "preferences are per practitioner"
    );

    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(tomorrow, zone, false, &[])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let room_path = format!("/api/rooms/{}", reply["room"]["id"].as_str().unwrap());

    // Without the flag, an entry not held by video loses its room.
    backend
        .call(
            "dr-a",
            Method::PUT,
            preference,
            Some(json!({"alwaysVideo": false})),
        )
        .await;
    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            path,
            Some(entry(tomorrow, zone, false, &[])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["room"], Value::Null);
    let (status, _) = backend.call("dr-a", Method::GET, &room_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Input is checked and named.
    let (status, reply) = backend
        .call("dr-a", Method::PUT, preference, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["field"], "alwaysVideo");
    let mut no_flag = entry(tomorrow, zone, true, &[]);
    no_flag.as_object_mut().unwrap().remove("video");
    let (status, reply) = backend.call("dr-a", Method::PUT, path, Some(no_flag)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["field"], "video");
    let long_id = format!("/api/calendar-entries/{}", "x".repeat(129));
    let (status, reply) = backend
        .call(
            "dr-a",
            Method::PUT,
            &long_id,
            Some(entry(tomorrow, zone, true, &[])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["field"], "entryId");
}

async fn resend_only_on_the_room_day(backend: &dyn Backend) {
    let zone = mail_zone(backend.now());
    let (today, tomorrow) = days(backend, zone);
    let create = |date: NaiveDate, emails: &[&str]| {
        let mut body = entry(date, zone, true, emails);
        body.as_object_mut().unwrap().remove("video");
        body
    };
    let (status, room) = backend
        .call(
            "dr-a",
            Method::POST,
            "/api/rooms",
            Some(create(today, &["ben@example.org"])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        room["invitees"][0]["status"], "sent",
        "created today: sent at once"
    );
    let resend = format!("/api/rooms/{}/invitations", room["id"].as_str().unwrap());
    let (status, again) = backend.call("dr-a", Method::POST, &resend, None).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["invitees"][0]["status"], "sent");
    assert_eq!(
        backend.recipients().await,
        vec!["ben@example.org", "ben@example.org"]
    );
    let (status, _) = backend.call("dr-b", Method::POST, &resend, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, later) = backend
        .call(
            "dr-a",
            Method::POST,
            "/api/rooms",
            Some(create(tomorrow, &["carl@example.org"])),
        )
        .await;
    let path = format!("/api/rooms/{}/invitations", later["id"].as_str().unwrap());
    let (status, reply) = backend.call("dr-a", Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(reply["error"], "not-room-day");

    let (_, empty) = backend
        .call("dr-a", Method::POST, "/api/rooms", Some(create(today, &[])))
        .await;
    let path = format!("/api/rooms/{}/invitations", empty["id"].as_str().unwrap());
    let (status, reply) = backend.call("dr-a", Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(reply["error"], "no-invitees");
    assert_eq!(backend.recipients().await.len(), 2);
}

fn stored_room(backend: &dyn Backend, practitioner: &str, date: NaiveDate) -> Room {
    let request = CreateRoomRequest {
        date: Some(video_core::validity::today_in(Zone::BERLIN, backend.now()).to_string()),
        invitees: Some(vec![InviteeRequest {
            name: Some("Anna Beispiel".to_owned()),
            email: Some("anna@example.org".to_owned()),
            locale: None,
        }]),
        ..Default::default()
    };
    let mut room = request
        .into_room(practitioner, backend.now(), Retention::days(90).unwrap())
        .unwrap();
    room.date = date;
    room.expires_at = Retention::days(90).unwrap().expires_at(&room.window());
    room
}

async fn overview_shows_status_and_call_time(backend: &dyn Backend) {
    let zone = Zone::BERLIN;
    let today = video_core::validity::today_in(zone, backend.now());
    let mut held = stored_room(backend, "dr-a", today - Duration::days(2));
    held.call.seconds = 125;
    let not_held = stored_room(backend, "dr-a", today - Duration::days(7));
    let too_old = stored_room(backend, "dr-a", today - Duration::days(8));
    let mut running = stored_room(backend, "dr-a", today);
    running.call.since = Some(backend.now() - Duration::seconds(30));
    running.start_time = chrono::NaiveTime::from_hms_opt(15, 0, 0);
    let mut morning = stored_room(backend, "dr-a", today);
    morning.start_time = chrono::NaiveTime::from_hms_opt(9, 30, 0);
    let planned = stored_room(backend, "dr-a", today + Duration::weeks(25));
    let too_far = stored_room(
        backend,
        "dr-a",
        today + Duration::weeks(25) + Duration::days(1),
    );
    let foreign = stored_room(backend, "dr-b", today);
    for room in [
        &held, &not_held, &too_old, &running, &morning, &planned, &too_far, &foreign,
    ] {
        backend.insert(room).await;
    }
    let (status, list) = backend.call("dr-a", Method::GET, "/api/rooms", None).await;
    assert_eq!(status, StatusCode::OK);
    let rooms = list["rooms"].as_array().unwrap();
    let summary: Vec<(String, String)> = rooms
        .iter()
        .map(|room| {
            (
                room["id"].as_str().unwrap().to_owned(),
                room["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (not_held.id.clone(), "not-held".to_owned()),
            (held.id.clone(), "held".to_owned()),
            (morning.id.clone(), "today".to_owned()),
            (running.id.clone(), "today".to_owned()),
            (planned.id.clone(), "planned".to_owned()),
        ]
    );
    assert_eq!(rooms[0]["callSeconds"], 0);
    assert_eq!(rooms[1]["callSeconds"], 125);
    let running_seconds = rooms[3]["callSeconds"].as_i64().unwrap();
    assert!((30..40).contains(&running_seconds), "{running_seconds}");
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = super::embedded();
                    super::$case(&backend).await;
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
    concurrent_upserts_make_one_room,
    entry_moved_to_today_is_mailed_at_once,
    always_video_patients_get_rooms,
    resend_only_on_the_room_day,
    overview_shows_status_and_call_time,
);
