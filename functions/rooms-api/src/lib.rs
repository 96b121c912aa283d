//! The rooms API on Lambda: the core's router behind an API Gateway HTTP API
//! whose JWT authorizer has already checked the caller's token.

use std::sync::Arc;

use lambda_http::request::RequestContext;
use video_core::clock::SystemClock;
use video_core::http::auth::Authenticate;
use video_core::http::{AppState, router};
use video_core::link::LinkKey;
use video_core::store::dynamodb::DynamoRooms;

/// Reads the practitioner id from a claim of the JWT that API Gateway's
/// authorizer verified. Requests without that claim get 401.
#[derive(Debug, Clone)]
pub struct JwtClaim {
    pub claim: String,
}

impl Authenticate for JwtClaim {
    fn practitioner(&self, parts: &axum::http::request::Parts) -> Option<String> {
        let context = parts.extensions.get::<RequestContext>()?;
        let RequestContext::ApiGatewayV2(context) = context else {
            return None;
        };
        let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
        claims
            .get(&self.claim)
            .filter(|value| {
                !value.is_empty()
                    && value.len() <= 128
                    && value.bytes().all(|b| b.is_ascii_graphic())
            })
            .cloned()
    }
}

/// Settings read once per process from the function's environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rooms_table: String,
    pub public_url: String,
    pub link_key: LinkKey,
    pub practitioner_claim: String,
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("environment variable {name} is missing"))
}

impl Settings {
    /// Reads `ROOMS_TABLE`, `PUBLIC_URL`, and optionally `PRACTITIONER_CLAIM`
    /// (default `sub`).
    pub fn from_env(link_key: LinkKey) -> anyhow::Result<Self> {
        Ok(Self {
            rooms_table: required("ROOMS_TABLE")?,
            public_url: required("PUBLIC_URL")?.trim_end_matches('/').to_owned(),
            link_key,
            practitioner_claim: std::env::var("PRACTITIONER_CLAIM")
                .unwrap_or_else(|_| "sub".to_owned()),
        })
    }
}

/// Builds the router with the DynamoDB room store.
pub fn app(settings: &Settings, dynamodb: aws_sdk_dynamodb::Client) -> axum::Router {
    let state = AppState {
        rooms: Arc::new(DynamoRooms::new(dynamodb, settings.rooms_table.clone())),
        auth: Arc::new(JwtClaim {
            claim: settings.practitioner_claim.clone(),
        }),
        links: settings.link_key.clone(),
        clock: Arc::new(SystemClock),
        public_url: settings.public_url.clone(),
        local_signaling: None,
        signaling_url: None,
    };
    router(state)
}
