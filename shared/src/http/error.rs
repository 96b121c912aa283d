//! The rooms API's one error type and its JSON body
//! `{ "error": code, "message": text, "field": name }`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::room::FieldError;
use crate::store::StoreError;

/// The body of every 4xx and 5xx response of the rooms API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, such as `invalid-field`.
    #[schema(example = "invalid-field")]
    pub error: String,
    /// English explanation for the integrator, naming the field when there is one.
    #[schema(example = "date: 2026-02-30 is not a date that exists")]
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "date")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token in the Authorization header",
        )
    }

    pub fn room_not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, "not-found", "no room with this id")
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::Client {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid-field",
            message: error.to_string(),
            field: Some(error.field),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Client {
                status,
                code,
                message,
                field,
            } => {
                let body = ErrorBody {
                    error: code.to_owned(),
                    message,
                    field,
                };
                let mut response = (status, Json(body)).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        header::HeaderValue::from_static("Bearer"),
                    );
                }
                response
            }
            Self::Internal(cause) => {
                // The cause goes to the log only; the client gets an opaque body.
                tracing::error!(error = %cause, source = ?cause.source(), "request failed");
                let body = ErrorBody {
                    error: "internal".to_owned(),
                    message: "the server failed; try again later".to_owned(),
                    field: None,
                };
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}
