//! The browser client on Lambda: the same files, `/config.json` and security
//! headers as the local server, with the WebSocket API's address from the
//! environment.

use video_core::http::web::{WebSettings, router};

/// Reads `PUBLIC_URL` and `SIGNALING_URL` (`wss://…/{stage}`) and checks them.
pub fn settings_from_env() -> anyhow::Result<WebSettings> {
    let required = |name: &str| {
        std::env::var(name).map_err(|_| anyhow::anyhow!("environment variable {name} is missing"))
    };
    let public_url = required("PUBLIC_URL")?;
    let signaling_url = required("SIGNALING_URL")?;
    Ok(WebSettings::new(&public_url, Some(&signaling_url))?)
}

/// Builds the router of the web client.
pub fn app(settings: WebSettings) -> axum::Router {
    router(settings)
}
