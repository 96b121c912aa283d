//! `web` Lambda function: serve the browser client behind the HTTP API.

// One thread: Lambda hands an instance one event at a time, and below 1,769
// MB of memory it gets less than one vCPU, so worker threads would only add
// start time, memory and wake-ups between threads (bench/cold-start).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT (JSON in the template),
    // with the same caps on payload-logging dependencies as the other functions.
    video_core::logging::init_lambda_tracing();
    let settings = web::settings_from_env()?;
    tracing::info!(signaling_url = ?settings.signaling_url, "web client ready");
    lambda_http::run(web::app(settings)).await
}
