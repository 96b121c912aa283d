//! Drives the signaling function's handler through whole calls and records
//! the DynamoDB and Management API calls of every event, by kind of event.

use std::collections::BTreeMap;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use serde_json::{Value, json};
use video_core::link::LinkKey;
use video_core::room::CreateRoomRequest;
use video_core::store::RoomStore;
use video_core::store::dynamodb::DynamoRooms;
use video_core::turn::{TurnSecret, TurnServer};

use crate::aws::{Aws, CONNECTIONS_TABLE, ROOMS_TABLE};
use crate::counting::Tally;
use crate::management::{Management, ManagementCounts};

/// Distribution of a call's events over Lambda instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instances {
    /// Every event goes to the same instance, as with one warm instance.
    One,
    /// Every event gets a new instance, the worst case for anything kept
    /// in an instance's memory.
    FreshPerEvent,
}

impl Instances {
    pub fn label(self) -> &'static str {
        match self {
            Self::One => "one warm instance",
            Self::FreshPerEvent => "a new instance per event",
        }
    }
}

/// Kinds of events, in the order the report lists them.
pub const CONNECT: &str = "$connect";
pub const CHECK: &str = "check";
pub const JOIN: &str = "join";
pub const SIGNAL: &str = "signal (relayed)";
pub const PING: &str = "ping";
pub const ICE_SERVERS: &str = "ice-servers";
pub const LOST: &str = "$disconnect (socket lost)";
pub const RESUME: &str = "join with resume";
pub const LEAVE: &str = "leave";
pub const DISCONNECT: &str = "$disconnect (after leave)";

/// Calls of one kind of event, summed over its events.
#[derive(Debug, Clone, Default)]
pub struct EventCounts {
    pub events: u64,
    pub dynamodb: Tally,
    pub management: ManagementCounts,
}

impl EventCounts {
    pub fn add(&mut self, other: &EventCounts) {
        self.events += other.events;
        self.dynamodb.add(&other.dynamodb);
        self.management.add(&other.management);
    }
}

/// Counts of one call, by event kind. Joins are also kept per position
/// (`join 3/8` is the third participant of a room of eight).
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    pub participants: usize,
    pub by_event: BTreeMap<String, EventCounts>,
}

/// Messages the client sends per pair: see [`Exchange::messages_per_pair`].
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    /// ICE candidates each side trickles to the other, before the `null`
    /// that ends them.
    pub candidates_per_side: usize,
}

impl Exchange {
    /// One offer, one answer, and each side's candidates plus its
    /// end-of-candidates marker.
    pub fn messages_per_pair(&self) -> usize {
        2 + 2 * (self.candidates_per_side + 1)
    }
}

/// The handler's environment: the tables, the stand-in and the link key.
pub struct Bench {
    aws: Aws,
    management: Management,
    settings: signaling::Settings,
    links: LinkKey,
}

/// One participant: its current connection, and its peer id and resume key
/// from `joined`.
struct Participant {
    connection: String,
    peer_id: String,
    resume_key: String,
}

/// Builds a fake SDP of a typical size for audio, video and a data channel,
/// about 5 KB. The server relays it without reading it.
fn sdp(kind: &str) -> String {
    let mut text = format!(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\nx-kind:{kind}\r\n"
    );
    while text.len() < 5000 {
        text.push_str("a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\n");
    }
    text
}

/// Builds the `data` of a signal that carries one ICE candidate.
fn candidate(index: usize) -> Value {
    json!({"candidate": {
        "candidate": format!("candidate:{index} 1 udp 2122260223 192.0.2.{} 5{index:04} typ host generation 0", index % 250 + 1),
        "sdpMid": "0",
        "sdpMLineIndex": 0
    }})
}

/// Builds a WebSocket route event as API Gateway sends it.
fn event(route: &str, connection: &str, body: Option<&str>) -> Value {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let mut event = json!({
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": "ext-1",
            "requestTime": "04/Dec/2026:10:00:00 +0000",
            "messageDirection": "IN",
            "stage": "prod",
            "connectedAt": 1_796_378_400_000_i64,
            "requestTimeEpoch": 1_796_378_400_500_i64,
            "identity": {"sourceIp": "192.0.2.7"},
            "requestId": "request-1",
            "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
            "connectionId": connection,
            "apiId": "abc123"
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

impl Bench {
    pub async fn start() -> anyhow::Result<Self> {
        let aws = Aws::start().await;
        let management = Management::start().await?;
        let links = LinkKey::generate();
        // TURN is set as in production, so `ice-servers` reads the room to
        // limit the credentials to the room's day.
        let turn = TurnServer::new(
            vec!["turn:127.0.0.1:3478?transport=udp".to_owned()],
            TurnSecret::new("a-turn-secret-for-the-benchmark-only-0123456789")
                .map_err(anyhow::Error::msg)?,
        )
        .map_err(anyhow::Error::msg)?;
        let settings = signaling::Settings {
            rooms_table: ROOMS_TABLE.to_owned(),
            connections_table: CONNECTIONS_TABLE.to_owned(),
            link_key: links.clone(),
            callback_url: Some(management.callback_url.clone()),
            allowed_origin: None,
            ice_servers: Vec::new(),
            turn: Some(turn),
            away_grace: video_core::signaling::AWAY_GRACE,
        };
        Ok(Self {
            aws,
            management,
            settings,
            links,
        })
    }

    fn handler(&self) -> signaling::Handler {
        signaling::Handler::new(
            self.settings.clone(),
            self.aws.dynamodb.clone(),
            video_tests::aws::management_config(),
        )
    }

    /// Creates a room of today in a zone where it is daytime and returns
    /// its link token.
    async fn create_room(&self) -> anyhow::Result<String> {
        let zone = video_tests::daytime_zone();
        let request = CreateRoomRequest {
            date: Some(video_core::validity::today_in(zone, chrono::Utc::now()).to_string()),
            time_zone: Some(zone.name().to_owned()),
            ..Default::default()
        };
        let room = request
            .into_room("dr-bench", chrono::Utc::now(), Default::default())
            .map_err(anyhow::Error::msg)?;
        DynamoRooms::new(self.aws.dynamodb.clone(), ROOMS_TABLE)
            .insert(&room)
            .await?;
        Ok(self.links.token_for(&room.id, &room.link_salt))
    }

    /// Runs one call of `participants` people and returns its counts.
    pub async fn run_call(
        &self,
        participants: usize,
        instances: Instances,
        exchange: Exchange,
        pings_per_participant: usize,
    ) -> anyhow::Result<CallRecord> {
        let token = self.create_room().await?;
        let warm = self.handler();
        let mut call = Call {
            bench: self,
            warm: &warm,
            instances,
            record: CallRecord {
                participants,
                ..CallRecord::default()
            },
            prefix: video_core::random::random_id(),
        };

        // Each newcomer connects, checks its link as the join page does,
        // joins, and offers to everyone present.
        let mut people: Vec<Participant> = Vec::new();
        for position in 0..participants {
            let connection = call.connection(position, 0);
            call.send(CONNECT, "$connect", &connection, None).await?;
            let check = json!({"type": "check", "v": 1, "token": token}).to_string();
            call.send(CHECK, "$default", &connection, Some(&check))
                .await?;
            let join = json!({"type": "join", "v": 1, "token": token, "name": format!("Person {position}")})
                .to_string();
            let label = format!("{JOIN} {}/{participants}", position + 1);
            call.send(&label, "$default", &connection, Some(&join))
                .await?;
            let joined = self.expect_joined(&connection)?;
            let newcomer = Participant {
                connection,
                peer_id: joined["peerId"].as_str().unwrap_or_default().to_owned(),
                resume_key: joined["resumeKey"].as_str().unwrap_or_default().to_owned(),
            };
            for present in &people {
                call.negotiate(&newcomer, present, exchange).await?;
            }
            people.push(newcomer);
        }

        for person in &people {
            call.send(
                ICE_SERVERS,
                "$default",
                &person.connection,
                Some(r#"{"type":"ice-servers"}"#),
            )
            .await?;
        }
        for _ in 0..pings_per_participant {
            for person in &people {
                call.send(
                    PING,
                    "$default",
                    &person.connection,
                    Some(r#"{"type":"ping"}"#),
                )
                .await?;
            }
        }

        // The second participant's socket drops and it resumes on a new one.
        // A signal then reaches it there.
        let resumed = 1.min(participants - 1);
        let old = people[resumed].connection.clone();
        call.send(LOST, "$disconnect", &old, None).await?;
        let new = call.connection(resumed, 1);
        call.send(CONNECT, "$connect", &new, None).await?;
        let resume = json!({
            "type": "join", "v": 1, "token": token, "name": "Person resumed",
            "resume": {"peerId": people[resumed].peer_id, "key": people[resumed].resume_key}
        })
        .to_string();
        call.send(RESUME, "$default", &new, Some(&resume)).await?;
        let joined = self.expect_joined(&new)?;
        anyhow::ensure!(
            joined["peerId"] == json!(people[resumed].peer_id),
            "the resume did not keep the peer id: {joined}"
        );
        people[resumed].connection = new;
        let other = if resumed == 0 { 1 } else { 0 };
        if other < participants {
            call.signal(&people[other], &people[resumed], candidate(999))
                .await?;
        }

        for person in &people {
            call.send(
                LEAVE,
                "$default",
                &person.connection,
                Some(r#"{"type":"leave"}"#),
            )
            .await?;
            call.send(DISCONNECT, "$disconnect", &person.connection, None)
                .await?;
        }
        Ok(call.record)
    }

    fn expect_joined(&self, connection: &str) -> anyhow::Result<Value> {
        let reply = self
            .management
            .last_message(connection)
            .ok_or_else(|| anyhow::anyhow!("no reply to join on {connection}"))?;
        anyhow::ensure!(reply["type"] == "joined", "join failed: {reply}");
        Ok(reply)
    }
}

/// One call in progress.
struct Call<'a> {
    bench: &'a Bench,
    warm: &'a signaling::Handler,
    instances: Instances,
    record: CallRecord,
    prefix: String,
}

impl Call<'_> {
    fn connection(&self, position: usize, socket: usize) -> String {
        format!("{}-p{position}-s{socket}", self.prefix)
    }

    /// Sends one event and records its calls under `label`.
    async fn send(
        &mut self,
        label: &str,
        route: &str,
        connection: &str,
        body: Option<&str>,
    ) -> anyhow::Result<()> {
        let request: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(event(route, connection, body))?;
        let fresh;
        let handler = match self.instances {
            Instances::One => self.warm,
            Instances::FreshPerEvent => {
                fresh = self.bench.handler();
                &fresh
            }
        };
        let dynamodb_before = self.bench.aws.counter.snapshot();
        let management_before = self.bench.management.counts();
        let status = handler.handle(request).await.status_code;
        anyhow::ensure!(status == 200, "{label} on {connection} returned {status}");
        let counts = EventCounts {
            events: 1,
            dynamodb: self.bench.aws.counter.snapshot().since(&dynamodb_before),
            management: self.bench.management.counts().since(&management_before),
        };
        self.record
            .by_event
            .entry(label.to_owned())
            .or_default()
            .add(&counts);
        Ok(())
    }

    async fn signal(
        &mut self,
        from: &Participant,
        to: &Participant,
        data: Value,
    ) -> anyhow::Result<()> {
        let body = json!({"type": "signal", "to": to.peer_id, "data": data}).to_string();
        self.send(SIGNAL, "$default", &from.connection, Some(&body))
            .await?;
        let relayed = self
            .bench
            .management
            .last_message(&to.connection)
            .unwrap_or_default();
        anyhow::ensure!(
            relayed["type"] == "signal",
            "a signal did not arrive: {relayed}"
        );
        Ok(())
    }

    /// The newcomer offers, the present participant answers, and both
    /// trickle their candidates and end them with `null`.
    async fn negotiate(
        &mut self,
        newcomer: &Participant,
        present: &Participant,
        exchange: Exchange,
    ) -> anyhow::Result<()> {
        let offer = json!({"description": {"type": "offer", "sdp": sdp("offer")}});
        self.signal(newcomer, present, offer).await?;
        let answer = json!({"description": {"type": "answer", "sdp": sdp("answer")}});
        self.signal(present, newcomer, answer).await?;
        for index in 0..exchange.candidates_per_side {
            self.signal(newcomer, present, candidate(index)).await?;
            self.signal(present, newcomer, candidate(index)).await?;
        }
        self.signal(newcomer, present, json!({"candidate": null}))
            .await?;
        self.signal(present, newcomer, json!({"candidate": null}))
            .await?;
        Ok(())
    }
}
