//! Join-link tokens.
//!
//! A token is `<room id>.<tag>`: the room id and a base64url HMAC-SHA256
//! tag of that id and the room's link salt under the link key. The salt is
//! random per stored room, so a room deleted and created again under the
//! same id (a calendar entry's room) gets a new link, and the old one stays
//! dead. The link key is
//! 256 random bits kept outside the database, in a file beside it locally and
//! in a secret in AWS. So a copy of the database alone yields no working
//! link, while the server can still rebuild a room's link for an email.
//! Tags are compared in constant time.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::{hex_encode, is_random_id, random_bytes};

type HmacSha256 = Hmac<Sha256>;

/// Length of a link key in bytes.
pub const LINK_KEY_LEN: usize = 32;

/// The secret that signs join links. Its `Debug` output hides the bytes.
#[derive(Clone)]
pub struct LinkKey([u8; LINK_KEY_LEN]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LinkKey(..)")
    }
}

/// A token that failed to parse or verify. It carries no detail, so callers
/// cannot reveal which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid link token")]
pub struct InvalidToken;

impl LinkKey {
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// Parses a key stored as 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != LINK_KEY_LEN * 2 {
            return None;
        }
        let mut bytes = [0u8; LINK_KEY_LEN];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// Builds a key from a secret string: 64 hex digits are the key itself,
    /// any other text of at least 32 characters (such as a generated Secrets
    /// Manager password) is hashed into one. Shorter text is rejected.
    pub fn from_secret(text: &str) -> Option<Self> {
        if let Some(key) = Self::from_hex(text) {
            return Some(key);
        }
        let text = text.trim();
        if text.chars().count() < 32 {
            return None;
        }
        let mut hasher = Sha256::new();
        hasher.update(b"video-room-link-key-v1\0");
        hasher.update(text.as_bytes());
        Some(Self(hasher.finalize().into()))
    }

    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }

    /// Derives the room id of a calendar entry: 32 hex digits fixed by the
    /// practitioner and the entry id, so retries of the same entry always
    /// address the same room, and unguessable without the key.
    pub fn entry_room_id(&self, practitioner_id: &str, entry_id: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"video-room-entry-v1\0");
        mac.update(&(practitioner_id.len() as u64).to_be_bytes());
        mac.update(practitioner_id.as_bytes());
        mac.update(entry_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        hex_encode(&tag[..16])
    }

    /// Derives a keyed tag of a client address, under which the signaling
    /// function counts invalid links without storing the address. The tag
    /// must be keyed, because hashing all 2^32 IPv4 addresses reverses an
    /// unkeyed hash. The HMAC key is a subkey derived from the link key under
    /// its own label, so these tags share no input with link tags or entry
    /// room ids.
    pub fn client_address_tag(&self, address: IpAddr) -> String {
        let mut derive =
            HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        derive.update(b"video-client-address-key-v1");
        let subkey = derive.finalize().into_bytes();
        let mut mac = HmacSha256::new_from_slice(&subkey).expect("HMAC accepts keys of any length");
        // The 16-byte form gives an IPv4 address and its IPv4-mapped IPv6
        // form the same tag.
        let octets = match address {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        mac.update(&octets);
        hex_encode(&mac.finalize().into_bytes()[..16])
    }

    fn tag(&self, room_id: &str, salt: &str) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"video-room-link-v1\0");
        mac.update(room_id.as_bytes());
        // Rooms stored before salts existed have none and keep their links.
        if !salt.is_empty() {
            mac.update(b"\0");
            mac.update(salt.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Builds the token of a room from its id and link salt.
    pub fn token_for(&self, room_id: &str, salt: &str) -> String {
        format!(
            "{room_id}.{}",
            URL_SAFE_NO_PAD.encode(self.tag(room_id, salt))
        )
    }

    /// Returns the room id a token names when the token has the right
    /// shape. The token is not verified: load the room, then call
    /// [`Self::verify`] with its salt.
    pub fn room_id_of(token: &str) -> Result<&str, InvalidToken> {
        let (room_id, tag_text) = token.split_once('.').ok_or(InvalidToken)?;
        if is_random_id(room_id) && tag_text.len() == 43 {
            Ok(room_id)
        } else {
            Err(InvalidToken)
        }
    }

    /// Verifies a token against the salt of the room it names and returns
    /// that room's id.
    pub fn verify<'a>(&self, token: &'a str, salt: &str) -> Result<&'a str, InvalidToken> {
        let room_id = Self::room_id_of(token)?;
        let tag_text = &token[room_id.len() + 1..];
        let presented = URL_SAFE_NO_PAD.decode(tag_text).map_err(|_| InvalidToken)?;
        let expected = self.tag(room_id, salt);
        if bool::from(expected.as_slice().ct_eq(presented.as_slice())) {
            Ok(room_id)
        } else {
            Err(InvalidToken)
        }
    }
}

/// Failure to load the link key.
#[derive(Debug, thiserror::Error)]
pub enum LinkKeyError {
    #[error("neither LINK_KEY nor LINK_KEY_SECRET_ARN is set")]
    Missing,
    #[error("the link key must be 64 hex digits or a secret of at least 32 characters")]
    Invalid,
    #[cfg(feature = "secretsmanager")]
    #[error("reading the link key from Secrets Manager failed")]
    Secret(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Loads the link key once per process: from `LINK_KEY` when set (tests,
/// local runs), otherwise from the Secrets Manager secret named by
/// `LINK_KEY_SECRET_ARN`.
#[cfg(feature = "secretsmanager")]
pub async fn link_key_from_env(
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<LinkKey, LinkKeyError> {
    if let Ok(text) = std::env::var("LINK_KEY") {
        return LinkKey::from_secret(&text).ok_or(LinkKeyError::Invalid);
    }
    let arn = std::env::var("LINK_KEY_SECRET_ARN").map_err(|_| LinkKeyError::Missing)?;
    link_key_from_secret(secrets, &arn).await
}

/// Reads the link key from a Secrets Manager secret string.
#[cfg(feature = "secretsmanager")]
pub async fn link_key_from_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<LinkKey, LinkKeyError> {
    let output = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|error| LinkKeyError::Secret(Box::new(error)))?;
    let text = output.secret_string().ok_or(LinkKeyError::Invalid)?;
    LinkKey::from_secret(text).ok_or(LinkKeyError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::random_id;

    #[test]
    fn token_verifies_to_its_room() {
        let key = LinkKey::generate();
        let room = random_id();
        let token = key.token_for(&room, "salt-1");
        assert_eq!(key.verify(&token, "salt-1"), Ok(room.as_str()));
        assert_eq!(LinkKey::room_id_of(&token), Ok(room.as_str()));
    }

    #[test]
    fn token_of_an_earlier_salt_is_rejected() {
        let key = LinkKey::generate();
        let room = random_id();
        let old = key.token_for(&room, "salt-1");
        assert_eq!(key.verify(&old, "salt-2"), Err(InvalidToken));
        assert_eq!(key.verify(&old, ""), Err(InvalidToken));
        let unsalted = key.token_for(&room, "");
        assert_eq!(key.verify(&unsalted, ""), Ok(room.as_str()));
    }

    #[test]
    fn token_carries_at_least_128_random_bits() {
        // The id alone is 128 bits from the CSPRNG; the tag adds 256 bits that
        // only the key holder can compute.
        let key = LinkKey::generate();
        let token = key.token_for(&random_id(), "salt");
        let (id, tag) = token.split_once('.').unwrap();
        assert_eq!(id.len() * 4, 128);
        assert_eq!(URL_SAFE_NO_PAD.decode(tag).unwrap().len() * 8, 256);
    }

    #[test]
    fn token_from_other_key_is_rejected() {
        let room = random_id();
        let token = LinkKey::generate().token_for(&room, "salt");
        assert_eq!(
            LinkKey::generate().verify(&token, "salt"),
            Err(InvalidToken)
        );
    }

    #[test]
    fn tampered_tag_is_rejected() {
        let key = LinkKey::generate();
        let room = random_id();
        let mut token = key.token_for(&room, "salt").into_bytes();
        let last = token.len() - 1;
        token[last] = if token[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.verify(std::str::from_utf8(&token).unwrap(), "salt"),
            Err(InvalidToken)
        );
    }

    #[test]
    fn tag_moved_to_other_room_is_rejected() {
        let key = LinkKey::generate();
        let token = key.token_for(&random_id(), "salt");
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", random_id());
        assert_eq!(key.verify(&forged, "salt"), Err(InvalidToken));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let key = LinkKey::generate();
        for token in [
            "",
            ".",
            "abc",
            "abc.def",
            &random_id(),
            &format!("{}.", random_id()),
        ] {
            assert_eq!(key.verify(token, ""), Err(InvalidToken), "{token:?}");
            assert_eq!(LinkKey::room_id_of(token), Err(InvalidToken), "{token:?}");
        }
    }

    #[test]
    fn key_hex_round_trip() {
        let key = LinkKey::generate();
        let parsed = LinkKey::from_hex(&key.to_hex()).unwrap();
        let room = random_id();
        assert_eq!(parsed.token_for(&room, "s"), key.token_for(&room, "s"));
        assert!(LinkKey::from_hex("zz").is_none());
    }

    #[test]
    fn key_from_secret_text() {
        let key = LinkKey::generate();
        let same = LinkKey::from_secret(&key.to_hex()).unwrap();
        assert_eq!(same.to_hex(), key.to_hex());
        let password = "Zq3vT8pLw2xN5rB7kY9mC4dF6gH1jS0aE2uI";
        let derived = LinkKey::from_secret(password).unwrap();
        assert_eq!(
            derived.to_hex(),
            LinkKey::from_secret(password).unwrap().to_hex()
        );
        assert_ne!(
            derived.to_hex(),
            LinkKey::from_secret(&password[1..]).unwrap().to_hex()
        );
        assert!(LinkKey::from_secret("too short").is_none());
    }

    #[test]
    fn client_address_tag_is_keyed_and_hides_address() {
        // A fixed key keeps the substring checks below deterministic.
        let key = LinkKey::from_hex(&"5a".repeat(LINK_KEY_LEN)).unwrap();
        let address: IpAddr = "203.0.113.9".parse().unwrap();
        let tag = key.client_address_tag(address);
        assert_eq!(tag, key.client_address_tag(address), "same input, same tag");
        assert_eq!(tag.len(), 32);
        assert_ne!(
            tag,
            key.client_address_tag("203.0.113.10".parse().unwrap()),
            "another address gets another tag"
        );
        assert_ne!(
            tag,
            LinkKey::generate().client_address_tag(address),
            "another key gives another tag"
        );
        assert_eq!(
            tag,
            key.client_address_tag("::ffff:203.0.113.9".parse().unwrap()),
            "an IPv4-mapped IPv6 address is the same client"
        );
        // Neither the text nor the bytes of the address (in hex) appear.
        for text in ["203.0.113.9", "cb007109"] {
            assert!(!tag.contains(text), "{tag} contains {text}");
        }
        let v6 = key.client_address_tag("2001:db8::1".parse().unwrap());
        assert!(!v6.contains("20010db8"), "{v6}");
    }

    #[test]
    fn key_debug_hides_bytes() {
        let key = LinkKey::generate();
        assert_eq!(format!("{key:?}"), "LinkKey(..)");
    }
}
