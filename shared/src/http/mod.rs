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
use crate::store::RoomStore;

pub mod api;
pub mod auth;
pub mod error;
pub mod json;
pub mod openapi;
pub mod web;
pub mod ws;

use auth::Authenticate;
use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub rooms: Arc<dyn RoomStore>,
    pub auth: Arc<dyn Authenticate>,
    pub links: LinkKey,
    pub clock: Arc<dyn Clock>,
    /// Base of join links, without a trailing slash.
    pub public_url: String,
    /// Set by the local server, which carries signaling over its own sockets.
    pub local_signaling: Option<Arc<ws::LocalSignaling>>,
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

pub fn router(state: AppState) -> Router {
    let api = api::routes()
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(DefaultBodyLimit::max(json::MAX_BODY_BYTES));

    Router::new()
        .merge(api)
        .route("/ws", get(ws::upgrade))
        .route("/config.json", get(web::runtime_config))
        .fallback(web::asset)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::security_headers,
        ))
        .with_state(state)
}
