//! Users of an app. The same e-mail in two apps is two unrelated users.

use crate::core::fault::Fault;
use crate::core::write::Write;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::json;

use super::audit::{self, Action, Event, Target};
use super::mail::notices;
use super::mail::templates::Notice;
use super::passwords::Hashed;
use super::roles::{self, RoleError};
use super::secrets;
use crate::entities::{app_user, password_credential};
use crate::types::UserStatus;
use crate::types::{AppId, Email, RoleName};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("A user with the e-mail {email} already exists in app \"{app}\".")]
    EmailTaken { email: String, app: String },
    #[error("There is no user with the e-mail {email} in app \"{app}\".")]
    NotFound { email: String, app: String },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error(transparent)]
    Policy(#[from] super::policy::PolicyError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(UserError);

pub struct NewUser {
    /// A pre-chosen id (a passkey sign-up needs it before the user exists).
    pub id: Option<String>,
    pub email: Email,
    /// The password, hashed beforehand (never inside the transaction).
    pub password: Option<Hashed>,
    pub roles: Vec<RoleName>,
}

/// Create a user of `app_id` with an optional password and roles, recording
/// `user.created` and one `role.granted` per role, all in `tx`.
pub async fn create(
    tx: &Write,
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
    let now = tx.now;
    let user = app_user::ActiveModel {
        id: Set(new.id.clone().unwrap_or_else(secrets::new_id)),
        app_id: Set(app_id.clone()),
        email: Set(new.email.to_string()),
        email_verified: Set(false),
        display_name: Set(None),
        status: Set(UserStatus::Active),
        deactivated_at: Set(None),
        last_sign_in_at: Set(None),
        device_epoch: Set(0),
        device_marks: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(&new.email, app_id),
        _ => UserError::Fault(err.into()),
    })?;
    if let Some(password) = &new.password {
        password_credential::ActiveModel {
            user_id: Set(user.id.clone()),
            app_id: Set(app_id.clone()),
            phc: Set(password.0.clone()),
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
            actor: &tx.actor,
            action: Action::UserCreated,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "after": {
                "email": user.email,
                "status": user.status,
                "password": new.password.is_some(),
            }}),
        },
    )
    .await?;
    for role in &new.roles {
        roles::grant(tx, &user, role).await?;
    }
    Ok(user)
}

fn email_taken(email: &Email, app_id: &AppId) -> UserError {
    UserError::EmailTaken {
        email: email.to_string(),
        app: app_id.to_string(),
    }
}

/// The user of `app_id` with `email`, as a query both lookups below build on.
fn with_email(app_id: &AppId, email: &Email) -> Select<app_user::Entity> {
    app_user::Entity::find()
        .filter(app_user::Column::AppId.eq(app_id.as_str()))
        .filter(app_user::Column::Email.eq(email.as_str()))
}

pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    email: &Email,
) -> Result<Option<app_user::Model>, DbErr> {
    with_email(app_id, email).one(db).await
}

/// [`find_by_email`] with the user's password credential, if any, in one
/// read (a password sign-in needs both).
pub async fn find_with_password_by_email<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    email: &Email,
) -> Result<(Option<app_user::Model>, Option<password_credential::Model>), DbErr> {
    let found = with_email(app_id, email)
        .find_also_related(password_credential::Entity)
        .one(db)
        .await?;
    Ok(match found {
        Some((user, credential)) => (Some(user), credential),
        None => (None, None),
    })
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

/// One page of an app's users, by e-mail, optionally those whose e-mail
/// contains `query`; `after` is the last e-mail of the previous page
/// (keyset paging: the cost does not grow with the page number).
pub async fn page<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
    query: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<app_user::Model>, DbErr> {
    let mut select = app_user::Entity::find().filter(app_user::Column::AppId.eq(app_id));
    if let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) {
        select = select
            .filter(Expr::col(app_user::Column::Email).like(super::db::contains_lowercase(query)));
    }
    if let Some(after) = after {
        select = select.filter(app_user::Column::Email.gt(after));
    }
    select
        .order_by_asc(app_user::Column::Email)
        .limit(limit)
        .all(db)
        .await
}

pub async fn count<C: ConnectionTrait>(db: &C, app_id: &str) -> Result<u64, DbErr> {
    app_user::Entity::find()
        .filter(app_user::Column::AppId.eq(app_id))
        .count(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
    user_id: &str,
) -> Result<Option<app_user::Model>, DbErr> {
    app_user::Entity::find_by_id(user_id)
        .filter(app_user::Column::AppId.eq(app_id))
        .one(db)
        .await
}

/// Lock a user's row for the rest of the transaction (FOR UPDATE on
/// PostgreSQL; SQLite's write transaction already holds the database), so
/// a guardrail checked after it (last sign-in method, last owner, level)
/// cannot race a concurrent change to the same user. Returns the row as it
/// is now.
pub async fn lock(tx: &Write, user_id: &str) -> Result<Option<app_user::Model>, DbErr> {
    app_user::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(tx)
        .await
}

/// Deactivate or reactivate a user. Deactivation ends every session and
/// token family, and is refused for the last owner of the app (checked
/// here, under the owner role's lock, whoever calls). Records
/// `user.deactivated` / `user.reactivated`. Self-deactivation's fresh
/// sign-in is the caller's (it knows the session).
pub async fn set_active(
    tx: &Write,
    user: &app_user::Model,
    active: bool,
) -> Result<app_user::Model, UserError> {
    let actor = &tx.actor;
    if !active {
        super::policy::ensure_not_last_owner(tx, user).await??;
        super::policy::ensure_not_last_owner_of_an_org(tx, user).await??;
    }
    let now = tx.now;
    let status = if active {
        UserStatus::Active
    } else {
        UserStatus::Deactivated
    };
    let mut update: app_user::ActiveModel = user.clone().into();
    update.status = Set(status);
    update.deactivated_at = Set((!active).then_some(now));
    update.updated_at = Set(now);
    let updated = update.update(tx).await?;
    let ended = if active {
        0
    } else {
        super::sessions::end_all_for_user(tx, &user.id, "deactivated", None).await?
    };
    audit::record(
        tx,
        Event {
            app_id: &user.app_id,
            actor,
            action: if active {
                Action::UserReactivated
            } else {
                Action::UserDeactivated
            },
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "email": user.email,
                "self": actor.id.as_deref() == Some(user.id.as_str()),
                "before": { "status": user.status },
                "after": { "status": status },
                "sessions_ended": ended,
            }),
        },
    )
    .await?;
    if !active {
        notices::notify(tx, &updated, Notice::Deactivated).await?;
    }
    Ok(updated)
}

/// End every session and token family of a user. Records
/// `user.signed_out_everywhere`.
pub async fn sign_out_everywhere(tx: &Write, user: &app_user::Model) -> Result<u64, UserError> {
    let ended =
        super::sessions::end_all_for_user(tx, &user.id, "signed_out_by_operator", None).await?;
    audit::record(
        tx,
        Event {
            app_id: &user.app_id,
            actor: &tx.actor,
            action: Action::UserSignedOutEverywhere,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "email": user.email, "sessions_ended": ended }),
        },
    )
    .await?;
    Ok(ended)
}

/// Delete a user and everything that hangs off them (credentials, passkeys,
/// sessions, tokens, role assignments), unless they are the app's last
/// owner or the last owner of one of its organizations. Records
/// `user.deleted` with what the user was.
pub async fn delete(tx: &Write, user: &app_user::Model) -> Result<(), UserError> {
    super::policy::ensure_not_last_owner(tx, user).await??;
    super::policy::ensure_not_last_owner_of_an_org(tx, user).await??;
    let roles = super::roles::names_held(tx, &user.id).await?;
    app_user::Entity::delete_by_id(user.id.as_str())
        .exec(tx)
        .await?;
    audit::record(
        tx,
        Event {
            app_id: &user.app_id,
            actor: &tx.actor,
            action: Action::UserDeleted,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "before": { "email": user.email, "status": user.status, "roles": roles } }),
        },
    )
    .await?;
    Ok(())
}
