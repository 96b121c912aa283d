//! `daily-emailer` Lambda function: build the clients once, then run the
//! invitation emails for every scheduled invocation.

use lambda_runtime::{LambdaEvent, service_fn};

// One thread: Lambda hands an instance one event at a time, and below 1,769
// MB of memory it gets less than one vCPU, so worker threads would only add
// start time, memory and wake-ups between threads (bench/cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT (JSON in the template),
    // but keeps the AWS SDK's request and response bodies out of the log.
    video_core::logging::init_lambda_tracing();
    let aws = video_core::aws_sdk::sdk_config()?;
    let link_key =
        video_core::link::link_key_from_env(&aws_sdk_secretsmanager::Client::new(&aws)).await?;
    let settings = daily_emailer::Settings::from_env(link_key)?;
    let run = daily_emailer::invitations(
        &settings,
        aws_sdk_dynamodb::Client::new(&aws),
        aws_sdk_sesv2::Client::new(&aws),
    );
    let run = &run;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            // The context carries the deadline in milliseconds since the epoch.
            let deadline = i64::try_from(event.context.deadline)
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis);
            let report = daily_emailer::handle(run, event.payload, deadline).await?;
            Ok::<_, lambda_runtime::Error>(report)
        },
    ))
    .await
}
