//! Server functions: each parses its input, calls one `core` function and
//! maps the result for the page. Grouped like `ui/`.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub mod account;
pub mod console;
#[cfg(feature = "ssr")]
mod context;
pub mod hosted;

/// What a page is told when a server function fails: always a sentence fit
/// for the user; internal detail stays in the server log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// Bad input; `field` names the form field it concerns.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("Sign in to continue.")]
    SignInRequired,
    /// The action needs a recent sign-in; the page offers to re-authenticate.
    #[error("{0}")]
    ReauthRequired(String),
    /// Refused by a rule (guardrail, permission, throttling, wrong secret).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    #[error("Something went wrong on our side. Try again in a moment.")]
    Internal,
    /// The server is busy (no database connection or password hasher free
    /// in time): answered 503 with `Retry-After`; nothing was changed.
    #[error("The service is busy right now. Try again in a moment.")]
    Unavailable,
    #[error("The request could not be completed ({0}). Check your connection and try again.")]
    Transport(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The message for one form field, if this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            ApiError::Invalid {
                field: Some(field),
                message,
            } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// Whether the error belongs beside a field rather than above the form.
    pub fn is_field_error(&self) -> bool {
        matches!(self, ApiError::Invalid { field: Some(_), .. })
    }
}

impl ApiError {
    /// The HTTP status that says the same as the error (the page reads the
    /// body; proxies, logs and scripts read the status).
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid { .. } => 422,
            ApiError::SignInRequired => 401,
            ApiError::ReauthRequired(_) | ApiError::Refused(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Transport(_) => 400,
            ApiError::Internal => 500,
            ApiError::Unavailable => 503,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ApiError::Transport(value.to_string())
    }

    fn ser(&self) -> leptos::server_fn::Bytes {
        // Called on the server while the failed request is answered: give
        // the response the matching status instead of a blanket 500. A plain
        // HTML form post (no JavaScript) keeps its redirect back to the form.
        #[cfg(feature = "ssr")]
        {
            use leptos::prelude::use_context;
            let form_post = use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.headers.get(axum::http::header::ACCEPT).cloned())
                .is_some_and(|accept| accept.to_str().is_ok_and(|a| a.contains("text/html")));
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                if !form_post && let Ok(status) = axum::http::StatusCode::from_u16(self.status()) {
                    response.set_status(status);
                }
                if matches!(self, ApiError::Unavailable) {
                    use crate::http::metrics::{RETRY_AFTER_SECS, count_busy};
                    count_busy();
                    response.insert_header(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
                    );
                }
            }
        }
        <Self::Encoder as leptos::server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(b"\"Internal\""))
    }
}
