//! Slows down link guessing across all instances of the function. Every
//! `invalid-link` error (close code 4001) counts against the client's
//! address in a fixed window of [`ThrottlePolicy::window`], and `$connect`
//! rejects a client that has reached [`ThrottlePolicy::max_failures`] in the
//! current window. The counts live in a [`LinkFailureStore`] under a keyed
//! tag of the address, never the address itself.
//!
//! The throttle must never stop a call: when the store fails, the connection
//! is let through and the failure is not counted.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use video_core::clock::Clock;
use video_core::http::auth::{ClientKey, ThrottlePolicy};
use video_core::link::LinkKey;
use video_core::signaling::protocol::ErrorCode;
use video_core::signaling::{Push, PushError};
use video_core::store::LinkFailureStore;

/// Tag of the one counter shared by all events without a parsable
/// `sourceIp`, as the local server counts clients without an address.
const NO_ADDRESS_TAG: &str = "no-address";

/// Counts invalid links per client in fixed windows and decides which
/// clients `$connect` rejects.
pub struct LinkThrottle {
    store: Arc<dyn LinkFailureStore>,
    links: LinkKey,
    policy: ThrottlePolicy,
    clock: Arc<dyn Clock>,
}

/// Returns the start and end of the fixed window that contains `now`.
fn window_around(now: DateTime<Utc>, window: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    let seconds = window.num_seconds().max(1);
    let start =
        DateTime::from_timestamp(now.timestamp().div_euclid(seconds) * seconds, 0).unwrap_or(now);
    (start, start + Duration::seconds(seconds))
}

impl LinkThrottle {
    /// `links` keys the address tags. `policy` sets the limit and the window
    /// length, and its `max_clients` does not apply, because nothing is kept
    /// in memory.
    pub fn new(
        store: Arc<dyn LinkFailureStore>,
        links: LinkKey,
        policy: ThrottlePolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            links,
            policy,
            clock,
        }
    }

    /// Derives the tag that a client's failures are counted under from the
    /// event's `sourceIp`. An IPv6 address counts as its /64 network, as on
    /// the local server.
    pub fn client_tag(&self, source_ip: Option<&str>) -> String {
        let address = source_ip.and_then(|text| text.trim().parse::<IpAddr>().ok());
        match ClientKey::of(address).address() {
            Some(address) => self.links.client_address_tag(address),
            None => NO_ADDRESS_TAG.to_owned(),
        }
    }

    /// Returns how long `client` stays rejected, or `None` when it may
    /// connect. A failed read lets the client connect.
    pub async fn blocked_for(&self, client: &str) -> Option<Duration> {
        let now = self.clock.now();
        let (start, end) = window_around(now, self.policy.window);
        match self.store.failures(client, start).await {
            Ok(count) if count >= self.policy.max_failures => Some(end - now),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(
                    error = %error,
                    source = ?std::error::Error::source(&error),
                    "reading the invalid-link count failed; the connection is let through"
                );
                None
            }
        }
    }

    /// Counts one invalid link of `client` in the current window. The record
    /// expires one window after the window ends, which leaves room for
    /// clocks that differ between instances. A failed write is logged and
    /// otherwise ignored.
    pub async fn record_failure(&self, client: &str) {
        let now = self.clock.now();
        let (start, end) = window_around(now, self.policy.window);
        let expires_at = end + self.policy.window;
        match self.store.add_failure(client, start, expires_at).await {
            // Each atomic ADD returns a different count, so exactly one
            // instance logs the block.
            Ok(count) if count == self.policy.max_failures => tracing::warn!(
                max_failures = self.policy.max_failures,
                window_seconds = self.policy.window.num_seconds(),
                "too many invalid links from one client; its connections get 429 until the window ends"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(
                error = %error,
                source = ?std::error::Error::source(&error),
                "counting an invalid link failed; the throttle misses this one"
            ),
        }
    }
}

/// Wraps the push of one invocation and counts each close with the
/// `invalid-link` close code against the client that sent the event, so the
/// signaling core needs no knowledge of the throttle.
pub struct ThrottledPush {
    inner: Arc<dyn Push>,
    throttle: Arc<LinkThrottle>,
    client: String,
}

impl ThrottledPush {
    /// `client` is the tag from [`LinkThrottle::client_tag`].
    pub fn new(inner: Arc<dyn Push>, throttle: Arc<LinkThrottle>, client: String) -> Self {
        Self {
            inner,
            throttle,
            client,
        }
    }
}

#[async_trait]
impl Push for ThrottledPush {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), PushError> {
        self.inner.send(connection_id, text).await
    }

    async fn close(&self, connection_id: &str, code: u16) -> Result<(), PushError> {
        if ErrorCode::InvalidLink.close_code() != Some(code) {
            return self.inner.close(connection_id, code).await;
        }
        // The guess counts even when the client has already gone. Both calls
        // run at once, so counting adds no latency to the close.
        let (closed, ()) = tokio::join!(
            self.inner.close(connection_id, code),
            self.throttle.record_failure(&self.client)
        );
        closed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use video_core::clock::ManualClock;
    use video_core::store::StoreError;

    use super::*;

    /// Counts kept in memory, keyed by client tag and window start.
    #[derive(Default)]
    struct MemoryFailures {
        counts: Mutex<HashMap<(String, i64), u32>>,
        expiries: Mutex<Vec<DateTime<Utc>>>,
        broken: bool,
    }

    impl MemoryFailures {
        fn broken() -> Self {
            Self {
                broken: true,
                ..Self::default()
            }
        }

        fn check(&self) -> Result<(), StoreError> {
            if self.broken {
                Err(StoreError::Unavailable("table unavailable".into()))
            } else {
                Ok(())
            }
        }
    }

    #[async_trait]
    impl LinkFailureStore for MemoryFailures {
        async fn failures(
            &self,
            client: &str,
            window_start: DateTime<Utc>,
        ) -> Result<u32, StoreError> {
            self.check()?;
            let counts = self.counts.lock().unwrap();
            Ok(counts
                .get(&(client.to_owned(), window_start.timestamp()))
                .copied()
                .unwrap_or(0))
        }

        async fn add_failure(
            &self,
            client: &str,
            window_start: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> Result<u32, StoreError> {
            self.check()?;
            self.expiries.lock().unwrap().push(expires_at);
            let mut counts = self.counts.lock().unwrap();
            let count = counts
                .entry((client.to_owned(), window_start.timestamp()))
                .or_default();
            *count += 1;
            Ok(*count)
        }
    }

    /// Records the close codes it is asked to send.
    #[derive(Default)]
    struct RecordingPush {
        closes: Mutex<Vec<u16>>,
    }

    #[async_trait]
    impl Push for RecordingPush {
        async fn send(&self, _connection_id: &str, _text: &str) -> Result<(), PushError> {
            Ok(())
        }

        async fn close(&self, _connection_id: &str, code: u16) -> Result<(), PushError> {
            self.closes.lock().unwrap().push(code);
            Err(PushError::Gone)
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn throttle(store: Arc<MemoryFailures>, clock: Arc<ManualClock>) -> Arc<LinkThrottle> {
        let links = LinkKey::from_hex(&"42".repeat(32)).unwrap();
        Arc::new(LinkThrottle::new(
            store,
            links,
            ThrottlePolicy::default(),
            clock,
        ))
    }

    #[test]
    fn windows_are_fixed_minutes() {
        let minute = Duration::minutes(1);
        let (start, end) = window_around(at("2026-12-04T10:00:59.900Z"), minute);
        assert_eq!(start, at("2026-12-04T10:00:00Z"));
        assert_eq!(end, at("2026-12-04T10:01:00Z"));
        let (next, _) = window_around(at("2026-12-04T10:01:00Z"), minute);
        assert_eq!(next, end);
    }

    #[test]
    fn client_tag_groups_ipv6_by_network() {
        let store = Arc::new(MemoryFailures::default());
        let clock = Arc::new(ManualClock::new(at("2026-12-04T10:00:00Z")));
        let throttle = throttle(store, clock);
        let tag = |ip: &str| throttle.client_tag(Some(ip));
        assert_eq!(tag("2001:db8:1:2::1"), tag("2001:db8:1:2:ffff::9"));
        assert_ne!(tag("2001:db8:1:2::1"), tag("2001:db8:1:3::1"));
        assert_ne!(tag("203.0.113.9"), tag("203.0.113.10"));
        assert!(!tag("203.0.113.9").contains("203.0.113.9"));
        assert_eq!(throttle.client_tag(None), NO_ADDRESS_TAG);
        assert_eq!(throttle.client_tag(Some("not an address")), NO_ADDRESS_TAG);
    }

    #[tokio::test]
    async fn only_invalid_link_closes_count() {
        let store = Arc::new(MemoryFailures::default());
        let clock = Arc::new(ManualClock::new(at("2026-12-04T10:00:30Z")));
        let throttle = throttle(store.clone(), clock.clone());
        let inner = Arc::new(RecordingPush::default());
        let client = throttle.client_tag(Some("203.0.113.9"));
        let push = ThrottledPush::new(inner.clone(), throttle.clone(), client.clone());

        for code in [1000, 4000, 4002, 4003, 1011] {
            assert!(matches!(push.close("c1", code).await, Err(PushError::Gone)));
        }
        assert_eq!(
            store
                .failures(&client, at("2026-12-04T10:00:00Z"))
                .await
                .unwrap(),
            0
        );

        assert!(
            matches!(push.close("c1", 4001).await, Err(PushError::Gone)),
            "the inner result is passed on"
        );
        assert_eq!(
            *inner.closes.lock().unwrap(),
            vec![1000, 4000, 4002, 4003, 1011, 4001]
        );
        assert_eq!(
            store
                .failures(&client, at("2026-12-04T10:00:00Z"))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            *store.expiries.lock().unwrap(),
            vec![at("2026-12-04T10:02:00Z")],
            "the record expires one window after its window"
        );
    }

    #[tokio::test]
    async fn limit_blocks_until_window_ends() {
        let store = Arc::new(MemoryFailures::default());
        let clock = Arc::new(ManualClock::new(at("2026-12-04T10:00:10Z")));
        let throttle = throttle(store, clock.clone());
        let client = throttle.client_tag(Some("203.0.113.9"));
        let other = throttle.client_tag(Some("198.51.100.4"));

        for _ in 0..19 {
            throttle.record_failure(&client).await;
        }
        assert_eq!(throttle.blocked_for(&client).await, None);
        throttle.record_failure(&client).await;
        clock.advance(Duration::seconds(20));
        assert_eq!(
            throttle.blocked_for(&client).await,
            Some(Duration::seconds(30)),
            "blocked for the rest of the window"
        );
        assert_eq!(throttle.blocked_for(&other).await, None);

        clock.advance(Duration::seconds(30));
        assert_eq!(
            throttle.blocked_for(&client).await,
            None,
            "the next window starts at 0"
        );
    }

    #[tokio::test]
    async fn store_failure_neither_blocks_nor_stops_close() {
        let store = Arc::new(MemoryFailures::broken());
        let clock = Arc::new(ManualClock::new(at("2026-12-04T10:00:10Z")));
        let throttle = throttle(store, clock);
        let inner = Arc::new(RecordingPush::default());
        let client = throttle.client_tag(Some("203.0.113.9"));
        let push = ThrottledPush::new(inner.clone(), throttle.clone(), client.clone());

        assert_eq!(throttle.blocked_for(&client).await, None);
        assert!(matches!(push.close("c1", 4001).await, Err(PushError::Gone)));
        assert_eq!(*inner.closes.lock().unwrap(), vec![4001]);
    }
}
