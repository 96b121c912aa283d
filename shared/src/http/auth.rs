//! Practitioner identity. The rooms API identifies practitioners only by the
//! id an authenticator derives from the request: a development token locally,
//! the JWT claims of API Gateway's authorizer in AWS.

use std::collections::HashMap;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

pub trait Authenticate: Send + Sync {
    /// Returns the practitioner id for a request, or `None` for a 401 response.
    fn practitioner(&self, parts: &Parts) -> Option<String>;
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
}
