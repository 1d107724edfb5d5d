//! OAuth clients of an app. A confidential client's secret is generated here,
//! returned once and stored only as its SHA-256.

use crate::core::fault::Fault;
use crate::core::write::Write;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::audit::{self, Action, Event, Target};
use super::cache::TtlMap;
use super::db::Db;
use super::secrets;
use super::token_families::{self, Families};
use crate::entities::oauth_client;
use crate::types::Alg;
use crate::types::{AppId, ClientType, DisplayName, RedirectUri};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(ClientError);

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
    tx: &Write,
    app_id: &AppId,
    new: NewClient,
) -> Result<(oauth_client::Model, Option<ClientSecret>), ClientError> {
    let now = tx.now;
    let secret = (new.client_type == ClientType::Confidential)
        .then(|| ClientSecret(SecretString::from(secrets::random_token(32))));
    let client = oauth_client::ActiveModel {
        id: Set(secrets::random_token(16)),
        app_id: Set(app_id.clone()),
        name: Set(new.name.to_string()),
        client_type: Set(new.client_type),
        secret_hash: Set(secret.as_ref().map(|s| secrets::sha256_hex(s.expose()))),
        redirect_uris: Set(uri_list(&new.redirect_uris)),
        post_logout_redirect_uris: Set(uri_list(&new.post_logout_redirect_uris)),
        id_token_alg: Set(new.id_token_alg),
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
            actor: &tx.actor,
            action: Action::ClientCreated,
            target: Some(Target::client(client.id.as_str())),
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

/// The clients of an app, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
) -> Result<Vec<oauth_client::Model>, DbErr> {
    oauth_client::Entity::find()
        .filter(oauth_client::Column::AppId.eq(app_id))
        .order_by_asc(oauth_client::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
    client_id: &str,
) -> Result<Option<oauth_client::Model>, DbErr> {
    oauth_client::Entity::find_by_id(client_id)
        .filter(oauth_client::Column::AppId.eq(app_id))
        .one(db)
        .await
}

struct ClientCache(TtlMap<(String, String), oauth_client::Model>);

impl Default for ClientCache {
    fn default() -> Self {
        Self(TtlMap::named("clients"))
    }
}

/// The client, from this process's cache when it was read in the last
/// second (every token request reads it). Unknown ids are not cached.
pub async fn find_cached(
    db: &Db,
    app_id: &str,
    client_id: &str,
) -> Result<Option<oauth_client::Model>, DbErr> {
    let cache = db.cached::<ClientCache>();
    let key = (app_id.to_owned(), client_id.to_owned());
    if let Some(client) = cache.0.get(&key) {
        return Ok(Some(client));
    }
    let found = find(db, app_id, client_id).await?;
    if let Some(client) = &found {
        cache.0.put(key, client.clone());
    }
    Ok(found)
}

struct ClientListCache(TtlMap<String, std::sync::Arc<Vec<oauth_client::Model>>>);

impl Default for ClientListCache {
    fn default() -> Self {
        Self(TtlMap::named("client_lists"))
    }
}

/// The app's clients, from this process's cache when they were read in the
/// last second (every hosted page names their redirect URIs in its CSP).
pub async fn list_cached(
    db: &Db,
    app_id: &str,
) -> Result<std::sync::Arc<Vec<oauth_client::Model>>, DbErr> {
    let cache = db.cached::<ClientListCache>();
    if let Some(clients) = cache.0.get(&app_id.to_owned()) {
        return Ok(clients);
    }
    let clients = std::sync::Arc::new(list(db, app_id).await?);
    cache
        .0
        .put(app_id.to_owned(), std::sync::Arc::clone(&clients));
    Ok(clients)
}

/// What an operator may change of a client.
pub struct ClientChanges {
    pub name: DisplayName,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub id_token_alg: Alg,
}

fn describe(client: &oauth_client::Model) -> serde_json::Value {
    json!({
        "name": client.name,
        "redirect_uris": redirect_uris(client),
        "post_logout_redirect_uris": post_logout_redirect_uris(client),
        "id_token_alg": client.id_token_alg,
        "disabled": client.disabled_at.is_some(),
    })
}

/// Change a client, recording `client.updated` with before and after.
pub async fn update(
    tx: &Write,
    client: &oauth_client::Model,
    changes: ClientChanges,
) -> Result<oauth_client::Model, ClientError> {
    let before = describe(client);
    let mut update: oauth_client::ActiveModel = client.clone().into();
    update.name = Set(changes.name.to_string());
    update.redirect_uris = Set(uri_list(&changes.redirect_uris));
    update.post_logout_redirect_uris = Set(uri_list(&changes.post_logout_redirect_uris));
    update.id_token_alg = Set(changes.id_token_alg);
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &client.app_id,
            actor: &tx.actor,
            action: Action::ClientUpdated,
            target: Some(Target::client(client.id.as_str())),
            details: json!({ "before": before, "after": describe(&updated) }),
        },
    )
    .await?;
    Ok(updated)
}

/// Give a confidential client a new secret (shown once; the old one stops
/// working at once). Records `client.secret_rotated`.
pub async fn rotate_secret(
    tx: &Write,
    client: &oauth_client::Model,
) -> Result<ClientSecret, ClientError> {
    let secret = ClientSecret(SecretString::from(secrets::random_token(32)));
    let mut update: oauth_client::ActiveModel = client.clone().into();
    update.secret_hash = Set(Some(secrets::sha256_hex(secret.expose())));
    update.secret_rotated_at = Set(Some(tx.now));
    update.updated_at = Set(tx.now);
    update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &client.app_id,
            actor: &tx.actor,
            action: Action::ClientSecretRotated,
            target: Some(Target::client(client.id.as_str())),
            details: json!({}),
        },
    )
    .await?;
    Ok(secret)
}

/// Disable or re-enable a client. Records `client.disabled` / `client.enabled`.
pub async fn set_disabled(
    tx: &Write,
    client: &oauth_client::Model,
    disabled: bool,
) -> Result<oauth_client::Model, ClientError> {
    let mut update: oauth_client::ActiveModel = client.clone().into();
    update.disabled_at = Set(disabled.then_some(tx.now));
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    // N7: what a disabled client holds ends with it; enabling it again
    // revives nothing.
    let families_revoked = if disabled {
        token_families::revoke(
            tx,
            Families::OfClient(&client.app_id, &client.id),
            "client_disabled",
        )
        .await?
    } else {
        0
    };
    audit::record(
        tx,
        Event {
            app_id: &client.app_id,
            actor: &tx.actor,
            action: if disabled {
                Action::ClientDisabled
            } else {
                Action::ClientEnabled
            },
            target: Some(Target::client(client.id.as_str())),
            details: json!({ "token_families_revoked": families_revoked }),
        },
    )
    .await?;
    Ok(updated)
}
