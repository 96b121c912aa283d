//! Mail adapter for Amazon SES v2.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{Email, MailError, Mailer, SEND_TIMEOUT};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    /// Verified sender address, with the practice's name before it when
    /// set, e.g. `Praxis Weber <video@praxis-weber.de>`; see
    /// [`super::sender`].
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set,
        }
    }
}

fn utf8(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|error| MailError::Failed(Box::new(error)))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(
                Body::builder()
                    .html(utf8(&email.html)?)
                    .text(utf8(&email.text)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .customize()
            .config_override(
                aws_sdk_sesv2::config::Config::builder().timeout_config(
                    aws_sdk_sesv2::config::timeout::TimeoutConfig::builder()
                        .operation_timeout(SEND_TIMEOUT)
                        .build(),
                ),
            )
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.message_id.unwrap_or_default()),
            Err(error) => Err(match error.as_service_error() {
                Some(
                    SendEmailError::TooManyRequestsException(_)
                    | SendEmailError::LimitExceededException(_),
                ) => MailError::Throttled,
                Some(SendEmailError::MessageRejected(rejected)) => {
                    MailError::Rejected(rejected.message().unwrap_or("message rejected").to_owned())
                }
                Some(
                    SendEmailError::AccountSuspendedException(_)
                    | SendEmailError::SendingPausedException(_),
                ) => MailError::Failed(Box::new(error)),
                _ => MailError::Failed(Box::new(error)),
            }),
        }
    }
}
