//! The morning run on Lambda. EventBridge Scheduler invokes it, possibly more
//! than once; the input is ignored and the core decides what is due.

use std::sync::Arc;
use std::time::Duration;

use video_core::clock::SystemClock;
use video_core::link::LinkKey;
use video_core::mail::ses::SesMailer;
use video_core::morning::{MorningRun, RunReport};
use video_core::store::StoreError;
use video_core::store::dynamodb::{DynamoParticipants, DynamoRooms};

/// Settings read once per process from the function's environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rooms_table: String,
    /// The connections table, which also contains the delivery state.
    pub connections_table: String,
    pub link_key: LinkKey,
    pub public_url: String,
    /// Verified SES sender address, e.g. `video@praxis-weber.de`.
    pub mail_from: String,
    pub practice_name: Option<String>,
    pub configuration_set: Option<String>,
    pub send_interval: Duration,
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("environment variable {name} is missing"))
}

impl Settings {
    /// Reads `ROOMS_TABLE`, `CONNECTIONS_TABLE`, `PUBLIC_URL`,
    /// `MAIL_FROM` and optionally `PRACTICE_NAME`, `SES_CONFIGURATION_SET`
    /// and `SEND_INTERVAL_MS` (default 1000, the SES sandbox rate).
    pub fn from_env(link_key: LinkKey) -> anyhow::Result<Self> {
        let optional = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let send_interval_ms = match optional("SEND_INTERVAL_MS") {
            Some(text) => text.parse().map_err(|_| {
                anyhow::anyhow!(
                    "SEND_INTERVAL_MS must be a whole number of milliseconds, got {text:?}"
                )
            })?,
            None => 1000,
        };
        Ok(Self {
            rooms_table: required("ROOMS_TABLE")?,
            connections_table: required("CONNECTIONS_TABLE")?,
            link_key,
            public_url: required("PUBLIC_URL")?.trim_end_matches('/').to_owned(),
            mail_from: required("MAIL_FROM")?,
            practice_name: optional("PRACTICE_NAME"),
            configuration_set: optional("SES_CONFIGURATION_SET"),
            send_interval: Duration::from_millis(send_interval_ms),
        })
    }
}

/// Builds the morning run from settings and SDK clients made once per process.
pub fn morning_run(
    settings: &Settings,
    dynamodb: aws_sdk_dynamodb::Client,
    ses: aws_sdk_sesv2::Client,
) -> MorningRun {
    MorningRun {
        rooms: Arc::new(DynamoRooms::new(
            dynamodb.clone(),
            settings.rooms_table.clone(),
        )),
        deliveries: Arc::new(DynamoParticipants::new(
            dynamodb,
            settings.connections_table.clone(),
        )),
        mailer: Arc::new(SesMailer::new(
            ses,
            settings.mail_from.clone(),
            settings.configuration_set.clone(),
        )),
        links: settings.link_key.clone(),
        public_url: settings.public_url.clone(),
        practice_name: settings.practice_name.clone(),
        clock: Arc::new(SystemClock),
        send_interval: settings.send_interval,
        // The schedule decides when the run starts.
        send_after: chrono::NaiveTime::MIN,
    }
}

/// Handles one invocation with any JSON input and returns the run's counts.
pub async fn handle(run: &MorningRun, _input: serde_json::Value) -> Result<RunReport, StoreError> {
    run.run().await
}
