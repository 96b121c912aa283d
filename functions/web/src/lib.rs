//! The browser client on Lambda: the same files, `/config.json`, privacy
//! page and security headers as the local server, with the WebSocket API's
//! address and the privacy page's facts from the environment.

use std::sync::Arc;

use anyhow::anyhow;
use video_core::http::web::{WebSettings, router};
use video_core::privacy::{Hosting, OperatorField, OperatorSettings, PrivacyFacts, PrivacyPage};

/// Maximum log retention that CloudWatch Logs accepts, in days (10 years,
/// per `retentionInDays` of PutRetentionPolicy).
const MAX_LOG_RETENTION_DAYS: u32 = 3653;

/// Reads the settings from the process environment, as [`settings_from`]
/// describes.
pub fn settings_from_env() -> anyhow::Result<WebSettings> {
    settings_from(video_core::env::optional)
}

/// Builds the settings from `variable`, which returns the value of an
/// environment variable, or `None` when it is unset or empty:
///
/// - `PUBLIC_URL` and `SIGNALING_URL` (`wss://…/{stage}`), required;
/// - `AWS_REGION` (set by Lambda) and `LOG_RETENTION_DAYS`, required, and
///   `RETENTION_DAYS` (default 8), which the privacy page states;
/// - `TURN_URLS`: when set, the privacy page describes the relay;
/// - `OPERATOR_NAME`, `OPERATOR_ADDRESS`, `OPERATOR_EMAIL` and
///   `DATA_PROTECTION_OFFICER`, the operator's details on the privacy page.
pub fn settings_from(variable: impl Fn(&str) -> Option<String>) -> anyhow::Result<WebSettings> {
    let required = |name: &str| {
        variable(name).ok_or_else(|| anyhow!("environment variable {name} is missing"))
    };
    let public_url = required("PUBLIC_URL")?;
    let signaling_url = required("SIGNALING_URL")?;
    let region = parse_region(&required("AWS_REGION")?)?;
    let log_retention_days = parse_log_retention(&required("LOG_RETENTION_DAYS")?)?;
    let retention =
        video_core::env::parse_retention(variable("RETENTION_DAYS")).map_err(anyhow::Error::msg)?;
    let operator = OperatorSettings {
        name: variable("OPERATOR_NAME"),
        address: variable("OPERATOR_ADDRESS"),
        email: variable("OPERATOR_EMAIL"),
        data_protection_officer: variable("DATA_PROTECTION_OFFICER"),
    }
    .check()
    .map_err(|error| anyhow!(error.describe(variable_name)))?;
    if operator.is_none() {
        tracing::warn!(
            "no operator details configured; the privacy page at /privacy says so \
             (set the stack parameters OperatorName and OperatorAddress or OperatorEmail)"
        );
    }

    let page = PrivacyPage::new(&PrivacyFacts {
        operator,
        hosting: Hosting::Aws {
            region,
            log_retention_days,
            relay: variable("TURN_URLS").is_some(),
        },
        retention,
    });
    Ok(WebSettings::new(&public_url, Some(&signaling_url))?.with_privacy_page(Arc::new(page)))
}

fn variable_name(field: OperatorField) -> &'static str {
    match field {
        OperatorField::Name => "OPERATOR_NAME",
        OperatorField::Address => "OPERATOR_ADDRESS",
        OperatorField::Email => "OPERATOR_EMAIL",
        OperatorField::DataProtectionOfficer => "DATA_PROTECTION_OFFICER",
    }
}

/// Accepts a region code such as `eu-central-1`: lowercase letters, digits
/// and hyphens.
fn parse_region(text: &str) -> anyhow::Result<String> {
    let region = text.trim();
    let plain = (1..=32).contains(&region.len())
        && region
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if plain {
        Ok(region.to_owned())
    } else {
        Err(anyhow!(
            "AWS_REGION must be a region code such as eu-central-1, got {text:?}"
        ))
    }
}

fn parse_log_retention(text: &str) -> anyhow::Result<u32> {
    text.trim()
        .parse()
        .ok()
        .filter(|days| (1..=MAX_LOG_RETENTION_DAYS).contains(days))
        .ok_or_else(|| {
            anyhow!(
                "LOG_RETENTION_DAYS must be a whole number of days from 1 to \
                 {MAX_LOG_RETENTION_DAYS}, got {text:?}"
            )
        })
}

/// Builds the router of the web client.
pub fn app(settings: WebSettings) -> axum::Router {
    router(settings)
}
