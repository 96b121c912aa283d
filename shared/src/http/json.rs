//! A JSON body extractor whose rejections use the API's error shape and name
//! the field at fault.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Maximum request body of the rooms API. A room with 8 invitees and every
/// field at its maximum length stays below 8 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct ApiJson<T>(pub T);

fn is_json_content_type(request: &Request) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    text.parse::<mime::Mime>()
        .is_ok_and(|mime| mime.type_() == mime::APPLICATION && mime.subtype() == mime::JSON)
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(&request) {
            return Err(ApiError::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "the request body must be JSON with Content-Type: application/json",
            ));
        }
        let encoded = request
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|value| !value.as_bytes().eq_ignore_ascii_case(b"identity"));
        if encoded {
            return Err(ApiError::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "compressed request bodies are not supported; send the JSON without \
                 Content-Encoding",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::client(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload-too-large",
                        format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                    )
                } else {
                    ApiError::client(
                        StatusCode::BAD_REQUEST,
                        "invalid-body",
                        "the request body could not be read",
                    )
                }
            })?;
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(ApiError::client(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "malformed JSON: the body starts with a byte order mark (EF BB BF); send \
                 UTF-8 without it",
            ));
        }
        // Syntax first, so a truncated body is always reported as malformed
        // JSON and never as a field of the wrong type.
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(|error| {
            ApiError::client(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                format!("malformed JSON: {error}"),
            )
        })?;
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(ApiError::client(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "the request body must be a JSON object",
            ));
        }
        // Read from the bytes, not from a parsed `Value`, which would keep
        // only the last of two members with the same name: a request that
        // names a field twice is rejected.
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            // At the top level the path is ".", and a repeated or missing
            // member names itself in backticks, as in "duplicate field `date`".
            let field = if path == "." {
                inner.split('`').nth(1).map(str::to_owned)
            } else {
                Some(path)
            };
            let message = match &field {
                Some(field) if !inner.starts_with(field.as_str()) => format!("{field}: {inner}"),
                _ => inner,
            };
            ApiError::Client {
                status: StatusCode::BAD_REQUEST,
                code: "invalid-field",
                message,
                field,
            }
        })?;
        Ok(Self(value))
    }
}
