//! Feeds arbitrary bytes as the JSON body of the rooms API's write requests.
//! Each input goes through the handlers' extractor `ApiJson` and then through
//! `CalendarEntryRequest::into_parts` and `CreateRoomRequest::into_room`, once
//! for each of the three body types.

#![no_main]

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;
use video_core::http::error::ApiError;
use video_core::http::json::ApiJson;
use video_core::random::is_random_id;
use video_core::room::{
    CalendarEntryRequest, CreateRoomRequest, DEFAULT_TIME_ZONE, Delivery, FieldError,
    MAX_DAYS_AHEAD, MAX_INVITEES, Retention, Room, VideoPreferenceRequest, parse_external_id,
};
use video_core::validity::today_in;

/// The practitioner id that the bearer token would yield.
const PRACTITIONER: &str = "dr-fuzz";
/// Fixed "now", so that a crash input reproduces on any day. Seeds date their
/// rooms in December 2026.
const NOW: &str = "2026-12-04T10:00:00Z";
/// Field limits from the request schema in `shared/src/room.rs`.
const MAX_TITLE_CHARS: usize = 200;
const MAX_INVITEE_NAME_CHARS: usize = 100;
const MAX_EMAIL_BYTES: usize = 254;

fuzz_target!(|data: &[u8]| {
    check_create_room(data);
    check_calendar_entry(data);
    check_video_preference(data);
});

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .expect("NOW is RFC 3339")
        .with_timezone(&Utc)
}

/// Runs the `ApiJson` extractor on a request with `body` and a JSON
/// content type, as the router does before calling a handler.
fn extract<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let request = Request::builder()
        .method("PUT")
        .uri("/api/rooms")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("the request parts are valid");
    let extracted = ApiJson::<T>::from_request(request, &())
        .now_or_never()
        .expect("an in-memory body is read without waiting");
    extracted.map(|ApiJson(value)| value)
}

/// Checks that a rejection is a client error with `expected` status and that
/// its response body names the same error code.
fn check_rejection(error: ApiError, expected: &[StatusCode]) {
    let ApiError::Client { status, code, .. } = &error else {
        panic!("input validation failed with an internal error: {error:?}");
    };
    let (status, code) = (*status, *code);
    assert!(
        expected.contains(&status),
        "status {status} ({code}) is not one of {expected:?}"
    );

    let response = error.into_response();
    assert_eq!(response.status(), status);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .now_or_never()
        .expect("an in-memory body is read without waiting")
        .expect("the error body is readable");
    let body: Value = serde_json::from_slice(&body).expect("the error body is JSON");
    assert_eq!(body["error"], code);
    assert!(
        body["message"].is_string(),
        "error body without message: {body}"
    );
}

fn check_field_error(error: FieldError) {
    assert!(
        !error.field.is_empty(),
        "field error without a field: {error}"
    );
    check_rejection(error.into(), &[StatusCode::UNPROCESSABLE_ENTITY]);
}

/// `POST /api/rooms`.
fn check_create_room(body: &[u8]) {
    match extract::<CreateRoomRequest>(body) {
        Ok(request) => check_into_room(request),
        Err(error) => check_rejection(error, &[StatusCode::BAD_REQUEST]),
    }
}

/// `PUT /api/calendar-entries/{entryId}`.
fn check_calendar_entry(body: &[u8]) {
    let request = match extract::<CalendarEntryRequest>(body) {
        Ok(request) => request,
        Err(error) => return check_rejection(error, &[StatusCode::BAD_REQUEST]),
    };
    let had_video = request.video.is_some();
    match request.into_parts() {
        Ok((_, request)) => check_into_room(request),
        Err(error) => {
            assert!(
                !had_video,
                "into_parts rejected a request with video: {error}"
            );
            assert_eq!(error.field, "video");
            check_field_error(error);
        }
    }
}

/// `PUT /api/patients/{patientId}/video-preference`: the handler requires
/// `alwaysVideo`.
fn check_video_preference(body: &[u8]) {
    match extract::<VideoPreferenceRequest>(body) {
        Ok(request) => {
            if request.always_video.is_none() {
                check_field_error(FieldError::new("alwaysVideo", "is required"));
            }
        }
        Err(error) => check_rejection(error, &[StatusCode::BAD_REQUEST]),
    }
}

/// The request fields that `into_room` consumes, kept to compare with the room.
struct Expected {
    date: Option<String>,
    start_time: Option<String>,
    time_zone: Option<String>,
    title: Option<String>,
    patient_id: Option<String>,
    invitee_count: usize,
}

fn check_into_room(request: CreateRoomRequest) {
    let expected = Expected {
        date: request.date.clone(),
        start_time: request.start_time.clone(),
        time_zone: request.time_zone.clone(),
        title: request.title.clone(),
        patient_id: request.patient_id.clone(),
        invitee_count: request.invitees.as_ref().map_or(0, Vec::len),
    };
    match request.into_room(PRACTITIONER, now(), Retention::default()) {
        Ok(room) => check_room(&room, &expected),
        Err(error) => check_field_error(error),
    }
}

fn check_room(room: &Room, expected: &Expected) {
    assert!(is_random_id(&room.id));
    assert!(is_random_id(&room.link_salt));
    assert_eq!(room.practitioner_id, PRACTITIONER);
    assert_eq!(room.created_at, now());
    assert_eq!(room.entry_id, None);
    assert_eq!(room.version, 0);

    let time_zone = expected
        .time_zone
        .as_deref()
        .unwrap_or(DEFAULT_TIME_ZONE.name());
    assert_eq!(room.time_zone.name(), time_zone);
    assert_eq!(Some(room.date.to_string()), expected.date);
    let today = today_in(room.time_zone, now());
    assert!(room.date >= today, "{} is before today, {today}", room.date);
    assert!(room.date <= today + Duration::days(MAX_DAYS_AHEAD));
    let start_time = room.start_time.map(|time| time.format("%H:%M").to_string());
    assert_eq!(start_time, expected.start_time);

    let window = room.window();
    assert!(window.from < window.until, "empty day window {window:?}");
    assert!(room.expires_at > window.until);

    match (&room.title, &expected.title) {
        (Some(title), Some(text)) => check_text(title, text, MAX_TITLE_CHARS),
        (None, None) => {}
        (title, text) => panic!("title {title:?} from {text:?}"),
    }
    if let Some(patient_id) = &room.patient_id {
        assert_eq!(
            parse_external_id("patientId", patient_id).as_ref(),
            Ok(patient_id)
        );
    }
    assert_eq!(room.patient_id, expected.patient_id);

    assert_eq!(room.invitees.len(), expected.invitee_count);
    assert!(room.invitees.len() <= MAX_INVITEES);
    for invitee in &room.invitees {
        check_text(&invitee.name, &invitee.name, MAX_INVITEE_NAME_CHARS);
        let email = &invitee.email;
        assert!(
            email.len() <= MAX_EMAIL_BYTES,
            "email {email:?} is too long"
        );
        assert_eq!(email.trim(), email);
        assert!(!email.contains(['<', '>', ' ']), "email {email:?}");
        assert!(email.contains('@'), "email {email:?}");
        assert_eq!(invitee.delivery, Delivery::Pending);
        assert!(invitee.has_email());
    }

    // Both stores keep rooms as JSON, so an accepted room must read back equal.
    let stored = serde_json::to_string(room).expect("a room serializes");
    let loaded: Room = serde_json::from_str(&stored).expect("a stored room deserializes");
    assert_eq!(&loaded, room);
}

/// Checks a free-text field: trimmed, not empty, at most `max_chars`
/// characters and free of control characters.
fn check_text(parsed: &str, original: &str, max_chars: usize) {
    assert_eq!(parsed, original.trim());
    assert!(!parsed.is_empty());
    assert!(
        parsed.chars().count() <= max_chars,
        "{parsed:?} is too long"
    );
    assert!(!parsed.chars().any(char::is_control), "{parsed:?}");
}
