//! The token endpoint (RFC 6749 §3.2): client authentication, what every
//! grant shares (the issuer that mints, new refresh tokens), and one module
//! per grant: `authorization_code`, `refresh` (rotation inside a family and
//! reuse detection, RFC 9700 §4.14.2) and `client_credentials`.

mod authorization_code;
mod client_credentials;
mod refresh;

pub use authorization_code::exchange_code;
pub use client_credentials::client_credentials;
pub use refresh::refresh;

use crate::core::token_families;
use crate::core::write::Write;
use std::sync::Arc;

use chrono::Duration;
use sea_orm::ActiveModelTrait;
use serde::Serialize;

use super::OAuthError;
use super::keys::{self, ActiveKeys};
use super::minting::{self, Grant};
use super::refresh_reads::RefreshReads;
use super::rotation::Rotations;
use crate::core::clients::secret_matches;
use crate::core::db::Db;
use crate::core::secrets;
use crate::entities::{app, oauth_client};
use crate::types::{AppId, ClientType};

/// How the client presented itself (RFC 6749 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (client_secret_basic).
    Basic {
        client_id: String,
        secret: String,
    },
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post {
        client_id: String,
        secret: String,
    },
    /// Only `client_id` (a public client).
    Public {
        client_id: String,
    },
    None,
}

impl ClientCredentials {
    pub fn used_basic(&self) -> bool {
        matches!(self, ClientCredentials::Basic { .. })
    }
}

/// Find and authenticate the client. A confidential client must prove its
/// secret; a public one has none to prove.
pub async fn authenticate_client(
    db: &Db,
    app: &app::Model,
    credentials: &ClientCredentials,
) -> Result<oauth_client::Model, OAuthError> {
    let (client_id, secret) = match credentials {
        ClientCredentials::Basic { client_id, secret }
        | ClientCredentials::Post { client_id, secret } => {
            (client_id.as_str(), Some(secret.as_str()))
        }
        ClientCredentials::Public { client_id } => (client_id.as_str(), None),
        ClientCredentials::None => {
            return Err(OAuthError::invalid_client(
                "Client authentication is missing.",
            ));
        }
    };
    let unknown = || OAuthError::invalid_client("Client authentication failed.");
    let client = crate::core::clients::find_cached(db, &app.id, client_id)
        .await?
        .filter(|c| c.disabled_at.is_none())
        .ok_or_else(unknown)?;
    match (client.client_type == ClientType::Confidential, secret) {
        (true, Some(secret)) if secret_matches(&client, secret) => Ok(client),
        (false, None) => Ok(client),
        _ => Err(unknown()),
    }
}

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Where tokens are minted from.
pub struct Issuer<'a> {
    pub db: &'a Db,
    pub issuer: &'a str,
    pub app: &'a app::Model,
    /// Where machine tokens are counted (see [`super::grant_tally`]).
    pub tally: &'a super::grant_tally::GrantTally,
    /// Where refresh tokens are read (see [`super::refresh_reads`]).
    pub refresh_reads: &'a RefreshReads,
    /// Where refresh rotations are committed (see [`super::rotation`]).
    pub rotations: &'a Rotations,
}

impl Issuer<'_> {
    fn app_id(&self) -> AppId {
        self.app.id.clone()
    }

    /// The app's signing keys: fetched (from this process's cache, or the
    /// database) before any write transaction opens, so minting never needs
    /// a second connection while the transaction holds one.
    async fn signing_keys(&self) -> Result<Arc<ActiveKeys>, OAuthError> {
        keys::active(self.db, &self.app.id).await
    }

    fn mint(
        &self,
        keys: &ActiveKeys,
        grant: &Grant<'_>,
        refresh_token: Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let (access_token, expires_in) = minting::mint_access_token(keys, grant)?;
        let id_token = if grant.scope.is_openid() && grant.user.is_some() {
            Some(minting::mint_id_token(keys, grant, &access_token)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope: grant.scope.to_string(),
            id_token,
            refresh_token,
        })
    }
}

/// A successor in `family`, stored now (its predecessor spent at the same
/// instant), returned in clear once.
async fn issue_refresh_token(
    tx: &Write,
    app: &app::Model,
    family_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, OAuthError> {
    let token = secrets::random_token(32);
    let idle = Duration::seconds(app.refresh_idle_secs);
    token_families::token_row(&app.id, family_id, &token, idle, now)
        .insert(tx)
        .await?;
    Ok(token)
}

async fn revoke_family(tx: &Write, family_id: &str, reason: &str) -> Result<(), OAuthError> {
    token_families::revoke(tx, token_families::Families::One(family_id), reason).await?;
    Ok(())
}
