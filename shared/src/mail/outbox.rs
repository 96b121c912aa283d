//! Mail adapter of the local server: every message becomes an `.eml` file in
//! an outbox folder, readable by any mail program.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Email, MailError, Mailer};
use crate::random::random_id;

#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    /// Creates the folder when missing, readable by its owner only, and
    /// restricts an existing one that others may read. `from` is the whole
    /// `From` header value, as [`super::sender`] writes it.
    pub fn new(dir: &Path, from: impl Into<String>) -> std::io::Result<Self> {
        crate::private_files::create_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            from: from.into(),
        })
    }
}

/// Format of the time at the start of an outbox file's name.
const NAME_TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

impl OutboxMailer {
    /// Deletes the messages written before `cutoff`, judged by the time at
    /// the start of each file's name, and returns how many. Files of any
    /// other name are left alone.
    pub fn purge_written_before(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> std::io::Result<usize> {
        let mut deleted = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            let Some(stamp) = name.strip_suffix(".eml").and_then(|stem| stem.get(..16)) else {
                continue;
            };
            let Ok(written) = chrono::NaiveDateTime::parse_from_str(stamp, NAME_TIME_FORMAT) else {
                continue;
            };
            if written.and_utc() < cutoff {
                std::fs::remove_file(&path)?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

/// Encodes a header value as RFC 2047 encoded words when it is not ASCII.
fn header_text(text: &str) -> String {
    if text.is_ascii() {
        text.to_owned()
    } else {
        super::encoded_words(text)
    }
}

/// Maximum header line length that RFC 5322 recommends, without its CRLF.
const HEADER_LINE_CHARS: usize = 78;

/// Writes one header field, folded before spaces so that each line stays
/// within [`HEADER_LINE_CHARS`] where the value allows it. A reader unfolds
/// by removing the line breaks only, so the value keeps every space.
fn header(name: &str, value: &str) -> String {
    let mut field = format!("{name}:");
    let mut line = field.len();
    for piece in value.split(' ') {
        // A fold before an empty piece would leave a line of white space.
        if line + 1 + piece.len() > HEADER_LINE_CHARS && !piece.is_empty() {
            field.push_str("\r\n ");
            line = 1;
        } else {
            field.push(' ');
            line += 1;
        }
        field.push_str(piece);
        line += piece.len();
    }
    field.push_str("\r\n");
    field
}

/// Encodes a body as base64 in lines of 76 characters (RFC 2045).
fn base64_lines(text: &str) -> String {
    let encoded = STANDARD.encode(text);
    let mut lines = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        lines.push_str("\r\n");
    }
    lines
}

/// Renders an email as a MIME message with a plain-text and an HTML part.
pub fn render_eml(
    email: &Email,
    from: &str,
    message_id: &str,
    date: chrono::DateTime<chrono::Utc>,
) -> String {
    let boundary = format!("alt-{message_id}");
    let head = [
        header("From", from),
        header("To", &email.to),
        header("Subject", &header_text(&email.subject)),
        header("Date", &date.to_rfc2822()),
        header("Message-ID", &format!("<{message_id}@video.local>")),
        header("MIME-Version", "1.0"),
        header(
            "Content-Type",
            &format!("multipart/alternative; boundary=\"{boundary}\""),
        ),
    ]
    .concat();
    format!(
        "{head}\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{html}\
         --{boundary}--\r\n",
        text = base64_lines(&email.text),
        html = base64_lines(&email.html),
    )
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let now = chrono::Utc::now();
        let message_id = random_id();
        let name = format!("{}-{message_id}.eml", now.format(NAME_TIME_FORMAT));
        let contents = render_eml(email, &self.from, &message_id, now);
        let path = self.dir.join(&name);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let write = move || -> std::io::Result<()> {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            // The message contains an address and a working link.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temporary)?;
            file.write_all(contents.as_bytes())?;
            file.sync_all()?;
            // The rename is atomic, so a mail program watching the folder never
            // reads half a file.
            std::fs::rename(&temporary, &path)
        };
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|error| MailError::Failed(Box::new(error)))?
            .map_err(|error| MailError::Failed(Box::new(error)))?;
        tracing::info!(file = %name, "invitation written to the outbox");
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            to: "anna@example.org".to_owned(),
            subject: "Ihr Videotermin für heute".to_owned(),
            html: "<p>Grüße</p>".to_owned(),
            text: "Grüße".to_owned(),
        }
    }

    #[tokio::test]
    async fn writes_one_private_eml_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path(), "video@praxis.example").unwrap();
        let name = mailer.send(&email()).await.unwrap();
        let path = dir.path().join(&name);
        assert!(name.ends_with(".eml"));
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "no temporary file is left behind");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("To: anna@example.org\r\n"));
        assert!(text.contains("Subject: =?UTF-8?B?"));
        assert!(text.contains("multipart/alternative"));
    }

    #[test]
    fn outbox_folder_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join("outbox");
        OutboxMailer::new(&new, "video@praxis.example").unwrap();
        assert_eq!(mode(&new), 0o700, "a new outbox");

        let open = root.path().join("open-outbox");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        OutboxMailer::new(&open, "video@praxis.example").unwrap();
        assert_eq!(
            mode(&open),
            0o700,
            "an existing outbox that others could read"
        );
    }

    #[tokio::test]
    async fn purge_deletes_only_old_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path(), "video@praxis.example").unwrap();
        let fresh = mailer.send(&email()).await.unwrap();
        std::fs::write(dir.path().join("20261101T050000Z-abc.eml"), "old").unwrap();
        std::fs::write(dir.path().join("notes.eml"), "not a message").unwrap();
        std::fs::write(dir.path().join("20261101T050000Z.txt"), "other type").unwrap();

        let cutoff = chrono::Utc::now() - chrono::Duration::days(1);
        assert_eq!(mailer.purge_written_before(cutoff).unwrap(), 1);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected = vec![
            fresh,
            "20261101T050000Z.txt".to_owned(),
            "notes.eml".to_owned(),
        ];
        expected.sort();
        assert_eq!(left, expected);
    }

    #[test]
    fn eml_parts_decode_to_the_bodies() {
        let date = chrono::DateTime::parse_from_rfc3339("2026-12-13T05:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let eml = render_eml(&email(), "video@praxis.example", "abc", date);
        let parts: Vec<&str> = eml.split("--alt-abc").collect();
        assert_eq!(parts.len(), 4, "preamble, text, html, end");
        let decode = |part: &str| {
            let body: String = part.split("\r\n\r\n").nth(1).unwrap().lines().collect();
            String::from_utf8(STANDARD.decode(body).unwrap()).unwrap()
        };
        assert_eq!(decode(parts[1]), "Grüße");
        assert_eq!(decode(parts[2]), "<p>Grüße</p>");
        assert!(eml.contains("Date: Sun, 13 Dec 2026 05:00:00 +0000"));
    }

    /// Renders `email` from `from` and returns the header block. Checks that
    /// each of its lines is ASCII within 78 characters, and that unfolding
    /// gives back the `From` value.
    fn folded_head(email: &Email, from: &str) -> String {
        let date = chrono::DateTime::parse_from_rfc3339("2026-12-13T05:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let eml = render_eml(email, from, &random_id(), date);
        let head = eml.split("\r\n\r\n").next().unwrap().to_owned();
        for line in head.split("\r\n") {
            assert!(line.len() <= 78, "{line:?} is longer than 78 characters");
            assert!(line.is_ascii(), "{line:?}");
        }
        let unfolded = head.replace("\r\n ", " ");
        assert!(
            unfolded.contains(&format!("From: {from}\r\n")),
            "unfolding restores the value: {head}"
        );
        head
    }

    #[test]
    fn long_headers_outside_ascii_are_folded() {
        let email = Email {
            subject: "Geänderter Videotermin: heute, Sonntag, 13. Dezember, 14:30 Uhr".to_owned(),
            ..email()
        };
        let from = crate::mail::sender(
            "video@praxis.example",
            Some("Praxis für Psychotherapie Dr. Müller-Lüdenscheidt"),
        );
        let head = folded_head(&email, &from);
        assert!(
            head.contains("\r\n =?UTF-8?B?"),
            "a folded subject or sender"
        );
    }

    #[test]
    fn long_ascii_headers_are_folded() {
        let name = "Gemeinschaftspraxis for Psychotherapy and Psychosomatic Medicine, \
                    Dr. Weber and Colleagues, Berlin";
        let from = crate::mail::sender("video@praxis.example", Some(name));
        let head = folded_head(&email(), &from);
        assert!(head.starts_with("From: \"Gemeinschaftspraxis"), "{head}");
    }

    #[test]
    fn folding_keeps_every_space() {
        // 70 letters and two spaces: the fold must not come before the empty
        // piece between them.
        let value = format!("{}  b {}", "a".repeat(70), "c".repeat(90));
        let field = header("Subject", &value);
        assert_eq!(field.replace("\r\n ", " "), format!("Subject: {value}\r\n"));
        let lines = field.split("\r\n").filter(|line| !line.is_empty());
        for line in lines {
            assert!(!line.trim().is_empty(), "a line of white space: {field:?}");
        }
    }
}
