//! Practitioner identity. The rooms API identifies practitioners only by the
//! id an authenticator derives from the request: a development token locally,
//! the JWT claims of API Gateway's authorizer in AWS. Where this process
//! checks the tokens itself, [`FailedAuthThrottle`] slows down guessing.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::clock::Clock;

pub trait Authenticate: Send + Sync {
    /// Returns the practitioner id for a request, or `None` for a 401 response.
    fn practitioner(&self, parts: &Parts) -> Option<String>;

    /// Returns whether this authenticator compares the request's secret
    /// itself, so that the router must throttle repeated failures. False where a
    /// gateway has verified the token before (API Gateway's JWT authorizer).
    fn verifies_secrets(&self) -> bool {
        false
    }
}

/// Bearer tokens configured at start, each naming one practitioner. Tokens
/// are kept only as SHA-256 hashes, so a memory dump or debug print shows none.
#[derive(Default)]
pub struct DevTokens {
    by_hash: HashMap<[u8; 32], String>,
}

/// A `TOKEN=PRACTITIONER` argument that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DevTokenError {
    #[error("expected TOKEN=PRACTITIONER")]
    MissingSeparator,
    #[error("the token must have at least 16 visible ASCII characters")]
    WeakToken,
    /// `=` is excluded because a token may contain it (base64 padding), and
    /// then no one could tell where the token ends.
    #[error("the practitioner id must be 1 to 128 visible ASCII characters without \"=\"")]
    InvalidPractitioner,
    #[error("this token is already given to another practitioner")]
    TokenTaken,
}

/// Checks a practitioner id of a `TOKEN=PRACTITIONER` pair.
pub fn is_valid_practitioner(practitioner: &str) -> bool {
    !practitioner.is_empty()
        && practitioner.len() <= 128
        && practitioner
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'=')
}

impl DevTokens {
    pub fn insert(&mut self, token: &str, practitioner: &str) -> Result<(), DevTokenError> {
        let visible = |text: &str| text.bytes().all(|byte| byte.is_ascii_graphic());
        if token.len() < 16 || !visible(token) {
            return Err(DevTokenError::WeakToken);
        }
        if !is_valid_practitioner(practitioner) {
            return Err(DevTokenError::InvalidPractitioner);
        }
        let hash: [u8; 32] = Sha256::digest(token).into();
        match self.by_hash.get(&hash) {
            Some(owner) if owner != practitioner => Err(DevTokenError::TokenTaken),
            _ => {
                self.by_hash.insert(hash, practitioner.to_owned());
                Ok(())
            }
        }
    }

    /// Parses a `TOKEN=PRACTITIONER` argument. The token may contain `=`;
    /// the practitioner id may not, so the last `=` separates them.
    pub fn insert_pair(&mut self, pair: &str) -> Result<(), DevTokenError> {
        let (token, practitioner) = pair
            .rsplit_once('=')
            .ok_or(DevTokenError::MissingSeparator)?;
        self.insert(token, practitioner)
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

impl std::fmt::Debug for DevTokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "DevTokens({} tokens)", self.by_hash.len())
    }
}

/// Extracts the token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl DevTokens {
    /// Returns the practitioner of the request's bearer token.
    pub fn practitioner_for(&self, headers: &HeaderMap) -> Option<String> {
        // Looking up a hash leaks nothing useful through timing: an attacker
        // would need a SHA-256 preimage to exploit it.
        let token = bearer_token(headers)?;
        self.by_hash
            .get(&<[u8; 32]>::from(Sha256::digest(token)))
            .cloned()
    }
}

impl Authenticate for DevTokens {
    fn practitioner(&self, parts: &Parts) -> Option<String> {
        self.practitioner_for(&parts.headers)
    }

    fn verifies_secrets(&self) -> bool {
        true
    }
}

/// Limits of [`FailedAuthThrottle`].
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failed authentications from one client within `window` after which
    /// its requests are rejected.
    pub max_failures: u32,
    /// Period in which failures are counted, and how long a block lasts.
    pub window: chrono::Duration,
    /// Maximum number of clients tracked at once, which bounds the memory.
    pub max_clients: usize,
}

impl Default for ThrottlePolicy {
    /// 20 failures per minute, then one minute of 429; at most 10,000
    /// clients, which by estimate take under 1 MB.
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: chrono::Duration::minutes(1),
            max_clients: 10_000,
        }
    }
}

/// The part of a client's address that failures are counted under: the
/// IPv4 address, or the /64 network of an IPv6 address, because one host
/// usually controls a whole /64. `None` when the server passes no address
/// (a router served without connect info): then all requests share one
/// counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(Option<IpAddr>);

impl ClientKey {
    pub fn of(address: Option<IpAddr>) -> Self {
        let key = address.map(|address| match address {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1_u128 << 64) - 1))),
            },
        });
        Self(key)
    }

    /// Returns the address that failures are counted under, which is the
    /// IPv4 address or the first address of the IPv6 /64, or `None` when the
    /// server saw no address.
    pub fn address(self) -> Option<IpAddr> {
        self.0
    }
}

#[derive(Debug)]
struct Failures {
    window_start: DateTime<Utc>,
    count: u32,
    blocked_until: Option<DateTime<Utc>>,
}

impl Failures {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            window_start: now,
            count: 0,
            blocked_until: None,
        }
    }

    /// Returns whether both the counting window and any block have ended.
    fn is_over(&self, now: DateTime<Utc>, window: chrono::Duration) -> bool {
        now >= self.window_start + window && self.blocked_until.is_none_or(|until| now >= until)
    }
}

/// Counts failed authentications per client and blocks a client for one
/// window once it reaches the limit. Successful requests neither count nor
/// reset the counter, so a caller with a valid token of their own cannot
/// use it to keep guessing another practitioner's token.
///
/// NOTE: behind a reverse proxy every client has the proxy's address, so
/// one client's failures block all of them for the window.
pub struct FailedAuthThrottle {
    policy: ThrottlePolicy,
    clock: Arc<dyn Clock>,
    clients: Mutex<HashMap<ClientKey, Failures>>,
}

impl FailedAuthThrottle {
    pub fn new(policy: ThrottlePolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            policy,
            clock,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Failures>> {
        // A panic while holding the lock leaves only counters behind, which
        // stay usable.
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Returns how much longer `client` is blocked, or `None` when it may
    /// send requests.
    pub fn blocked_for(&self, client: ClientKey) -> Option<chrono::Duration> {
        let now = self.clock.now();
        let mut clients = self.clients();
        let failures = clients.get(&client)?;
        if failures.is_over(now, self.policy.window) {
            clients.remove(&client);
            return None;
        }
        let until = failures.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts one failed authentication of `client`. Returns true when this
    /// failure starts a block.
    pub fn record_failure(&self, client: ClientKey) -> bool {
        let now = self.clock.now();
        let mut clients = self.clients();
        if !clients.contains_key(&client) && clients.len() >= self.policy.max_clients {
            self.make_room(&mut clients, now);
        }
        let failures = clients.entry(client).or_insert_with(|| Failures::new(now));
        if failures.is_over(now, self.policy.window) {
            *failures = Failures::new(now);
        }
        failures.count = failures.count.saturating_add(1);
        if failures.count >= self.policy.max_failures && failures.blocked_until.is_none() {
            failures.blocked_until = Some(now + self.policy.window);
            return true;
        }
        false
    }

    /// Drops every entry that is over. When the map is still full, drops
    /// the oldest entry that is not blocked, or else the block that ends
    /// first.
    fn make_room(&self, clients: &mut HashMap<ClientKey, Failures>, now: DateTime<Utc>) {
        clients.retain(|_, failures| !failures.is_over(now, self.policy.window));
        if clients.len() < self.policy.max_clients {
            return;
        }
        let evicted = clients
            .iter()
            .min_by_key(|(_, failures)| {
                (
                    failures.blocked_until.is_some(),
                    failures.blocked_until,
                    failures.window_start,
                )
            })
            .map(|(key, _)| *key);
        if let Some(key) = evicted {
            clients.remove(&key);
        }
    }

    /// Returns the number of clients tracked now.
    pub fn tracked_clients(&self) -> usize {
        self.clients().len()
    }
}

impl std::fmt::Debug for FailedAuthThrottle {
    /// Shows the policy and the number of clients, never their addresses.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FailedAuthThrottle")
            .field("policy", &self.policy)
            .field("tracked_clients", &self.tracked_clients())
            .finish()
    }
}

/// Middleware of the rooms API where the server checks tokens itself:
/// returns 429 `too-many-attempts` with `Retry-After` while the client is
/// blocked, and counts every 401 response as a failed authentication. Neither
/// the address nor the token is logged.
pub async fn throttle_failed_authentications(
    State(throttle): State<Arc<FailedAuthThrottle>>,
    request: Request,
    next: Next,
) -> Response {
    let client = ClientKey::of(
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip()),
    );
    if let Some(remaining) = throttle.blocked_for(client) {
        return too_many_attempts(remaining);
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED && throttle.record_failure(client) {
        tracing::warn!(
            max_failures = throttle.policy.max_failures,
            window_seconds = throttle.policy.window.num_seconds(),
            "too many failed authentications from one client; its API requests get 429 until the window ends"
        );
    }
    response
}

/// Builds the 429 response to a blocked client, with `Retry-After` in whole
/// seconds, rounded up.
pub(crate) fn too_many_attempts(remaining: chrono::Duration) -> Response {
    let millis = remaining.num_milliseconds().max(1);
    let seconds = (millis + 999) / 1000;
    let mut response = ApiError::client(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        format!("too many failed authentications from this address; retry after {seconds} seconds"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn dev_token_maps_to_practitioner() {
        let mut tokens = DevTokens::default();
        tokens.insert_pair("0123456789abcdef=dr-weber").unwrap();
        assert_eq!(
            tokens
                .practitioner_for(&headers("Bearer 0123456789abcdef"))
                .as_deref(),
            Some("dr-weber")
        );
        assert_eq!(
            tokens
                .practitioner_for(&headers("bearer 0123456789abcdef"))
                .as_deref(),
            Some("dr-weber")
        );
    }

    #[test]
    fn wrong_or_missing_token_is_rejected() {
        let mut tokens = DevTokens::default();
        tokens.insert_pair("0123456789abcdef=dr-weber").unwrap();
        assert!(
            tokens
                .practitioner_for(&headers("Bearer 0123456789abcdeX"))
                .is_none()
        );
        assert!(
            tokens
                .practitioner_for(&headers("Basic 0123456789abcdef"))
                .is_none()
        );
        assert!(tokens.practitioner_for(&headers("Bearer")).is_none());
        assert!(tokens.practitioner_for(&HeaderMap::new()).is_none());
    }

    #[test]
    fn token_may_end_in_base64_padding() {
        let mut tokens = DevTokens::default();
        tokens.insert_pair("QUJDREVGR0hJSktMTU5PUA===dr-a").unwrap();
        assert_eq!(
            tokens
                .practitioner_for(&headers("Bearer QUJDREVGR0hJSktMTU5PUA=="))
                .as_deref(),
            Some("dr-a")
        );
        assert!(!is_valid_practitioner("=dr-a"));
    }

    #[test]
    fn token_of_two_practitioners_is_rejected() {
        let mut tokens = DevTokens::default();
        tokens.insert_pair("0123456789abcdef=dr-weber").unwrap();
        tokens.insert_pair("0123456789abcdef=dr-weber").unwrap();
        assert_eq!(
            tokens.insert_pair("0123456789abcdef=dr-krause"),
            Err(DevTokenError::TokenTaken)
        );
    }

    #[test]
    fn weak_tokens_and_bad_pairs_are_rejected() {
        let mut tokens = DevTokens::default();
        assert_eq!(
            tokens.insert_pair("short=dr"),
            Err(DevTokenError::WeakToken)
        );
        assert_eq!(
            tokens.insert_pair("no-separator-here"),
            Err(DevTokenError::MissingSeparator)
        );
        assert_eq!(
            tokens.insert_pair("0123456789abcdef="),
            Err(DevTokenError::InvalidPractitioner)
        );
        assert_eq!(
            tokens.insert_pair("0123456789abcdef=dr weber"),
            Err(DevTokenError::InvalidPractitioner)
        );
    }

    mod throttle {
        use super::super::*;
        use crate::clock::ManualClock;
        use axum::Router;
        use axum::body::Body;
        use axum::routing::get;
        use chrono::Duration;
        use tower::ServiceExt;

        fn start() -> DateTime<Utc> {
            DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc)
        }

        fn throttle(
            max_failures: u32,
            max_clients: usize,
        ) -> (Arc<ManualClock>, FailedAuthThrottle) {
            let clock = Arc::new(ManualClock::new(start()));
            let policy = ThrottlePolicy {
                max_failures,
                window: Duration::minutes(1),
                max_clients,
            };
            (clock.clone(), FailedAuthThrottle::new(policy, clock))
        }

        fn client(text: &str) -> ClientKey {
            ClientKey::of(Some(text.parse().unwrap()))
        }

        #[test]
        fn blocks_after_max_failures_for_one_window() {
            let (clock, throttle) = throttle(3, 100);
            let attacker = client("192.0.2.7");
            assert!(!throttle.record_failure(attacker));
            assert!(!throttle.record_failure(attacker));
            assert_eq!(throttle.blocked_for(attacker), None);
            assert!(
                throttle.record_failure(attacker),
                "the third failure starts a block"
            );
            assert_eq!(throttle.blocked_for(attacker), Some(Duration::minutes(1)));

            clock.advance(Duration::seconds(59));
            assert_eq!(throttle.blocked_for(attacker), Some(Duration::seconds(1)));
            clock.advance(Duration::seconds(1));
            assert_eq!(throttle.blocked_for(attacker), None);
            assert_eq!(
                throttle.tracked_clients(),
                0,
                "an entry that is over is dropped"
            );
        }

        #[test]
        fn failures_of_an_old_window_expire() {
            let (clock, throttle) = throttle(3, 100);
            let client = client("192.0.2.7");
            throttle.record_failure(client);
            throttle.record_failure(client);
            clock.advance(Duration::minutes(1));
            assert!(
                !throttle.record_failure(client),
                "a new window starts at one"
            );
            assert!(!throttle.record_failure(client));
            assert!(throttle.record_failure(client));
        }

        #[test]
        fn clients_are_counted_apart() {
            let (_, throttle) = throttle(2, 100);
            throttle.record_failure(client("192.0.2.7"));
            throttle.record_failure(client("192.0.2.7"));
            assert!(throttle.blocked_for(client("192.0.2.7")).is_some());
            assert_eq!(throttle.blocked_for(client("192.0.2.8")), None);
            assert_eq!(throttle.blocked_for(ClientKey::of(None)), None);
        }

        #[test]
        fn ipv6_counts_per_64_network() {
            assert_eq!(client("2001:db8:1:2::1"), client("2001:db8:1:2:ffff::9"));
            assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
            assert_eq!(client("::ffff:192.0.2.7"), client("192.0.2.7"));
        }

        #[test]
        fn map_stays_within_max_clients() {
            let (clock, throttle) = throttle(2, 3);
            let blocked = client("192.0.2.1");
            throttle.record_failure(blocked);
            throttle.record_failure(blocked);
            for last in 2..50 {
                throttle.record_failure(client(&format!("192.0.2.{last}")));
                assert!(throttle.tracked_clients() <= 3);
            }
            assert!(
                throttle.blocked_for(blocked).is_some(),
                "unblocked entries are evicted before a block"
            );

            clock.advance(Duration::minutes(2));
            throttle.record_failure(client("198.51.100.1"));
            assert_eq!(
                throttle.tracked_clients(),
                1,
                "entries that are over are dropped first"
            );
        }

        #[test]
        fn debug_output_shows_no_address() {
            let (_, throttle) = throttle(2, 3);
            throttle.record_failure(client("192.0.2.77"));
            let text = format!("{throttle:?}");
            assert!(!text.contains("192.0.2.77"), "{text}");
            assert!(text.contains("tracked_clients: 1"), "{text}");
        }

        /// A router whose one route returns 401 unless the token is right,
        /// behind the middleware, with a fixed client address.
        fn guarded(throttle: Arc<FailedAuthThrottle>) -> Router {
            let mut tokens = DevTokens::default();
            tokens.insert("0123456789abcdef", "dr-a").unwrap();
            let tokens = Arc::new(tokens);
            Router::new()
                .route(
                    "/api/rooms",
                    get(move |headers: HeaderMap| {
                        let tokens = tokens.clone();
                        async move {
                            match tokens.practitioner_for(&headers) {
                                Some(_) => StatusCode::OK.into_response(),
                                None => ApiError::unauthorized().into_response(),
                            }
                        }
                    }),
                )
                .layer(axum::middleware::from_fn_with_state(
                    throttle,
                    throttle_failed_authentications,
                ))
        }

        async fn call(router: &Router, token: &str, from: &str) -> Response {
            let mut request = axum::http::Request::builder()
                .uri("/api/rooms")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let address: SocketAddr = format!("{from}:40000").parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(address));
            router.clone().oneshot(request).await.unwrap()
        }

        #[tokio::test]
        async fn middleware_rejects_right_token_while_blocked() {
            let (clock, throttle) = throttle(3, 100);
            let router = guarded(Arc::new(throttle));
            for _ in 0..2 {
                let response = call(&router, "wrong-token-000000", "192.0.2.7").await;
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            }
            let response = call(&router, "0123456789abcdef", "192.0.2.7").await;
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "a right token does not count"
            );
            let response = call(&router, "wrong-token-000000", "192.0.2.7").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "the third failure is still answered with 401"
            );

            let response = call(&router, "0123456789abcdef", "192.0.2.7").await;
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(response.headers()[header::RETRY_AFTER], "60");
            let other = call(&router, "0123456789abcdef", "192.0.2.8").await;
            assert_eq!(
                other.status(),
                StatusCode::OK,
                "another address is not blocked"
            );

            clock.advance(Duration::milliseconds(30_500));
            let response = call(&router, "0123456789abcdef", "192.0.2.7").await;
            assert_eq!(response.headers()[header::RETRY_AFTER], "30", "rounded up");
            clock.advance(Duration::seconds(30));
            let response = call(&router, "0123456789abcdef", "192.0.2.7").await;
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "the block ends with the window"
            );
        }

        #[tokio::test]
        async fn middleware_body_names_the_code() {
            let (_, throttle) = throttle(1, 100);
            let router = guarded(Arc::new(throttle));
            call(&router, "wrong-token-000000", "192.0.2.7").await;
            let response = call(&router, "wrong-token-000000", "192.0.2.7").await;
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["error"], "too-many-attempts");
            assert!(!String::from_utf8_lossy(&bytes).contains("192.0.2.7"));
        }
    }
}
