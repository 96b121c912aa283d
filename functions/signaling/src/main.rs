//! `signaling` Lambda function: set up tracing and the SDK clients once, then
//! handle every WebSocket route event.

use lambda_runtime::{LambdaEvent, service_fn};
use signaling::{Handler, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT (JSON in the template).
    lambda_runtime::tracing::init_default_subscriber();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let link_key =
        video_core::link::link_key_from_env(&aws_sdk_secretsmanager::Client::new(&aws)).await?;
    let settings = Settings::from_env(link_key)?;
    let handler = Handler::new(
        settings,
        aws_sdk_dynamodb::Client::new(&aws),
        aws_sdk_apigatewaymanagement::config::Builder::from(&aws),
    );
    let handler = &handler;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| async move {
        Ok::<_, lambda_runtime::Error>(handler.handle(event.payload).await)
    }))
    .await
}
