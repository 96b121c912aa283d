//! The client address behind a reverse proxy.
//!
//! The link and token throttles count failures per client address, which
//! they take from the TCP connection. Behind a reverse proxy that is the
//! proxy's address for every client, so one guesser would block everyone.
//! With `--trusted-proxy`, requests that come from such an address are
//! counted under the address the proxy appended to `X-Forwarded-For`.
//! Requests from any other address keep their own, whatever they send in
//! that header, so a client cannot choose the address it is counted under.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose `X-Forwarded-For` the server believes.
#[derive(Debug, Default)]
pub struct TrustedProxies {
    addresses: Vec<IpAddr>,
    /// Whether the server has warned that requests carry the header while no
    /// proxy is trusted.
    warned_untrusted_header: AtomicBool,
    /// Whether the server has warned that a trusted proxy sent no header.
    warned_missing_header: AtomicBool,
}

impl TrustedProxies {
    pub fn new(addresses: &[IpAddr]) -> Self {
        Self {
            addresses: addresses.iter().copied().map(canonical).collect(),
            warned_untrusted_header: AtomicBool::new(false),
            warned_missing_header: AtomicBool::new(false),
        }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.addresses.contains(&canonical(address))
    }

    /// Returns the address a request from `peer` is counted under. From a
    /// trusted proxy, this is the rightmost `X-Forwarded-For` entry that is not a
    /// trusted proxy itself, so a chain of trusted proxies is passed through
    /// and the entries a client wrote itself, which stand further left, are
    /// never used. When the header is missing or an entry is not an address,
    /// the request is counted under `peer`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut entries: Vec<&str> = Vec::new();
        for value in headers.get_all(FORWARDED_FOR) {
            let Ok(text) = value.to_str() else {
                return peer;
            };
            entries.extend(text.split(',').map(str::trim));
        }
        for entry in entries.iter().rev() {
            let Some(address) = parse_entry(entry) else {
                return peer;
            };
            if !self.trusts(address) {
                return address;
            }
        }
        peer
    }
}

/// Reads an `X-Forwarded-For` entry: an IPv4 or IPv6 address, optionally in
/// brackets or with a port, as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

/// Turns an IPv4-mapped IPv6 address, as a dual-stack socket reports it,
/// into the IPv4 address, so that both forms compare equal.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Replaces the connection's address in `ConnectInfo` with
/// [`TrustedProxies::client_address`], before the throttles read it. It
/// warns once when a request carries `X-Forwarded-For` but no proxy is
/// trusted, which suggests a proxy that is not configured, and once when a
/// trusted proxy sends no such header. Addresses are never logged.
pub async fn resolve_client_address(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    if proxies.addresses.is_empty() {
        if request.headers().contains_key(FORWARDED_FOR)
            && !proxies
                .warned_untrusted_header
                .swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "a request carries X-Forwarded-For, but no --trusted-proxy is set: all clients \
                 behind a reverse proxy share one address for the link and token throttles"
            );
        }
        return next.run(request).await;
    }
    let connect_info = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied();
    if let Some(ConnectInfo(peer)) = connect_info {
        if proxies.trusts(peer.ip())
            && !request.headers().contains_key(FORWARDED_FOR)
            && !proxies.warned_missing_header.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "a request from a trusted proxy's address carries no X-Forwarded-For and counts \
                 under that address; if it came through the proxy, have the proxy append the \
                 client address to that header"
            );
        }
        let client = proxies.client_address(peer.ip(), request.headers());
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PROXY: &str = "127.0.0.1";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn client_address_trusted_proxy_rightmost_entry() {
        let proxies = TrustedProxies::new(&[ip(PROXY)]);
        let forwarded = headers(&["198.51.100.1, 203.0.113.7"]);
        assert_eq!(
            proxies.client_address(ip(PROXY), &forwarded),
            ip("203.0.113.7")
        );
        let two_headers = headers(&["198.51.100.1", "2001:db8::7"]);
        assert_eq!(
            proxies.client_address(ip(PROXY), &two_headers),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn client_address_of_other_peers_is_their_own() {
        let proxies = TrustedProxies::new(&[ip(PROXY)]);
        let forged = headers(&["203.0.113.7"]);
        assert_eq!(
            proxies.client_address(ip("127.0.0.2"), &forged),
            ip("127.0.0.2")
        );
        let nobody_trusted = TrustedProxies::new(&[]);
        assert_eq!(nobody_trusted.client_address(ip(PROXY), &forged), ip(PROXY));
    }

    #[test]
    fn client_address_skips_a_chain_of_trusted_proxies() {
        let proxies = TrustedProxies::new(&[ip(PROXY), ip("::1")]);
        let forwarded = headers(&["192.0.2.9, 203.0.113.7, ::1"]);
        assert_eq!(
            proxies.client_address(ip(PROXY), &forwarded),
            ip("203.0.113.7")
        );
        let only_proxies = headers(&["::1"]);
        assert_eq!(proxies.client_address(ip(PROXY), &only_proxies), ip(PROXY));
    }

    #[test]
    fn client_address_unreadable_header_is_proxy() {
        let proxies = TrustedProxies::new(&[ip(PROXY)]);
        assert_eq!(
            proxies.client_address(ip(PROXY), &HeaderMap::new()),
            ip(PROXY)
        );
        for value in ["unknown", "203.0.113.7, ", "203.0.113.7 x", ""] {
            assert_eq!(
                proxies.client_address(ip(PROXY), &headers(&[value])),
                ip(PROXY),
                "{value:?}"
            );
        }
    }

    #[test]
    fn client_address_reads_ports_brackets_and_mapped_addresses() {
        let proxies = TrustedProxies::new(&[ip(PROXY)]);
        let cases = [
            ("203.0.113.7:51234", "203.0.113.7"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
        ];
        for (entry, client) in cases {
            assert_eq!(
                proxies.client_address(ip(PROXY), &headers(&[entry])),
                ip(client)
            );
        }
        let mapped_peer = ip("::ffff:127.0.0.1");
        let forwarded = headers(&["203.0.113.7"]);
        assert_eq!(
            proxies.client_address(mapped_peer, &forwarded),
            ip("203.0.113.7")
        );
    }
}
