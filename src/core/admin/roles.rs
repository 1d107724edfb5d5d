//! Roles of an app and who holds them, as operators manage them.

use crate::core::write::Write;

use super::{
    AdminError, act_on_user, change, check_self_change, done, readable_app, refused, writable_app,
};
use crate::core::audit::Target;
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::roles::{self, GrantOutcome, NewRole, RevokeOutcome, RoleError, RolePolicy};
use crate::entities::{app_user, role};
use crate::types::{AppId, RoleName};

fn role_error(err: RoleError) -> AdminError {
    match err {
        RoleError::AlreadyExists { .. } => AdminError::Invalid {
            field: "name",
            message: err.to_string(),
        },
        RoleError::InvalidMaxAuthAge => AdminError::Invalid {
            field: "max_auth_age_secs",
            message: err.to_string(),
        },
        RoleError::NotFound { .. } => AdminError::NotFound(err.to_string()),
        RoleError::OwnerRoleHeld | RoleError::Policy(_) => AdminError::Refused(err.to_string()),
        RoleError::Fault(fault) => AdminError::Fault(fault),
    }
}

/// The app's roles with how many users hold each.
pub async fn list(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
) -> Result<Vec<(role::Model, u64)>, AdminError> {
    readable_app(db, operator, app_id, "role.list").await?;
    let mut out = Vec::new();
    for role in roles::list(db, app_id).await? {
        let holders = roles::holders(db, &role.id).await?;
        out.push((role, holders));
    }
    Ok(out)
}

pub async fn create(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    name: &RoleName,
    description: String,
    policy: RolePolicy,
) -> Result<role::Model, AdminError> {
    writable_app(db, operator, app_id, "role.create", None).await?;
    if app_id == AppId::CONSOLE {
        return Err(refused(
            db,
            operator,
            app_id,
            "role.create",
            None,
            "The console's roles are built in.",
        )
        .await);
    }
    let new = NewRole {
        name: name.clone(),
        description,
        policy,
    };
    change(db, operator, app_id, "role.create", None, async |tx| {
        done(roles::create(tx, app_id, new).await.map_err(role_error)?)
    })
    .await
}

async fn role_of(db: &Db, app_id: &AppId, name: &RoleName) -> Result<role::Model, AdminError> {
    roles::require(db, app_id, name).await.map_err(role_error)
}

/// Change a role's description and policy. The console's roles may be
/// tuned by a global owner only.
pub async fn update(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    name: &RoleName,
    description: String,
    policy: RolePolicy,
) -> Result<role::Model, AdminError> {
    let target = Some(Target::role(name.as_str()));
    writable_app(db, operator, app_id, "role.update", target.clone()).await?;
    if app_id == AppId::CONSOLE
        && operator.global_level() != Some(crate::core::console::Level::Owner)
    {
        return Err(refused(
            db,
            operator,
            app_id,
            "role.update",
            target,
            "Only an owner may change the console's role policy.",
        )
        .await);
    }
    let role = role_of(db, app_id, name).await?;
    change(db, operator, app_id, "role.update", target, async |tx| {
        done(
            roles::update(tx, &role, description, policy)
                .await
                .map_err(role_error)?,
        )
    })
    .await
}

/// Delete a role. Built-in roles stay; an `owner` role that someone holds
/// stays (checked by the core function under the role row's lock).
pub async fn delete(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    name: &RoleName,
) -> Result<(), AdminError> {
    let attempted = "role.delete";
    let target = Some(Target::role(name.as_str()));
    writable_app(db, operator, app_id, attempted, target.clone()).await?;
    let role = role_of(db, app_id, name).await?;
    if role.builtin {
        return Err(refused(
            db,
            operator,
            app_id,
            attempted,
            target,
            "Built-in roles cannot be deleted.",
        )
        .await);
    }
    change(
        db,
        operator,
        app_id,
        attempted,
        target,
        async |tx| match roles::delete(tx, &role).await {
            Ok(()) => done(()),
            Err(err @ RoleError::OwnerRoleHeld) => Ok(Err(err.to_string())),
            Err(err) => Err(role_error(err)),
        },
    )
    .await
}

/// Which way a role changes hands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoleChange {
    Grant,
    Revoke,
}

impl RoleChange {
    fn attempted(self) -> &'static str {
        match self {
            RoleChange::Grant => "role.grant",
            RoleChange::Revoke => "role.revoke",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            RoleChange::Grant => "grant",
            RoleChange::Revoke => "revoke",
        }
    }
}

/// A role change of `user_id`, once the operator may assign the role and
/// may act on the user (H3: not above their own level).
#[allow(clippy::too_many_arguments)]
async fn role_change<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    name: &RoleName,
    way: RoleChange,
    confirmation: Option<&str>,
    change: impl AsyncFnOnce(&Write, &app_user::Model, &RoleName) -> Result<T, RoleError>,
) -> Result<T, AdminError> {
    let attempted = way.attempted();
    let target = Some(Target::user(user_id));
    writable_app(db, operator, app_id, attempted, target.clone()).await?;
    let role_name = name;
    if !operator.may_assign(app_id, role_name.as_str()) {
        let verb = way.verb();
        let reason =
            format!("You cannot {verb} the role \"{role_name}\": it is above your own access.");
        return Err(refused(db, operator, app_id, attempted, target, &reason).await);
    }
    if way == RoleChange::Revoke && operator.is_self(app_id, user_id) {
        check_self_change(db, operator, attempted, confirmation).await?;
    }
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        attempted,
        async |tx, user| match change(tx, &user, role_name).await {
            Ok(value) => Ok(Ok(value)),
            Err(RoleError::Policy(guard)) => Ok(Err(guard.to_string())),
            Err(err) => Err(role_error(err)),
        },
    )
    .await
}

/// Grant a role; an operator cannot grant a console role above their own.
pub async fn grant(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    name: &RoleName,
) -> Result<GrantOutcome, AdminError> {
    role_change(
        db,
        operator,
        app_id,
        user_id,
        name,
        RoleChange::Grant,
        None,
        async |tx, user, role| roles::grant(tx, user, role).await,
    )
    .await
}

/// Revoke a role. Nobody takes `owner` from the app's last owner; demoting
/// oneself needs a fresh sign-in and a typed confirmation.
pub async fn revoke(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    name: &RoleName,
    confirmation: Option<&str>,
) -> Result<RevokeOutcome, AdminError> {
    role_change(
        db,
        operator,
        app_id,
        user_id,
        name,
        RoleChange::Revoke,
        confirmation,
        async |tx, user, role| roles::revoke(tx, user, role).await,
    )
    .await
}
