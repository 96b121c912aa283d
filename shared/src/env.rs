//! Settings the Lambda functions read from their environment. Every reader
//! names the variable and the expected form when a value is wrong.

use chrono::NaiveTime;

use crate::morning::SendPolicy;
use crate::room::{DEFAULT_RETENTION_DAYS, Retention};

/// Reads a variable; `None` when it is unset or empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

pub fn required(name: &str) -> Result<String, String> {
    optional(name).ok_or_else(|| format!("environment variable {name} is missing"))
}

/// Reads `RETENTION_DAYS`, the days rooms are kept after their day (1 to
/// 90, default 8).
pub fn retention() -> Result<Retention, String> {
    parse_retention(optional("RETENTION_DAYS"))
}

/// Parses a value of `RETENTION_DAYS`; `None` means the default.
pub fn parse_retention(value: Option<String>) -> Result<Retention, String> {
    match value {
        None => Retention::days(DEFAULT_RETENTION_DAYS),
        Some(text) => {
            let days = text
                .trim()
                .parse()
                .map_err(|_| format!("RETENTION_DAYS must be a whole number, got {text:?}"))?;
            Retention::days(days).map_err(|error| format!("RETENTION_DAYS: {error}"))
        }
    }
}

/// Reads how invitations are sent from `SEND_AFTER` (local `HH:MM` in each
/// room's zone; default 06:00) and `MAIL_RATE` (messages per second;
/// default 1, the SES sandbox rate).
pub fn send_policy() -> Result<SendPolicy, String> {
    let mut policy = SendPolicy::default();
    if let Some(text) = optional("SEND_AFTER") {
        policy.send_after = NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map_err(|_| format!("SEND_AFTER must be HH:MM such as 06:00, got {text:?}"))?;
    }
    let rate = match optional("MAIL_RATE") {
        None => 1.0,
        Some(text) => text.trim().parse().map_err(|_| {
            format!("MAIL_RATE must be messages per second such as 1 or 14, got {text:?}")
        })?,
    };
    policy.interval =
        SendPolicy::interval_for_rate(rate).map_err(|error| format!("MAIL_RATE: {error}"))?;
    Ok(policy)
}

/// The sender's settings shared by the functions that send invitations.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Verified SES sender address, e.g. `video@praxis-weber.de`.
    pub mail_from: String,
    /// The practice's name in invitations and before the sender address.
    pub practice_name: Option<String>,
    pub configuration_set: Option<String>,
    pub policy: SendPolicy,
}

impl MailSettings {
    /// Reads `MAIL_FROM`, and optionally `PRACTICE_NAME`,
    /// `SES_CONFIGURATION_SET`, `SEND_AFTER` and `MAIL_RATE`.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            mail_from: required("MAIL_FROM")?,
            practice_name: parse_practice_name(optional("PRACTICE_NAME"))?,
            configuration_set: optional("SES_CONFIGURATION_SET"),
            policy: send_policy()?,
        })
    }
}

/// Parses a value of `PRACTICE_NAME`; `None` means that no name is set.
pub fn parse_practice_name(value: Option<String>) -> Result<Option<String>, String> {
    value
        .map(|name| {
            crate::mail::check_practice_name(&name)
                .map_err(|error| format!("PRACTICE_NAME: {error}"))
        })
        .transpose()
}

/// Attempts of every AWS SDK call, the first included. The SDK's standard
/// retry mode waits with exponential backoff and jitter between them and
/// retries throttling, 5xx responses and dropped connections only, so a
/// conditional write that lost a race is never repeated by it.
pub const AWS_MAX_ATTEMPTS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn practice_name_variable_is_checked() {
        assert_eq!(parse_practice_name(None), Ok(None));
        assert_eq!(
            parse_practice_name(Some(" Praxis Weber ".to_owned())),
            Ok(Some("Praxis Weber".to_owned()))
        );
        let error = parse_practice_name(Some("Praxis\nBcc: x@example.org".to_owned())).unwrap_err();
        assert!(error.starts_with("PRACTICE_NAME: "), "{error}");
    }
}
