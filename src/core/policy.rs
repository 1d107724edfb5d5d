//! Guardrails that no caller may skip (DESIGN.md, "Guardrails"): a user keeps
//! a way to sign in; the last owner of an app stays an owner.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use super::users::STATUS_ACTIVE;
use crate::entities::{
    app, app_user, external_identity, passkey, password_credential, role, role_assignment,
};

/// The role whose last holder is protected.
pub const OWNER_ROLE: &str = "owner";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error(
        "This is your only way to sign in. Add another passkey or set a password before removing it."
    )]
    LastSignInMethod,
    #[error("{0} is the last owner of this app; make someone else an owner first.")]
    LastOwner(String),
}

/// What a user could still sign in with, counting only methods the app
/// allows: a password, each passkey, each linked upstream identity.
pub async fn sign_in_methods<C: ConnectionTrait>(
    db: &C,
    app: &app::Model,
    user_id: &str,
) -> Result<u64, DbErr> {
    let password = if app.password_enabled {
        password_credential::Entity::find_by_id(user_id)
            .count(db)
            .await?
    } else {
        0
    };
    let passkeys = if app.passkey_enabled {
        passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .count(db)
            .await?
    } else {
        0
    };
    let upstream = external_identity::Entity::find()
        .filter(external_identity::Column::UserId.eq(user_id))
        .count(db)
        .await?;
    Ok(password + passkeys + upstream)
}

/// Refuse to remove one sign-in method when it is the last one.
pub async fn ensure_can_remove_a_sign_in_method<C: ConnectionTrait>(
    db: &C,
    app: &app::Model,
    user_id: &str,
) -> Result<Result<(), PolicyError>, DbErr> {
    Ok(if sign_in_methods(db, app, user_id).await? <= 1 {
        Err(PolicyError::LastSignInMethod)
    } else {
        Ok(())
    })
}

/// Refuse to take away the owner role (by demotion, deactivation or
/// deletion) from the last active owner of the app. Call it inside the write
/// transaction: it locks the owner role row, so two owners removing each
/// other at once are serialised and the second sees the first's change.
pub async fn ensure_not_last_owner<C: ConnectionTrait>(
    db: &C,
    user: &app_user::Model,
) -> Result<Result<(), PolicyError>, DbErr> {
    let Some(owner) = role::Entity::find()
        .filter(role::Column::AppId.eq(user.app_id.as_str()))
        .filter(role::Column::Name.eq(OWNER_ROLE))
        .lock_exclusive()
        .one(db)
        .await?
    else {
        return Ok(Ok(()));
    };
    let holders: Vec<String> = role_assignment::Entity::find()
        .filter(role_assignment::Column::RoleId.eq(owner.id.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.user_id)
        .collect();
    if !holders.iter().any(|id| *id == user.id) {
        return Ok(Ok(()));
    }
    let active_owners = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(holders))
        .filter(app_user::Column::Status.eq(STATUS_ACTIVE))
        .count(db)
        .await?;
    Ok(if active_owners <= 1 {
        Err(PolicyError::LastOwner(user.email.clone()))
    } else {
        Ok(())
    })
}

/// Whether a session meets a role's factor policy: a passkey used in it when
/// the role requires one, and an authentication recent enough.
pub fn role_satisfied(role: &role::Model, used_passkey: bool, auth_age_secs: i64) -> bool {
    (!role.require_passkey || used_passkey)
        && role
            .max_auth_age_secs
            .is_none_or(|max| auth_age_secs <= max)
}

/// The roles a user holds, with their policies.
pub async fn roles_of_user<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<role::Model>, DbErr> {
    let ids: Vec<String> = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.role_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    role::Entity::find()
        .filter(role::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// The names of the roles a token may carry for this session: only those
/// whose requirements the session meets (DESIGN.md, "Factors and policy").
pub fn token_roles(roles: &[role::Model], used_passkey: bool, auth_age_secs: i64) -> Vec<String> {
    let mut names: Vec<String> = roles
        .iter()
        .filter(|r| role_satisfied(r, used_passkey, auth_age_secs))
        .map(|r| r.name.clone())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(require_passkey: bool, max_auth_age_secs: Option<i64>) -> role::Model {
        let now = chrono::Utc::now();
        role::Model {
            id: "r".into(),
            app_id: "a".into(),
            name: "admin".into(),
            description: String::new(),
            require_passkey,
            max_auth_age_secs,
            builtin: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn role_policies_need_the_right_factor_and_age() {
        assert!(role_satisfied(&role(false, None), false, 10_000));
        assert!(!role_satisfied(&role(true, None), false, 0));
        assert!(role_satisfied(&role(true, None), true, 10_000));
        assert!(role_satisfied(&role(false, Some(900)), false, 900));
        assert!(!role_satisfied(&role(false, Some(900)), true, 901));
    }
}
