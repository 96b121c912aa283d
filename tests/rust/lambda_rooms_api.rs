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
use video_tests::aws::{Moto, create_rooms_table, dynamodb_client, http_api_event, ses_client};

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
    let today = video_core::validity::today_in(chrono_tz::Europe::Berlin, chrono::Utc::now());
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
