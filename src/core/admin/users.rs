//! Users of an app, as operators manage them.

use crate::core::fault::Fault;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    AdminError, act_on_user, change, check_self_change, done, invalid, no_such_user, readable_app,
    refused, writable_app,
};
use crate::core::audit::Target;
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::links::{self, Purpose};
use crate::core::passkeys;
use crate::core::policy;
use crate::core::sessions;
use crate::core::users::{self, NewUser, UserError};
use crate::entities::{app_user, audit_event, passkey, signin_session};
use crate::types::{AppId, Email, RoleName};

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
        UserError::Fault(fault) => AdminError::Fault(fault),
        other => AdminError::Fault(Fault::unexpected(other)),
    }
}

/// One page of users (by e-mail, optionally filtered), plus the total.
pub async fn page(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
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
    /// The app's roles the user does not hold and this operator may grant.
    pub grantable_roles: Vec<String>,
    pub recent_events: Vec<audit_event::Model>,
}

pub(super) async fn user_of(
    db: &Db,
    app_id: &AppId,
    user_id: &str,
) -> Result<app_user::Model, AdminError> {
    users::find(db, app_id, user_id)
        .await?
        .ok_or_else(no_such_user)
}

pub async fn detail(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
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
    let roles = crate::core::roles::names_held(db, &user.id).await?;
    let grantable_roles = crate::core::roles::list(db, app_id)
        .await?
        .into_iter()
        .map(|r| r.name)
        .filter(|name| !roles.contains(name) && operator.may_assign(app_id, name))
        .collect();
    Ok(UserDetail {
        has_password: crate::core::account::has_password(db, &user.id).await?,
        passkeys: passkeys::list_for_user(db, &user.id).await?,
        sessions: sessions::list_live_for_user(db, &user.id).await?,
        roles,
        grantable_roles,
        recent_events,
        user,
    })
}

/// Create a user with roles; with `invite`, also a one-time invitation
/// link (returned, and what the operator hands over).
pub async fn create(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    email: &str,
    roles: &[RoleName],
    invite: bool,
    public_url: &str,
) -> Result<(app_user::Model, Option<String>), AdminError> {
    writable_app(db, operator, app_id, "user.create", None).await?;
    let email = Email::parse(email).map_err(invalid("email"))?;
    let mut names = Vec::new();
    for name in roles {
        if !operator.may_assign(app_id, name.as_str()) {
            let reason =
                format!("You cannot grant the role \"{name}\": it is above your own access.");
            return Err(refused(db, operator, app_id, "user.create", None, &reason).await);
        }
        names.push(name.clone());
    }
    let app_id = AppId::parse(app_id).map_err(invalid("app_id"))?;
    let new = NewUser {
        id: None,
        email,
        password: None,
        roles: names,
    };
    change(db, operator, &app_id, "user.create", None, async |tx| {
        let user = users::create(tx, &app_id, new).await.map_err(user_error)?;
        let link = if invite {
            let token = links::issue(tx, &user, Purpose::Invite).await?;
            Some(links::url(public_url, &app_id, Purpose::Invite, &token))
        } else {
            None
        };
        done((user, link))
    })
    .await
}

/// A guardrail of the core functions (last owner, last sign-in method)
/// becomes a refusal; anything else is internal.
fn guarded<T>(result: Result<T, UserError>) -> Result<Result<T, String>, AdminError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(UserError::Policy(guard)) => Ok(Err(guard.to_string())),
        Err(other) => Err(user_error(other)),
    }
}

/// A fresh invitation link for a user who cannot sign in yet (no password,
/// passkey or linked identity); someone who can gets a recovery link
/// instead, so an invitation never replaces working factors (H3).
pub async fn invite(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    public_url: &str,
) -> Result<String, AdminError> {
    let attempted = "invitation.issue";
    let target = Some(Target::user(user_id));
    let app = writable_app(db, operator, app_id, attempted, target).await?;
    act_on_user(db, operator, app_id, user_id, attempted, async |tx, user| {
        if policy::sign_in_methods(tx, &app, &user.id).await? > 0 {
            let reason = "This user can already sign in: an invitation would replace their factors. Send a recovery link instead.";
            return Ok(Err(reason.into()));
        }
        let token = links::issue(tx, &user, Purpose::Invite)
            .await
            ?;
        Ok(Ok(links::url(public_url, app_id, Purpose::Invite, &token)))
    })
    .await
}

/// Deactivate (or reactivate) a user. The last owner cannot be
/// deactivated; deactivating oneself needs a fresh sign-in and a typed
/// confirmation; nobody deactivates an operator above their own level.
pub async fn set_active(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    active: bool,
    confirmation: Option<&str>,
) -> Result<app_user::Model, AdminError> {
    let attempted = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    let target = Some(Target::user(user_id));
    writable_app(db, operator, app_id, attempted, target).await?;
    if !active && operator.is_self(app_id, user_id) {
        check_self_change(db, operator, attempted, confirmation).await?;
    }
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        attempted,
        async |tx, user| guarded(users::set_active(tx, &user, active).await),
    )
    .await
}

/// End every session and token family of a user.
pub async fn sign_out_everywhere(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
) -> Result<u64, AdminError> {
    let attempted = "user.sign_out_everywhere";
    let target = Some(Target::user(user_id));
    writable_app(db, operator, app_id, attempted, target).await?;
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        attempted,
        async |tx, user| guarded(users::sign_out_everywhere(tx, &user).await),
    )
    .await
}

/// A one-time link of `purpose` for a user, checked against the operator's
/// level under the user's lock.
async fn issue_link(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    public_url: &str,
    purpose: Purpose,
) -> Result<String, AdminError> {
    let attempted = match purpose {
        Purpose::Recovery | Purpose::RequestedRecovery => "recovery_link.issue",
        Purpose::Enrol => "enrolment_link.issue",
        Purpose::Invite => "invitation.issue",
        Purpose::Verify => "email.verification_send",
    };
    let target = Some(Target::user(user_id));
    writable_app(db, operator, app_id, attempted, target).await?;
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        attempted,
        async |tx, user| {
            // A user who has a passkey adds more with it, except after a
            // recovery code (they lost it): N2 leaves that session only an
            // operator's enrolment link for a passkey a role demands.
            if purpose == Purpose::Enrol
                && !passkeys::list_for_user(tx, &user.id).await?.is_empty()
                && !sessions::list_live_for_user(tx, &user.id)
                    .await?
                    .iter()
                    .any(|s| s.requires_enrolment)
            {
                return Ok(Err(
                    "This user has a passkey already: they add more from their account page (after signing in with a recovery code, issue the link then)."
                        .into(),
                ));
            }
            let token = links::issue(tx, &user, purpose)
                .await
                ?;
            Ok(Ok(links::url(public_url, app_id, purpose, &token)))
        },
    )
    .await
}

/// A one-time recovery link (valid an hour) for a user who lost their
/// factors; they must enrol a new one after using it.
pub async fn recovery_link(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    public_url: &str,
) -> Result<String, AdminError> {
    issue_link(db, operator, app_id, user_id, public_url, Purpose::Recovery).await
}

/// A one-time enrolment link (valid a day): signed in with their password,
/// the user adds a first passkey with it, which is the only way a user whose
/// role requires a passkey gets one.
pub async fn enrolment_link(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    public_url: &str,
) -> Result<String, AdminError> {
    issue_link(db, operator, app_id, user_id, public_url, Purpose::Enrol).await
}

/// Remove a user's passkey (a lost or stolen device); every session of the
/// user ends with it, since one may have been opened with that passkey.
pub async fn remove_passkey(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    passkey_id: &str,
) -> Result<(), AdminError> {
    let attempted = "passkey.remove";
    let target = Some(Target::user(user_id));
    let app = writable_app(db, operator, app_id, attempted, target).await?;
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        attempted,
        async |tx, user| {
            match passkeys::remove(tx, &app, &user, passkey_id).await {
                Ok(()) => {}
                Err(passkeys::PasskeyError::Policy(guard)) => return Ok(Err(guard.to_string())),
                Err(err @ passkeys::PasskeyError::NotFound) => {
                    return Err(AdminError::NotFound(err.to_string()));
                }
                Err(passkeys::PasskeyError::Fault(fault)) => return Err(fault.into()),
                Err(other) => return Err(Fault::unexpected(other).into()),
            }
            sessions::end_all_for_user(tx, &user.id, "factor_removed", None).await?;
            Ok(Ok(()))
        },
    )
    .await
}

/// Delete a user. The last owner cannot be deleted; deleting oneself needs
/// a fresh sign-in and a typed confirmation; nobody deletes an operator
/// above their own level.
pub async fn delete(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    confirmation: Option<&str>,
) -> Result<(), AdminError> {
    let attempted = "user.delete";
    let target = Some(Target::user(user_id));
    writable_app(db, operator, app_id, attempted, target).await?;
    if operator.is_self(app_id, user_id) {
        check_self_change(db, operator, attempted, confirmation).await?;
    }
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        attempted,
        async |tx, user| guarded(users::delete(tx, &user).await),
    )
    .await
}
