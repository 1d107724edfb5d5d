//! Apps and their OAuth clients, as operators manage them.

use super::{
    AdminError, change, configurable_app, done, invalid, readable_app, refused, writable_app,
};
use crate::core::apps::{self, AppError, AppSettings, NewApp};
use crate::core::audit::Target;
use crate::core::clients::{self, ClientChanges, ClientError, ClientSecret, NewClient};
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::fault::Fault;
use crate::entities::{app, oauth_client};
use crate::types::ClientType;
use crate::types::{AppId, DisplayName};

fn app_error(err: AppError) -> AdminError {
    match err {
        AppError::AlreadyExists(_) => AdminError::Invalid {
            field: "app_id",
            message: err.to_string(),
        },
        AppError::NotFound(_) => AdminError::NotFound(err.to_string()),
        AppError::Fault(fault) => AdminError::Fault(fault),
        other => AdminError::Fault(Fault::unexpected(other)),
    }
}

fn client_error(err: ClientError) -> AdminError {
    match err {
        ClientError::Fault(fault) => AdminError::Fault(fault),
    }
}

/// The apps the operator may see, by id.
pub async fn list(db: &Db, operator: &Operator) -> Result<Vec<app::Model>, AdminError> {
    Ok(apps::list(db)
        .await?
        .into_iter()
        .filter(|app| operator.can_read(&app.id))
        .collect())
}

pub async fn get(db: &Db, operator: &Operator, app_id: &AppId) -> Result<app::Model, AdminError> {
    readable_app(db, operator, app_id, "app.view").await
}

/// Create an app (global admins and owners).
pub async fn create(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    name: &str,
) -> Result<app::Model, AdminError> {
    if !operator.can_create_apps() {
        return Err(refused(
            db,
            operator,
            &AppId::console(),
            "app.create",
            None,
            "Only global admins and owners may create apps.",
        )
        .await);
    }
    let id = app_id.clone();
    let name = DisplayName::parse(name).map_err(invalid("name"))?;
    let new = NewApp {
        id,
        name,
        self_registration: false,
        api_audiences: Vec::new(),
        client: None,
    };
    change(
        db,
        operator,
        &AppId::console(),
        "app.create",
        None,
        async |tx| done(apps::create(tx, new).await.map_err(app_error)?.app),
    )
    .await
}

/// Why new settings of the console would lock every operator out, if they
/// would: passkeys off while a console role requires one.
async fn console_lockout<C: sea_orm::ConnectionTrait>(
    db: &C,
    app: &app::Model,
    settings: &AppSettings,
) -> Result<Option<&'static str>, AdminError> {
    if app.id != AppId::CONSOLE || settings.passkey_enabled {
        return Ok(None);
    }
    let needs_passkey = crate::core::roles::list(db, &app.id)
        .await?
        .iter()
        .any(|role| role.require_passkey);
    Ok(needs_passkey.then_some(
        "Turning passkeys off would lock every operator out: the console's roles require a passkey.",
    ))
}

pub async fn update(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    settings: AppSettings,
) -> Result<app::Model, AdminError> {
    let attempted = "app.update";
    let target = Some(Target::app(app_id.as_str()));
    configurable_app(db, operator, app_id, attempted, target.clone()).await?;
    settings
        .validate()
        .map_err(|(field, err)| AdminError::Invalid {
            field,
            message: err.0,
        })?;
    change(db, operator, app_id, attempted, target, async |tx| {
        // Read again in the transaction: the lockout check and the change
        // see the same roles and settings.
        let app = apps::require(tx, app_id).await.map_err(app_error)?;
        if let Some(reason) = console_lockout(tx, &app, &settings).await? {
            return Ok(Err(reason.to_owned()));
        }
        done(apps::update(tx, &app, &settings).await.map_err(app_error)?)
    })
    .await
}

/// Disable or enable an app; the console itself cannot be disabled.
pub async fn set_disabled(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    disabled: bool,
) -> Result<app::Model, AdminError> {
    let app = writable_app(
        db,
        operator,
        app_id,
        "app.disable",
        Some(Target::app(app_id.as_str())),
    )
    .await?;
    if app.builtin && disabled {
        return Err(refused(
            db,
            operator,
            app_id,
            "app.disable",
            Some(Target::app(app_id.as_str())),
            "The console cannot be disabled.",
        )
        .await);
    }
    let target = Some(Target::app(app_id.as_str()));
    change(db, operator, app_id, "app.disable", target, async |tx| {
        done(
            apps::set_disabled(tx, &app, disabled)
                .await
                .map_err(app_error)?,
        )
    })
    .await
}

pub async fn clients(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
) -> Result<Vec<oauth_client::Model>, AdminError> {
    readable_app(db, operator, app_id, "client.list").await?;
    Ok(clients::list(db, app_id).await?)
}

/// Register a client; a confidential one's secret is returned once.
pub async fn create_client(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    new: NewClient,
) -> Result<(oauth_client::Model, Option<ClientSecret>), AdminError> {
    let app = configurable_app(db, operator, app_id, "client.create", None).await?;
    let app_id = app.id.clone();
    change(db, operator, &app_id, "client.create", None, async |tx| {
        done(
            clients::create(tx, &app_id, new)
                .await
                .map_err(client_error)?,
        )
    })
    .await
}

async fn client_of(
    db: &Db,
    app_id: &AppId,
    client_id: &str,
) -> Result<oauth_client::Model, AdminError> {
    clients::find(db, app_id, client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("There is no such client in this app.".into()))
}

pub async fn update_client(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    client_id: &str,
    changes: ClientChanges,
) -> Result<oauth_client::Model, AdminError> {
    configurable_app(
        db,
        operator,
        app_id,
        "client.update",
        Some(Target::client(client_id)),
    )
    .await?;
    let client = client_of(db, app_id, client_id).await?;
    let target = Some(Target::client(client_id));
    change(db, operator, app_id, "client.update", target, async |tx| {
        done(
            clients::update(tx, &client, changes)
                .await
                .map_err(client_error)?,
        )
    })
    .await
}

/// A new secret for a confidential client, returned once.
pub async fn rotate_secret(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    client_id: &str,
) -> Result<ClientSecret, AdminError> {
    let target = Some(Target::client(client_id));
    configurable_app(db, operator, app_id, "client.rotate_secret", target.clone()).await?;
    let client = client_of(db, app_id, client_id).await?;
    if client.client_type != ClientType::Confidential {
        return Err(AdminError::Invalid {
            field: "client_id",
            message: "A public client has no secret to rotate.".into(),
        });
    }
    change(
        db,
        operator,
        app_id,
        "client.rotate_secret",
        target,
        async |tx| {
            done(
                clients::rotate_secret(tx, &client)
                    .await
                    .map_err(client_error)?,
            )
        },
    )
    .await
}

pub async fn set_client_disabled(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    client_id: &str,
    disabled: bool,
) -> Result<oauth_client::Model, AdminError> {
    configurable_app(
        db,
        operator,
        app_id,
        "client.disable",
        Some(Target::client(client_id)),
    )
    .await?;
    let client = client_of(db, app_id, client_id).await?;
    let target = Some(Target::client(client_id));
    change(db, operator, app_id, "client.disable", target, async |tx| {
        done(
            clients::set_disabled(tx, &client, disabled)
                .await
                .map_err(client_error)?,
        )
    })
    .await
}
