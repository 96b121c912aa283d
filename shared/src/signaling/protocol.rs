//! Messages of signaling protocol version 1, as documented in
//! `docs/signaling.md`: one flat JSON object per message, keyed by `type`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::validity::DayState;

pub const PROTOCOL_VERSION: u32 = 1;
/// API Gateway's WebSocket frame limit; larger messages get `message-too-large`.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    pub v: u32,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Join {
    pub v: u32,
    pub token: String,
    pub name: String,
    #[serde(default)]
    pub resume: Option<Resume>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resume {
    pub peer_id: String,
    pub key: String,
}

/// A `signal` message. `data` is kept as the client wrote it and relayed
/// byte for byte, so the server never builds or prints the SDP's JSON tree.
#[derive(Debug, Clone)]
pub struct Signal {
    pub to: String,
    pub data: Box<RawValue>,
}

/// Two signals are equal when their targets and their data as JSON values
/// are, whatever the white space or escapes of the data's text. Data that
/// `Value` cannot hold, such as a number beyond the range of `f64`, is
/// compared as text.
impl PartialEq for Signal {
    fn eq(&self, other: &Self) -> bool {
        let value = |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).ok();
        let same_data = match (value(&self.data), value(&other.data)) {
            (Some(data), Some(other_data)) => data == other_data,
            _ => self.data.get() == other.data.get(),
        };
        self.to == other.to && same_data
    }
}

/// The fields of a `signal` message as serde reads them from a JSON tree,
/// only to word the error for a message that does not fit [`Signal`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignalFields {
    to: String,
    data: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Check(Check),
    Join(Join),
    Signal(Signal),
    /// A request for fresh `iceServers`. The server replies with `ice-servers`.
    IceServers,
    Ping,
    Leave,
}

/// Error codes sent in `error` messages. Fatal ones close the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    InvalidMessage,
    MessageTooLarge,
    UnknownType,
    UnsupportedVersion,
    InvalidLink,
    RoomNotOpen,
    RoomFull,
    InvalidName,
    NotJoined,
    AlreadyJoined,
    UnknownPeer,
    Internal,
}

impl ErrorCode {
    /// Returns the WebSocket close code sent after a fatal error, or `None`
    /// when the connection stays open.
    pub fn close_code(self) -> Option<u16> {
        match self {
            Self::UnsupportedVersion => Some(4000),
            Self::InvalidLink => Some(4001),
            Self::RoomNotOpen => Some(4002),
            Self::RoomFull => Some(4003),
            Self::Internal => Some(1011),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    pub peer_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage {
    #[serde(rename_all = "camelCase")]
    Status {
        state: DayState,
        date: String,
        time_zone: String,
        valid_from: String,
        valid_until: String,
    },
    #[serde(rename_all = "camelCase")]
    Joined {
        peer_id: String,
        resume_key: String,
        peers: Vec<PeerInfo>,
        date: String,
        time_zone: String,
        max_participants: usize,
        ice_servers: Vec<Value>,
    },
    #[serde(rename_all = "camelCase")]
    PeerJoined {
        peer_id: String,
        name: String,
    },
    #[serde(rename_all = "camelCase")]
    PeerLeft {
        peer_id: String,
    },
    Signal {
        from: String,
        data: Box<RawValue>,
    },
    /// The reply to an `ice-servers` request. It contains the list `joined`
    /// would carry now, with newly minted TURN credentials.
    #[serde(rename_all = "camelCase")]
    IceServers {
        ice_servers: Vec<Value>,
    },
    Pong,
    #[serde(rename_all = "camelCase")]
    Error {
        code: ErrorCode,
        message: String,
        /// Set for `room-not-open`: the room's day and where "now" lies.
        #[serde(skip_serializing_if = "Option::is_none")]
        date: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        time_zone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        state: Option<DayState>,
    },
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
            date: None,
            time_zone: None,
            state: None,
        }
    }

    pub fn to_json(&self) -> String {
        if let Self::Signal { from, data } = self {
            return signal_json(from, data);
        }
        serde_json::to_string(self).expect("server messages contain only serializable values")
    }
}

/// Writes a relayed signal as the derived `Serialize` of
/// [`ServerMessage::Signal`] does, but into a string of its final size and
/// with `data` copied as it is.
fn signal_json(from: &str, data: &RawValue) -> String {
    let from = serde_json::to_string(from).expect("a string serializes");
    let data = data.get();
    let mut text = String::with_capacity(data.len() + from.len() + 36);
    text.push_str(r#"{"type":"signal","from":"#);
    text.push_str(&from);
    text.push_str(r#","data":"#);
    text.push_str(data);
    text.push('}');
    text
}

/// A message the server could not accept, with the error to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub code: ErrorCode,
    pub message: String,
}

impl Rejected {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

fn parse_body<T: for<'de> Deserialize<'de>>(kind: &str, value: Value) -> Result<T, Rejected> {
    serde_json::from_value(value).map_err(|error| {
        Rejected::new(
            ErrorCode::InvalidMessage,
            format!("invalid {kind} message: {error}"),
        )
    })
}

/// A member name of a JSON object, borrowed from the message unless it
/// contains escapes.
#[derive(Deserialize)]
struct Name<'a>(#[serde(borrow)] Cow<'a, str>);

/// The members of a JSON object in message order, each value as its JSON
/// text. Reading them validates the whole object but builds no tree.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// Returns the value of the last member called `name`: `serde_json::Value`
    /// also keeps the last of several members with one name.
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(member, _)| member == name)
            .map(|(_, value)| *value)
    }

    /// Returns the members other than `type` as a JSON object tree. Reading a
    /// member's text as `RawValue` checks its syntax only, so building the
    /// tree can still fail, for a number beyond the range of `f64`.
    fn body(&self) -> Result<Value, Rejected> {
        let mut object = serde_json::Map::new();
        for (name, value) in &self.0 {
            if name != "type" {
                let value = serde_json::from_str(value.get()).map_err(|error| {
                    Rejected::new(
                        ErrorCode::InvalidMessage,
                        format!("message is not valid JSON: field {name:?}: {error}"),
                    )
                })?;
                object.insert(name.clone().into_owned(), value);
            }
        }
        Ok(Value::Object(object))
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(Name(name)) = map.next_key()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Parses one client message, checking size, JSON shape and fields.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, Rejected> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(Rejected::new(
            ErrorCode::MessageTooLarge,
            format!(
                "message has {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                text.len()
            ),
        ));
    }
    if may_nest_too_deep(text) {
        // `Members` skips nested values without a depth limit, so only the
        // tree parser can tell whether this text nests too deep.
        serde_json::from_str::<Value>(text).map_err(|error| {
            Rejected::new(
                ErrorCode::InvalidMessage,
                format!("message is not valid JSON: {error}"),
            )
        })?;
    }
    let Ok(members) = serde_json::from_str::<Members>(text) else {
        return Err(not_an_object(text));
    };
    let kind = match members.get("type") {
        Some(kind) => match serde_json::from_str::<Name>(kind.get()) {
            Ok(Name(kind)) => kind,
            Err(_) => {
                return Err(Rejected::new(
                    ErrorCode::InvalidMessage,
                    "field \"type\" must be a string",
                ));
            }
        },
        None => {
            return Err(Rejected::new(
                ErrorCode::InvalidMessage,
                "field \"type\" is missing",
            ));
        }
    };
    match kind.as_ref() {
        "check" => parse_body("check", members.body()?).map(ClientMessage::Check),
        "join" => parse_body("join", members.body()?).map(ClientMessage::Join),
        "signal" => parse_signal(&members).map(ClientMessage::Signal),
        "ice-servers" => Ok(ClientMessage::IceServers),
        "ping" => Ok(ClientMessage::Ping),
        "leave" => Ok(ClientMessage::Leave),
        _ => Err(Rejected::new(
            ErrorCode::UnknownType,
            format!("unknown message type {:?}", truncate(&kind, 40)),
        )),
    }
}

/// Returns whether `text` has as many opening brackets as serde_json's
/// `Value` parser allows levels of nesting (128, minus the outermost), so that
/// it might nest too deep. Counting every bracket, in strings too, is cheaper
/// than tracking the nesting, and real messages have a handful.
fn may_nest_too_deep(text: &str) -> bool {
    const MAX_NESTING: usize = 127;
    // Counting per chunk of 64 bytes in a byte-wide sum lets the compiler
    // compare and add 16 or more bytes per instruction.
    let mut brackets = 0;
    for chunk in text.as_bytes().chunks(64) {
        let in_chunk = chunk
            .iter()
            .fold(0u8, |sum, byte| sum + u8::from(matches!(byte, b'{' | b'[')));
        brackets += usize::from(in_chunk);
        if brackets > MAX_NESTING {
            return true;
        }
    }
    false
}

/// Words the rejection of a text that is not a JSON object: either it is
/// no JSON at all, with serde_json's description of the syntax error, or
/// it is JSON of another type.
fn not_an_object(text: &str) -> Rejected {
    match serde_json::from_str::<Value>(text) {
        Err(error) => Rejected::new(
            ErrorCode::InvalidMessage,
            format!("message is not valid JSON: {error}"),
        ),
        Ok(_) => Rejected::new(ErrorCode::InvalidMessage, "message must be a JSON object"),
    }
}

/// Reads a `signal` message: `to`, a string, and `data`, kept as its JSON
/// text. A message with other members or types takes serde's path through
/// [`SignalFields`], which words the error.
fn parse_signal(members: &Members) -> Result<Signal, Rejected> {
    let mut to = None;
    let mut data = None;
    let mut others = false;
    for (name, value) in &members.0 {
        match name.as_ref() {
            "type" => {}
            "to" => to = Some(*value),
            "data" => data = Some(*value),
            _ => others = true,
        }
    }
    let signal = match (others, to, data) {
        (false, Some(to), Some(data)) => {
            serde_json::from_str::<String>(to.get())
                .ok()
                .map(|to| Signal {
                    to,
                    data: data.to_owned(),
                })
        }
        _ => None,
    };
    let signal = match signal {
        Some(signal) => signal,
        None => {
            let fields: SignalFields = parse_body("signal", members.body()?)?;
            Signal {
                to: fields.to,
                data: serde_json::value::to_raw_value(&fields.data)
                    .expect("a JSON value serializes"),
            }
        }
    };
    check_signal_data(&signal.data)?;
    Ok(signal)
}

/// Requires `data` to be an object with exactly one of `description` or
/// `candidate`, so the relay passes on nothing but WebRTC negotiation.
/// Members repeated under one name count once, with the last value, as a
/// browser's `JSON.parse` reads them.
fn check_signal_data(data: &RawValue) -> Result<(), Rejected> {
    let invalid = || {
        Rejected::new(
            ErrorCode::InvalidMessage,
            "signal data must be an object with exactly one of \"description\", \"candidate\" or \"rebuild\": true",
        )
    };
    let members: Members = serde_json::from_str(data.get()).map_err(|_| invalid())?;
    let Some((name, _)) = members.0.first() else {
        return Err(invalid());
    };
    if members.0.iter().any(|(other, _)| other != name) {
        return Err(invalid());
    }
    let value = members.get(name).map(RawValue::get);
    // The value is valid JSON without surrounding white space, so its first
    // character gives its type.
    let is_object = value.is_some_and(|value| value.starts_with('{'));
    let valid = match name.as_ref() {
        "description" => is_object,
        "candidate" => is_object || value == Some("null"),
        "rebuild" => value == Some("true"),
        _ => false,
    };
    if valid { Ok(()) } else { Err(invalid()) }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Returns whether `c` is a bidirectional formatting character. In a name it
/// could reorder what the other participants read.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Returns whether `c` renders as nothing: white space, Unicode's
/// default-ignorable code points (zero-width spaces, joiners, fillers,
/// variation selectors, tags) or the blank Braille pattern.
///
/// NOTE: the ranges are written out here, while the web client uses the
/// regular expression property `Default_Ignorable_Code_Point`; a future
/// Unicode version may add code points that only the client rejects.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Trims a display name and checks its length and characters. Every
/// participant must be visible to the others by name, so a name needs at
/// least one character that renders, and may contain no control or
/// bidirectional formatting character.
pub fn parse_display_name(name: &str) -> Option<String> {
    let trimmed = name.trim();
    let count = trimmed.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&count)
        && !trimmed
            .chars()
            .any(|c| c.is_control() || is_bidi_control(c))
        && trimmed.chars().any(|c| !is_invisible(c));
    valid.then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> ErrorCode {
        parse_client_message(text).unwrap_err().code
    }

    #[test]
    fn parses_every_client_type() {
        assert!(matches!(
            parse_client_message(r#"{"type":"ping"}"#),
            Ok(ClientMessage::Ping)
        ));
        assert!(matches!(
            parse_client_message(r#"{"type":"leave"}"#),
            Ok(ClientMessage::Leave)
        ));
        assert!(matches!(
            parse_client_message(r#"{"type":"ice-servers"}"#),
            Ok(ClientMessage::IceServers)
        ));
        assert!(matches!(
            parse_client_message(r#"{"type":"check","v":1,"token":"t"}"#),
            Ok(ClientMessage::Check(_))
        ));
        let join = parse_client_message(
            r#"{"type":"join","v":1,"token":"t","name":"Anna","resume":{"peerId":"p","key":"k"}}"#,
        );
        let Ok(ClientMessage::Join(join)) = join else {
            panic!("{join:?}")
        };
        assert_eq!(join.resume.unwrap().peer_id, "p");
        assert!(matches!(
            parse_client_message(r#"{"type":"signal","to":"p","data":{"candidate":null}}"#),
            Ok(ClientMessage::Signal(_))
        ));
        assert!(matches!(
            parse_client_message(r#"{"type":"signal","to":"p","data":{"rebuild":true}}"#),
            Ok(ClientMessage::Signal(_))
        ));
    }

    #[test]
    fn malformed_messages_are_invalid() {
        for text in [
            "",
            "not json",
            "[]",
            "42",
            r#"{"v":1}"#,
            r#"{"type":7}"#,
            r#"{"type":"join","v":1}"#,
            r#"{"type":"check","v":"1","token":"t"}"#,
        ] {
            assert_eq!(code_of(text), ErrorCode::InvalidMessage, "{text}");
        }
    }

    #[test]
    fn unknown_type_is_reported() {
        assert_eq!(code_of(r#"{"type":"shout"}"#), ErrorCode::UnknownType);
    }

    #[test]
    fn oversized_message_is_rejected_before_parsing() {
        let text = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(code_of(&text), ErrorCode::MessageTooLarge);
    }

    #[test]
    fn signal_data_must_be_description_or_candidate() {
        for data in [
            r#""x""#,
            "{}",
            r#"{"sdp":"x"}"#,
            r#"{"description":{},"candidate":{}}"#,
            r#"{"description":"x"}"#,
            r#"{"rebuild":false}"#,
            r#"{"rebuild":"yes"}"#,
        ] {
            let text = format!(r#"{{"type":"signal","to":"p","data":{data}}}"#);
            assert_eq!(code_of(&text), ErrorCode::InvalidMessage, "{data}");
        }
    }

    fn signal_of(text: &str) -> Signal {
        match parse_client_message(text) {
            Ok(ClientMessage::Signal(signal)) => signal,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn error_of(text: &str) -> Rejected {
        parse_client_message(text).unwrap_err()
    }

    #[test]
    fn signal_data_is_kept_as_sent() {
        let data = r#"{ "candidate" : {"candidate":"a\/b \u0041","sdpMid":"0"} }"#;
        let signal = signal_of(&format!(r#"{{"type":"signal","to":"p","data":{data}}}"#));
        assert_eq!(signal.to, "p");
        assert_eq!(signal.data.get(), data.trim());

        let relayed = ServerMessage::Signal {
            from: "q".to_owned(),
            data: signal.data,
        };
        assert_eq!(
            relayed.to_json(),
            format!(r#"{{"type":"signal","from":"q","data":{}}}"#, data.trim())
        );
        assert_eq!(relayed.to_json(), serde_json::to_string(&relayed).unwrap());
    }

    #[test]
    fn signal_members_named_twice_count_once() {
        let last_wins = signal_of(
            r#"{"type":"signal","to":"x","to":"p","data":{"description":"x","description":{}}}"#,
        );
        assert_eq!(last_wins.to, "p");
        let text = r#"{"type":"signal","to":"p","data":{"description":{},"description":"x"}}"#;
        assert_eq!(code_of(text), ErrorCode::InvalidMessage);
    }

    #[test]
    fn rejections_name_the_problem() {
        for (text, expected) in [
            ("[1]", "message must be a JSON object"),
            (
                "{",
                "message is not valid JSON: EOF while parsing an object at line 1 column 1",
            ),
            (r#"{"to":"p"}"#, r#"field "type" is missing"#),
            (r#"{"type":1}"#, r#"field "type" must be a string"#),
            (
                r#"{"type":"signal","data":{"candidate":null}}"#,
                "invalid signal message: missing field `to`",
            ),
            (
                r#"{"type":"signal","to":5,"data":{"candidate":null}}"#,
                "invalid signal message: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"type":"signal","to":"p","data":{"candidate":null},"x":1}"#,
                "invalid signal message: unknown field `x`, expected `to` or `data`",
            ),
            (
                r#"{"type":"join","v":1,"token":"t"}"#,
                "invalid join message: missing field `name`",
            ),
        ] {
            assert_eq!(error_of(text).message, expected, "{text}");
        }
    }

    #[test]
    fn numbers_beyond_f64_range() {
        let huge = format!("1{}", "0".repeat(400));
        let rejected = error_of(&format!(
            r#"{{"type":"join","v":{huge},"token":"t","name":"A"}}"#
        ));
        assert_eq!(rejected.code, ErrorCode::InvalidMessage);
        assert!(
            rejected
                .message
                .starts_with(r#"message is not valid JSON: field "v": number out of range"#),
            "{}",
            rejected.message
        );

        // JSON itself sets no range, and signal data is relayed as text.
        let data = format!(r#"{{"candidate":{{"x":{huge}}}}}"#);
        let signal = signal_of(&format!(r#"{{"type":"signal","to":"p","data":{data}}}"#));
        assert_eq!(signal.data.get(), data);
        assert_eq!(signal.clone(), signal);
    }

    #[test]
    fn deep_nesting_is_invalid() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let text = format!(r#"{{"type":"signal","to":"p","data":{{"candidate":{{"x":{deep}}}}}}}"#);
        let rejected = error_of(&text);
        assert_eq!(rejected.code, ErrorCode::InvalidMessage);
        assert!(
            rejected.message.contains("recursion limit"),
            "{}",
            rejected.message
        );

        // Brackets inside strings do not nest.
        let text = format!(
            r#"{{"type":"signal","to":"p","data":{{"candidate":{{"x":"{}"}}}}}}"#,
            "[".repeat(200)
        );
        assert_eq!(signal_of(&text).to, "p");
    }

    #[test]
    fn display_name_rules() {
        assert_eq!(parse_display_name("  Anna  ").as_deref(), Some("Anna"));
        assert_eq!(
            parse_display_name(&"ä".repeat(64)).map(|n| n.chars().count()),
            Some(64)
        );
        assert!(parse_display_name("").is_none());
        assert!(parse_display_name("   ").is_none());
        assert!(parse_display_name(&"a".repeat(65)).is_none());
        assert!(parse_display_name("An\nna").is_none());
    }

    #[test]
    fn invisible_names_rejected() {
        for name in [
            "\u{200B}",
            "\u{200B}\u{2060}\u{FEFF}",
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{2800}\u{2800}",
            "\u{00A0}\u{00AD}",
            "\u{E0041}\u{E0042}",
            "\u{FE0F}",
        ] {
            assert!(parse_display_name(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn bidi_controls_rejected() {
        for name in ["Anna\u{202E}reteP", "\u{2067}Ben", "Carla\u{200F}"] {
            assert!(parse_display_name(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn names_with_joiners_and_accents_accepted() {
        for name in [
            "Zoë Müller",
            "Anna\u{00AD}Lena",
            "👩\u{200D}⚕\u{FE0F} Dr. Weber",
            "Łukasz Żółć",
            "محمد",
            "李雷",
        ] {
            assert_eq!(parse_display_name(name).as_deref(), Some(name), "{name:?}");
        }
    }

    #[test]
    fn server_messages_use_kebab_types_and_camel_fields() {
        let text = ServerMessage::PeerJoined {
            peer_id: "p".into(),
            name: "Anna".into(),
        }
        .to_json();
        assert_eq!(text, r#"{"type":"peer-joined","peerId":"p","name":"Anna"}"#);
        let text = ServerMessage::IceServers {
            ice_servers: Vec::new(),
        }
        .to_json();
        assert_eq!(text, r#"{"type":"ice-servers","iceServers":[]}"#);
        let text = ServerMessage::error(ErrorCode::RoomFull, "full").to_json();
        assert_eq!(
            text,
            r#"{"type":"error","code":"room-full","message":"full"}"#
        );
    }
}
