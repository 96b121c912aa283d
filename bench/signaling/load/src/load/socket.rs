//! The sockets of the participants: connecting and joining, then one task
//! that reads and one that writes per socket.

use std::rc::Rc;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;

use super::{Generator, Mode, READ_BUFFER_BYTES};
use crate::protocol::Protocol;
use crate::ws;

/// Returns a PeerJS-style random token of 7 random bytes in base 36.
pub(super) fn random_base36() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes[1..]).expect("random bytes");
    let mut value = u64::from_be_bytes(bytes);
    let mut digits = Vec::new();
    loop {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// Returns a random UUID of version 4, as PeerJS clients pick their ids.
fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Connects one participant and waits until the server has taken it in:
/// `joined` from video-local, `OPEN` from PeerJS server. Then starts the
/// socket's reader and writer tasks.
pub(super) async fn connect(
    generator: &Rc<Generator>,
    index: usize,
    address: &str,
    origin: &str,
    key: Option<&str>,
    token: Option<&str>,
) -> anyhow::Result<()> {
    let protocol = generator.with(|state| state.protocol)?;
    let name = generator.with(|state| state.participants[index].name.clone())?;
    let path = match protocol {
        Protocol::VideoLocal => "/ws".to_owned(),
        Protocol::PeerJs => {
            let id = random_uuid();
            let key = key.context("PeerJS needs a key")?;
            let path = format!("/peerjs?key={key}&id={id}&token={}", random_base36());
            generator.with(|state| state.participants[index].id = id)?;
            path
        }
    };
    let (mut stream, mut buffer) = ws::connect(address, &path, origin).await?;
    if protocol == Protocol::VideoLocal {
        let join = json!({ "type": "join", "v": 1, "token": token, "name": name }).to_string();
        let mut frame = Vec::new();
        ws::write_frame(&mut frame, ws::OPCODE_TEXT, join.as_bytes());
        stream.write_all(&frame).await?;
    }

    let mut filled = buffer.len();
    buffer.resize(READ_BUFFER_BYTES.max(filled), 0);
    let mut start = 0;
    loop {
        while let Some(frame) = ws::parse_frame(&buffer[start..filled])? {
            if frame.end > filled - start {
                break;
            }
            let payload = &buffer[start + frame.payload_start..start + frame.end];
            start += frame.end;
            if frame.opcode != ws::OPCODE_TEXT {
                bail!(
                    "{name}: frame with opcode {} before the server took it in",
                    frame.opcode
                );
            }
            let message: Value = serde_json::from_slice(payload)
                .with_context(|| format!("{name}: a server message is not JSON"))?;
            let kind = message
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ready = match (protocol, kind) {
                (Protocol::VideoLocal, "joined") => {
                    let id = message["peerId"]
                        .as_str()
                        .context("joined without peerId")?;
                    let peers = message["peers"]
                        .as_array()
                        .context("joined without peers")?
                        .len();
                    generator.with(|state| {
                        state.participants[index].id = id.to_owned();
                        state.participants[index].peers_known = peers;
                    })?;
                    true
                }
                (Protocol::PeerJs, "OPEN") => {
                    // Clients choose their ids, so each one has its peers' ids already.
                    generator.with(|state| state.participants[index].peers_known = usize::MAX)?;
                    true
                }
                (_, "error" | "ERROR" | "ID-TAKEN") => {
                    bail!("{name}: the server rejected the participant: {message}")
                }
                _ => false,
            };
            if ready {
                buffer.copy_within(start..filled, 0);
                filled -= start;
                let (reader, writer) = stream.into_split();
                let notify = generator.with(|state| state.participants[index].writer.clone())?;
                tokio::task::spawn_local(read_socket(
                    generator.clone(),
                    index,
                    reader,
                    buffer,
                    filled,
                ));
                tokio::task::spawn_local(write_socket(generator.clone(), index, writer, notify));
                return Ok(());
            }
        }
        buffer.copy_within(start..filled, 0);
        filled -= start;
        start = 0;
        let read = stream.read(&mut buffer[filled..]).await?;
        if read == 0 {
            bail!("{name}: the server closed the socket before taking it in");
        }
        filled += read;
    }
}

/// Reads a ready participant's socket until it closes, and hands every
/// frame to the state.
async fn read_socket(
    generator: Rc<Generator>,
    index: usize,
    mut reader: OwnedReadHalf,
    mut buffer: Vec<u8>,
    mut filled: usize,
) {
    let mut start = 0;
    let failure = loop {
        let received_at = Instant::now();
        let parsed = generator.with(|state| -> Result<bool, String> {
            while let Some(frame) =
                ws::parse_frame(&buffer[start..filled]).map_err(|error| error.to_string())?
            {
                if frame.end > filled - start {
                    break;
                }
                let payload = &buffer[start + frame.payload_start..start + frame.end];
                start += frame.end;
                if !frame.fin {
                    return Err("fragmented message".to_owned());
                }
                match frame.opcode {
                    ws::OPCODE_TEXT => state.receive_text(index, payload, received_at),
                    ws::OPCODE_BINARY => {
                        let name = state.participants[index].name.clone();
                        state.record_error("binary message", name);
                    }
                    ws::OPCODE_PING => {
                        let participant = &mut state.participants[index];
                        if participant.out.is_empty() {
                            participant.writer.notify_one();
                        }
                        ws::write_frame(&mut participant.out, ws::OPCODE_PONG, payload);
                    }
                    ws::OPCODE_CLOSE => {
                        let code = payload
                            .get(..2)
                            .map(|code| u16::from_be_bytes([code[0], code[1]]));
                        state.participants[index].close_code = Some(code.unwrap_or(1005));
                        state.queue_close(index, code.unwrap_or(1000));
                        return Ok(true);
                    }
                    _ => {}
                }
            }
            Ok(false)
        });
        match parsed {
            Ok(Ok(true)) => break None,
            Ok(Ok(false)) => {}
            Ok(Err(error)) => break Some(error),
            Err(error) => break Some(error.to_string()),
        }
        if start == filled {
            start = 0;
            filled = 0;
        } else if let Some(frame) = ws::parse_frame(&buffer[start..filled]).ok().flatten() {
            // Move the partial frame to the front, and make room for all of it.
            buffer.copy_within(start..filled, 0);
            filled -= start;
            start = 0;
            if frame.end > buffer.len() {
                buffer.resize(frame.end, 0);
            }
        } else {
            buffer.copy_within(start..filled, 0);
            filled -= start;
            start = 0;
        }
        match reader.read(&mut buffer[filled..]).await {
            Ok(0) => {
                break Some("the server closed the connection without a close frame".to_owned());
            }
            Ok(read) => filled += read,
            Err(error) => break Some(format!("reading failed: {error}")),
        }
    };
    let _ = generator.with(|state| {
        let participant = &mut state.participants[index];
        participant.closed = true;
        let name = participant.name.clone();
        let code = participant.close_code;
        if !matches!(state.mode, Mode::Closing | Mode::Closed) {
            let detail = format!(
                "{name}: close code {code:?}, {}",
                failure.as_deref().unwrap_or("close frame")
            );
            state.record_error("socket closed during the run", detail);
        } else if let Some(failure) = failure {
            state.record_error("socket failed while closing", format!("{name}: {failure}"));
        }
        // The writer ends once it has sent what is queued.
        state.participants[index].writer.notify_one();
    });
}

/// Sends a participant's output buffer whenever it has data, until the
/// socket is closed and everything queued is sent.
async fn write_socket(
    generator: Rc<Generator>,
    index: usize,
    mut writer: OwnedWriteHalf,
    notify: Rc<Notify>,
) {
    let mut spare = Vec::with_capacity(64 * 1024);
    loop {
        notify.notified().await;
        let Ok((closed, name)) = generator.with(|state| {
            let participant = &mut state.participants[index];
            std::mem::swap(&mut participant.out, &mut spare);
            (participant.closed, participant.name.clone())
        }) else {
            return;
        };
        if !spare.is_empty() {
            if let Err(error) = writer.write_all(&spare).await {
                let _ = generator.with(|state| {
                    if !matches!(state.mode, Mode::Closing | Mode::Closed) {
                        state.record_error("WebSocket write failed", format!("{name}: {error}"));
                    }
                });
                return;
            }
            spare.clear();
        }
        if closed {
            return;
        }
    }
}
