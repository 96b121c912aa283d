//! The signaling state machine: joins rooms, enforces the day rule and the
//! participant limit, and relays WebRTC negotiation between participants of
//! the same room. Transport-neutral: the local server and the Lambda function
//! feed it text messages and deliver what it pushes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::link::LinkKey;
use crate::random::random_id;
use crate::room::{MAX_PARTICIPANTS, Room};
use crate::store::{
    JoinOutcome, Participant, ParticipantStore, RoomStore, StoreError, update_room,
};
use crate::turn::TurnServer;
use crate::validity::{DayState, rfc3339};

#[cfg(feature = "apigateway")]
pub mod apigateway;
pub mod protocol;

use protocol::{
    Check, ClientMessage, ErrorCode, Join, PROTOCOL_VERSION, PeerInfo, Resume, ServerMessage,
    Signal, parse_client_message, parse_display_name, signal_json,
};

/// Failure of a push to a connection.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The connection no longer exists: its participant has left.
    #[error("connection is gone")]
    Gone,
    #[error("push failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Delivers messages to signaling connections.
#[async_trait]
pub trait Push: Send + Sync {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), PushError>;

    /// Sends like [`Push::send`] a message that the caller no longer needs,
    /// so that a transport which queues messages can keep it without a copy.
    async fn send_owned(&self, connection_id: &str, text: String) -> Result<(), PushError> {
        self.send(connection_id, &text).await
    }

    /// Closes a connection with a WebSocket close code. Transports that cannot
    /// send a code (API Gateway) just disconnect.
    async fn close(&self, connection_id: &str, code: u16) -> Result<(), PushError>;
}

/// A failure of the signaling server itself, as opposed to a client mistake.
#[derive(Debug, thiserror::Error)]
pub enum SignalingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("push failed")]
    Push(#[source] PushError),
}

pub struct Signaling {
    pub rooms: Arc<dyn RoomStore>,
    pub participants: Arc<dyn ParticipantStore>,
    pub push: Arc<dyn Push>,
    pub links: LinkKey,
    pub clock: Arc<dyn Clock>,
    /// Passed to clients in `joined` and `ice-servers` when `turn` is not
    /// set; empty means no STUN or TURN server.
    pub ice_servers: Vec<Value>,
    /// The TURN server; when set, every `joined` and `ice-servers` carries
    /// fresh credentials for it instead of `ice_servers`.
    pub turn: Option<TurnServer>,
    /// How long an away participant's place stays reserved: [`AWAY_GRACE`]
    /// except in tests.
    pub away_grace: std::time::Duration,
}

/// How long the place of a participant whose socket closed without `leave`
/// stays reserved for a resume. No `peer-left` goes to its peers within
/// this time, so a client that reconnects after a network blip or
/// API Gateway's idle or maximum connection time keeps its peer connections.
pub const AWAY_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Counts the participants with an open connection. An away participant
/// keeps its place but takes no part in the call.
fn connected(present: &[Participant]) -> usize {
    present
        .iter()
        .filter(|participant| participant.away_since.is_none())
        .count()
}

fn hash_resume_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Signaling {
    /// Handles one text message from a connection. Client mistakes get an
    /// `error` message in reply. Only server failures return `Err`, after the
    /// client has been sent an `internal` error.
    pub async fn handle_message(
        &self,
        connection_id: &str,
        text: &str,
    ) -> Result<(), SignalingError> {
        let outcome = match parse_client_message(text) {
            Err(rejected) => {
                self.reply_error(connection_id, rejected.code, &rejected.message)
                    .await
            }
            Ok(ClientMessage::Ping) => self.ping(connection_id).await,
            Ok(ClientMessage::Check(check)) => self.check(connection_id, check).await,
            Ok(ClientMessage::Join(join)) => self.join(connection_id, join).await,
            Ok(ClientMessage::Signal(signal)) => self.relay(connection_id, signal).await,
            Ok(ClientMessage::IceServers) => self.send_ice_servers(connection_id).await,
            Ok(ClientMessage::Leave) => self.leave(connection_id).await,
        };
        if let Err(error) = &outcome {
            warn!(connection_id, error = %error, cause = ?std::error::Error::source(error), "signaling message failed");
            // Best effort: the connection may already be gone.
            let _ = self
                .reply_error(
                    connection_id,
                    ErrorCode::Internal,
                    "the server failed; reconnect and try again",
                )
                .await;
        }
        outcome
    }

    /// Marks the participant of a closed connection as away. Its place stays
    /// reserved for `away_grace`, and its peers hear of the departure only
    /// when [`Signaling::prune_room`] or [`Signaling::remove_if_away`]
    /// removes it after that. The call time stops at once when fewer than
    /// two participants remain connected, and starts again when the
    /// participant resumes. Returns the room of the participant.
    pub async fn handle_disconnect(
        &self,
        connection_id: &str,
    ) -> Result<Option<String>, SignalingError> {
        let Some(participant) = self
            .participants
            .mark_away(connection_id, self.clock.now())
            .await?
        else {
            return Ok(None);
        };
        info!(connection_id, room_id = %participant.room_id, peer_id = %participant.peer_id, "participant away");
        // Without this, a call whose participants all lost their
        // connections would count until the day's end on Lambda, where no
        // timer removes away participants.
        let present = self.participants.in_room(&participant.room_id).await?;
        if connected(&present) < 2 {
            self.track_call(&participant.room_id, false).await;
        }
        Ok(Some(participant.room_id))
    }

    /// Removes the participant of a closed connection if it is still away,
    /// and sends `peer-left` to the others. A transport with timers (the local
    /// server) calls this once `away_grace` has passed since the close.
    pub async fn remove_if_away(&self, connection_id: &str) -> Result<(), SignalingError> {
        let still_away = self
            .participants
            .by_connection(connection_id)
            .await?
            .is_some_and(|participant| participant.away_since.is_some());
        if still_away && let Some(gone) = self.participants.remove_connection(connection_id).await?
        {
            info!(connection_id, room_id = %gone.room_id, peer_id = %gone.peer_id, "away participant did not come back; removed");
            self.announce_departure(&gone).await?;
        }
        Ok(())
    }

    /// Removes the participants of a room that have been away for longer
    /// than `away_grace` and sends `peer-left` to the others. Runs on every join
    /// and ping, so on transports without timers (Lambda) departures are
    /// announced at the latest with the next ping of someone in the room.
    pub async fn prune_room(&self, room_id: &str) -> Result<(), SignalingError> {
        let present = self.participants.in_room(room_id).await?;
        self.prune_present(room_id, present).await.map(drop)
    }

    /// Prunes like [`Signaling::prune_room`], given the room's participants
    /// as just read. Returns whether a departure ended the room's call.
    async fn prune_present(
        &self,
        room_id: &str,
        present: Vec<Participant>,
    ) -> Result<bool, SignalingError> {
        let mut call_stopped = false;
        let now = self.clock.now();
        let grace = chrono::Duration::from_std(self.away_grace).unwrap_or(chrono::Duration::MAX);
        for participant in present {
            let expired = participant
                .away_since
                .is_some_and(|since| now - since >= grace);
            if !expired {
                continue;
            }
            // A resume since the read changed the connection, so this removes nothing.
            if let Some(gone) = self
                .participants
                .remove_connection(&participant.connection_id)
                .await?
                && gone.away_since.is_some()
            {
                info!(room_id, peer_id = %gone.peer_id, "away participant did not come back; removed");
                call_stopped |= self.announce_departure(&gone).await?;
            }
        }
        Ok(call_stopped)
    }

    /// Removes the away place that a newcomer's `replaces` names when its key
    /// matches, and sends `peer-left` for it. A place with an open socket, such
    /// as a second tab's, stays. Returns whether the departure ended the call.
    async fn remove_replaced(
        &self,
        present: &[Participant],
        replaced: &Resume,
    ) -> Result<bool, SignalingError> {
        let key_hash = hash_resume_key(&replaced.key);
        let Some(old) = present.iter().find(|participant| {
            participant.peer_id == replaced.peer_id
                && participant.away_since.is_some()
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    &participant.resume_key_hash[..],
                    &key_hash[..],
                ))
        }) else {
            return Ok(false);
        };
        // A resume since the read changed the connection, so this removes nothing.
        match self
            .participants
            .remove_connection(&old.connection_id)
            .await?
        {
            Some(gone) if gone.away_since.is_some() => {
                info!(room_id = %gone.room_id, peer_id = %gone.peer_id, "away participant replaced by a new page; removed");
                self.announce_departure(&gone).await
            }
            _ => Ok(false),
        }
    }

    /// Replies `pong` to `ping` and prunes the sender's room.
    async fn ping(&self, connection_id: &str) -> Result<(), SignalingError> {
        self.reply(connection_id, &ServerMessage::Pong).await?;
        if let Some((participant, present)) = self.participants.with_room(connection_id).await? {
            self.prune_present(&participant.room_id, present).await?;
        }
        Ok(())
    }

    async fn reply(
        &self,
        connection_id: &str,
        message: &ServerMessage,
    ) -> Result<(), SignalingError> {
        match self.push.send(connection_id, &message.to_json()).await {
            // The sender vanished while we worked; its disconnect cleans up.
            Ok(()) | Err(PushError::Gone) => Ok(()),
            Err(error) => Err(SignalingError::Push(error)),
        }
    }

    async fn reply_error(
        &self,
        connection_id: &str,
        code: ErrorCode,
        message: &str,
    ) -> Result<(), SignalingError> {
        self.send_fatal_or_not(connection_id, ServerMessage::error(code, message), code)
            .await
    }

    async fn send_fatal_or_not(
        &self,
        connection_id: &str,
        message: ServerMessage,
        code: ErrorCode,
    ) -> Result<(), SignalingError> {
        debug!(connection_id, code = ?code, "rejecting client message");
        self.reply(connection_id, &message).await?;
        if let Some(close_code) = code.close_code() {
            match self.push.close(connection_id, close_code).await {
                Ok(()) | Err(PushError::Gone) => {}
                Err(error) => return Err(SignalingError::Push(error)),
            }
        }
        Ok(())
    }

    /// Resolves a token to an existing room, or replies `invalid-link`.
    async fn room_for_token(
        &self,
        connection_id: &str,
        version: u32,
        token: &str,
    ) -> Result<Option<Room>, SignalingError> {
        if version != PROTOCOL_VERSION {
            self.reply_error(
                connection_id,
                ErrorCode::UnsupportedVersion,
                &format!("protocol version {version} is not supported; use {PROTOCOL_VERSION}"),
            )
            .await?;
            return Ok(None);
        }
        // A wrong tag gets the same reply as an unknown room.
        let room = match LinkKey::room_id_of(token) {
            Ok(room_id) => self
                .rooms
                .get(room_id, self.clock.now())
                .await?
                .filter(|room| self.links.verify(token, &room.link_salt).is_ok()),
            Err(_) => None,
        };
        if room.is_none() {
            self.reply_error(
                connection_id,
                ErrorCode::InvalidLink,
                "this link does not belong to any room",
            )
            .await?;
        }
        Ok(room)
    }

    async fn check(&self, connection_id: &str, check: Check) -> Result<(), SignalingError> {
        let Some(room) = self
            .room_for_token(connection_id, check.v, &check.token)
            .await?
        else {
            return Ok(());
        };
        let window = room.window();
        let status = ServerMessage::Status {
            state: window.state_at(self.clock.now()),
            date: room.date.to_string(),
            time_zone: room.time_zone.name().to_owned(),
            valid_from: rfc3339(window.from),
            valid_until: rfc3339(window.until),
        };
        self.reply(connection_id, &status).await
    }

    async fn join(&self, connection_id: &str, join: Join) -> Result<(), SignalingError> {
        let Some(room) = self
            .room_for_token(connection_id, join.v, &join.token)
            .await?
        else {
            return Ok(());
        };
        let state = room.window().state_at(self.clock.now());
        if state != DayState::Open {
            let message = ServerMessage::Error {
                code: ErrorCode::RoomNotOpen,
                message: format!(
                    "this link is valid only on {} ({})",
                    room.date,
                    room.time_zone.name()
                ),
                date: Some(room.date.to_string()),
                time_zone: Some(room.time_zone.name().to_owned()),
                state: Some(state),
            };
            return self
                .send_fatal_or_not(connection_id, message, ErrorCode::RoomNotOpen)
                .await;
        }
        let Some(name) = parse_display_name(&join.name) else {
            return self
                .reply_error(
                    connection_id,
                    ErrorCode::InvalidName,
                    "the name must have 1 to 64 characters and no control characters",
                )
                .await;
        };
        if self
            .participants
            .by_connection(connection_id)
            .await?
            .is_some()
        {
            return self
                .reply_error(
                    connection_id,
                    ErrorCode::AlreadyJoined,
                    "this connection has already joined",
                )
                .await;
        }

        if let Some(resume) = &join.resume {
            let key_hash = hash_resume_key(&resume.key);
            if let Some((participant, previous)) = self
                .participants
                .resume(&room.id, &resume.peer_id, &key_hash, connection_id)
                .await?
            {
                info!(connection_id, room_id = %room.id, peer_id = %participant.peer_id, "participant resumed");
                if previous != connection_id {
                    let _ = self.push.close(&previous, 1000).await;
                }
                let connected = self
                    .send_joined(connection_id, &room, &participant, &resume.key)
                    .await?;
                if connected >= 2 && room.call.since.is_none() {
                    self.track_call(&room.id, true).await;
                }
                return Ok(());
            }
        }

        // Frees the places of participants that did not come back, or that
        // this newcomer replaces, and keeps it from negotiating with them.
        let present = self.participants.in_room(&room.id).await?;
        let mut call_stopped = false;
        if let Some(replaced) = &join.replaces {
            call_stopped |= self.remove_replaced(&present, replaced).await?;
        }
        call_stopped |= self.prune_present(&room.id, present).await?;

        let resume_key = random_id();
        let participant = Participant {
            room_id: room.id.clone(),
            peer_id: random_id(),
            name,
            connection_id: connection_id.to_owned(),
            resume_key_hash: hash_resume_key(&resume_key),
            joined_at: self.clock.now(),
            away_since: None,
        };
        match self
            .participants
            .add(participant.clone(), MAX_PARTICIPANTS)
            .await?
        {
            JoinOutcome::Full => {
                info!(connection_id, room_id = %room.id, "join rejected: room full");
                self.reply_error(
                    connection_id,
                    ErrorCode::RoomFull,
                    &format!("this room already has {MAX_PARTICIPANTS} participants"),
                )
                .await
            }
            JoinOutcome::Joined => {
                info!(connection_id, room_id = %room.id, peer_id = %participant.peer_id, "participant joined");
                // Announcing first removes connections that turn out gone
                // (API Gateway returns 410), so `joined` lists no ghost.
                let arrival = ServerMessage::PeerJoined {
                    peer_id: participant.peer_id.clone(),
                    name: participant.name.clone(),
                };
                self.broadcast(&room.id, Some(&participant.peer_id), &arrival)
                    .await?;
                let connected = self
                    .send_joined(connection_id, &room, &participant, &resume_key)
                    .await?;
                // `room` was read before a departure above could stop the call.
                if connected >= 2 && (room.call.since.is_none() || call_stopped) {
                    self.track_call(&room.id, true).await;
                }
                Ok(())
            }
        }
    }

    /// Sends `joined` and returns how many participants of the room are
    /// connected.
    async fn send_joined(
        &self,
        connection_id: &str,
        room: &Room,
        participant: &Participant,
        resume_key: &str,
    ) -> Result<usize, SignalingError> {
        let present = self.participants.in_room(&room.id).await?;
        let count = connected(&present);
        let peers = present
            .into_iter()
            .filter(|other| other.peer_id != participant.peer_id)
            .map(|other| PeerInfo {
                peer_id: other.peer_id,
                name: other.name,
            })
            .collect();
        let joined = ServerMessage::Joined {
            peer_id: participant.peer_id.clone(),
            resume_key: resume_key.to_owned(),
            peers,
            date: room.date.to_string(),
            time_zone: room.time_zone.name().to_owned(),
            max_participants: MAX_PARTICIPANTS,
            ice_servers: self.ice_servers_until(room.window().until),
        };
        self.reply(connection_id, &joined).await?;
        Ok(count)
    }

    /// Builds the `iceServers` list for a participant of a room whose day
    /// ends at `day_end`, with TURN credentials minted now.
    fn ice_servers_until(&self, day_end: DateTime<Utc>) -> Vec<Value> {
        match &self.turn {
            Some(turn) => turn.ice_servers(day_end, self.clock.now()),
            None => self.ice_servers.clone(),
        }
    }

    /// Replies to `ice-servers` with a fresh list for the sender's room. TURN
    /// credentials expire, so clients request new ones before an ICE restart
    /// or a new peer connection late in a call.
    async fn send_ice_servers(&self, connection_id: &str) -> Result<(), SignalingError> {
        let Some(participant) = self.participants.by_connection(connection_id).await? else {
            return self
                .reply_error(
                    connection_id,
                    ErrorCode::NotJoined,
                    "send join before ice-servers",
                )
                .await;
        };
        let ice_servers = if self.turn.is_some() {
            let now = self.clock.now();
            // A room deleted during the call has no day any more, but its
            // participants stay connected, so their credentials count from now.
            let day_end = self
                .rooms
                .get(&participant.room_id, now)
                .await?
                .map_or(now, |room| room.window().until);
            self.ice_servers_until(day_end)
        } else {
            self.ice_servers.clone()
        };
        debug!(connection_id, room_id = %participant.room_id, peer_id = %participant.peer_id, "sending fresh ICE servers");
        self.reply(connection_id, &ServerMessage::IceServers { ice_servers })
            .await
    }

    /// Starts or ends the room's stretch of call time: a call runs while at
    /// least two participants are connected. Failures are logged only; the
    /// call itself must not suffer from them.
    async fn track_call(&self, room_id: &str, running: bool) {
        let now = self.clock.now();
        let result = update_room(self.rooms.as_ref(), room_id, now, |room| {
            if running {
                room.call.start(now)
            } else {
                let until = room.window().until;
                room.call.stop(now, until)
            }
        })
        .await;
        if let Err(error) = result {
            warn!(room_id, error = %error, "recording the call time failed");
        }
    }

    async fn relay(&self, connection_id: &str, signal: Signal<'_>) -> Result<(), SignalingError> {
        let Some((sender, target)) = self
            .participants
            .sender_and_target(connection_id, &signal.to)
            .await?
        else {
            return self
                .reply_error(
                    connection_id,
                    ErrorCode::NotJoined,
                    "send join before signal",
                )
                .await;
        };
        let Some(target) = target else {
            return self
                .reply_error(
                    connection_id,
                    ErrorCode::UnknownPeer,
                    "no participant with this peerId is in the room",
                )
                .await;
        };
        // Written here rather than as a `ServerMessage`, which would need
        // its own copy of the data.
        let text = signal_json(&sender.peer_id, signal.data.get());
        self.deliver_text(&target, text).await
    }

    async fn leave(&self, connection_id: &str) -> Result<(), SignalingError> {
        if let Some(participant) = self.participants.remove_connection(connection_id).await? {
            info!(connection_id, room_id = %participant.room_id, peer_id = %participant.peer_id, "participant left");
            self.announce_departure(&participant).await?;
        }
        match self.push.close(connection_id, 1000).await {
            Ok(()) | Err(PushError::Gone) => Ok(()),
            Err(error) => Err(SignalingError::Push(error)),
        }
    }

    /// Sends `peer-left` for a removed participant and stops the call time
    /// when fewer than two remain connected. Returns whether it stopped the
    /// call time.
    async fn announce_departure(&self, participant: &Participant) -> Result<bool, SignalingError> {
        let departure = ServerMessage::PeerLeft {
            peer_id: participant.peer_id.clone(),
        };
        let remaining = self
            .broadcast(&participant.room_id, None, &departure)
            .await?;
        if remaining < 2 {
            self.track_call(&participant.room_id, false).await;
        }
        Ok(remaining < 2)
    }

    /// Sends to every participant of a room except `skip_peer`. Returns how
    /// many participants of the room were connected.
    async fn broadcast(
        &self,
        room_id: &str,
        skip_peer: Option<&str>,
        message: &ServerMessage,
    ) -> Result<usize, SignalingError> {
        let present = self.participants.in_room(room_id).await?;
        let count = connected(&present);
        for other in present {
            if Some(other.peer_id.as_str()) != skip_peer {
                self.deliver(&other, message).await?;
            }
        }
        Ok(count)
    }

    /// Pushes to one participant. Nothing goes to an away participant: its
    /// client recovers the negotiation after it resumes. A gone connection
    /// means the participant left, so it is removed and the others are
    /// notified while delivery to everyone else goes on. Other push failures
    /// are logged and skipped, so one broken peer cannot stop a room.
    async fn deliver(
        &self,
        target: &Participant,
        message: &ServerMessage,
    ) -> Result<(), SignalingError> {
        if target.away_since.is_some() {
            debug!(room_id = %target.room_id, peer_id = %target.peer_id, "peer is away; message dropped");
            return Ok(());
        }
        self.deliver_text(target, message.to_json()).await
    }

    /// Pushes a message already written as JSON text to one participant, as
    /// [`Signaling::deliver`] does.
    async fn deliver_text(&self, target: &Participant, text: String) -> Result<(), SignalingError> {
        if target.away_since.is_some() {
            debug!(room_id = %target.room_id, peer_id = %target.peer_id, "peer is away; message dropped");
            return Ok(());
        }
        match self.push.send_owned(&target.connection_id, text).await {
            Ok(()) => Ok(()),
            Err(PushError::Gone) => {
                info!(room_id = %target.room_id, peer_id = %target.peer_id, "peer connection gone; removing it");
                if let Some(gone) = self
                    .participants
                    .remove_connection(&target.connection_id)
                    .await?
                {
                    Box::pin(self.announce_departure(&gone)).await?;
                }
                Ok(())
            }
            Err(error) => {
                warn!(room_id = %target.room_id, peer_id = %target.peer_id, error = %error, cause = ?std::error::Error::source(&error), "push to peer failed");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
