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

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one email and returns the service's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}
