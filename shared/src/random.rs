//! Random identifiers and secrets from the operating system's CSPRNG.

/// Fills `N` bytes from the operating system's CSPRNG.
///
/// # Panics
/// Panics when the operating system has no working random source, because no
/// room, link or participant may be created without one.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// Returns 128 random bits as 32 lowercase hex digits.
pub fn random_id() -> String {
    hex_encode(&random_bytes::<16>())
}

pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// Checks that `text` looks like an id made by [`random_id`].
pub fn is_random_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_id_is_32_hex_digits() {
        let id = random_id();
        assert!(is_random_id(&id), "{id}");
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id(), random_id());
    }

    #[test]
    fn is_random_id_rejects_uppercase_and_length() {
        assert!(!is_random_id("ABCDEF0123456789abcdef0123456789"));
        assert!(!is_random_id("abc"));
        assert!(!is_random_id(""));
    }
}
