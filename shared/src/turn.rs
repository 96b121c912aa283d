//! Short-lived credentials for the self-hosted TURN server (coturn with
//! `use-auth-secret`, the "TURN REST API" scheme).
//!
//! The username is `<expiry in unix seconds>:<random id>`, so it carries no
//! personal data, and the password is base64(HMAC-SHA1(shared secret,
//! username)). coturn computes the same password from the same secret and
//! rejects a username whose expiry has passed. No credential is stored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use crate::random::random_id;

type HmacSha1 = Hmac<Sha1>;

/// Credentials outlive the room's day by this much: a call that started
/// before midnight may go on, and the TURN server's clock may run ahead.
pub const CREDENTIAL_MARGIN: Duration = Duration::hours(3);

/// Shortest shared secret accepted, in characters.
pub const MIN_SECRET_CHARS: usize = 32;

/// The secret shared with coturn's `static-auth-secret`. Its `Debug` output
/// hides the value.
#[derive(Clone)]
pub struct TurnSecret(String);

impl std::fmt::Debug for TurnSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TurnSecret(..)")
    }
}

impl TurnSecret {
    /// Accepts a secret of at least [`MIN_SECRET_CHARS`] visible ASCII
    /// characters, the form coturn reads from its configuration file.
    pub fn new(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() < MIN_SECRET_CHARS || !text.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(format!(
                "the TURN secret must have at least {MIN_SECRET_CHARS} visible ASCII characters"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// Computes the password coturn expects for `username`.
    pub fn password_for(&self, username: &str) -> String {
        let mut mac =
            HmacSha1::new_from_slice(self.0.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(username.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// One username and password pair for the TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub password: String,
    pub expires_at: DateTime<Utc>,
}

/// The TURN server's addresses and shared secret.
#[derive(Debug, Clone)]
pub struct TurnServer {
    /// `stun:`, `turn:` and `turns:` URLs, such as
    /// `turns:turn.example.org:443?transport=tcp`.
    pub urls: Vec<String>,
    pub secret: TurnSecret,
}

impl TurnServer {
    /// Checks the URLs: each must use `stun:`, `turn:` or `turns:`, and at
    /// least one must be a TURN URL.
    pub fn new(urls: Vec<String>, secret: TurnSecret) -> Result<Self, String> {
        for url in &urls {
            let scheme_ok = ["stun:", "turn:", "turns:"]
                .iter()
                .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
            if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!(
                    "{url:?} is not a stun:, turn: or turns: URL such as turn:turn.example.org:3478"
                ));
            }
        }
        if !urls.iter().any(|url| url.starts_with("turn")) {
            return Err("at least one turn: or turns: URL is needed".to_owned());
        }
        Ok(Self { urls, secret })
    }

    /// Mints a credential valid until `expires_at`.
    pub fn credential(&self, expires_at: DateTime<Utc>) -> TurnCredential {
        let username = format!("{}:{}", expires_at.timestamp(), random_id());
        TurnCredential {
            password: self.secret.password_for(&username),
            username,
            expires_at,
        }
    }

    /// Builds the `iceServers` list for a participant of a room whose day
    /// ends at `day_end`: STUN URLs without credentials, TURN URLs with one
    /// credential valid to the day's end plus [`CREDENTIAL_MARGIN`], and at
    /// least [`CREDENTIAL_MARGIN`] from `now`.
    pub fn ice_servers(&self, day_end: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Value> {
        let expires_at = day_end.max(now) + CREDENTIAL_MARGIN;
        let credential = self.credential(expires_at);
        let (stun, turn): (Vec<&String>, Vec<&String>) =
            self.urls.iter().partition(|url| url.starts_with("stun:"));
        let mut servers = Vec::new();
        if !stun.is_empty() {
            servers.push(json!({ "urls": stun }));
        }
        servers.push(json!({
            "urls": turn,
            "username": credential.username,
            "credential": credential.password,
        }));
        servers
    }
}

/// Splits a comma-separated list of TURN URLs, as the Lambda functions get
/// it in `TURN_URLS`; blanks around entries are ignored.
pub fn parse_url_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Builds the TURN settings of a Lambda function from `urls` (the value of
/// `TURN_URLS`) and the Secrets Manager secret `secret_arn` (the value of
/// `TURN_SECRET_ARN`). Without URLs there is no TURN server; URLs without a
/// secret are an error.
#[cfg(feature = "secretsmanager")]
pub async fn turn_server_from_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    urls: &str,
    secret_arn: Option<&str>,
) -> Result<Option<TurnServer>, String> {
    let urls = parse_url_list(urls);
    if urls.is_empty() {
        return Ok(None);
    }
    let arn = secret_arn
        .filter(|arn| !arn.trim().is_empty())
        .ok_or("TURN_URLS is set but TURN_SECRET_ARN is missing")?;
    let output = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|error| format!("reading the TURN secret from Secrets Manager failed: {error}"))?;
    let text = output
        .secret_string()
        .ok_or("the TURN secret has no string value")?;
    let secret = TurnSecret::new(text)?;
    TurnServer::new(urls, secret)
        .map(Some)
        .map_err(|error| format!("TURN_URLS: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "coturn-shared-secret-for-tests-only";

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn server() -> TurnServer {
        TurnServer::new(
            vec![
                "stun:turn.example.org:3478".to_owned(),
                "turn:turn.example.org:3478?transport=udp".to_owned(),
                "turns:turn.example.org:443?transport=tcp".to_owned(),
            ],
            TurnSecret::new(SECRET).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn password_matches_fixed_vector() {
        // Computed independently with Python:
        // base64(hmac.new(SECRET, USERNAME, hashlib.sha1).digest())
        let secret = TurnSecret::new(SECRET).unwrap();
        assert_eq!(
            secret.password_for("1796425200:5f0c3e8f0b2a4d6e"),
            "vpe2J8tQwZ0TAExNh/pPHkJ/zFE="
        );
    }

    #[test]
    fn username_holds_expiry_and_random_id_only() {
        let expires_at = utc("2026-12-13T23:00:00Z");
        let credential = server().credential(expires_at);
        let (expiry, id) = credential.username.split_once(':').unwrap();
        assert_eq!(expiry, expires_at.timestamp().to_string());
        assert!(crate::random::is_random_id(id));
        assert_eq!(
            credential.password,
            TurnSecret::new(SECRET)
                .unwrap()
                .password_for(&credential.username)
        );
        assert_ne!(
            server().credential(expires_at).username,
            credential.username
        );
    }

    #[test]
    fn credentials_outlive_the_day_with_margin() {
        let day_end = utc("2026-12-13T23:00:00Z");
        let servers = server().ice_servers(day_end, utc("2026-12-13T10:00:00Z"));
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0], json!({"urls": ["stun:turn.example.org:3478"]}));
        let username = servers[1]["username"].as_str().unwrap();
        let expiry: i64 = username.split_once(':').unwrap().0.parse().unwrap();
        assert_eq!(expiry, (day_end + CREDENTIAL_MARGIN).timestamp());
        assert_eq!(servers[1]["urls"].as_array().unwrap().len(), 2);

        // Joined just before midnight: still valid for the margin after now.
        let late = utc("2026-12-13T22:59:00Z");
        let late_servers = server().ice_servers(day_end, late);
        let username = late_servers[1]["username"].as_str().unwrap();
        let expiry: i64 = username.split_once(':').unwrap().0.parse().unwrap();
        assert!(expiry >= (late + CREDENTIAL_MARGIN).timestamp());
    }

    #[test]
    fn url_list_ignores_blanks() {
        assert_eq!(
            parse_url_list(" turn:a.example:3478 ,, turns:a.example:443?transport=tcp "),
            vec!["turn:a.example:3478", "turns:a.example:443?transport=tcp"]
        );
        assert!(parse_url_list(" ").is_empty());
    }

    #[test]
    fn bad_configuration_is_rejected() {
        assert!(TurnSecret::new("short").is_err());
        assert!(TurnSecret::new(&format!("{SECRET} with space")).is_err());
        let secret = TurnSecret::new(SECRET).unwrap();
        assert!(
            TurnServer::new(vec!["http://turn.example.org".to_owned()], secret.clone()).is_err()
        );
        assert!(
            TurnServer::new(
                vec!["stun:turn.example.org:3478".to_owned()],
                secret.clone()
            )
            .is_err()
        );
        assert!(TurnServer::new(vec!["turn:".to_owned()], secret).is_err());
        assert_eq!(
            format!("{:?}", TurnSecret::new(SECRET).unwrap()),
            "TurnSecret(..)"
        );
    }
}
