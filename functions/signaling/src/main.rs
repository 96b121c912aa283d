//! `signaling` Lambda function: set up tracing and the SDK clients once, then
//! handle every WebSocket route event.

use lambda_runtime::{LambdaEvent, service_fn};
use signaling::{Handler, Settings};

// One thread: Lambda hands an instance one event at a time, and below 1,769
// MB of memory it gets less than one vCPU, so worker threads would only add
// start time, memory and wake-ups between threads (bench/cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT (JSON in the template),
    // but keeps the AWS SDK's request and response bodies out of the log.
    video_core::logging::init_lambda_tracing();
    let aws = video_core::aws_sdk::sdk_config()?;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let turn_urls = std::env::var("TURN_URLS").unwrap_or_default();
    let turn_secret_arn = std::env::var("TURN_SECRET_ARN").ok();
    // Both secrets are read at once: each read is a round trip to Secrets
    // Manager, and the cold start waits for the slower one only.
    let (link_key, turn) = tokio::join!(
        video_core::link::link_key_from_env(&secrets),
        video_core::turn::turn_server_from_secret(&secrets, &turn_urls, turn_secret_arn.as_deref()),
    );
    let mut settings = Settings::from_env(link_key?)?;
    settings.turn = turn.map_err(lambda_runtime::Error::from)?;
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
