//! Feeds arbitrary bytes to `parse_client_message`, which the local server
//! and the Lambda function call for every WebSocket text frame. It checks
//! what the signaling core relies on: that the parser does not panic and keeps
//! the size limit, that rejections serialize, and that accepted messages
//! survive a JSON round trip.

#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use video_core::link::LinkKey;
use video_core::random::is_random_id;
use video_core::signaling::protocol::{
    ClientMessage, ErrorCode, MAX_MESSAGE_BYTES, MAX_NAME_CHARS, Rejected, ServerMessage,
    is_bidi_control, is_invisible, parse_client_message, parse_display_name, signal_json,
};

/// Link key for the token checks: 64 hex digits, as stored beside the database.
const LINK_KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(text) => check_message(text),
        // Neither server passes invalid UTF-8 to the parser, because WebSocket
        // text frames are UTF-8 and both servers reject binary frames before
        // parsing. The lossy conversion still puts these inputs to use.
        Err(_) => check_message(&String::from_utf8_lossy(data)),
    }
});

fn check_message(text: &str) {
    let result = parse_client_message(text);

    if text.len() > MAX_MESSAGE_BYTES {
        let rejected = result.expect_err("a message over the size limit was accepted");
        assert_eq!(rejected.code, ErrorCode::MessageTooLarge);
        check_rejection(&rejected);
        return;
    }

    check_size_limit(text, &result);
    match result {
        Ok(message) => check_accepted(message),
        Err(rejected) => {
            assert_ne!(
                rejected.code,
                ErrorCode::MessageTooLarge,
                "a message within the size limit was rejected as too large"
            );
            check_rejection(&rejected);
        }
    }
}

/// Spaces to pad inputs with, one more than the size limit.
static SPACES: LazyLock<String> = LazyLock::new(|| " ".repeat(MAX_MESSAGE_BYTES + 1));

/// Checks that trailing JSON whitespace never changes the outcome and that
/// the size limit is exact. A message padded to one byte past the limit is
/// rejected as too large. An accepted message padded to exactly the limit is
/// still accepted.
fn check_size_limit(text: &str, result: &Result<ClientMessage, Rejected>) {
    let mut padded = String::with_capacity(MAX_MESSAGE_BYTES + 1);
    padded.push_str(text);
    padded.push_str(" \t\r\n");
    if padded.len() <= MAX_MESSAGE_BYTES {
        check_same_outcome(result, &padded);
    }

    padded.truncate(text.len());
    padded.push_str(&SPACES[..=MAX_MESSAGE_BYTES - text.len()]);
    let over_limit = parse_client_message(&padded)
        .map(|_| ())
        .map_err(|r| r.code);
    assert_eq!(over_limit, Err(ErrorCode::MessageTooLarge));

    // Parsing 32 KiB costs as much as many small inputs, so only accepted
    // messages get this check. For them, a limit that is off by one would
    // reject a valid message.
    if result.is_ok() {
        padded.pop();
        check_same_outcome(result, &padded);
    }
}

fn check_same_outcome(expected: &Result<ClientMessage, Rejected>, padded: &str) {
    let actual = parse_client_message(padded);
    match (expected, &actual) {
        (Ok(expected), Ok(actual)) => assert_eq!(expected, actual),
        (Err(expected), Err(actual)) => assert_eq!(expected.code, actual.code),
        _ => panic!(
            "trailing whitespace up to {} bytes changed the outcome from {expected:?} to {actual:?}",
            padded.len()
        ),
    }
}

/// Checks that a rejection carries one of the parser's non-fatal codes and
/// becomes a well-formed `error` message.
fn check_rejection(rejected: &Rejected) {
    assert!(
        matches!(
            rejected.code,
            ErrorCode::InvalidMessage | ErrorCode::MessageTooLarge | ErrorCode::UnknownType
        ),
        "the parser returned {:?}, which it never should",
        rejected.code
    );
    assert_eq!(
        rejected.code.close_code(),
        None,
        "a parse error must not close the socket"
    );
    assert!(!rejected.message.is_empty(), "rejection without a message");

    let sent = ServerMessage::error(rejected.code, rejected.message.clone()).to_json();
    let sent: Value = serde_json::from_str(&sent).expect("an error message is valid JSON");
    assert_eq!(sent["type"], "error");
    assert_eq!(
        sent["code"],
        serde_json::to_value(rejected.code).expect("error codes serialize")
    );
    assert_eq!(sent["message"], rejected.message.as_str());
}

fn check_accepted(message: ClientMessage) {
    match &message {
        ClientMessage::Check(check) => check_token(&check.token),
        ClientMessage::Join(join) => {
            check_token(&join.token);
            check_display_name(&join.name);
        }
        ClientMessage::Signal(signal) => {
            check_relayed(signal.data.get());
            // JSON allows numbers beyond the range of `f64`, and the relay
            // passes them on as text, but a `Value` cannot hold them, so such
            // a message cannot take the round trip below.
            if serde_json::from_str::<Value>(signal.data.get()).is_err() {
                return;
            }
        }
        ClientMessage::IceServers | ClientMessage::Ping | ClientMessage::Leave => {}
    }
    check_round_trip(message);
}

/// Runs the token steps that the core takes before it reads the store.
fn check_token(token: &str) {
    let Ok(room_id) = LinkKey::room_id_of(token) else {
        return;
    };
    assert!(is_random_id(room_id), "room id {room_id:?} was accepted");
    assert_eq!(
        token
            .strip_prefix(room_id)
            .and_then(|rest| rest.strip_prefix('.'))
            .map(str::len),
        Some(43)
    );

    let key = LinkKey::from_hex(LINK_KEY_HEX).expect("the fuzzing link key is valid hex");
    // A guessed tag verifies with a probability of 2^-256, so this branch
    // runs only for a seed that carries the real tag.
    if let Ok(verified) = key.verify(token, "salt") {
        assert_eq!(verified, room_id);
        assert_eq!(key.token_for(room_id, "salt"), token);
    }
}

fn check_display_name(name: &str) {
    let trimmed = name.trim();
    let chars = trimmed.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&chars)
        && !trimmed
            .chars()
            .any(|c| c.is_control() || is_bidi_control(c))
        && !trimmed.chars().all(is_invisible);
    match parse_display_name(name) {
        Some(parsed) => {
            assert!(valid, "display name {name:?} was accepted");
            assert_eq!(parsed, trimmed);
        }
        None => assert!(!valid, "display name {name:?} was rejected"),
    }
}

/// Checks the signal data rule and the `signal` message the relay sends on.
fn check_relayed(raw: &str) {
    // Members read as raw text, the last of a repeated name winning, as a
    // browser's `JSON.parse` reads them.
    let object: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(raw).expect("accepted signal data is a JSON object");
    assert_eq!(object.len(), 1, "signal data has one field: {raw}");
    let shape_ok = match object.iter().next() {
        Some((key, value)) => match (key.as_str(), value.get()) {
            ("description", value) => value.starts_with('{'),
            ("candidate", value) => value.starts_with('{') || value == "null",
            ("rebuild", value) => value == "true",
            _ => false,
        },
        None => false,
    };
    assert!(shape_ok, "signal data {raw} was accepted");

    let relayed = signal_json("peer", raw);
    assert!(
        relayed.ends_with(&format!(r#""data":{raw}}}"#)),
        "the relay passes data on as it came: {relayed}"
    );
    let message = ServerMessage::Signal {
        from: "peer".to_owned(),
        data: RawValue::from_string(raw.to_owned()).expect("accepted signal data is JSON"),
    };
    assert_eq!(relayed, message.to_json());
    let Ok(data) = serde_json::from_str::<Value>(raw) else {
        return;
    };
    let relayed: Value = serde_json::from_str(&relayed).expect("a relayed signal is valid JSON");
    assert_eq!(relayed["type"], "signal");
    if !contains_float(&data) {
        assert_eq!(relayed["data"], data);
    }
}

/// Writes an accepted message back as JSON and parses it again. Messages
/// with floats are skipped, because serde_json without its `float_roundtrip`
/// feature may read a printed float back one unit in the last place off.
fn check_round_trip(message: ClientMessage) {
    let written = to_json(&message);
    if contains_float(&written) {
        return;
    }
    let text = written.to_string();
    match parse_client_message(&text) {
        Ok(reparsed) => assert_eq!(reparsed, message, "round trip through {text}"),
        Err(rejected) => panic!("{text} was rejected after a round trip: {rejected:?}"),
    }
}

fn to_json(message: &ClientMessage) -> Value {
    match message {
        ClientMessage::Check(check) => json!({"type": "check", "v": check.v, "token": check.token}),
        ClientMessage::Join(join) => {
            let mut object = Map::new();
            object.insert("type".into(), "join".into());
            object.insert("v".into(), join.v.into());
            object.insert("token".into(), join.token.clone().into());
            object.insert("name".into(), join.name.clone().into());
            if let Some(resume) = &join.resume {
                object.insert(
                    "resume".into(),
                    json!({"peerId": resume.peer_id, "key": resume.key}),
                );
            }
            Value::Object(object)
        }
        ClientMessage::Signal(signal) => {
            let data: &RawValue =
                serde_json::from_str(signal.data.get()).expect("accepted signal data is JSON");
            json!({"type": "signal", "to": signal.to, "data": data})
        }
        ClientMessage::IceServers => json!({"type": "ice-servers"}),
        ClientMessage::Ping => json!({"type": "ping"}),
        ClientMessage::Leave => json!({"type": "leave"}),
    }
}

fn contains_float(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.is_f64(),
        Value::Array(items) => items.iter().any(contains_float),
        Value::Object(object) => object.values().any(contains_float),
        Value::Null | Value::Bool(_) | Value::String(_) => false,
    }
}
