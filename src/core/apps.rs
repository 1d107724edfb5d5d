//! Apps: the security boundary. Creating one starts its audit chain and,
//! usually, its first OAuth client.

use crate::core::fault::Fault;
use crate::core::write::Write;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::audit::{self, Action, Event, Target};
use super::cache::TtlMap;
use super::clients::{self, ClientError, ClientSecret, NewClient};
use super::db::Db;
use crate::entities::{app, oauth_client};
use crate::types::{ApiAudience, AppId, BrandColor, DisplayName, Email, InvalidValue};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("An app with the id \"{0}\" already exists.")]
    AlreadyExists(String),
    #[error("There is no app with the id \"{0}\".")]
    NotFound(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(AppError);

pub struct NewApp {
    pub id: AppId,
    pub name: DisplayName,
    /// Whether people may sign up on the hosted pages.
    pub self_registration: bool,
    /// Resource servers a client may ask tokens for (RFC 8707).
    pub api_audiences: Vec<ApiAudience>,
    /// The first OAuth client, created with the app.
    pub client: Option<NewClient>,
}

pub struct CreatedApp {
    pub app: app::Model,
    pub client: Option<oauth_client::Model>,
    /// Present for a confidential client; shown once, stored only hashed.
    pub client_secret: Option<ClientSecret>,
}

/// Create an app (with default policy), its audit chain and optionally its
/// first client, recording `app.created` (and `client.created`).
pub async fn create(tx: &Write, new: NewApp) -> Result<CreatedApp, AppError> {
    if app::Entity::find_by_id(new.id.clone())
        .one(tx)
        .await?
        .is_some()
    {
        return Err(AppError::AlreadyExists(new.id.to_string()));
    }
    let now = tx.now;
    let created = app::ActiveModel {
        id: Set(new.id.clone()),
        name: Set(new.name.to_string()),
        self_registration: Set(new.self_registration),
        api_audiences: Set(audiences_json(&new.api_audiences)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::AlreadyExists(new.id.to_string())
        }
        _ => AppError::Fault(err.into()),
    })?;
    audit::start_chain(tx, &new.id).await?;
    super::console::create_scoped_roles(tx, &new.id).await?;
    audit::record(
        tx,
        Event {
            app_id: &new.id,
            actor: &tx.actor,
            action: Action::AppCreated,
            target: Some(Target::app(new.id.as_str())),
            details: json!({ "after": {
                "name": created.name,
                "self_registration": created.self_registration,
                "api_audiences": super::oidc::resource::audiences(&created),
            }}),
        },
    )
    .await?;

    let (client, client_secret) = match new.client {
        Some(client) => {
            let (model, secret) = clients::create(tx, &new.id, client).await?;
            (Some(model), secret)
        }
        None => (None, None),
    };
    Ok(CreatedApp {
        app: created,
        client,
        client_secret,
    })
}

pub async fn find<C: ConnectionTrait>(db: &C, id: &AppId) -> Result<Option<app::Model>, DbErr> {
    app::Entity::find_by_id(id.clone()).one(db).await
}

struct AppCache(TtlMap<String, app::Model>);

impl Default for AppCache {
    fn default() -> Self {
        Self(TtlMap::named("apps"))
    }
}

/// The app, from this process's cache when it was read in the last second
/// (the protocol endpoints and hosted pages read it on every request).
/// Unknown ids are not cached: an app created a moment ago is found.
pub async fn find_cached(db: &Db, id: &AppId) -> Result<Option<app::Model>, DbErr> {
    let cache = db.cached::<AppCache>();
    if let Some(app) = cache.0.get(&id.to_string()) {
        return Ok(Some(app));
    }
    let found = find(db, id).await?;
    if let Some(app) = &found {
        cache.0.put(app.id.to_string(), app.clone());
    }
    Ok(found)
}

struct AppIdsCache(TtlMap<(), std::sync::Arc<std::collections::HashSet<String>>>);

impl Default for AppIdsCache {
    fn default() -> Self {
        Self(TtlMap::named("app_ids"))
    }
}

/// Whether an app called `id` exists, from this process's list of app ids
/// (read again once a second): a request naming an app that does not
/// exist costs no query, however many such names are tried.
pub async fn exists_cached(db: &Db, id: &str) -> Result<bool, DbErr> {
    let cache = db.cached::<AppIdsCache>();
    let ids = match cache.0.get(&()) {
        Some(ids) => ids,
        None => {
            let ids: Vec<AppId> = app::Entity::find()
                .select_only()
                .column(app::Column::Id)
                .into_tuple()
                .all(db)
                .await?;
            let ids = std::sync::Arc::new(ids.into_iter().map(|id| id.to_string()).collect());
            cache.0.put((), std::sync::Arc::clone(&ids));
            ids
        }
    };
    Ok(ids.contains(id))
}

/// The app, or `NotFound` with a sentence naming it.
pub async fn require<C: ConnectionTrait>(db: &C, id: &AppId) -> Result<app::Model, AppError> {
    find(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(id.to_string()))
}

/// Every app, by id.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<app::Model>, DbErr> {
    app::Entity::find()
        .order_by_asc(app::Column::Id)
        .all(db)
        .await
}

/// The settings an operator may change, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    pub name: DisplayName,
    pub brand_color: BrandColor,
    pub self_registration: bool,
    pub password_enabled: bool,
    pub passkey_enabled: bool,
    pub session_idle_secs: i64,
    pub session_absolute_secs: i64,
    pub access_token_ttl_secs: i64,
    pub refresh_idle_secs: i64,
    pub refresh_absolute_secs: i64,
    pub refresh_grace_secs: i64,
    pub require_pkce: bool,
    /// Resource servers a client may ask tokens for (RFC 8707).
    pub api_audiences: Vec<ApiAudience>,
    /// The name e-mail comes from (`None`: the app's name).
    pub email_sender_name: Option<DisplayName>,
    /// Where replies to its e-mail go.
    pub email_reply_to: Option<Email>,
    /// Tokens only for a confirmed address.
    pub require_verified_email: bool,
    /// Tell users of a sign-in from a browser new to their account.
    pub notify_new_device: bool,
}

impl AppSettings {
    /// Check the combination; the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, InvalidValue)> {
        let bad = |field, message: &str| Err((field, InvalidValue(message.to_owned())));
        if !self.password_enabled && !self.passkey_enabled {
            return bad("passkey_enabled", "Allow at least one way to sign in.");
        }
        if !(60..=86_400).contains(&self.session_idle_secs) {
            return bad(
                "session_idle_secs",
                "The idle session lifetime must be between 1 minute and 1 day.",
            );
        }
        if self.session_absolute_secs < self.session_idle_secs
            || self.session_absolute_secs > 90 * 86_400
        {
            return bad(
                "session_absolute_secs",
                "The absolute session lifetime must be at least the idle one and at most 90 days.",
            );
        }
        if !(60..=3_600).contains(&self.access_token_ttl_secs) {
            return bad(
                "access_token_ttl_secs",
                "Access tokens must live between 1 minute and 1 hour.",
            );
        }
        if !(300..=30 * 86_400).contains(&self.refresh_idle_secs) {
            return bad(
                "refresh_idle_secs",
                "The refresh idle lifetime must be between 5 minutes and 30 days.",
            );
        }
        if self.refresh_absolute_secs < self.refresh_idle_secs
            || self.refresh_absolute_secs > 365 * 86_400
        {
            return bad(
                "refresh_absolute_secs",
                "The refresh absolute lifetime must be at least the idle one and at most a year.",
            );
        }
        if !(0..=60).contains(&self.refresh_grace_secs) {
            return bad(
                "refresh_grace_secs",
                "The refresh grace window must be 0 to 60 seconds.",
            );
        }
        Ok(())
    }

    pub fn of(app: &app::Model) -> serde_json::Value {
        json!({
            "name": app.name,
            "brand_color": app.brand_color,
            "self_registration": app.self_registration,
            "password_enabled": app.password_enabled,
            "passkey_enabled": app.passkey_enabled,
            "session_idle_secs": app.session_idle_secs,
            "session_absolute_secs": app.session_absolute_secs,
            "access_token_ttl_secs": app.access_token_ttl_secs,
            "refresh_idle_secs": app.refresh_idle_secs,
            "refresh_absolute_secs": app.refresh_absolute_secs,
            "refresh_grace_secs": app.refresh_grace_secs,
            "require_pkce": app.require_pkce,
            "api_audiences": super::oidc::resource::audiences(app),
            "email_sender_name": app.email_sender_name,
            "email_reply_to": app.email_reply_to,
            "require_verified_email": app.require_verified_email,
            "notify_new_device": app.notify_new_device,
        })
    }
}

fn audiences_json(audiences: &[ApiAudience]) -> String {
    json!(
        audiences
            .iter()
            .map(ApiAudience::as_str)
            .collect::<Vec<_>>()
    )
    .to_string()
}

/// Apply new settings, recording `app.updated` with before and after.
pub async fn update(
    tx: &Write,
    current: &app::Model,
    settings: &AppSettings,
) -> Result<app::Model, AppError> {
    let before = AppSettings::of(current);
    let mut update: app::ActiveModel = current.clone().into();
    update.name = Set(settings.name.to_string());
    update.brand_color = Set(settings.brand_color.to_string());
    update.self_registration = Set(settings.self_registration);
    update.password_enabled = Set(settings.password_enabled);
    update.passkey_enabled = Set(settings.passkey_enabled);
    update.session_idle_secs = Set(settings.session_idle_secs);
    update.session_absolute_secs = Set(settings.session_absolute_secs);
    update.access_token_ttl_secs = Set(settings.access_token_ttl_secs);
    update.refresh_idle_secs = Set(settings.refresh_idle_secs);
    update.refresh_absolute_secs = Set(settings.refresh_absolute_secs);
    update.refresh_grace_secs = Set(settings.refresh_grace_secs);
    update.require_pkce = Set(settings.require_pkce);
    update.api_audiences = Set(audiences_json(&settings.api_audiences));
    update.email_sender_name = Set(settings.email_sender_name.as_ref().map(|n| n.to_string()));
    update.email_reply_to = Set(settings.email_reply_to.as_ref().map(|e| e.to_string()));
    update.require_verified_email = Set(settings.require_verified_email);
    update.notify_new_device = Set(settings.notify_new_device);
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &current.id,
            actor: &tx.actor,
            action: Action::AppUpdated,
            target: Some(Target::app(current.id.as_str())),
            details: json!({ "before": before, "after": AppSettings::of(&updated) }),
        },
    )
    .await?;
    Ok(updated)
}

/// Disable (or enable again) an app: a disabled app serves no pages and no
/// tokens. Records `app.disabled` / `app.enabled`.
pub async fn set_disabled(
    tx: &Write,
    current: &app::Model,
    disabled: bool,
) -> Result<app::Model, AppError> {
    let mut update: app::ActiveModel = current.clone().into();
    update.disabled_at = Set(disabled.then_some(tx.now));
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &current.id,
            actor: &tx.actor,
            action: if disabled {
                Action::AppDisabled
            } else {
                Action::AppEnabled
            },
            target: Some(Target::app(current.id.as_str())),
            details: json!({}),
        },
    )
    .await?;
    Ok(updated)
}
