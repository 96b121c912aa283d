//! The signaling protocol on API Gateway WebSocket routes. `$connect` only
//! checks the origin and the link-guessing throttle (nothing may be posted
//! to a connection before it is established), `$default` carries protocol
//! messages, and `$disconnect` removes the participant. Each message is its
//! own invocation.

pub mod link_throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::http::{HeaderValue, header};
use serde_json::Value;
use video_core::clock::{Clock, SystemClock};
use video_core::http::auth::ThrottlePolicy;
use video_core::link::LinkKey;
use video_core::signaling::apigateway::{ApiGatewayPush, callback_url};
use video_core::signaling::protocol::{ErrorCode, ServerMessage};
use video_core::signaling::{Push, Signaling};
use video_core::store::dynamodb::{DynamoParticipants, DynamoRooms};
use video_core::store::dynamodb_link_failures::DynamoLinkFailures;
use video_core::turn::TurnServer;

use link_throttle::{LinkThrottle, ThrottledPush};

/// Settings read once per process from the function's environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rooms_table: String,
    pub connections_table: String,
    pub link_key: LinkKey,
    /// Management API endpoint for a custom domain, including its base path.
    /// Without it the endpoint is built from the event's domain and stage.
    pub callback_url: Option<String>,
    /// Origin of the web client (`https://video.example.org`); browsers from
    /// other origins are rejected at `$connect`.
    pub allowed_origin: Option<String>,
    /// ICE servers passed to clients in `joined` when `turn` is not set.
    pub ice_servers: Vec<Value>,
    /// The TURN server whose credentials clients get in `joined`; read by
    /// `main` from `TURN_URLS` and `TURN_SECRET_ARN`.
    pub turn: Option<TurnServer>,
    /// How long the place of a participant whose socket closed stays
    /// reserved for its return; `video_core::signaling::AWAY_GRACE` except
    /// in tests.
    pub away_grace: std::time::Duration,
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("environment variable {name} is missing"))
}

impl Settings {
    /// Reads `ROOMS_TABLE`, `CONNECTIONS_TABLE` and optionally
    /// `CALLBACK_URL` and `ALLOWED_ORIGIN`.
    pub fn from_env(link_key: LinkKey) -> anyhow::Result<Self> {
        let optional = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Ok(Self {
            rooms_table: required("ROOMS_TABLE")?,
            connections_table: required("CONNECTIONS_TABLE")?,
            link_key,
            callback_url: optional("CALLBACK_URL").map(|url| url.trim_end_matches('/').to_owned()),
            allowed_origin: optional("ALLOWED_ORIGIN")
                .map(|url| url.trim_end_matches('/').to_owned()),
            ice_servers: Vec::new(),
            turn: None,
            away_grace: video_core::signaling::AWAY_GRACE,
        })
    }
}

/// State shared by all invocations of one process: the DynamoDB client and
/// one Management API client per callback endpoint.
pub struct Handler {
    settings: Settings,
    rooms: Arc<DynamoRooms>,
    participants: Arc<DynamoParticipants>,
    link_failures: Arc<DynamoLinkFailures>,
    link_throttle: Arc<LinkThrottle>,
    clock: Arc<dyn Clock>,
    management: aws_sdk_apigatewaymanagement::config::Builder,
    pushers: Mutex<HashMap<String, Arc<ApiGatewayPush>>>,
}

fn response(status_code: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status_code;
    response
}

/// Builds the 429 reply to `$connect` of a client that has sent too many
/// invalid links, with `Retry-After` in whole seconds, rounded up.
fn too_many_attempts(remaining: chrono::Duration) -> ApiGatewayProxyResponse {
    let millis = remaining.num_milliseconds().max(1);
    let seconds = (millis + 999) / 1000;
    let mut response = response(429);
    response
        .headers
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

impl Handler {
    /// `management` is the base configuration of the Management API client;
    /// the endpoint is set per callback URL.
    pub fn new(
        settings: Settings,
        dynamodb: aws_sdk_dynamodb::Client,
        management: aws_sdk_apigatewaymanagement::config::Builder,
    ) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let link_failures = Arc::new(DynamoLinkFailures::new(
            dynamodb.clone(),
            settings.connections_table.clone(),
        ));
        Self {
            rooms: Arc::new(DynamoRooms::new(
                dynamodb.clone(),
                settings.rooms_table.clone(),
            )),
            participants: Arc::new(DynamoParticipants::new(
                dynamodb,
                settings.connections_table.clone(),
            )),
            link_throttle: Self::link_throttle(&settings, &link_failures, &clock),
            link_failures,
            clock,
            settings,
            management,
            pushers: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the system clock, for tests that move time forward, such as
    /// into the throttle's next window.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.link_throttle = Self::link_throttle(&self.settings, &self.link_failures, &clock);
        self.clock = clock;
        self
    }

    /// Builds the throttle with the local server's limit of 20 invalid links
    /// per minute.
    fn link_throttle(
        settings: &Settings,
        link_failures: &Arc<DynamoLinkFailures>,
        clock: &Arc<dyn Clock>,
    ) -> Arc<LinkThrottle> {
        Arc::new(LinkThrottle::new(
            link_failures.clone(),
            settings.link_key.clone(),
            ThrottlePolicy::default(),
            clock.clone(),
        ))
    }

    fn pusher(&self, endpoint: &str) -> Arc<ApiGatewayPush> {
        let mut pushers = self
            .pushers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pusher = pushers.entry(endpoint.to_owned()).or_insert_with(|| {
            let config = self.management.clone().endpoint_url(endpoint).build();
            Arc::new(ApiGatewayPush::new(
                aws_sdk_apigatewaymanagement::Client::from_conf(config),
            ))
        });
        Arc::clone(pusher)
    }

    fn signaling(&self, push: Arc<dyn Push>) -> Signaling {
        Signaling {
            rooms: self.rooms.clone(),
            participants: self.participants.clone(),
            push,
            links: self.settings.link_key.clone(),
            clock: self.clock.clone(),
            ice_servers: self.settings.ice_servers.clone(),
            turn: self.settings.turn.clone(),
            away_grace: self.settings.away_grace,
        }
    }

    fn origin_allowed(&self, request: &ApiGatewayWebsocketProxyRequest) -> bool {
        let Some(allowed) = &self.settings.allowed_origin else {
            return true;
        };
        match request
            .headers
            .get("origin")
            .and_then(|value| value.to_str().ok())
        {
            // Clients that are not browsers send no Origin; they still need a
            // link token to join.
            None => true,
            Some(origin) => origin.trim_end_matches('/').eq_ignore_ascii_case(allowed),
        }
    }

    /// Handles one WebSocket route event and returns the integration response.
    pub async fn handle(
        &self,
        request: ApiGatewayWebsocketProxyRequest,
    ) -> ApiGatewayProxyResponse {
        let context = &request.request_context;
        let route = context.route_key.as_deref().unwrap_or("$default");
        let Some(connection_id) = context.connection_id.as_deref() else {
            tracing::warn!(route, "event without connectionId");
            return response(400);
        };
        let endpoint = match (
            &self.settings.callback_url,
            &context.domain_name,
            &context.stage,
        ) {
            (Some(url), _, _) => url.clone(),
            (None, Some(domain), Some(stage)) => callback_url(domain, stage),
            _ => {
                tracing::warn!(route, connection_id, "event without domainName or stage");
                return response(400);
            }
        };

        match route {
            "$connect" => {
                if !self.origin_allowed(&request) {
                    tracing::warn!(connection_id, "connection rejected: Origin not allowed");
                    return response(403);
                }
                // NOTE: sockets opened before the limit was reached are not
                // checked again. Each can still send links until its first
                // invalid one closes it.
                let client = self
                    .link_throttle
                    .client_tag(context.identity.source_ip.as_deref());
                match self.link_throttle.blocked_for(&client).await {
                    Some(remaining) => {
                        // Debug only: a guessing client repeats this for every
                        // socket, and the block itself is logged once as a
                        // warning when it starts.
                        tracing::debug!(
                            connection_id,
                            "connection rejected: too many invalid links from this client"
                        );
                        too_many_attempts(remaining)
                    }
                    None => response(200),
                }
            }
            "$disconnect" => {
                tracing::info!(
                    connection_id,
                    status = context.disconnect_status_code,
                    "connection closed"
                );
                if let Err(error) = self
                    .signaling(self.pusher(&endpoint))
                    .handle_disconnect(connection_id)
                    .await
                {
                    tracing::error!(connection_id, error = %error, source = ?std::error::Error::source(&error), "cleanup after disconnect failed");
                    return response(500);
                }
                response(200)
            }
            _ => {
                let client = self
                    .link_throttle
                    .client_tag(context.identity.source_ip.as_deref());
                let signaling = self.signaling(Arc::new(ThrottledPush::new(
                    self.pusher(&endpoint),
                    self.link_throttle.clone(),
                    client,
                )));
                if request.is_base64_encoded {
                    let error = ServerMessage::error(
                        ErrorCode::InvalidMessage,
                        "binary messages are not supported; send JSON text",
                    );
                    let _ = signaling.push.send(connection_id, &error.to_json()).await;
                    return response(200);
                }
                let body = request.body.as_deref().unwrap_or_default();
                // Errors were already logged and sent to the client.
                match signaling.handle_message(connection_id, body).await {
                    Ok(()) => response(200),
                    Err(_) => response(500),
                }
            }
        }
    }
}
