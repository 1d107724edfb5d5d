//! OAuth clients of an app. A confidential client's secret is generated here,
//! returned once and stored only as its SHA-256.

use sea_orm::{ActiveModelTrait, DatabaseTransaction, DbErr, Set};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::audit::{self, Actor, AuditError, Event, Target};
use super::clock;
use super::oidc::keys::Alg;
use super::secrets;
use super::types::{AppId, ClientType, DisplayName, RedirectUri};
use crate::entities::oauth_client;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

pub struct NewClient {
    pub name: DisplayName,
    pub client_type: ClientType,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// How its ID tokens are signed (ES256 unless it needs RS256).
    pub id_token_alg: Alg,
}

/// A freshly generated client secret: printable once, never stored in clear.
pub struct ClientSecret(SecretString);

impl ClientSecret {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

fn uri_list(uris: &[RedirectUri]) -> String {
    serde_json::to_string(&uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>())
        .expect("a list of strings serialises")
}

/// Register a client of `app_id` and record `client.created`.
pub async fn create(
    tx: &DatabaseTransaction,
    actor: &Actor,
    app_id: &AppId,
    new: NewClient,
) -> Result<(oauth_client::Model, Option<ClientSecret>), ClientError> {
    let now = clock::now();
    let secret = (new.client_type == ClientType::Confidential)
        .then(|| ClientSecret(SecretString::from(secrets::random_token(32))));
    let client = oauth_client::ActiveModel {
        id: Set(secrets::random_token(16)),
        app_id: Set(app_id.to_string()),
        name: Set(new.name.to_string()),
        client_type: Set(new.client_type.as_str().to_owned()),
        secret_hash: Set(secret.as_ref().map(|s| secrets::sha256_hex(s.expose()))),
        redirect_uris: Set(uri_list(&new.redirect_uris)),
        post_logout_redirect_uris: Set(uri_list(&new.post_logout_redirect_uris)),
        id_token_alg: Set(new.id_token_alg.as_str().to_owned()),
        secret_rotated_at: Set(None),
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor,
            action: "client.created",
            target: Some(Target::new("client", client.id.as_str())),
            details: json!({ "after": {
                "name": client.name,
                "client_type": client.client_type,
                "id_token_alg": client.id_token_alg,
                "redirect_uris": new.redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
                "post_logout_redirect_uris": new.post_logout_redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
            }}),
        },
    )
    .await?;
    Ok((client, secret))
}

/// Whether `presented` is this client's secret (constant time).
pub fn secret_matches(client: &oauth_client::Model, presented: &str) -> bool {
    match &client.secret_hash {
        Some(stored) => secrets::constant_time_eq(stored, &secrets::sha256_hex(presented)),
        None => false,
    }
}

/// The registered redirect URIs of a client.
pub fn redirect_uris(client: &oauth_client::Model) -> Vec<String> {
    serde_json::from_str(&client.redirect_uris).unwrap_or_default()
}

/// The registered post-logout redirect URIs of a client.
pub fn post_logout_redirect_uris(client: &oauth_client::Model) -> Vec<String> {
    serde_json::from_str(&client.post_logout_redirect_uris).unwrap_or_default()
}
