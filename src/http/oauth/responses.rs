//! Protocol responses: JSON with no caching (RFC 6749 §5.1), errors as
//! RFC 6749 §5.2, redirects.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::core::oidc::{ErrorCode, OAuthError};

/// 503 with `Retry-After` for a database that did not answer in time (or
/// 500 for any other database failure), as an OAuth error body.
pub fn unavailable(err: sea_orm::DbErr) -> Response {
    oauth_error(&OAuthError::from(err), false)
}

/// A JSON answer that no cache may keep (tokens, introspection).
pub fn no_store_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An OAuth error: 401 for client authentication failures (with the
/// challenge when Basic was used), 503 with `Retry-After` when the server
/// is busy, 500 for server_error, 400 otherwise.
pub fn oauth_error(error: &OAuthError, used_basic: bool) -> Response {
    let status = match error.error {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = no_store_json(
        status,
        json!({ "error": error.error.as_str(), "error_description": error.description }),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        crate::http::metrics::mark_busy(response.headers_mut());
    }
    if status == StatusCode::UNAUTHORIZED && used_basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"1Auth\""),
        );
    }
    response
}

/// 302 to `location` (authorization responses, RFC 6749 §4.1.2).
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
