//! Messages of signaling protocol version 1, as documented in
//! `docs/signaling.md`: one flat JSON object per message, keyed by `type`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
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
    /// The place of an earlier page of the same browser that closed without
    /// `leave`, such as one that crashed. The new page joins with a new peer
    /// id, and the old place, if still away, is removed at once.
    #[serde(default)]
    pub replaces: Option<Resume>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resume {
    pub peer_id: String,
    pub key: String,
}

/// A `signal` message. `data` is kept as the client wrote it and relayed
/// byte for byte, so the server never builds or prints the SDP's JSON tree.
/// Both borrow from the message text unless they had to be rewritten.
#[derive(Debug, Clone)]
pub struct Signal<'a> {
    pub to: Cow<'a, str>,
    pub data: SignalData<'a>,
}

/// The JSON text of a signal's `data`: an object that passed
/// [`check_signal_data`], without surrounding white space. Only the parser
/// creates it, so it is always valid JSON.
#[derive(Debug, Clone)]
pub struct SignalData<'a>(Cow<'a, str>);

impl SignalData<'_> {
    /// Returns the JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

/// Two signals are equal when their targets and their data as JSON values
/// are, whatever the white space or escapes of the data's text. Data that
/// `Value` cannot hold, such as a number beyond the range of `f64`, is
/// compared as text.
impl PartialEq for Signal<'_> {
    fn eq(&self, other: &Self) -> bool {
        let value = |data: &SignalData| serde_json::from_str::<Value>(data.get()).ok();
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

/// A parsed client message. A `signal` borrows from the text it was read
/// from.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage<'a> {
    Check(Check),
    Join(Join),
    Signal(Signal<'a>),
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
            return signal_json(from, data.get());
        }
        serde_json::to_string(self).expect("server messages contain only serializable values")
    }
}

/// Writes a relayed `signal` message, `{"type":"signal","from":…,"data":…}`,
/// as the derived `Serialize` of [`ServerMessage::Signal`] does, but into a
/// string of its final size and with `data`, which must be JSON text, copied
/// as it is. The relay sends this string without building a
/// [`ServerMessage`].
pub fn signal_json(from: &str, data: &str) -> String {
    const PREFIX: &str = r#"{"type":"signal","from":""#;
    const MIDDLE: &str = r#"","data":"#;
    // Peer ids are random ids, which JSON never escapes, so the general
    // path through serde_json is only for other text.
    let plain = from
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    let escaped;
    let from = if plain {
        from
    } else {
        escaped = serde_json::to_string(from).expect("a string serializes");
        &escaped[1..escaped.len() - 1]
    };
    // The exact size, so that the text turns into `Bytes` for the socket
    // without another allocation.
    let mut text = String::with_capacity(PREFIX.len() + from.len() + MIDDLE.len() + data.len() + 1);
    text.push_str(PREFIX);
    text.push_str(from);
    text.push_str(MIDDLE);
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
pub fn parse_client_message(text: &str) -> Result<ClientMessage<'_>, Rejected> {
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
    match parse_valid_signal(text) {
        Some(signal) => Ok(ClientMessage::Signal(signal)),
        None => parse_members(text),
    }
}

/// Parses a message of any type, with a size and nesting already checked,
/// by reading its members.
fn parse_members(text: &str) -> Result<ClientMessage<'_>, Rejected> {
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
fn parse_signal<'a>(members: &Members<'a>) -> Result<Signal<'a>, Rejected> {
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
                    to: Cow::Owned(to),
                    data: SignalData(Cow::Borrowed(data.get())),
                })
        }
        _ => None,
    };
    let signal = match signal {
        Some(signal) => signal,
        None => {
            let fields: SignalFields = parse_body("signal", members.body()?)?;
            Signal {
                to: Cow::Owned(fields.to),
                data: SignalData(Cow::Owned(fields.data.to_string())),
            }
        }
    };
    check_signal_data(signal.data.get())?;
    Ok(signal)
}

/// Requires `data` to be an object with exactly one of `description` or
/// `candidate`, so the relay passes on nothing but WebRTC negotiation.
/// Members repeated under one name count once, with the last value, as a
/// browser's `JSON.parse` reads them.
fn check_signal_data(data: &str) -> Result<(), Rejected> {
    let invalid = || {
        Rejected::new(
            ErrorCode::InvalidMessage,
            "signal data must be an object with exactly one of \"description\", \"candidate\" or \"rebuild\": true",
        )
    };
    let members: Members = serde_json::from_str(data).map_err(|_| invalid())?;
    let Some((name, _)) = members.0.first() else {
        return Err(invalid());
    };
    if members.0.iter().any(|(other, _)| other != name) {
        return Err(invalid());
    }
    let value = members.get(name).map(RawValue::get);
    if value.is_some_and(|value| is_valid_signal_member(name, value)) {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// Returns whether the member `name` with the JSON text `value`, without
/// surrounding white space, may be a signal's `data`.
fn is_valid_signal_member(name: &str, value: &str) -> bool {
    // The value is valid JSON, so its first character gives its type.
    let is_object = value.starts_with('{');
    match name {
        "description" => is_object,
        "candidate" => is_object || value == "null",
        "rebuild" => value == "true",
        _ => false,
    }
}

/// Reads a `signal` message in one pass over its text, the SDP included, and
/// returns it if it is valid. Anything else, an invalid message or one of
/// another type, returns `None` and takes the general path, which words the
/// error. So this path decides nothing the general one would decide
/// otherwise: it accepts only what [`parse_signal`] accepts, with the same
/// `to` and the same `data` text.
fn parse_valid_signal(text: &str) -> Option<Signal<'_>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let signal =
        serde::Deserializer::deserialize_map(&mut deserializer, SignalVisitor { text }).ok()??;
    deserializer.end().ok()?;
    Some(signal)
}

/// Visits the members of a message for [`parse_valid_signal`]. It gives up,
/// with `None` or an error, at the first sign of a message that is not a
/// valid `signal`.
struct SignalVisitor<'a> {
    /// The whole message, into which `data`'s members point.
    text: &'a str,
}

impl<'de> Visitor<'de> for SignalVisitor<'de> {
    type Value = Option<Signal<'de>>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a signal message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Of a member named more than once the last counts, as in `Members`.
        let mut to = None;
        let mut data = None;
        let mut is_signal = false;
        while let Some(Name(name)) = map.next_key()? {
            match name.as_ref() {
                "type" => {
                    let Name(kind) = map.next_value()?;
                    is_signal = kind == "signal";
                    if !is_signal {
                        return Ok(None);
                    }
                }
                "to" => to = Some(map.next_value::<Name>()?.0),
                "data" => data = map.next_value_seed(DataSeed { text: self.text })?,
                _ => return Ok(None),
            }
        }
        Ok(match (is_signal, to, data) {
            (true, Some(to), Some(data)) => Some(Signal {
                to,
                data: SignalData(Cow::Borrowed(data)),
            }),
            _ => None,
        })
    }
}

/// Reads a signal's `data` for [`SignalVisitor`]: checks it as
/// [`check_signal_data`] does and returns its text, or `None` if it is
/// invalid or its text cannot be located. The text spans from the object's
/// `{` to its `}`, which the positions of its first member name and its last
/// value give.
struct DataSeed<'a> {
    text: &'a str,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'de> {
    type Value = Option<&'de str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'de> {
    type Value = Option<&'de str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("signal data")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut first_name: Option<Cow<'de, str>> = None;
        let mut last_value: Option<&'de RawValue> = None;
        let mut one_name = true;
        while let Some(Name(name)) = map.next_key()? {
            last_value = Some(map.next_value()?);
            match &first_name {
                None => first_name = Some(name),
                Some(first) => one_name &= *first == name,
            }
        }
        // A name with escapes is no slice of the text, so its position is
        // unknown.
        let (Some(Cow::Borrowed(first_name)), Some(last_value)) = (first_name, last_value) else {
            return Ok(None);
        };
        if !one_name || !is_valid_signal_member(first_name, last_value.get()) {
            return Ok(None);
        }
        Ok(object_text(self.text, first_name, last_value.get()))
    }
}

/// Returns the text of the JSON object in `text` whose first member name is
/// the slice `first_name` and whose last value is the slice `last_value`.
/// Returns `None` if they are not slices of `text`, or if anything but white
/// space lies between them and the object's brackets.
fn object_text<'a>(text: &'a str, first_name: &str, last_value: &str) -> Option<&'a str> {
    let offset_of = |slice: &str| {
        (slice.as_ptr() as usize)
            .checked_sub(text.as_ptr() as usize)
            .filter(|offset| offset + slice.len() <= text.len())
    };
    // The name's opening quote comes right before it.
    let quote = offset_of(first_name)?.checked_sub(1)?;
    let value_end = offset_of(last_value)? + last_value.len();
    let is_white_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let before = text.get(..quote)?.trim_end_matches(is_white_space);
    let after = text.get(value_end..)?.trim_start_matches(is_white_space);
    let valid =
        text.get(quote..=quote) == Some("\"") && before.ends_with('{') && after.starts_with('}');
    let open = before.len() - 1;
    let close = text.len() - after.len();
    valid.then(|| &text[open..=close])
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Returns whether `c` is a bidirectional formatting character. In a name it
/// could reorder what the other participants read.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Returns whether `c` renders as nothing on its own: white space, Unicode's
/// default-ignorable code points (zero-width spaces, joiners, fillers,
/// variation selectors, tags), the blank Braille pattern, or a combining mark
/// of the main combining blocks, which only changes the character before it.
///
/// NOTE: the ranges are written out here, while the web client uses the
/// regular expression properties `Default_Ignorable_Code_Point`, `Mn` and
/// `Me`, which also cover combining marks outside these blocks; a future
/// Unicode version may add code points that only the client rejects.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0300}'..='\u{036F}'
                | '\u{0483}'..='\u{0489}'
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
                | '\u{1AB0}'..='\u{1AFF}'
                | '\u{1DC0}'..='\u{1DFF}'
                | '\u{20D0}'..='\u{20FF}'
                | '\u{FE20}'..='\u{FE2F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Returns whether `c` is blank at either end of a name: white space, or a
/// zero-width or filler character that means nothing there. Combining marks,
/// variation selectors and tags stay, because at the end of a name they
/// belong to the character before them, as in "❤\u{FE0F}".
fn is_blank_at_name_end(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// Removes white space, zero-width characters and fillers from both ends of
/// a name, so that "Anna" followed by a zero-width space is stored and shown
/// as "Anna", the same as the name typed without it.
pub fn trim_name(name: &str) -> &str {
    name.trim_matches(is_blank_at_name_end)
}

/// Trims a display name with [`trim_name`] and checks its length and
/// characters. Every participant must be visible to the others by name, so
/// a name needs at least one character that renders, and may contain no
/// control or bidirectional formatting character.
pub fn parse_display_name(name: &str) -> Option<String> {
    let trimmed = trim_name(name);
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
        assert_eq!(join.replaces, None);
        let join = parse_client_message(
            r#"{"type":"join","v":1,"token":"t","name":"Anna","replaces":{"peerId":"q","key":"k"}}"#,
        );
        let Ok(ClientMessage::Join(join)) = join else {
            panic!("{join:?}")
        };
        assert_eq!(join.replaces.unwrap().peer_id, "q");
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

    fn signal_of(text: &str) -> Signal<'static> {
        match parse_client_message(text) {
            Ok(ClientMessage::Signal(signal)) => Signal {
                to: Cow::Owned(signal.to.into_owned()),
                data: SignalData(Cow::Owned(signal.data.0.into_owned())),
            },
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

        let relayed = signal_json("q", signal.data.get());
        assert_eq!(
            relayed,
            format!(r#"{{"type":"signal","from":"q","data":{}}}"#, data.trim())
        );
        let message = ServerMessage::Signal {
            from: "q".to_owned(),
            data: RawValue::from_string(signal.data.get().to_owned()).unwrap(),
        };
        assert_eq!(relayed, message.to_json());
        assert_eq!(relayed, serde_json::to_string(&message).unwrap());
        assert_eq!(relayed.len(), relayed.capacity());
    }

    #[test]
    fn signal_json_escapes_sender() {
        for from in ["p\"q", "a\\b", "tab\there", "ä"] {
            let message = ServerMessage::Signal {
                from: from.to_owned(),
                data: RawValue::from_string("{}".to_owned()).unwrap(),
            };
            let expected = serde_json::to_string(&message).unwrap();
            assert_eq!(signal_json(from, "{}"), expected, "{from:?}");
        }
    }

    /// Returns what the one-pass path and the general path make of a text.
    fn both_paths(text: &str) -> (Option<Signal<'_>>, Option<Signal<'_>>) {
        let general = match parse_members(text) {
            Ok(ClientMessage::Signal(signal)) => Some(signal),
            _ => None,
        };
        (parse_valid_signal(text), general)
    }

    #[test]
    fn one_pass_signal_matches_general_path() {
        let huge = format!("1{}", "0".repeat(400));
        let accepted = [
            r#"{"type":"signal","to":"p","data":{"description":{"type":"offer","sdp":"v=0"}}}"#.to_owned(),
            r#"{"to":"p","type":"signal","data":{"candidate":null}}"#.to_owned(),
            r#"{"data":{"rebuild":true},"to":"p","type":"signal"}"#.to_owned(),
            " \t{ \"type\" : \"signal\" ,\n\"to\":\"p\", \"data\" :\r{ \"candidate\" : { } \t} } \n".to_owned(),
            r#"{"type":"signal","to":"x","to":"p","data":{"description":"x","description":{}}}"#.to_owned(),
            r#"{"type":"signal","to":"p","data":{"sdp":{}},"data":{"candidate":{}}}"#.to_owned(),
            r#"{"type":"signal","to":"p\u0041","data":{"candidate":{"a":"}{\""}}}"#.to_owned(),
            r#"{"type":"sign\u0061l","to":"p","data":{"candidate":{}}}"#.to_owned(),
            format!(r#"{{"type":"signal","to":"p","data":{{"candidate":{{"x":{huge}}}}}}}"#),
        ];
        for text in &accepted {
            let (one_pass, general) = both_paths(text);
            let one_pass = one_pass.unwrap_or_else(|| panic!("one pass rejected {text}"));
            let general = general.unwrap_or_else(|| panic!("general path rejected {text}"));
            assert_eq!(one_pass.to, general.to, "{text}");
            assert_eq!(one_pass.data.get(), general.data.get(), "{text}");
        }

        // Valid signals that the one-pass path leaves to the general path,
        // because a name with escapes gives no position in the text.
        let text = r#"{"type":"signal","to":"p","data":{"c\u0061ndidate":null}}"#;
        assert!(both_paths(text).0.is_none());
        assert!(both_paths(text).1.is_some());

        for text in [
            r#"{"type":"signal","to":"p","data":{"candidate":null},"x":1}"#,
            r#"{"type":"signal","data":{"candidate":null}}"#,
            r#"{"type":"signal","to":5,"data":{"candidate":null}}"#,
            r#"{"type":"signal","to":"p"}"#,
            r#"{"type":"signal","to":"p","data":{}}"#,
            r#"{"type":"signal","to":"p","data":[]}"#,
            r#"{"type":"signal","to":"p","data":{"candidate":{}},"data":{"sdp":{}}}"#,
            r#"{"type":"signal","to":"p","data":{"candidate":{},"description":{}}}"#,
            r#"{"type":"signal","to":"p","data":{"description":{},"description":"x"}}"#,
            r#"{"type":"signal","to":"p","data":{"rebuild":false}}"#,
            r#"{"type":"signal","type":"ping","to":"p","data":{"candidate":null}}"#,
            r#"{"type":"signal","to":"p","data":{"candidate":null}} x"#,
            r#"{"type":"signal","to":"p","data":{"candidate":null}"#,
            r#"{"type":"ping"}"#,
        ] {
            let (one_pass, general) = both_paths(text);
            assert!(one_pass.is_none(), "one pass accepted {text}");
            assert!(general.is_none(), "general path accepted {text}");
        }
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
            "\u{0301}",
            " \u{0308}\u{20DD} ",
        ] {
            assert!(parse_display_name(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn name_ends_trimmed() {
        for (name, trimmed) in [
            ("\u{200B}Anna\u{200B}", "Anna"),
            ("\u{FEFF} Anna \u{2060}\u{00AD}", "Anna"),
            ("\u{3164}Ben\u{2800}\u{200D}", "Ben"),
            ("Anna\u{200B}Lena", "Anna\u{200B}Lena"),
            ("Carla ❤\u{FE0F}", "Carla ❤\u{FE0F}"),
            ("Zoe\u{0308}", "Zoe\u{0308}"),
        ] {
            assert_eq!(
                parse_display_name(name).as_deref(),
                Some(trimmed),
                "{name:?}"
            );
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
            "Zoe\u{0308} Mu\u{0308}ller",
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
