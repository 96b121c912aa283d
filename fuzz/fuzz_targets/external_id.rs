//! Feeds arbitrary bytes to the parsers of the rooms API's path and query
//! parameters and checks each accepted value against the rule that the error
//! message states. The parsers are `parse_external_id` for `{entryId}` and
//! `{patientId}`, `is_random_id` for `/api/rooms/{id}`, `parse_date` for
//! `from` and `to`, and `parse_time_zone` for the `timeZone` field.

#![no_main]

use axum::http::StatusCode;
use chrono::Datelike;
use libfuzzer_sys::fuzz_target;
use video_core::http::error::ApiError;
use video_core::link::LinkKey;
use video_core::random::is_random_id;
use video_core::room::{FieldError, parse_date, parse_external_id, parse_time_zone};

/// Maximum length of an external id, as the API documentation states.
const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// Link key for the entry room ids: 64 hex digits, as stored beside the database.
const LINK_KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fuzz_target!(|data: &[u8]| {
    // Axum percent-decodes path segments, and a segment that is not UTF-8
    // fails extraction, so the handler rejects it before any parser runs.
    // Query strings are decoded with U+FFFD in place of invalid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        check_date(&String::from_utf8_lossy(data));
        return;
    };
    check_external_id(text);
    check_room_id(text);
    check_date(text);
    check_time_zone(text);
});

fn check_field_error(error: FieldError, field: &str) {
    assert_eq!(error.field, field);
    assert!(!error.message.is_empty());
    match ApiError::from(error) {
        ApiError::Client { status, .. } => assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY),
        ApiError::Internal(cause) => panic!("a field error became an internal error: {cause}"),
    }
}

fn check_external_id(text: &str) {
    let valid = (1..=MAX_EXTERNAL_ID_CHARS).contains(&text.len())
        && text.bytes().all(|byte| byte.is_ascii_graphic());
    match parse_external_id("entryId", text) {
        Ok(id) => {
            assert!(valid, "external id {text:?} was accepted");
            assert_eq!(id, text);

            let key = LinkKey::from_hex(LINK_KEY_HEX).expect("the fuzzing link key is valid hex");
            let room_id = key.entry_room_id("dr-fuzz", &id);
            assert!(is_random_id(&room_id), "entry room id {room_id:?}");
        }
        Err(error) => {
            assert!(!valid, "external id {text:?} was rejected");
            check_field_error(error, "entryId");
        }
    }
}

fn check_room_id(text: &str) {
    let valid = text.len() == 32
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    assert_eq!(is_random_id(text), valid, "room id {text:?}");
}

fn check_date(text: &str) {
    match parse_date("from", text) {
        Ok(date) => {
            assert_eq!(date.format("%Y-%m-%d").to_string(), text);
            assert!((0..=9999).contains(&date.year()), "{date}");
        }
        Err(error) => check_field_error(error, "from"),
    }
}

fn check_time_zone(text: &str) {
    match parse_time_zone("timeZone", text) {
        Ok(zone) => assert_eq!(zone.name(), text),
        Err(error) => check_field_error(error, "timeZone"),
    }
}
