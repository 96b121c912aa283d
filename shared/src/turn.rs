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
use hmac::{Hmac, KeyInit, Mac};
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
    /// Checks the URLs as browsers parse them (RFC 7064 and RFC 7065), so a
    /// typo fails at start-up instead of in every browser: each must be a
    /// `stun:`, `turn:` or `turns:` URL, and at least one a TURN URL.
    pub fn new(urls: Vec<String>, secret: TurnSecret) -> Result<Self, String> {
        for url in &urls {
            check_url(url)?;
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

/// Checks one ICE server URL: `stun:HOST[:PORT]`,
/// `turn:HOST[:PORT][?transport=udp|tcp]` or `turns:HOST[:PORT][?transport=tcp]`,
/// where HOST is a DNS name, an IPv4 address or an IPv6 address in brackets.
fn check_url(url: &str) -> Result<(), String> {
    let invalid = |reason: &str| {
        Err(format!(
            "{url:?} is not a valid ICE server URL: {reason}; expected for example turn:turn.example.org:3478?transport=udp"
        ))
    };
    let Some((scheme, rest)) = url.split_once(':') else {
        return invalid("the scheme stun:, turn: or turns: is missing");
    };
    if !matches!(scheme, "stun" | "turn" | "turns") {
        return invalid("the scheme must be stun:, turn: or turns:");
    }
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    match (scheme, query) {
        (_, None) => {}
        ("stun", Some(_)) => return invalid("stun: URLs take no query"),
        ("turn", Some("transport=udp" | "transport=tcp")) | ("turns", Some("transport=tcp")) => {}
        ("turns", Some(_)) => return invalid("turns: allows only ?transport=tcp"),
        (_, Some(_)) => return invalid("the query must be ?transport=udp or ?transport=tcp"),
    }
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return invalid("an IPv6 address needs a closing bracket");
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return invalid("the address in brackets is not an IPv6 address");
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return invalid("only :PORT may follow the IPv6 address"),
            },
        }
    } else {
        match address.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if let Some(port) = port
        && !(port.len() <= 5
            && port.bytes().all(|byte| byte.is_ascii_digit())
            && port
                .parse::<u32>()
                .is_ok_and(|port| (1..=65_535).contains(&port)))
    {
        return invalid("the port must be a number from 1 to 65535");
    }
    if !address.starts_with('[') && !is_host_name(host) {
        return invalid("the host must be a DNS name or an IPv4 address");
    }
    Ok(())
}

/// Checks a DNS name or a dotted IPv4 address: labels of 1 to 63 letters,
/// digits and inner hyphens, 253 characters at most.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
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

    #[test]
    fn malformed_urls_are_rejected() {
        for good in [
            "stun:turn.example.org",
            "stun:turn.example.org:3478",
            "turn:turn.example.org:3478?transport=udp",
            "turn:127.0.0.1:3478?transport=tcp",
            "turn:[::1]:3478",
            "turn:[2001:db8::7]",
            "turns:turn.example.org:443?transport=tcp",
            "turns:turn-1.example.org",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "turn:::::",
            "turn://127.0.0.1:3478",
            "turn:127.0.0.1:3478?transport=udpp",
            "turn:127.0.0.1:3478?transport=udp&x=1",
            "turns:turn.example.org:443?transport=udp",
            "stun:turn.example.org:3478?transport=udp",
            "turn:turn.example.org:0",
            "turn:turn.example.org:70000",
            "turn:turn.example.org:+3478",
            "turn:turn.example.org:",
            "turn:[::1",
            "turn:[not-ipv6]:3478",
            "turn:[::1]3478",
            "turn:-bad-.example.org",
            "turn:bad..example.org",
            "turn:bad_name.example.org",
            "turn:",
            "http://turn.example.org",
            "turn:turn.example.org:3478 ",
        ] {
            let error = check_url(bad).expect_err(bad);
            assert!(error.contains("is not a valid ICE server URL"), "{error}");
        }
    }
}
