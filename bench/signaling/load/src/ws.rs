//! The client side of RFC 6455 that the load generator needs: the opening
//! handshake and unfragmented frames. Writing frames by hand lets one thread
//! drive a server with hundreds of thousands of messages per second, because
//! it builds each frame once, in the socket's output buffer.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The GUID that RFC 6455 appends to the key for `Sec-WebSocket-Accept`.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest handshake response read.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;

pub const OPCODE_TEXT: u8 = 0x1;
pub const OPCODE_BINARY: u8 = 0x2;
pub const OPCODE_CLOSE: u8 = 0x8;
pub const OPCODE_PING: u8 = 0x9;
pub const OPCODE_PONG: u8 = 0xA;

/// Opens a TCP connection to `address` and upgrades it to a WebSocket at
/// `path`. Returns the stream and the bytes the server sent after its
/// handshake response, which belong to the first frames.
pub async fn connect(
    address: &str,
    path: &str,
    origin: &str,
) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address} failed"))?;
    stream.set_nodelay(true)?;

    let mut key_bytes = [0u8; 16];
    getrandom::fill(&mut key_bytes)
        .map_err(|error| anyhow::anyhow!("reading random bytes failed: {error}"))?;
    let key = BASE64.encode(key_bytes);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;

    let mut response = Vec::with_capacity(1024);
    let end = loop {
        if let Some(end) = response.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        if response.len() > MAX_RESPONSE_BYTES {
            bail!(
                "the handshake response of {address}{path} has no end within {MAX_RESPONSE_BYTES} bytes"
            );
        }
        let mut chunk = [0u8; 2048];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("{address} closed the connection during the WebSocket handshake");
        }
        response.extend_from_slice(&chunk[..read]);
    };
    let head =
        std::str::from_utf8(&response[..end]).context("the handshake response is not UTF-8")?;
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        bail!("WebSocket handshake at {path} failed: {status}");
    }
    let expected = BASE64.encode(Sha1::digest(format!("{key}{ACCEPT_GUID}")));
    let accepted = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == expected
        })
    });
    if !accepted {
        bail!("the handshake response lacks Sec-WebSocket-Accept: {expected}");
    }
    Ok((stream, response[end..].to_vec()))
}

/// Appends one final, masked frame to `out`. The masking key is all zero, so
/// the payload goes out as it is, while the server still unmasks it: the
/// client's cost per byte is one copy.
pub fn write_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    const MASK_BIT: u8 = 0x80;
    out.push(0x80 | opcode);
    let length = payload.len();
    if length < 126 {
        out.push(MASK_BIT | length as u8);
    } else if let Ok(length) = u16::try_from(length) {
        out.push(MASK_BIT | 126);
        out.extend_from_slice(&length.to_be_bytes());
    } else {
        out.push(MASK_BIT | 127);
        out.extend_from_slice(&(length as u64).to_be_bytes());
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
}

/// Appends a close frame with `code` and no reason.
pub fn write_close(out: &mut Vec<u8>, code: u16) {
    write_frame(out, OPCODE_CLOSE, &code.to_be_bytes());
}

/// One frame found at the start of a buffer.
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    /// Offset of the payload in the buffer.
    pub payload_start: usize,
    /// Offset just past the payload.
    pub end: usize,
}

/// Reads the frame header at the start of `data`. Returns `Ok(None)` until the
/// whole header is there, and the error of a masked frame, which a server
/// must not send. The payload may still be incomplete: see `Frame::end`.
pub fn parse_frame(data: &[u8]) -> anyhow::Result<Option<Frame>> {
    let [first, second, ..] = *data else {
        return Ok(None);
    };
    if second & 0x80 != 0 {
        bail!("the server sent a masked frame");
    }
    let (length, header) = match second & 0x7F {
        126 => {
            let Some(bytes) = data.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
        }
        127 => {
            let Some(bytes) = data.get(2..10) else {
                return Ok(None);
            };
            (u64::from_be_bytes(bytes.try_into().expect("8 bytes")), 10)
        }
        length => (u64::from(length), 2),
    };
    let length = usize::try_from(length).context("frame length")?;
    Ok(Some(Frame {
        fin: first & 0x80 != 0,
        opcode: first & 0x0F,
        payload_start: header,
        end: header + length,
    }))
}
