//! OpenID Connect provider, one per app: each app is its own issuer with its
//! own keys, clients and callbacks.
//!
//! `authorize` decides what an authorization request needs (an error, a
//! sign-in, a step-up, or a code); `grants` is the token endpoint, one
//! module per grant; `minting` mints and verifies the JWTs; `keys` holds the per-app signing keys;
//! `introspection` and `logout` are RFC 7662/7009 and RP-initiated logout;
//! `userinfo` is OIDC Core §5.3.

pub mod authorize;
mod batches;
pub mod grant_tally;
pub mod grants;
pub mod introspection;
pub mod keys;
pub mod logout;
pub mod minting;
pub mod refresh_reads;
pub mod resource;
pub mod rotation;
pub mod scope;
pub mod userinfo;

use crate::core::fault::Fault;
use sea_orm::DbErr;

use super::audit::AuditError;
use super::vault::VaultError;

/// The error codes 1Auth answers with: RFC 6749 §4.1.2.1 and §5.2, RFC 8707
/// §2 (`invalid_target`), OpenID Connect Core §3.1.2.6 (`login_required`,
/// `interaction_required`, `request_not_supported`,
/// `request_uri_not_supported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    InvalidTarget,
    LoginRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An OAuth error response (RFC 6749 §5.2, §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: ErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request.",
        )
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.as_str(), self.description)
    }
}

/// Unexpected failures become `server_error`, with the detail in the log.
fn internal(err: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %err, "OAuth request failed");
    OAuthError::server_error()
}

/// A fault as an OAuth error: "busy, try again" (`temporarily_unavailable`,
/// answered 503 with Retry-After) when no connection or lock was free in
/// time, else `server_error`; either way logged with its source.
impl From<Fault> for OAuthError {
    fn from(fault: Fault) -> Self {
        if fault.is_busy() {
            tracing::warn!(error = %fault, "database busy");
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "The server is busy. Try again in a moment.",
            )
        } else {
            internal(fault)
        }
    }
}

impl From<DbErr> for OAuthError {
    fn from(err: DbErr) -> Self {
        Fault::from(err).into()
    }
}

impl From<AuditError> for OAuthError {
    fn from(err: AuditError) -> Self {
        Fault::from(err).into()
    }
}

impl From<VaultError> for OAuthError {
    fn from(err: VaultError) -> Self {
        Fault::from(err).into()
    }
}

impl From<josekit::JoseError> for OAuthError {
    fn from(err: josekit::JoseError) -> Self {
        internal(err)
    }
}
