//! Push adapter for API Gateway WebSocket APIs: messages go to a connection
//! with PostToConnection, and closing is DeleteConnection. A 410
//! GoneException means the client has left.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::primitives::Blob;

use super::{Push, PushError};

#[derive(Debug, Clone)]
pub struct ApiGatewayPush {
    client: Client,
}

impl ApiGatewayPush {
    /// Wraps a client whose endpoint is the API's callback URL, including
    /// the stage (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`)
    /// or a custom domain's base path.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Returns the callback URL of a WebSocket API stage.
pub fn callback_url(domain_name: &str, stage: &str) -> String {
    format!("https://{domain_name}/{stage}")
}

/// Maps an SDK failure to a push error; a GoneException means the client left.
fn push_error(gone: bool, error: impl std::error::Error + Send + Sync + 'static) -> PushError {
    if gone {
        PushError::Gone
    } else {
        PushError::Failed(Box::new(error))
    }
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), PushError> {
        self.client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(text.as_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                let gone = error
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception());
                push_error(gone, error)
            })
    }

    async fn close(&self, connection_id: &str, _code: u16) -> Result<(), PushError> {
        // API Gateway cannot send a close code. The client sees 1006 or 1000
        // and relies on the `error` message sent before.
        self.client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                let gone = error
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception());
                push_error(gone, error)
            })
    }
}
#[cfg(test)]
mod tests {
    #[test]
    fn callback_url_includes_stage() {
        assert_eq!(
            super::callback_url("abc123.execute-api.eu-central-1.amazonaws.com", "prod"),
            "https://abc123.execute-api.eu-central-1.amazonaws.com/prod"
        );
    }
}
