//! The participants, their links and the traffic phases. All state lives in
//! one `RefCell` on one thread. A socket's reader task checks the signals it
//! receives. In the closed loop it also writes the next signal of their
//! sender into that sender's output buffer, which the sender's writer task
//! sends.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::protocol::{Bench, Protocol};
use crate::ws;

mod socket;

/// After each description, a sender sends this many candidates to the same
/// peer, as the soak does.
const CANDIDATES_PER_DESCRIPTION: u64 = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Period of the loop that sends the paced signals that are due.
const PACED_TICK: Duration = Duration::from_millis(1);
/// A paced schedule further behind than this skips ahead instead of sending a burst.
const MAX_SCHEDULE_LAG: Duration = Duration::from_secs(1);
/// Examples kept per kind of error for the report.
const KEPT_EXAMPLES: usize = 3;
/// Initial size of a socket's read buffer; it grows for a larger frame.
const READ_BUFFER_BYTES: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Joining,
    Idle,
    /// Each sender keeps `window` signals outstanding.
    ClosedLoop,
    /// The paced task sends at a fixed rate.
    Paced,
    Closing,
    Closed,
}

/// One participant: a socket, its output buffer and its links.
struct Participant {
    /// Number of the participant over all rooms.
    index: u32,
    name: String,
    id: String,
    out: Vec<u8>,
    /// Wakes the socket's writer task when `out` gets data.
    writer: Rc<Notify>,
    /// Links to the room's other participants, in sending order.
    links: Vec<usize>,
    /// Links from the room's other participants, by the sender's id.
    incoming: Vec<(String, usize)>,
    next_link: usize,
    outstanding: u64,
    /// Peers in the room when joining plus those announced since.
    peers_known: usize,
    closed: bool,
    close_code: Option<u16>,
    close_sent: bool,
    next_keepalive: Instant,
}

/// One direction of one pair of participants. Both servers keep the order of
/// one sender's signals to one target, so the receiver takes the send times
/// and sizes back in order.
struct Link {
    sender: usize,
    target: usize,
    /// The PeerJS media connection id that both directions share.
    connection_id: String,
    sent: u64,
    expected: u64,
    missing: HashSet<u64>,
    overhead: isize,
    /// Send time and size as sent of each signal not yet received.
    pending: VecDeque<(Instant, usize)>,
}

#[derive(Default)]
struct Sizes {
    descriptions: u64,
    description_bytes: u64,
    candidates: u64,
    candidate_bytes: u64,
}

#[derive(Default)]
struct ErrorKind {
    count: u64,
    examples: Vec<String>,
}

struct State {
    protocol: Protocol,
    mode: Mode,
    window: u64,
    participants: Vec<Participant>,
    links: Vec<Link>,
    /// SDP strings as JSON string literals.
    sdp_pool: Vec<String>,
    /// Candidates as the members of `RTCIceCandidate.toJSON()`, without braces.
    candidate_pool: Vec<String>,
    /// Latencies in ms of signals sent from `record_from` until `record_until`.
    latencies: Vec<f64>,
    record_from: Option<Instant>,
    record_until: Option<Instant>,
    sent: u64,
    received: u64,
    error_count: u64,
    errors: BTreeMap<String, ErrorKind>,
    sizes: Sizes,
    scratch: Vec<u8>,
}

impl State {
    fn new(protocol: Protocol, sdp_pool: Vec<String>, candidate_pool: Vec<String>) -> Self {
        Self {
            protocol,
            mode: Mode::Joining,
            window: 0,
            participants: Vec::new(),
            links: Vec::new(),
            sdp_pool,
            candidate_pool,
            latencies: Vec::new(),
            record_from: None,
            record_until: None,
            sent: 0,
            received: 0,
            error_count: 0,
            errors: BTreeMap::new(),
            sizes: Sizes::default(),
            scratch: Vec::with_capacity(8 * 1024),
        }
    }

    fn record_error(&mut self, kind: &str, detail: String) {
        self.error_count += 1;
        let entry = self.errors.entry(kind.to_owned()).or_default();
        entry.count += 1;
        if entry.examples.len() < KEPT_EXAMPLES {
            entry.examples.push(detail);
        }
    }

    /// Appends a text frame to a participant's output and wakes its writer.
    fn queue_text(&mut self, participant: usize, text: &[u8]) {
        let participant = &mut self.participants[participant];
        if participant.out.is_empty() {
            participant.writer.notify_one();
        }
        ws::write_frame(&mut participant.out, ws::OPCODE_TEXT, text);
    }

    fn queue_close(&mut self, participant: usize, code: u16) {
        let participant = &mut self.participants[participant];
        if participant.close_sent {
            return;
        }
        participant.close_sent = true;
        if participant.out.is_empty() {
            participant.writer.notify_one();
        }
        ws::write_close(&mut participant.out, code);
    }

    /// Sends the sender's next signal to its next peer in turn: a
    /// description, then candidates.
    fn send_signal(&mut self, sender_index: usize) {
        let sender = &mut self.participants[sender_index];
        let link_index = sender.links[sender.next_link];
        sender.next_link = (sender.next_link + 1) % sender.links.len();
        let from = sender.index;
        let link = &mut self.links[link_index];
        link.sent += 1;
        let seq = link.sent;
        let target = &self.participants[link.target];
        let bench = Bench {
            from,
            to: target.index,
            seq,
        };

        let mut text = std::mem::take(&mut self.scratch);
        let description = (seq - 1).is_multiple_of(CANDIDATES_PER_DESCRIPTION + 1);
        if description {
            let sdp = &self.sdp_pool[(from as usize * 7 + seq as usize) % self.sdp_pool.len()];
            // The participant with the smaller id sends the offer, the other the answer.
            let offer = self.participants[sender_index].id < target.id;
            self.protocol.description(
                &mut text,
                &target.id,
                &link.connection_id,
                offer,
                sdp,
                bench,
            );
            self.sizes.descriptions += 1;
            self.sizes.description_bytes += text.len() as u64;
        } else {
            let fields = &self.candidate_pool
                [(from as usize * 13 + seq as usize) % self.candidate_pool.len()];
            self.protocol
                .candidate(&mut text, &target.id, &link.connection_id, fields, bench);
            self.sizes.candidates += 1;
            self.sizes.candidate_bytes += text.len() as u64;
        }
        link.pending.push_back((Instant::now(), text.len()));
        self.participants[sender_index].outstanding += 1;
        self.queue_text(sender_index, &text);
        self.scratch = text;
        self.sent += 1;
    }

    /// Handles one text message of a participant that is ready.
    fn receive_text(&mut self, receiver: usize, message: &[u8], received_at: Instant) {
        let Some(relayed) = self.protocol.parse_relayed(message) else {
            self.receive_other(receiver, message);
            return;
        };
        self.received += 1;
        let participant = &self.participants[receiver];
        let link_index = participant
            .incoming
            .iter()
            .find(|(id, _)| id.as_bytes() == relayed.sender)
            .map(|(_, link)| *link);
        let Some(link_index) = link_index else {
            let detail = format!(
                "{}: from {}",
                participant.name,
                String::from_utf8_lossy(relayed.sender)
            );
            self.record_error("signal from an unknown sender", detail);
            return;
        };
        let bench = relayed.bench;
        let link = &self.links[link_index];
        let wrong_target = relayed
            .target
            .is_some_and(|target| target != participant.id.as_bytes());
        if bench.to != participant.index
            || bench.from != self.participants[link.sender].index
            || wrong_target
        {
            let detail = format!("{}: check fields {bench:?}", participant.name);
            self.record_error(
                "signal delivered to the wrong peer or with the wrong sender",
                detail,
            );
        }

        let link = &mut self.links[link_index];
        let sender = link.sender;
        let seq = bench.seq;
        if seq == link.expected {
            link.expected += 1;
        } else if seq > link.expected {
            // The skipped signals count as lost unless they still arrive, so
            // they no longer hold the sender's window.
            let skipped = seq - link.expected;
            link.missing.extend(link.expected..seq);
            link.pending.drain(..skipped as usize);
            link.expected = seq + 1;
            self.participants[sender].outstanding -= skipped;
        } else {
            let late = link.missing.remove(&seq);
            let kind = if late {
                "signal out of order"
            } else {
                "duplicate signal"
            };
            let detail = format!(
                "{}: #{seq} from {} after #{}",
                self.participants[receiver].name,
                self.participants[sender].name,
                link.expected - 1
            );
            self.record_error(kind, detail);
            return;
        }

        let link = &mut self.links[link_index];
        let (sent_at, sent_bytes) = link.pending.pop_front().expect("a signal in flight");
        let expected_bytes = sent_bytes as isize + link.overhead;
        if message.len() as isize != expected_bytes {
            let detail = format!(
                "{}: #{seq} from {} has {} bytes, expected {expected_bytes}",
                self.participants[receiver].name,
                self.participants[sender].name,
                message.len()
            );
            self.record_error("signal altered", detail);
        }
        let recorded = self.record_from.is_some_and(|from| sent_at >= from)
            && self.record_until.is_none_or(|until| sent_at < until);
        if recorded {
            self.latencies
                .push((received_at - sent_at).as_secs_f64() * 1000.0);
        }

        let outstanding = &mut self.participants[sender].outstanding;
        *outstanding -= 1;
        if self.mode == Mode::ClosedLoop && *outstanding < self.window {
            self.send_signal(sender);
        }
    }

    /// Handles a message other than a relayed signal after the handshake.
    fn receive_other(&mut self, receiver: usize, message: &[u8]) {
        let parsed: Option<Value> = serde_json::from_slice(message).ok();
        let kind = parsed
            .as_ref()
            .and_then(|value| value.get("type"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let expected = match self.protocol {
            Protocol::VideoLocal => match (kind, self.mode) {
                ("pong", _) | ("peer-left", Mode::Closing) => true,
                // Later participants of a room join while the earlier ones wait.
                ("peer-joined", Mode::Joining) => {
                    self.participants[receiver].peers_known += 1;
                    true
                }
                _ => false,
            },
            // PeerJS sends nothing in reply to HEARTBEAT.
            Protocol::PeerJs => false,
        };
        if !expected {
            let text = String::from_utf8_lossy(&message[..message.len().min(160)]);
            let detail = format!("{}: {text}", self.participants[receiver].name);
            self.record_error(&format!("unexpected message {kind:?}"), detail);
        }
    }

    fn outstanding(&self) -> u64 {
        self.participants.iter().map(|p| p.outstanding).sum()
    }

    /// Returns the latencies recorded since the last call and their
    /// nearest-rank percentiles.
    fn take_latencies(&mut self) -> Value {
        let mut values = std::mem::take(&mut self.latencies);
        values.sort_by(f64::total_cmp);
        let percentile = |fraction: f64| -> Value {
            if values.is_empty() {
                return Value::Null;
            }
            let rank = (fraction * values.len() as f64).ceil() as usize;
            json!(values[rank.clamp(1, values.len()) - 1])
        };
        json!({
            "count": values.len(),
            "p50": percentile(0.5),
            "p90": percentile(0.9),
            "p99": percentile(0.99),
            "p999": percentile(0.999),
            "max": percentile(1.0),
        })
    }
}

/// The generator's state between commands; empty until `setup`.
#[derive(Default)]
pub struct Generator {
    state: RefCell<Option<State>>,
    started: Cell<Option<Instant>>,
    /// Number of the current `setup`, so that the keepalive task of an
    /// earlier server ends.
    generation: Cell<u64>,
}

impl Generator {
    fn with<T>(&self, action: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        let mut state = self.state.borrow_mut();
        let state = state.as_mut().context("run setup first")?;
        Ok(action(state))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetupCommand {
    protocol_name: String,
    origin: String,
    key: Option<String>,
    rooms: Vec<RoomSpec>,
    participants_per_room: usize,
    sdp_pool: Vec<String>,
    candidate_pool: Vec<CandidateSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomSpec {
    room_index: usize,
    token: Option<String>,
}

#[derive(Deserialize)]
struct CandidateSpec {
    line: String,
    ufrag: String,
}

/// Runs one command of `run.mjs` and returns its result.
pub async fn run_command(generator: &Rc<Generator>, command: &Value) -> anyhow::Result<Value> {
    let kind = command
        .get("type")
        .and_then(Value::as_str)
        .context("command without type")?;
    let number = |name: &str| {
        command
            .get(name)
            .and_then(Value::as_f64)
            .with_context(|| format!("command {kind} without {name}"))
    };
    match kind {
        "setup" => setup(generator, serde_json::from_value(command.clone())?).await,
        "counters" => generator.with(|state| {
            let started = generator.started.get().unwrap_or_else(Instant::now);
            json!({
                "atMs": started.elapsed().as_secs_f64() * 1000.0,
                "sent": state.sent,
                "received": state.received,
                "errors": state.error_count,
            })
        }),
        "closed-loop" => {
            let window = number("window")? as u64;
            generator.with(|state| {
                state.latencies.clear();
                state.record_from = Some(Instant::now());
                state.record_until = None;
                state.window = window;
                state.mode = Mode::ClosedLoop;
                for sender in 0..state.participants.len() {
                    while state.participants[sender].outstanding < window {
                        state.send_signal(sender);
                    }
                }
                json!({})
            })
        }
        "stop" => stop(generator).await,
        "paced" => {
            let rate = number("rate")?;
            let duration = Duration::from_secs_f64(number("durationMs")? / 1000.0);
            let warm_up = Duration::from_secs_f64(number("warmUpMs")? / 1000.0);
            paced(generator, rate, duration, warm_up).await
        }
        "finish" => finish(generator).await,
        _ => bail!("unknown command {kind}"),
    }
}

async fn setup(generator: &Rc<Generator>, command: SetupCommand) -> anyhow::Result<Value> {
    let protocol = Protocol::from_name(&command.protocol_name)?;
    let candidate_pool = command
        .candidate_pool
        .iter()
        .map(|candidate| {
            format!(
                r#""candidate":{},"sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"{}""#,
                serde_json::to_string(&candidate.line).expect("a string serializes"),
                candidate.ufrag
            )
        })
        .collect();
    let sdp_pool = command
        .sdp_pool
        .iter()
        .map(|sdp| serde_json::to_string(sdp).expect("a string serializes"))
        .collect();
    let mut state = State::new(protocol, sdp_pool, candidate_pool);
    let per_room = command.participants_per_room;
    let now = Instant::now();
    for room in &command.rooms {
        for seat in 0..per_room {
            state.participants.push(Participant {
                index: (room.room_index * per_room + seat) as u32,
                name: format!("Bench {}.{}", room.room_index + 1, seat + 1),
                id: String::new(),
                out: Vec::with_capacity(64 * 1024),
                writer: Rc::new(Notify::new()),
                links: Vec::new(),
                incoming: Vec::new(),
                next_link: 0,
                outstanding: 0,
                peers_known: 0,
                closed: false,
                close_code: None,
                close_sent: false,
                next_keepalive: now,
            });
        }
    }
    *generator.state.borrow_mut() = Some(state);
    generator.started.set(Some(Instant::now()));
    generator.generation.set(generator.generation.get() + 1);

    // The participants of one room connect one after another, as people
    // join a call; the rooms connect at the same time.
    let address = command
        .origin
        .strip_prefix("http://")
        .context("the origin must start with http://")?
        .to_owned();
    let mut rooms = Vec::new();
    for (offset, room) in command.rooms.iter().enumerate() {
        let generator = generator.clone();
        let address = address.clone();
        let origin = command.origin.clone();
        let key = command.key.clone();
        let token = room.token.clone();
        rooms.push(tokio::task::spawn_local(async move {
            for seat in 0..per_room {
                let index = offset * per_room + seat;
                let connecting = socket::connect(
                    &generator,
                    index,
                    &address,
                    &origin,
                    key.as_deref(),
                    token.as_deref(),
                );
                tokio::time::timeout(CONNECT_TIMEOUT, connecting)
                    .await
                    .with_context(|| {
                        format!("participant {index} not ready within {CONNECT_TIMEOUT:?}")
                    })??;
            }
            anyhow::Ok(())
        }));
    }
    for room in rooms {
        room.await??;
    }
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    while generator.with(|state| {
        state
            .participants
            .iter()
            .any(|p| p.peers_known < per_room - 1)
    })? {
        if Instant::now() > deadline {
            bail!(
                "not every participant learned of its {} peers within {CONNECT_TIMEOUT:?}",
                per_room - 1
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let count = generator.with(|state| {
        build_links(state, command.rooms.len(), per_room);
        state.mode = Mode::Idle;
        state.participants.len()
    })?;
    tokio::task::spawn_local(keepalives(generator.clone()));
    Ok(json!({ "participants": count }))
}

/// Creates a link for every ordered pair of participants in each room.
fn build_links(state: &mut State, rooms: usize, per_room: usize) {
    for room in 0..rooms {
        let seats = room * per_room..(room + 1) * per_room;
        let mut pair_ids = BTreeMap::new();
        for sender in seats.clone() {
            for target in seats.clone() {
                if target == sender {
                    continue;
                }
                let pair = (sender.min(target), sender.max(target));
                let connection_id = pair_ids
                    .entry(pair)
                    .or_insert_with(|| format!("mc_{}", socket::random_base36()))
                    .clone();
                let overhead = state.protocol.relay_overhead(
                    &state.participants[sender].id,
                    &state.participants[target].id,
                );
                let link_index = state.links.len();
                state.links.push(Link {
                    sender,
                    target,
                    connection_id,
                    sent: 0,
                    expected: 1,
                    missing: HashSet::new(),
                    overhead,
                    pending: VecDeque::new(),
                });
                state.participants[sender].links.push(link_index);
                let sender_id = state.participants[sender].id.clone();
                state.participants[target]
                    .incoming
                    .push((sender_id, link_index));
            }
            // Senders start at different peers, so no receiver gets every first signal.
            let participant = &mut state.participants[sender];
            participant.next_link = participant.index as usize % participant.links.len();
        }
    }
}

/// Sends each participant's keepalive at its protocol's interval, spread
/// over the interval, until the participants leave.
async fn keepalives(generator: Rc<Generator>) {
    let generation = generator.generation.get();
    let Ok((interval, text, count)) = generator.with(|state| {
        (
            state.protocol.keepalive_interval(),
            state.protocol.keepalive_text(),
            state.participants.len(),
        )
    }) else {
        return;
    };
    let start = Instant::now();
    let _ = generator.with(|state| {
        for (offset, participant) in state.participants.iter_mut().enumerate() {
            participant.next_keepalive = start + interval.mul_f64(offset as f64 / count as f64);
        }
    });
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = Instant::now();
        let keep_going = generator.with(|state| {
            if generator.generation.get() != generation
                || matches!(state.mode, Mode::Closing | Mode::Closed)
            {
                return false;
            }
            for index in 0..state.participants.len() {
                let participant = &mut state.participants[index];
                if participant.closed || now < participant.next_keepalive {
                    continue;
                }
                participant.next_keepalive += interval;
                state.queue_text(index, text.as_bytes());
            }
            true
        });
        if !matches!(keep_going, Ok(true)) {
            return;
        }
    }
}

/// Ends the traffic and waits until every signal sent has arrived or was
/// skipped as lost.
async fn stop(generator: &Rc<Generator>) -> anyhow::Result<Value> {
    generator.with(|state| state.mode = Mode::Idle)?;
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut drained = false;
    while Instant::now() < deadline {
        if generator.with(|state| state.outstanding() == 0)? {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    generator.with(|state| {
        json!({
            "drained": drained,
            "outstanding": state.outstanding(),
            "latency": state.take_latencies(),
        })
    })
}

/// Sends `rate` signals per second in all, evenly spaced, from the senders
/// in turn, for `duration`. Latencies count for signals sent after `warm_up`.
async fn paced(
    generator: &Rc<Generator>,
    rate: f64,
    duration: Duration,
    warm_up: Duration,
) -> anyhow::Result<Value> {
    let start = Instant::now();
    let until = start + duration;
    generator.with(|state| {
        state.latencies.clear();
        state.record_from = Some(start + warm_up);
        state.record_until = Some(until);
        state.mode = Mode::Paced;
    })?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut next_at = start;
    let mut turn = 0;
    let mut skips = 0u64;
    let mut max_lag = Duration::ZERO;
    let mut ticker = tokio::time::interval(PACED_TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = Instant::now();
        if now >= until {
            break;
        }
        if now.saturating_duration_since(next_at) > MAX_SCHEDULE_LAG {
            skips += 1;
            next_at = now;
        }
        max_lag = max_lag.max(now.saturating_duration_since(next_at));
        generator.with(|state| {
            while next_at <= now {
                state.send_signal(turn);
                turn = (turn + 1) % state.participants.len();
                next_at += interval;
            }
        })?;
    }
    let mut result = stop(generator).await?;
    result["skips"] = json!(skips);
    result["maxLagMs"] = json!(max_lag.as_secs_f64() * 1000.0);
    Ok(result)
}

/// Counts the signals that never arrived, then leaves and waits for every
/// socket to close, and returns the report of the checks.
async fn finish(generator: &Rc<Generator>) -> anyhow::Result<Value> {
    let lost = generator.with(|state| {
        let lost: u64 = state
            .links
            .iter()
            .map(|link| link.missing.len() as u64 + link.sent.saturating_sub(link.expected - 1))
            .sum();
        if lost > 0 {
            state.record_error(
                "signal lost",
                format!("{lost} signals sent were never received"),
            );
        }
        state.mode = Mode::Closing;
        for index in 0..state.participants.len() {
            if state.participants[index].closed {
                continue;
            }
            match state.protocol {
                // The server replies to `leave` with a close frame with code 1000.
                Protocol::VideoLocal => state.queue_text(index, br#"{"type":"leave"}"#),
                // The PeerJS client's `destroy()` closes the socket.
                Protocol::PeerJs => state.queue_close(index, 1000),
            }
        }
        lost
    })?;
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    while Instant::now() < deadline
        && generator.with(|state| state.participants.iter().any(|p| !p.closed))?
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    generator.with(|state| {
        let open = state.participants.iter().filter(|p| !p.closed).count();
        if open > 0 {
            let detail = format!("{open} sockets open {CLOSE_TIMEOUT:?} after leaving");
            state.record_error("socket still open after leaving", detail);
        }
        let bad_close = state
            .participants
            .iter()
            .find(|p| p.close_code.is_some_and(|code| code != 1000))
            .map(|p| format!("{}: {:?}", p.name, p.close_code));
        if let Some(detail) = bad_close {
            state.record_error("close code is not 1000", detail);
        }
        state.mode = Mode::Closed;
        let sent: u64 = state.links.iter().map(|link| link.sent).sum();
        let errors: Vec<Value> = state
            .errors
            .iter()
            .map(|(kind, entry)| json!({ "kind": kind, "count": entry.count, "examples": entry.examples }))
            .collect();
        let sizes = &state.sizes;
        json!({
            "sent": sent,
            "lost": lost,
            "sizes": {
                "descriptions": sizes.descriptions,
                "descriptionBytes": sizes.description_bytes,
                "candidates": sizes.candidates,
                "candidateBytes": sizes.candidate_bytes,
            },
            "errors": errors,
        })
    })
}
