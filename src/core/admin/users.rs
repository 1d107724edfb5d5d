//! Users of an app, as operators manage them.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{AdminError, check_self_change, invalid, readable_app, refused, writable_app};
use crate::core::audit::Target;
use crate::core::console::Operator;
use crate::core::db::begin_write;
use crate::core::links::{self, Purpose};
use crate::core::passkeys;
use crate::core::policy;
use crate::core::sessions;
use crate::core::types::{AppId, Email, RoleName};
use crate::core::users::{self, NewUser, UserError};
use crate::entities::{app_user, audit_event, passkey, signin_session};

/// Users shown per page.
pub const PAGE: u64 = 50;

fn user_error(err: UserError) -> AdminError {
    match err {
        UserError::EmailTaken { .. } => AdminError::Invalid {
            field: "email",
            message: err.to_string(),
        },
        UserError::Role(role) => AdminError::Invalid {
            field: "roles",
            message: role.to_string(),
        },
        other => AdminError::Internal(other.to_string()),
    }
}

/// One page of users (by e-mail, optionally filtered), plus the total.
pub async fn page(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    query: Option<&str>,
    after: Option<&str>,
) -> Result<(Vec<app_user::Model>, u64), AdminError> {
    readable_app(db, operator, app_id, "user.list").await?;
    let users = users::page(db, app_id, query, after, PAGE).await?;
    let total = users::count(db, app_id).await?;
    Ok((users, total))
}

/// Everything the user page shows.
pub struct UserDetail {
    pub user: app_user::Model,
    pub has_password: bool,
    pub passkeys: Vec<passkey::Model>,
    pub sessions: Vec<signin_session::Model>,
    pub roles: Vec<String>,
    pub recent_events: Vec<audit_event::Model>,
}

async fn user_of(
    db: &DatabaseConnection,
    app_id: &str,
    user_id: &str,
) -> Result<app_user::Model, AdminError> {
    users::find(db, app_id, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("There is no such user in this app.".into()))
}

pub async fn detail(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
) -> Result<UserDetail, AdminError> {
    readable_app(db, operator, app_id, "user.view").await?;
    let user = user_of(db, app_id, user_id).await?;
    let recent_events = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq(app_id))
        .filter(audit_event::Column::TargetId.eq(user.id.as_str()))
        .order_by_desc(audit_event::Column::Id)
        .limit(20)
        .all(db)
        .await?;
    Ok(UserDetail {
        has_password: crate::core::account::has_password(db, &user.id).await?,
        passkeys: passkeys::list_for_user(db, &user.id).await?,
        sessions: sessions::list_live_for_user(db, &user.id).await?,
        roles: crate::core::roles::names_held(db, &user.id).await?,
        recent_events,
        user,
    })
}

/// Create a user with roles; with `invite`, also a one-time invitation
/// link (returned, and what the operator hands over).
pub async fn create(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    email: &str,
    roles: &[String],
    invite: bool,
    public_url: &str,
) -> Result<(app_user::Model, Option<String>), AdminError> {
    writable_app(db, operator, app_id, "user.create", None).await?;
    let email = Email::parse(email).map_err(invalid("email"))?;
    let mut names = Vec::new();
    for role in roles.iter().filter(|r| !r.trim().is_empty()) {
        let name = RoleName::parse(role).map_err(invalid("roles"))?;
        if !operator.may_assign(app_id, name.as_str()) {
            let reason =
                format!("You cannot grant the role \"{name}\": it is above your own access.");
            return Err(refused(db, operator, app_id, "user.create", None, &reason).await);
        }
        names.push(name);
    }
    let app_id_parsed = AppId::parse(app_id).expect("checked above");
    let tx = begin_write(db).await?;
    let user = users::create(
        &tx,
        &operator.actor(),
        &app_id_parsed,
        NewUser {
            id: None,
            email,
            password: None,
            roles: names,
        },
    )
    .await
    .map_err(user_error)?;
    let link = if invite {
        let token = links::issue(&tx, &operator.actor(), &user, Purpose::Invite)
            .await
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        Some(links::url(public_url, app_id, Purpose::Invite, &token))
    } else {
        None
    };
    tx.commit().await?;
    Ok((user, link))
}

/// A fresh invitation link for an existing user.
pub async fn invite(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
    public_url: &str,
) -> Result<String, AdminError> {
    writable_app(
        db,
        operator,
        app_id,
        "invitation.issue",
        Some(Target::new("user", user_id)),
    )
    .await?;
    let user = user_of(db, app_id, user_id).await?;
    let tx = begin_write(db).await?;
    let token = links::issue(&tx, &operator.actor(), &user, Purpose::Invite)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(links::url(public_url, app_id, Purpose::Invite, &token))
}

/// Deactivate (or reactivate) a user. The last owner cannot be
/// deactivated; deactivating oneself needs a fresh sign-in and a typed
/// confirmation.
pub async fn set_active(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
    active: bool,
    confirmation: Option<&str>,
) -> Result<app_user::Model, AdminError> {
    let attempted = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    let target = Some(Target::new("user", user_id));
    writable_app(db, operator, app_id, attempted, target.clone()).await?;
    let user = user_of(db, app_id, user_id).await?;
    if !active && operator.is_self(app_id, user_id) {
        check_self_change(db, operator, attempted, confirmation).await?;
    }
    let tx = begin_write(db).await?;
    if !active && let Err(guard) = policy::ensure_not_last_owner(&tx, &user).await? {
        tx.rollback().await?;
        return Err(refused(db, operator, app_id, attempted, target, &guard.to_string()).await);
    }
    let updated = users::set_active(&tx, &operator.actor(), &user, active)
        .await
        .map_err(user_error)?;
    tx.commit().await?;
    Ok(updated)
}

/// End every session and token family of a user.
pub async fn sign_out_everywhere(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
) -> Result<u64, AdminError> {
    writable_app(
        db,
        operator,
        app_id,
        "user.sign_out_everywhere",
        Some(Target::new("user", user_id)),
    )
    .await?;
    let user = user_of(db, app_id, user_id).await?;
    let tx = begin_write(db).await?;
    let ended = users::sign_out_everywhere(&tx, &operator.actor(), &user)
        .await
        .map_err(user_error)?;
    tx.commit().await?;
    Ok(ended)
}

/// A one-time recovery link (valid an hour) for a user who lost their
/// factors; they must enrol a new one after using it.
pub async fn recovery_link(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
    public_url: &str,
) -> Result<String, AdminError> {
    writable_app(
        db,
        operator,
        app_id,
        "recovery_link.issue",
        Some(Target::new("user", user_id)),
    )
    .await?;
    let user = user_of(db, app_id, user_id).await?;
    let tx = begin_write(db).await?;
    let token = links::issue(&tx, &operator.actor(), &user, Purpose::Recovery)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(links::url(public_url, app_id, Purpose::Recovery, &token))
}

/// Remove a user's passkey (a lost or stolen device).
pub async fn remove_passkey(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
    passkey_id: &str,
) -> Result<(), AdminError> {
    writable_app(
        db,
        operator,
        app_id,
        "passkey.remove",
        Some(Target::new("user", user_id)),
    )
    .await?;
    let user = user_of(db, app_id, user_id).await?;
    let tx = begin_write(db).await?;
    passkeys::remove(&tx, &operator.actor(), &user, passkey_id)
        .await
        .map_err(|e| match e {
            passkeys::PasskeyError::NotFound => AdminError::NotFound(e.to_string()),
            other => AdminError::Internal(other.to_string()),
        })?;
    tx.commit().await?;
    Ok(())
}

/// Delete a user. The last owner cannot be deleted; deleting oneself needs
/// a fresh sign-in and a typed confirmation.
pub async fn delete(
    db: &DatabaseConnection,
    operator: &Operator,
    app_id: &str,
    user_id: &str,
    confirmation: Option<&str>,
) -> Result<(), AdminError> {
    let target = Some(Target::new("user", user_id));
    writable_app(db, operator, app_id, "user.delete", target.clone()).await?;
    let user = user_of(db, app_id, user_id).await?;
    if operator.is_self(app_id, user_id) {
        check_self_change(db, operator, "user.delete", confirmation).await?;
    }
    let tx = begin_write(db).await?;
    if let Err(guard) = policy::ensure_not_last_owner(&tx, &user).await? {
        tx.rollback().await?;
        return Err(refused(
            db,
            operator,
            app_id,
            "user.delete",
            target,
            &guard.to_string(),
        )
        .await);
    }
    users::delete(&tx, &operator.actor(), &user)
        .await
        .map_err(user_error)?;
    tx.commit().await?;
    Ok(())
}
