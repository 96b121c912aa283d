//! The rooms-api Lambda function fed API Gateway HTTP API (payload 2.0)
//! events, with rooms stored in DynamoDB in moto server.

use axum::body::Body;
use axum::http::StatusCode;
use base64_free::encode as base64;
use chrono::Duration;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use video_core::link::LinkKey;
use video_core::signaling::{Push, PushError, Signaling};
use video_tests::aws::{
    Moto, create_connections_table, create_rooms_table, dynamodb_client, http_api_event, ses_client,
};

/// A minimal standard base64 encoder, so the test needs no extra crate.
mod base64_free {
    pub fn encode(bytes: &[u8]) -> String {
        const TABLE: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut text = String::new();
        for chunk in bytes.chunks(3) {
            let value = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for index in 0..4 {
                if index <= chunk.len() {
                    text.push(TABLE[((value >> (18 - 6 * index)) & 63) as usize] as char);
                } else {
                    text.push('=');
                }
            }
        }
        text
    }
}

struct Fixture {
    router: axum::Router,
    client: aws_sdk_dynamodb::Client,
    links: LinkKey,
    _moto: Moto,
}

async fn fixture() -> Fixture {
    let moto = Moto::start();
    let client = dynamodb_client(&moto.endpoint);
    create_rooms_table(&client, "rooms").await;
    let settings = rooms_api::Settings {
        rooms_table: "rooms".to_owned(),
        public_url: "https://video.example.test".to_owned(),
        link_key: LinkKey::generate(),
        practitioner_claim: "sub".to_owned(),
        retention: Default::default(),
        mail: video_core::env::MailSettings {
            mail_from: "video@praxis.example".to_owned(),
            practice_name: None,
            configuration_set: None,
            policy: Default::default(),
        },
    };
    let ses = ses_client(&moto.endpoint);
    ses.create_email_identity()
        .email_identity("video@praxis.example")
        .send()
        .await
        .unwrap();
    Fixture {
        router: rooms_api::app(&settings, client.clone(), ses),
        client,
        links: settings.link_key.clone(),
        _moto: moto,
    }
}

/// Builds an HTTP API payload 2.0 event as API Gateway sends it, with a
/// chosen content type, an optionally base64-encoded body and a field that
/// newer API Gateway versions might add.
fn event(
    method: &str,
    raw_path: &str,
    subject: Option<&str>,
    content_type: &str,
    body: Option<(&str, bool)>,
) -> Value {
    let mut event = http_api_event(method, raw_path, subject, body.map(|(body, _)| body));
    event["headers"]["content-type"] = json!(content_type);
    event["isBase64Encoded"] = json!(body.is_some_and(|(_, base64_encoded)| base64_encoded));
    event["unknownFieldFromTheFuture"] = json!({"x": 1});
    event
}

async fn invoke(fixture: &Fixture, event: Value) -> (StatusCode, Value) {
    let request = lambda_http::request::from_str(&event.to_string()).expect("the event parses");
    let request = request.map(|body| Body::from(body.to_vec()));
    let response = fixture.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn tomorrow() -> String {
    let today = video_core::validity::today_in(video_core::zone::Zone::BERLIN, chrono::Utc::now());
    (today + Duration::days(1)).to_string()
}

#[tokio::test]
async fn create_stores_room_in_dynamodb() {
    let fixture = fixture().await;
    let body = json!({"date": tomorrow()}).to_string();
    let (status, room) = invoke(
        &fixture,
        event(
            "POST",
            "/api/rooms",
            Some("dr-a"),
            "application/json",
            Some((&body, false)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    assert!(
        room["joinUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://video.example.test/join#")
    );

    let stored = fixture
        .client
        .get_item()
        .table_name("rooms")
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(room["id"].as_str().unwrap().to_owned()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the room is in DynamoDB");
    assert_eq!(stored["practitionerId"].as_s().unwrap(), "dr-a");
    assert!(stored["expiresAt"].as_n().is_ok());
    let token = room["joinUrl"].as_str().unwrap().split_once('#').unwrap().1;
    let tag = token.split_once('.').unwrap().1;
    assert!(
        !format!("{stored:?}").contains(tag),
        "the item holds the link tag"
    );

    let path = format!("/api/rooms/{}", room["id"].as_str().unwrap());
    let (status, fetched) = invoke(
        &fixture,
        event("GET", &path, Some("dr-a"), "application/json", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["id"], room["id"]);
    let (status, _) = invoke(
        &fixture,
        event("GET", &path, Some("dr-b"), "application/json", None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unreadable_invitee_name_is_422() {
    let fixture = fixture().await;
    for name in [
        "\u{200B}\u{FEFF}",
        "\u{3164}",
        "\u{2800}",
        "Anna\u{202E}reteP",
    ] {
        let body = json!({
            "date": tomorrow(),
            "invitees": [{"name": name, "email": "anna@example.org"}],
        })
        .to_string();
        let (status, reply) = invoke(
            &fixture,
            event(
                "POST",
                "/api/rooms",
                Some("dr-a"),
                "application/json",
                Some((&body, false)),
            ),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}: {reply}"
        );
        assert_eq!(reply["error"], "invalid-field", "{reply}");
        assert_eq!(reply["field"], "invitees[0].name", "{reply}");
    }
    let scan = fixture
        .client
        .scan()
        .table_name("rooms")
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 0, "no room was stored");
}

#[tokio::test]
async fn base64_json_body_is_decoded() {
    let fixture = fixture().await;
    let body = base64(json!({"date": tomorrow()}).to_string().as_bytes());
    let (status, room) = invoke(
        &fixture,
        event(
            "POST",
            "/api/rooms",
            Some("dr-a"),
            "application/json",
            Some((&body, true)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
}

#[tokio::test]
async fn base64_binary_body_is_415() {
    let fixture = fixture().await;
    let body = base64(&[0xff, 0x00, 0x12, 0x80]);
    let (status, error) = invoke(
        &fixture,
        event(
            "POST",
            "/api/rooms",
            Some("dr-a"),
            "application/octet-stream",
            Some((&body, true)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error["error"], "unsupported-media-type");
}

#[tokio::test]
async fn garbage_in_json_body_is_400() {
    let fixture = fixture().await;
    let body = base64(&[0xff, 0xfe, b'{']);
    let (status, error) = invoke(
        &fixture,
        event(
            "POST",
            "/api/rooms",
            Some("dr-a"),
            "application/json",
            Some((&body, true)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid-json");
}

#[tokio::test]
async fn encoded_and_decoded_paths_are_404() {
    let fixture = fixture().await;
    for path in [
        "/api/rooms/%2e%2e%2fsecret",
        "/api/rooms/a b",
        "/api/rooms/ä",
        "/api/rooms/%ZZ",
    ] {
        let (status, error) = invoke(
            &fixture,
            event("GET", path, Some("dr-a"), "application/json", None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {error}");
        assert_eq!(error["error"], "not-found", "{path}");
    }
}

#[tokio::test]
async fn missing_authorizer_claims_are_401() {
    let fixture = fixture().await;
    let (status, error) = invoke(
        &fixture,
        event("GET", "/api/rooms", None, "application/json", None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"], "unauthorized");
}

#[tokio::test]
async fn list_reads_from_practitioner_index() {
    let fixture = fixture().await;
    let body = json!({"date": tomorrow()}).to_string();
    for subject in ["dr-a", "dr-a", "dr-b"] {
        invoke(
            &fixture,
            event(
                "POST",
                "/api/rooms",
                Some(subject),
                "application/json",
                Some((&body, false)),
            ),
        )
        .await;
    }
    let (status, listed) = invoke(
        &fixture,
        event("GET", "/api/rooms", Some("dr-a"), "application/json", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["rooms"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------
// A patient's data: export and erasure

/// Calls the function as practitioner `subject` with a JSON body.
async fn call(
    fixture: &Fixture,
    subject: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.map(|body| body.to_string());
    let body = body.as_deref().map(|body| (body, false));
    invoke(
        fixture,
        event(method, path, Some(subject), "application/json", body),
    )
    .await
}

fn days_ahead(days: i64) -> String {
    let today = video_core::validity::today_in(video_core::zone::Zone::BERLIN, chrono::Utc::now());
    (today + Duration::days(days)).to_string()
}

async fn create_for(fixture: &Fixture, subject: &str, date: &str, patient: &str) -> String {
    let body = json!({
        "date": date, "startTime": "08:15", "title": "Sitzung", "patientId": patient,
        "invitees": [{"name": "Anna Beispiel", "email": "anna@example.org"}]
    });
    let (status, room) = call(fixture, subject, "POST", "/api/rooms", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    room["id"].as_str().unwrap().to_owned()
}

fn exported_ids(data: &Value) -> Vec<String> {
    data["rooms"]
        .as_array()
        .expect("rooms is an array")
        .iter()
        .map(|room| room["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Returns every item of the rooms table, read with a scan.
async fn table_items(
    client: &aws_sdk_dynamodb::Client,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start_key = None;
    loop {
        let output = client
            .scan()
            .table_name("rooms")
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .unwrap();
        items.extend(output.items.unwrap_or_default());
        start_key = output.last_evaluated_key;
        if start_key.is_none() {
            return items;
        }
    }
}

/// Returns the ids of the stored rooms of `practitioner` and `patient`, and
/// whether the practitioner's preference item for the patient exists.
async fn stored_for(fixture: &Fixture, practitioner: &str, patient: &str) -> (Vec<String>, bool) {
    let mut rooms = Vec::new();
    let mut preference = false;
    for item in table_items(&fixture.client).await {
        let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
        if let Some(json) = text("room") {
            let room: Value = serde_json::from_str(&json).unwrap();
            if room["practitionerId"] == practitioner && room["patientId"] == patient {
                rooms.push(text("id").unwrap());
            }
        } else if text("owner").as_deref() == Some(practitioner)
            && text("patientId").as_deref() == Some(patient)
        {
            preference = true;
        }
    }
    rooms.sort();
    (rooms, preference)
}

#[tokio::test]
async fn patient_data_and_erasure_in_dynamodb() {
    let fixture = fixture().await;
    let tomorrow = days_ahead(1);
    let soon = create_for(&fixture, "dr-a", &tomorrow, "P-7").await;
    let far = create_for(&fixture, "dr-a", &days_ahead(300), "P-7").await;
    let other_patient = create_for(&fixture, "dr-a", &tomorrow, "P-8").await;
    let other_practitioner = create_for(&fixture, "dr-b", &tomorrow, "P-7").await;
    for subject in ["dr-a", "dr-b"] {
        let (status, reply) = call(
            &fixture,
            subject,
            "PUT",
            "/api/patients/P-7/video-preference",
            Some(json!({"alwaysVideo": true})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }

    let (status, data) = call(&fixture, "dr-a", "GET", "/api/patients/P-7/data", None).await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(data["patientId"], "P-7");
    assert_eq!(exported_ids(&data), vec![soon.clone(), far.clone()]);
    let preference = &data["videoPreference"];
    assert_eq!(preference["alwaysVideo"], true);
    assert!(preference["updatedAt"].is_string(), "{preference}");
    let room = &data["rooms"][0];
    assert_eq!(room["date"], tomorrow.as_str());
    assert_eq!(room["startTime"], "08:15");
    assert_eq!(room["title"], "Sitzung");
    assert_eq!(room["status"], "planned");
    assert_eq!(room["invitees"][0]["name"], "Anna Beispiel");
    assert_eq!(room["invitees"][0]["email"], "anna@example.org");
    assert_eq!(room["invitees"][0]["status"], "pending");
    assert!(room["expiresAt"].is_string(), "{room}");
    assert!(room.get("joinUrl").is_none(), "{room}");

    let (status, reply) = call(&fixture, "dr-a", "DELETE", "/api/patients/P-7", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    let (_, data) = call(&fixture, "dr-a", "GET", "/api/patients/P-7/data", None).await;
    assert_eq!(
        data,
        json!({"patientId": "P-7", "videoPreference": null, "rooms": []})
    );

    // The table itself contains nothing of dr-a's patient P-7 any more.
    assert_eq!(stored_for(&fixture, "dr-a", "P-7").await, (vec![], false));
    assert_eq!(
        stored_for(&fixture, "dr-b", "P-7").await,
        (vec![other_practitioner.clone()], true)
    );
    assert_eq!(
        stored_for(&fixture, "dr-a", "P-8").await,
        (vec![other_patient.clone()], false)
    );
    let (_, data) = call(&fixture, "dr-b", "GET", "/api/patients/P-7/data", None).await;
    assert_eq!(exported_ids(&data), vec![other_practitioner]);
    assert_eq!(data["videoPreference"]["alwaysVideo"], true);
    for id in [&soon, &far] {
        let (status, _) = call(&fixture, "dr-a", "GET", &format!("/api/rooms/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    // Idempotent, and an unknown patient gets the same response.
    for path in ["/api/patients/P-7", "/api/patients/P-unbekannt"] {
        let (status, reply) = call(&fixture, "dr-a", "DELETE", path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(reply, Value::Null, "{path}");
    }
}

#[tokio::test]
async fn invalid_patient_ids_match_preference_route() {
    let fixture = fixture().await;
    let too_long = "x".repeat(129);
    for id in ["has%20space", "%C3%A4", too_long.as_str()] {
        let preference = call(
            &fixture,
            "dr-a",
            "GET",
            &format!("/api/patients/{id}/video-preference"),
            None,
        )
        .await;
        assert_eq!(preference.0, StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        assert_eq!(preference.1["field"], "patientId", "{id}");
        let data = call(
            &fixture,
            "dr-a",
            "GET",
            &format!("/api/patients/{id}/data"),
            None,
        )
        .await;
        assert_eq!(data, preference, "{id}");
        let erase = call(
            &fixture,
            "dr-a",
            "DELETE",
            &format!("/api/patients/{id}"),
            None,
        )
        .await;
        assert_eq!(erase, preference, "{id}");
    }
}

/// A practitioner whose rooms fill more than one 1 MB page of the
/// `byPractitioner` index: export and erasure read every page. Titles far
/// above the API's 200 characters, stored directly, fill the pages with
/// few rooms.
#[tokio::test]
async fn patient_erasure_reads_every_page() {
    use video_core::store::RoomStore;
    let fixture = fixture().await;
    let store = video_core::store::dynamodb::DynamoRooms::new(fixture.client.clone(), "rooms");
    let now = chrono::Utc::now();
    let mut patient_rooms = Vec::new();
    let mut other_rooms = Vec::new();
    for index in 0..70 {
        let patient = if index % 2 == 0 { "P-7" } else { "P-8" };
        let request = video_core::room::CreateRoomRequest {
            date: Some(days_ahead(1 + index)),
            patient_id: Some(patient.to_owned()),
            ..Default::default()
        };
        let mut room = request.into_room("dr-a", now, Default::default()).unwrap();
        room.title = Some("x".repeat(20_000));
        store.insert(&room).await.unwrap();
        if patient == "P-7" {
            patient_rooms.push(room.id);
        } else {
            other_rooms.push(room.id);
        }
    }
    let first_page = fixture
        .client
        .query()
        .table_name("rooms")
        .index_name("byPractitioner")
        .key_condition_expression("practitionerId = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S("dr-a".to_owned()),
        )
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key.is_some(),
        "the rooms span more than one page"
    );

    let (status, data) = call(&fixture, "dr-a", "GET", "/api/patients/P-7/data", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(exported_ids(&data), patient_rooms);

    let (status, _) = call(&fixture, "dr-a", "DELETE", "/api/patients/P-7", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored_for(&fixture, "dr-a", "P-7").await, (vec![], false));
    let (_, data) = call(&fixture, "dr-a", "GET", "/api/patients/P-8/data", None).await;
    assert_eq!(exported_ids(&data), other_rooms);
}

/// Records what the signaling sends and which connections it closes.
#[derive(Default)]
struct RecordingPush {
    sent: std::sync::Mutex<Vec<(String, Value)>>,
    closed: std::sync::Mutex<Vec<(String, u16)>>,
}

impl RecordingPush {
    fn last_to(&self, connection_id: &str) -> Value {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(id, _)| id == connection_id)
            .map(|(_, message)| message.clone())
            .unwrap_or_else(|| panic!("nothing was sent to {connection_id}"))
    }
}

#[async_trait::async_trait]
impl Push for RecordingPush {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), PushError> {
        let message = serde_json::from_str(text).unwrap();
        self.sent
            .lock()
            .unwrap()
            .push((connection_id.to_owned(), message));
        Ok(())
    }

    async fn close(&self, connection_id: &str, code: u16) -> Result<(), PushError> {
        self.closed
            .lock()
            .unwrap()
            .push((connection_id.to_owned(), code));
        Ok(())
    }
}

/// The signaling core on the same DynamoDB tables as the signaling
/// function: erasing a patient whose room has a running call kills the link
/// at once, while the people in the call stay connected, as after
/// `DELETE /api/rooms/{id}`. The call ending afterwards does not bring the
/// room back.
#[tokio::test]
async fn erased_rooms_link_no_longer_joins_on_dynamodb() {
    use std::sync::Arc;
    use video_core::store::dynamodb::{DynamoParticipants, DynamoRooms};
    let fixture = fixture().await;
    create_connections_table(&fixture.client, "connections").await;
    let zone = video_tests::daytime_zone();
    let today = video_core::validity::today_in(zone, chrono::Utc::now());
    let body = json!({"date": today.to_string(), "timeZone": zone.name(), "patientId": "P-7"});
    let (status, room) = call(&fixture, "dr-a", "POST", "/api/rooms", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    let token = room["joinUrl"].as_str().unwrap().split_once('#').unwrap().1;

    let push = Arc::new(RecordingPush::default());
    let signaling = Signaling {
        rooms: Arc::new(DynamoRooms::new(fixture.client.clone(), "rooms")),
        participants: Arc::new(DynamoParticipants::new(
            fixture.client.clone(),
            "connections",
        )),
        push: push.clone(),
        links: fixture.links.clone(),
        clock: Arc::new(video_core::clock::SystemClock),
        ice_servers: Vec::new(),
        turn: None,
        away_grace: std::time::Duration::from_secs(30),
    };
    let join =
        |name: &str| json!({"type": "join", "v": 1, "token": token, "name": name}).to_string();
    signaling
        .handle_message("c1", &join("Dr. Weber"))
        .await
        .unwrap();
    let first = push.last_to("c1");
    assert_eq!(first["type"], "joined");
    signaling.handle_message("c2", &join("Anna")).await.unwrap();
    assert_eq!(push.last_to("c2")["type"], "joined");
    let (_, data) = call(&fixture, "dr-a", "GET", "/api/patients/P-7/data", None).await;
    assert!(data["rooms"][0]["callRunningSince"].is_string(), "{data}");

    let (status, _) = call(&fixture, "dr-a", "DELETE", "/api/patients/P-7", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    signaling.handle_message("c3", &join("Gast")).await.unwrap();
    let reply = push.last_to("c3");
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "invalid-link");
    assert!(
        push.closed
            .lock()
            .unwrap()
            .contains(&("c3".to_owned(), 4001)),
        "an invalid link closes the connection"
    );

    // The call goes on: signals still pass between the two.
    let signal = json!({"type": "signal", "to": first["peerId"], "data": {"candidate": null}});
    signaling
        .handle_message("c2", &signal.to_string())
        .await
        .unwrap();
    assert_eq!(push.last_to("c1")["type"], "signal");

    // Leaving ends the call's time tracking, which must not write the room back.
    signaling
        .handle_message("c2", &json!({"type": "leave"}).to_string())
        .await
        .unwrap();
    assert_eq!(push.last_to("c1")["type"], "peer-left");
    let path = format!("/api/rooms/{}", room["id"].as_str().unwrap());
    let (status, _) = call(&fixture, "dr-a", "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(stored_for(&fixture, "dr-a", "P-7").await, (vec![], false));
}
