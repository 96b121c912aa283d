//! `rooms-api` Lambda function: set up tracing and the DynamoDB and SES
//! clients once, then serve the rooms API router for every invocation.

use rooms_api::{Settings, app};

// One thread: Lambda hands an instance one event at a time, and below 1,769
// MB of memory it gets less than one vCPU, so worker threads would only add
// start time, memory and wake-ups between threads (bench/cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT (JSON in the template),
    // but keeps the AWS SDK's request and response bodies out of the log.
    video_core::logging::init_lambda_tracing();
    let aws = video_core::aws_sdk::sdk_config()?;
    let link_key =
        video_core::link::link_key_from_env(&aws_sdk_secretsmanager::Client::new(&aws)).await?;
    let settings = Settings::from_env(link_key)?;
    let router = app(
        &settings,
        aws_sdk_dynamodb::Client::new(&aws),
        aws_sdk_sesv2::Client::new(&aws),
    );
    tracing::info!(table = %settings.rooms_table, "rooms API ready");
    lambda_http::run(router).await
}
