//! Mail port: the morning run hands finished messages to a [`Mailer`].

use async_trait::async_trait;

pub mod outbox;
#[cfg(feature = "ses")]
pub mod ses;

/// Longest time one send may take, all of the mail service client's own
/// retries included; a run's deadline margin is sized by it.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One email with an HTML body and its plain-text alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Failure of sending one email.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The service asked to slow down; the next run tries again.
    #[error("sending was throttled")]
    Throttled,
    /// The service refused this message, e.g. an address it will never
    /// accept; retrying does not help.
    #[error("the message was rejected: {0}")]
    Rejected(String),
    #[error("sending failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Maximum length of a practice name in characters, in invitations and in
/// the sender's display name.
pub const PRACTICE_NAME_MAX_CHARS: usize = 100;

/// Trims a practice name and checks that it has 1 to
/// [`PRACTICE_NAME_MAX_CHARS`] characters and no control characters, since
/// it becomes part of the `From` header and of every invitation.
pub fn check_practice_name(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > PRACTICE_NAME_MAX_CHARS
        || trimmed.chars().any(char::is_control)
    {
        return Err(format!(
            "expected 1 to {PRACTICE_NAME_MAX_CHARS} characters without control characters"
        ));
    }
    Ok(trimmed.to_owned())
}

/// Returns the `From` of an invitation: the sender address, preceded by the
/// practice's name when there is one, so that patients recognise who
/// writes (`Praxis Weber <video@praxis-weber.de>`). The value is one line;
/// a writer of whole messages folds it (see [`outbox`]).
pub fn sender(address: &str, practice_name: Option<&str>) -> String {
    match practice_name.map(str::trim).filter(|name| !name.is_empty()) {
        None => address.to_owned(),
        Some(name) => format!("{} <{address}>", display_name(name)),
    }
}

/// Writes a display name as RFC 5322 allows it in a header: unchanged when
/// it consists of atoms, and quoted when it contains other printable ASCII. A
/// name outside ASCII becomes RFC 2047 encoded words, the form that Amazon
/// SES requires. So does a name containing `=?`, because some mail programs
/// decode encoded words even inside quotes.
fn display_name(name: &str) -> String {
    let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let printable = name.chars().all(|c| (' '..='~').contains(&c));
    if !printable || name.contains("=?") {
        encoded_words(name)
    } else if name.chars().all(|c| c == ' ' || atom(c)) {
        name.to_owned()
    } else {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

/// Bytes of text in one encoded word: 42 bytes become 56 base64 characters,
/// and with `=?UTF-8?B?` and `?=` the word has 68, within RFC 2047's 75, so
/// that `Subject: ` and one word fit in a line of 78.
const ENCODED_WORD_BYTES: usize = 42;

/// Encodes text as RFC 2047 encoded words, each within 75 characters,
/// joined by spaces. A reader drops the space between two encoded words, so
/// the text decodes unchanged. Each word ends before a space where one lies
/// within its length, and never inside a character. Some readers keep the
/// space between words, and this way they show a double space at most
/// rather than a word torn apart.
pub fn encoded_words(text: &str) -> String {
    use base64::Engine;
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + ENCODED_WORD_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len()
            && let Some(space) = text[start..end].rfind(' ').filter(|&space| space > 0)
        {
            end = start + space;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(&text[start..end]);
        words.push(format!("=?UTF-8?B?{encoded}?="));
        start = end;
    }
    words.join(" ")
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one email and returns the service's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// Decodes a header value made of encoded words, as a mail program does.
    fn decode_words(value: &str) -> String {
        let mut bytes = Vec::new();
        for word in value.split_whitespace() {
            let payload = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|rest| rest.strip_suffix("?="))
                .unwrap_or_else(|| panic!("{word:?} is not an encoded word"));
            bytes.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(payload)
                    .unwrap(),
            );
        }
        String::from_utf8(bytes).unwrap()
    }

    const ADDRESS: &str = "video@praxis.example";

    #[test]
    fn sender_without_a_name_is_the_address() {
        assert_eq!(sender(ADDRESS, None), ADDRESS);
        assert_eq!(sender(ADDRESS, Some("  ")), ADDRESS);
    }

    #[test]
    fn sender_name_of_atoms_stays_as_it_is() {
        assert_eq!(
            sender(ADDRESS, Some("Praxis Weber")),
            "Praxis Weber <video@praxis.example>"
        );
    }

    #[test]
    fn sender_name_with_specials_is_quoted() {
        assert_eq!(
            sender(ADDRESS, Some("Praxis Dr. Weber, Berlin")),
            "\"Praxis Dr. Weber, Berlin\" <video@praxis.example>"
        );
        assert_eq!(
            sender(ADDRESS, Some(r#"Praxis "Am Park" \ Mitte"#)),
            r#""Praxis \"Am Park\" \\ Mitte" <video@praxis.example>"#
        );
    }

    #[test]
    fn sender_name_like_an_encoded_word_is_encoded() {
        let name = "Praxis =?UTF-8?B?SGFjaw==?= Weber";
        let from = sender(ADDRESS, Some(name));
        let words = from.strip_suffix(" <video@praxis.example>").unwrap();
        assert_eq!(decode_words(words), name);
    }

    #[test]
    fn sender_name_outside_ascii_is_encoded() {
        let name = "Praxis Dr. Müller-Lüdenscheidt für Psychotherapie und Psychosomatik";
        let from = sender(ADDRESS, Some(name));
        let words = from.strip_suffix(" <video@praxis.example>").unwrap();
        assert!(from.is_ascii());
        assert!(
            words.split(' ').count() > 1,
            "a long name takes several words"
        );
        assert!(words.split(' ').all(|word| word.len() <= 75));
        assert_eq!(decode_words(words), name);
    }

    #[test]
    fn encoded_words_end_before_a_space() {
        let name = "Gemeinschaftspraxis für Psychotherapie Dr. Jürgen Müller-Lüdenscheidt \
                    & Kolleginnen, Österreich Wien";
        let words = encoded_words(name);
        let decoded: Vec<String> = words.split(' ').map(decode_words).collect();
        assert_eq!(decoded.concat(), name);
        for part in &decoded[1..] {
            assert!(part.starts_with(' '), "{part:?} starts inside a word");
        }
    }

    #[test]
    fn encoded_words_never_split_a_character() {
        // 41 ASCII bytes put the two bytes of "ü" across the word limit.
        let text = format!("{}ü{}", "a".repeat(41), "😀".repeat(30));
        let words = encoded_words(&text);
        for word in words.split(' ') {
            assert!(word.len() <= 75, "{word} is too long");
            decode_words(word);
        }
        assert_eq!(decode_words(&words), text);
    }

    #[test]
    fn practice_name_is_trimmed_and_checked() {
        assert_eq!(
            check_practice_name("  Praxis Weber ").unwrap(),
            "Praxis Weber"
        );
        assert!(check_practice_name(" ").is_err());
        assert!(check_practice_name("Praxis\r\nBcc: x@example.org").is_err());
        assert!(check_practice_name(&"ä".repeat(PRACTICE_NAME_MAX_CHARS)).is_ok());
        assert!(check_practice_name(&"ä".repeat(PRACTICE_NAME_MAX_CHARS + 1)).is_err());
    }
}
