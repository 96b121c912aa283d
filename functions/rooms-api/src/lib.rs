//! The rooms API on Lambda: the core's router behind an API Gateway HTTP API
//! whose JWT authorizer has already checked the caller's token.

use std::sync::Arc;

use lambda_http::request::RequestContext;
use video_core::clock::SystemClock;
use video_core::env::{MailSettings, optional, required};
use video_core::http::auth::Authenticate;
use video_core::http::{AppState, router};
use video_core::link::LinkKey;
use video_core::mail::ses::SesMailer;
use video_core::morning::{Invitations, SendPolicy};
use video_core::room::Retention;
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
    pub retention: Retention,
    /// For rooms that become due after the morning run, and resends.
    pub mail: MailSettings,
}

impl Settings {
    /// Reads `ROOMS_TABLE`, `PUBLIC_URL`, optionally `PRACTITIONER_CLAIM`
    /// (default `sub`) and `RETENTION_DAYS` (default 8), and the mail
    /// settings of [`MailSettings::from_env`].
    pub fn from_env(link_key: LinkKey) -> anyhow::Result<Self> {
        Ok(Self {
            rooms_table: required("ROOMS_TABLE").map_err(anyhow::Error::msg)?,
            public_url: required("PUBLIC_URL")
                .map_err(anyhow::Error::msg)?
                .trim_end_matches('/')
                .to_owned(),
            link_key,
            practitioner_claim: optional("PRACTITIONER_CLAIM").unwrap_or_else(|| "sub".to_owned()),
            retention: video_core::env::retention().map_err(anyhow::Error::msg)?,
            mail: MailSettings::from_env().map_err(anyhow::Error::msg)?,
        })
    }
}

/// Builds the router with the DynamoDB room store and the SES mailer.
pub fn app(
    settings: &Settings,
    dynamodb: aws_sdk_dynamodb::Client,
    ses: aws_sdk_sesv2::Client,
) -> axum::Router {
    let rooms = Arc::new(DynamoRooms::new(dynamodb, settings.rooms_table.clone()));
    let clock = Arc::new(SystemClock);
    let invitations = Invitations::new(
        rooms.clone(),
        Arc::new(SesMailer::new(
            ses,
            video_core::mail::sender(
                &settings.mail.mail_from,
                settings.mail.practice_name.as_deref(),
            ),
            settings.mail.configuration_set.clone(),
        )),
        settings.link_key.clone(),
        settings.public_url.clone(),
        settings.mail.practice_name.clone(),
        clock.clone(),
        SendPolicy {
            // A throttled send in a request is left to the next emailer run
            // after one retry, so the practitioner does not wait long.
            throttle_retries: 1,
            ..settings.mail.policy
        },
    );
    let state = AppState {
        rooms: rooms.clone(),
        preferences: rooms,
        invitations: Arc::new(invitations),
        retention: settings.retention,
        auth: Arc::new(JwtClaim {
            claim: settings.practitioner_claim.clone(),
        }),
        links: settings.link_key.clone(),
        clock,
        public_url: settings.public_url.clone(),
        local_signaling: None,
        signaling_url: None,
        privacy: None,
    };
    router(state)
}
