//! OpenID Connect provider, one per app: each app is its own issuer with its
//! own keys, clients and callbacks.
//!
//! `authorize` decides what an authorization request needs (an error, a
//! sign-in, a step-up, or a code); `grants` is the token endpoint, one
//! module per grant; `minting` mints and verifies the JWTs; `keys` holds the per-app signing keys;
//! `introspection` and `logout` are RFC 7662/7009 and RP-initiated logout.

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

use sea_orm::DbErr;

use super::audit::AuditError;
use super::vault::VaultError;

/// An OAuth error response (RFC 6749 §5.2, §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description)
    }

    pub fn server_error() -> Self {
        Self::new("server_error", "The server could not complete the request.")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

/// Unexpected failures become `server_error`, with the detail in the log.
fn internal(err: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %err, "OAuth request failed");
    OAuthError::server_error()
}

/// A database failure as an OAuth error: "busy, try again"
/// (`temporarily_unavailable`, answered 503 with Retry-After) when no
/// connection or lock was free in time, else `server_error`.
pub fn db_error(err: &DbErr) -> OAuthError {
    if super::db::is_unavailable(err) {
        tracing::warn!(error = %err, "database busy");
        OAuthError::new(
            "temporarily_unavailable",
            "The server is busy. Try again in a moment.",
        )
    } else {
        internal(err)
    }
}

impl From<DbErr> for OAuthError {
    fn from(err: DbErr) -> Self {
        db_error(&err)
    }
}

impl From<AuditError> for OAuthError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Database(err) => db_error(&err),
            other => internal(other),
        }
    }
}

impl From<VaultError> for OAuthError {
    fn from(err: VaultError) -> Self {
        internal(err)
    }
}

impl From<josekit::JoseError> for OAuthError {
    fn from(err: josekit::JoseError) -> Self {
        internal(err)
    }
}
