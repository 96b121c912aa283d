//! Messages of signaling protocol version 1, as documented in
//! `docs/signaling.md`: one flat JSON object per message, keyed by `type`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signal {
    pub to: String,
    pub data: Value,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
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
        data: Value,
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
        serde_json::to_string(self).expect("server messages contain only serializable values")
    }
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
    let value: Value = serde_json::from_str(text).map_err(|error| {
        Rejected::new(
            ErrorCode::InvalidMessage,
            format!("message is not valid JSON: {error}"),
        )
    })?;
    let Value::Object(mut object) = value else {
        return Err(Rejected::new(
            ErrorCode::InvalidMessage,
            "message must be a JSON object",
        ));
    };
    let kind = match object.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => {
            return Err(Rejected::new(
                ErrorCode::InvalidMessage,
                "field \"type\" must be a string",
            ));
        }
        None => {
            return Err(Rejected::new(
                ErrorCode::InvalidMessage,
                "field \"type\" is missing",
            ));
        }
    };
    let rest = Value::Object(object);
    match kind.as_str() {
        "check" => parse_body("check", rest).map(ClientMessage::Check),
        "join" => parse_body("join", rest).map(ClientMessage::Join),
        "signal" => {
            let signal: Signal = parse_body("signal", rest)?;
            check_signal_data(&signal.data)?;
            Ok(ClientMessage::Signal(signal))
        }
        "ice-servers" => Ok(ClientMessage::IceServers),
        "ping" => Ok(ClientMessage::Ping),
        "leave" => Ok(ClientMessage::Leave),
        _ => Err(Rejected::new(
            ErrorCode::UnknownType,
            format!("unknown message type {:?}", truncate(&kind, 40)),
        )),
    }
}

/// Requires `data` to be an object with exactly one of `description` or
/// `candidate`, so the relay passes on nothing but WebRTC negotiation.
fn check_signal_data(data: &Value) -> Result<(), Rejected> {
    let invalid = || {
        Rejected::new(
            ErrorCode::InvalidMessage,
            "signal data must be an object with exactly one of \"description\", \"candidate\" or \"rebuild\": true",
        )
    };
    let object = data.as_object().ok_or_else(invalid)?;
    if object.len() != 1 {
        return Err(invalid());
    }
    match (
        object.get("description"),
        object.get("candidate"),
        object.get("rebuild"),
    ) {
        (Some(Value::Object(_)), None, None)
        | (None, Some(Value::Object(_) | Value::Null), None)
        | (None, None, Some(Value::Bool(true))) => Ok(()),
        _ => Err(invalid()),
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Returns whether `c` is a bidirectional formatting character. In a name it
/// could reorder what the other participants read.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Returns whether `c` renders as nothing: white space, Unicode's
/// default-ignorable code points (zero-width spaces, joiners, fillers,
/// variation selectors, tags) or the blank Braille pattern.
///
/// NOTE: the ranges are written out here, while the web client uses the
/// regular expression property `Default_Ignorable_Code_Point`; a future
/// Unicode version may add code points that only the client rejects.
fn is_invisible(c: char) -> bool {
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
