//! Apps: the security boundary. Creating one starts its audit chain and,
//! usually, its first OAuth client.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, Set};
use serde_json::json;

use super::audit::{self, Actor, AuditError, Event, Target};
use super::clients::{self, ClientError, ClientSecret, NewClient};
use super::clock;
use super::types::{AppId, DisplayName};
use crate::entities::{app, oauth_client};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("An app with the id \"{0}\" already exists.")]
    AlreadyExists(String),
    #[error("There is no app with the id \"{0}\".")]
    NotFound(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

pub struct NewApp {
    pub id: AppId,
    pub name: DisplayName,
    /// Whether people may sign up on the hosted pages.
    pub self_registration: bool,
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
pub async fn create(
    tx: &DatabaseTransaction,
    actor: &Actor,
    new: NewApp,
) -> Result<CreatedApp, AppError> {
    if app::Entity::find_by_id(new.id.as_str())
        .one(tx)
        .await?
        .is_some()
    {
        return Err(AppError::AlreadyExists(new.id.to_string()));
    }
    let now = clock::now();
    let created = app::ActiveModel {
        id: Set(new.id.to_string()),
        name: Set(new.name.to_string()),
        self_registration: Set(new.self_registration),
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
        _ => AppError::Database(err),
    })?;
    audit::start_chain(tx, &new.id).await?;
    audit::record(
        tx,
        Event {
            app_id: &new.id,
            actor,
            action: "app.created",
            target: Some(Target::new("app", new.id.as_str())),
            details: json!({ "after": {
                "name": created.name,
                "self_registration": created.self_registration,
            }}),
        },
    )
    .await?;

    let (client, client_secret) = match new.client {
        Some(client) => {
            let (model, secret) = clients::create(tx, actor, &new.id, client).await?;
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
    app::Entity::find_by_id(id.as_str()).one(db).await
}

/// The app, or `NotFound` with a sentence naming it.
pub async fn require<C: ConnectionTrait>(db: &C, id: &AppId) -> Result<app::Model, AppError> {
    find(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(id.to_string()))
}
