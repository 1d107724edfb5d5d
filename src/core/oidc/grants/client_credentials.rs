//! grant_type=client_credentials (RFC 6749 §4.4): a confidential client
//! asks for a token for itself.

use crate::core::oidc::minting::Grant;
use crate::core::oidc::scope::Scope;
use crate::core::oidc::{ErrorCode, OAuthError};
use crate::entities::oauth_client;
use crate::types::ClientType;

use super::{Issuer, TokenResponse};

/// grant_type=client_credentials (RFC 6749 §4.4): confidential clients only;
/// the client is the subject, there is no user, no ID token, no refresh.
pub async fn client_credentials(
    issuer: &Issuer<'_>,
    client: &oauth_client::Model,
    requested_scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Only confidential clients may use client_credentials.",
        ));
    }
    let scope = Scope::parse(requested_scope.unwrap_or(""))?;
    if scope.is_openid() || scope.has("offline_access") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "openid and offline_access need a user; client_credentials has none.",
        ));
    }
    let resource = crate::core::oidc::resource::requested(issuer.app, resource)?;
    let signing_keys = issuer.signing_keys().await?;
    let grant = Grant {
        issuer: issuer.issuer,
        app: issuer.app,
        client,
        user: None,
        authentication: None,
        scope: &scope,
        roles: &[],
        nonce: None,
        resource: resource.as_deref(),
        family_id: None,
        issued_at: issuer.db.now(),
        org: None,
    };
    let response = issuer.mint(&signing_keys, &grant, None)?;
    // Routine: counted, and summarised in the audit chain every few seconds.
    issuer.tally.count(
        &issuer.app.id,
        &client.id,
        &client.name,
        &response.scope,
        issuer.db.now(),
    );
    Ok(response)
}
