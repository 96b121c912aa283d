//! The invitation run on Lambda. EventBridge Scheduler invokes it every 15
//! minutes, possibly more than once, and the input is ignored. The core
//! decides what is due: invitations whose send time (default 06:00 in the
//! room's zone) has come, failed sends to try again, and email addresses of
//! past days to erase.

use std::sync::Arc;

use video_core::clock::SystemClock;
use video_core::env::{MailSettings, required};
use video_core::link::LinkKey;
use video_core::mail::ses::SesMailer;
use video_core::morning::{Invitations, RunReport};
use video_core::store::StoreError;
use video_core::store::dynamodb::DynamoRooms;

/// Settings read once per process from the function's environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rooms_table: String,
    pub link_key: LinkKey,
    pub public_url: String,
    pub mail: MailSettings,
}

impl Settings {
    /// Reads `ROOMS_TABLE`, `PUBLIC_URL` and the mail settings of
    /// [`MailSettings::from_env`].
    pub fn from_env(link_key: LinkKey) -> anyhow::Result<Self> {
        Ok(Self {
            rooms_table: required("ROOMS_TABLE").map_err(anyhow::Error::msg)?,
            link_key,
            public_url: required("PUBLIC_URL")
                .map_err(anyhow::Error::msg)?
                .trim_end_matches('/')
                .to_owned(),
            mail: MailSettings::from_env().map_err(anyhow::Error::msg)?,
        })
    }
}

/// Builds the run from settings and SDK clients made once per process.
pub fn invitations(
    settings: &Settings,
    dynamodb: aws_sdk_dynamodb::Client,
    ses: aws_sdk_sesv2::Client,
) -> Invitations {
    Invitations::new(
        Arc::new(DynamoRooms::new(dynamodb, settings.rooms_table.clone())),
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
        Arc::new(SystemClock),
        settings.mail.policy,
    )
}

/// Handles one invocation with any JSON input and returns the run's counts.
/// `deadline` is the invocation's deadline; the run stops claiming emails
/// shortly before it.
pub async fn handle(
    run: &Invitations,
    _input: serde_json::Value,
    deadline: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<RunReport, StoreError> {
    run.run_until(deadline).await
}
