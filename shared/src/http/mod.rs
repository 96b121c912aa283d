//! The HTTP router shared by the local server and the Lambda functions: rooms
//! API, OpenAPI document, web client, runtime configuration and, locally,
//! the signaling WebSocket.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;

use crate::clock::Clock;
use crate::link::LinkKey;
use crate::morning::Invitations;
use crate::room::Retention;
use crate::store::{PreferenceStore, RoomStore};

pub mod api;
pub mod auth;
pub mod error;
pub mod json;
pub mod openapi;
pub mod patient_data;
pub mod web;
pub mod ws;

use auth::Authenticate;
use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub rooms: Arc<dyn RoomStore>,
    pub preferences: Arc<dyn PreferenceStore>,
    /// Sends invitations of rooms that become due after the morning run,
    /// and resends on request.
    pub invitations: Arc<Invitations>,
    pub retention: Retention,
    pub auth: Arc<dyn Authenticate>,
    pub links: LinkKey,
    pub clock: Arc<dyn Clock>,
    /// Base of join links, without a trailing slash.
    pub public_url: String,
    /// Set by the local server, which carries signaling over its own sockets.
    pub local_signaling: Option<Arc<ws::LocalSignaling>>,
    /// `wss://…` address of a separate signaling API, as in AWS; `None`
    /// means `/ws` on the same origin.
    pub signaling_url: Option<String>,
    /// The privacy page at `/privacy` and `/datenschutz`. It is `None` where
    /// another function serves the pages, as for the rooms API on AWS.
    pub privacy: Option<Arc<crate::privacy::PrivacyPage>>,
}

async fn api_not_found() -> ApiError {
    ApiError::client(StatusCode::NOT_FOUND, "not-found", "no such API path")
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::client(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this method is not allowed on this path",
    )
}

/// Builds the whole router: rooms API, OpenAPI document, signaling socket
/// (when the state carries local signaling) and web client. Where the
/// authenticator verifies tokens itself, failed authentications are
/// throttled per client address; the address comes from `ConnectInfo`, so
/// serve the router with `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// # Panics
/// Panics when `signaling_url` is not a `ws://` or `wss://` URL; callers
/// check it at start-up with [`web::WebSettings::new`].
pub fn router(state: AppState) -> Router {
    let mut web_settings = web::WebSettings::new(&state.public_url, state.signaling_url.as_deref())
        .expect("the signaling URL was checked at start-up");
    if let Some(page) = state.privacy.clone() {
        web_settings = web_settings.with_privacy_page(page);
    }
    let mut api = api::routes()
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(DefaultBodyLimit::max(json::MAX_BODY_BYTES));
    if state.auth.verifies_secrets() {
        // No gateway checks these tokens before this process does, so
        // guessing them is slowed down here, per client address.
        let throttle = Arc::new(auth::FailedAuthThrottle::new(
            auth::ThrottlePolicy::default(),
            state.clock.clone(),
        ));
        api = api.layer(axum::middleware::from_fn_with_state(
            throttle,
            auth::throttle_failed_authentications,
        ));
    }

    // The web client's router adds the security headers to its own routes;
    // this layer adds them to the API and the socket.
    let security_headers =
        axum::middleware::from_fn_with_state(Arc::new(web_settings.clone()), web::security_headers);
    Router::new()
        .merge(api)
        .route("/ws", get(ws::upgrade))
        .with_state(state)
        .layer(security_headers)
        .merge(web::router(web_settings))
}
