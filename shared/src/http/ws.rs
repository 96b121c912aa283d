//! The local server's WebSocket transport for signaling: each socket gets a
//! connection id and an outbound queue, and [`LocalPush`] delivers the
//! signaling core's messages into those queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{Instrument, debug, info_span, warn};

use super::AppState;
use super::auth::{ClientKey, FailedAuthThrottle, too_many_attempts};
use crate::random::random_id;
use crate::signaling::protocol::{ErrorCode, MAX_MESSAGE_BYTES, ServerMessage};
use crate::signaling::{Push, PushError, Signaling};

/// Messages waiting for one socket. A peer that cannot keep up with this many
/// is treated as broken rather than buffered without bound.
const OUTBOUND_QUEUE: usize = 256;

/// WebSocket close code "going away", which API Gateway also sends when it
/// closes a connection at its maximum age or for being idle.
const GOING_AWAY: u16 = 1001;

/// Close code of the `invalid-link` error, which counts as a failed
/// authentication for the throttle.
const INVALID_LINK_CLOSE_CODE: u16 = 4001;
/// Hard cap on a received frame; smaller oversized messages get a
/// `message-too-large` error from the core instead of a closed socket.
const MAX_RECEIVED_BYTES: usize = 1024 * 1024;

/// Bytes read from a socket at once: one message of the protocol's maximum
/// size and its frame header of at most 14 bytes. tungstenite zero-fills
/// the free part of its read buffer before every read. With its default of
/// 128 KiB, that memset took 12 % of the server's CPU time at 8,000 signals
/// per second in `bench/signaling`.
const READ_BUFFER_BYTES: usize = MAX_MESSAGE_BYTES + 14;

/// A socket that receives nothing for this long is closed, as API Gateway
/// closes idle connections after 10 minutes. Clients ping far more often, so
/// only a socket whose client vanished without closing it gets here.
const IDLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Debug)]
enum Outbound {
    Text(String),
    Close(u16),
}

/// Routes pushes to the sockets of this process.
#[derive(Debug, Default)]
pub struct LocalPush {
    sockets: Mutex<HashMap<String, mpsc::Sender<Outbound>>>,
}

impl LocalPush {
    fn sockets(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Outbound>>> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn register(&self, connection_id: &str) -> mpsc::Receiver<Outbound> {
        let (sender, receiver) = mpsc::channel(OUTBOUND_QUEUE);
        self.sockets().insert(connection_id.to_owned(), sender);
        receiver
    }

    fn unregister(&self, connection_id: &str) {
        self.sockets().remove(connection_id);
    }

    /// Closes every socket, e.g. with 1001 (going away) at shutdown.
    pub fn close_all(&self, code: u16) {
        for sender in self.sockets().values() {
            let _ = sender.try_send(Outbound::Close(code));
        }
    }

    fn enqueue(&self, connection_id: &str, item: Outbound) -> Result<(), PushError> {
        // `try_send` never waits, so it runs under the lock.
        let sockets = self.sockets();
        let sender = sockets.get(connection_id).ok_or(PushError::Gone)?;
        sender.try_send(item).map_err(|error| match error {
            mpsc::error::TrySendError::Closed(_) => PushError::Gone,
            mpsc::error::TrySendError::Full(_) => PushError::Failed("outbound queue full".into()),
        })
    }
}

#[async_trait]
impl Push for LocalPush {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), PushError> {
        self.enqueue(connection_id, Outbound::Text(text.to_owned()))
    }

    async fn send_owned(&self, connection_id: &str, text: String) -> Result<(), PushError> {
        self.enqueue(connection_id, Outbound::Text(text))
    }

    async fn close(&self, connection_id: &str, code: u16) -> Result<(), PushError> {
        self.enqueue(connection_id, Outbound::Close(code))
    }
}

/// The signaling core together with the sockets it pushes to.
pub struct LocalSignaling {
    pub signaling: Arc<Signaling>,
    pub push: Arc<LocalPush>,
    /// Counts links refused as invalid per client address; a client with
    /// too many gets 429 instead of a socket for a while.
    pub link_throttle: FailedAuthThrottle,
    /// Age at which a socket is closed with 1001 "going away".
    pub max_connection_age: std::time::Duration,
}

/// Rejects cross-site WebSocket requests: a browser always sends `Origin`,
/// and it must name the host the request went to. Clients without `Origin`
/// (not browsers) are allowed; they still need a link token to join.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    origin_host.eq_ignore_ascii_case(host)
}

pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(local) = state.local_signaling.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let client = ClientKey::of(connect_info.map(|Extension(ConnectInfo(address))| address.ip()));
    if let Some(remaining) = local.link_throttle.blocked_for(client) {
        return too_many_attempts(remaining);
    }
    if !same_origin(&headers) {
        warn!("WebSocket upgrade rejected: Origin does not match Host");
        return (
            StatusCode::FORBIDDEN,
            "cross-origin WebSocket requests are not allowed",
        )
            .into_response();
    }
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_RECEIVED_BYTES)
        .max_frame_size(MAX_RECEIVED_BYTES)
        .on_upgrade(move |socket| {
            let connection_id = random_id();
            let span = info_span!("signaling", connection_id = %connection_id);
            serve_socket(local, socket, connection_id, client).instrument(span)
        })
}

async fn serve_socket(
    local: Arc<LocalSignaling>,
    socket: WebSocket,
    connection_id: String,
    client: ClientKey,
) {
    debug!("socket opened");
    let mut outbound = local.push.register(&connection_id);
    let (mut sink, mut stream) = socket.split();
    let max_age = tokio::time::sleep(local.max_connection_age);
    tokio::pin!(max_age);

    let throttled = local.clone();
    let mut writer = tokio::spawn(async move {
        while let Some(first) = outbound.recv().await {
            // Messages that queued up meanwhile go out with one flush, so a
            // burst to one participant costs one write system call instead
            // of one per message.
            let mut next = Some(first);
            let mut close_code = None;
            while let Some(item) = next.take() {
                match item {
                    Outbound::Text(text) => {
                        if sink
                            .feed(Message::Text(Utf8Bytes::from(text)))
                            .await
                            .is_err()
                        {
                            return;
                        }
                        next = outbound.try_recv().ok();
                    }
                    Outbound::Close(code) => close_code = Some(code),
                }
            }
            let Some(code) = close_code else {
                if sink.flush().await.is_err() {
                    return;
                }
                continue;
            };
            if code == INVALID_LINK_CLOSE_CODE && throttled.link_throttle.record_failure(client) {
                warn!(
                    "too many invalid links from one client; its sockets get 429 until the window ends"
                );
            }
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(""),
            };
            // Sending the close frame also flushes the messages fed before it.
            let _ = sink.send(Message::Close(Some(frame))).await;
            return;
        }
    });

    // One timer for the idle limit, moved on only when it fires: arming a
    // timer for every message cost more than the relay's own work.
    let mut last_received = Instant::now();
    let idle = tokio::time::sleep_until(last_received + IDLE_LIMIT);
    tokio::pin!(idle);
    loop {
        // Stop reading once the writer has sent a close frame or failed;
        // the peer's close reply is not waited for.
        let received = tokio::select! {
            received = stream.next() => received,
            () = &mut idle => {
                if last_received.elapsed() >= IDLE_LIMIT {
                    debug!("socket idle for too long; closing it");
                    break;
                }
                idle.as_mut().reset(last_received + IDLE_LIMIT);
                continue;
            }
            _ = &mut writer => break,
            () = &mut max_age => {
                debug!("socket reached its maximum age; closing it");
                let _ = local.push.close(&connection_id, GOING_AWAY).await;
                // The writer sends the close frame and ends.
                let _ = (&mut writer).await;
                break;
            }
        };
        last_received = Instant::now();
        let text = match received {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                let error = ServerMessage::error(
                    ErrorCode::InvalidMessage,
                    "binary messages are not supported; send JSON text",
                );
                let _ = local.push.send(&connection_id, &error.to_json()).await;
                continue;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(error)) => {
                debug!(error = %error, "socket read failed");
                break;
            }
        };
        // The core has already logged each error and sent it to the client.
        let _ = local
            .signaling
            .handle_message(&connection_id, text.as_str())
            .await;
    }

    local.push.unregister(&connection_id);
    match local.signaling.handle_disconnect(&connection_id).await {
        Ok(Some(_)) => {
            // Tells the others once the place was not taken back in time.
            // A weak reference, so that a server shutting down within the
            // grace time is not kept waiting for its store by this timer.
            let grace = local.signaling.away_grace;
            let signaling = Arc::downgrade(&local.signaling);
            tokio::spawn(
                async move {
                    tokio::time::sleep(grace).await;
                    let Some(signaling) = signaling.upgrade() else {
                        return;
                    };
                    if let Err(error) = signaling.remove_if_away(&connection_id).await {
                        warn!(error = %error, "removing an away participant failed");
                    }
                }
                .in_current_span(),
            );
        }
        Ok(None) => {}
        Err(error) => warn!(error = %error, "cleanup after socket close failed"),
    }
    // The writer ends once its queue is dropped by `unregister`.
    if !writer.is_finished() {
        let _ = writer.await;
    }
    debug!("socket closed");
}
