//! Users of an app. The same e-mail in two apps is two unrelated users.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, Set,
};
use serde_json::json;

use super::audit::{self, Actor, AuditError, Event, Target};
use super::clock;
use super::passwords::{self, Password};
use super::roles::{self, RoleError};
use super::secrets;
use super::types::{AppId, Email, RoleName};
use crate::entities::{app_user, password_credential};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("A user with the e-mail {email} already exists in app \"{app}\".")]
    EmailTaken { email: String, app: String },
    #[error("There is no user with the e-mail {email} in app \"{app}\".")]
    NotFound { email: String, app: String },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// Account states (`app_user.status`).
pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_DEACTIVATED: &str = "deactivated";

pub struct NewUser {
    /// A pre-chosen id (a passkey sign-up needs it before the user exists).
    pub id: Option<String>,
    pub email: Email,
    pub password: Option<Password>,
    pub roles: Vec<RoleName>,
}

/// Create a user of `app_id` with an optional password and roles, recording
/// `user.created` and one `role.granted` per role, all in `tx`.
pub async fn create(
    tx: &DatabaseTransaction,
    actor: &Actor,
    app_id: &AppId,
    new: NewUser,
) -> Result<app_user::Model, UserError> {
    // Resolve every role first, so a typo fails before anything is written.
    for role in &new.roles {
        roles::require(tx, app_id, role).await?;
    }
    if find_by_email(tx, app_id, &new.email).await?.is_some() {
        return Err(email_taken(&new.email, app_id));
    }
    let now = clock::now();
    let user = app_user::ActiveModel {
        id: Set(new.id.clone().unwrap_or_else(secrets::new_id)),
        app_id: Set(app_id.to_string()),
        email: Set(new.email.to_string()),
        email_verified: Set(false),
        display_name: Set(None),
        status: Set(STATUS_ACTIVE.to_owned()),
        deactivated_at: Set(None),
        last_sign_in_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(&new.email, app_id),
        _ => UserError::Database(err),
    })?;
    if let Some(password) = &new.password {
        password_credential::ActiveModel {
            user_id: Set(user.id.clone()),
            app_id: Set(app_id.to_string()),
            phc: Set(passwords::hash(password)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(tx)
        .await?;
    }
    audit::record(
        tx,
        Event {
            app_id,
            actor,
            action: "user.created",
            target: Some(Target::new("user", user.id.as_str())),
            details: json!({ "after": {
                "email": user.email,
                "status": user.status,
                "password": new.password.is_some(),
            }}),
        },
    )
    .await?;
    for role in &new.roles {
        roles::grant(tx, actor, &user, role).await?;
    }
    Ok(user)
}

fn email_taken(email: &Email, app_id: &AppId) -> UserError {
    UserError::EmailTaken {
        email: email.to_string(),
        app: app_id.to_string(),
    }
}

pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    email: &Email,
) -> Result<Option<app_user::Model>, DbErr> {
    app_user::Entity::find()
        .filter(app_user::Column::AppId.eq(app_id.as_str()))
        .filter(app_user::Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

pub async fn require_by_email<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    email: &Email,
) -> Result<app_user::Model, UserError> {
    find_by_email(db, app_id, email)
        .await?
        .ok_or_else(|| UserError::NotFound {
            email: email.to_string(),
            app: app_id.to_string(),
        })
}
