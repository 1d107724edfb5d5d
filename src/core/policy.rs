//! Guardrails that no caller may skip (DESIGN.md, "Guardrails"): a user keeps
//! a way to sign in; the last owner of an app stays an owner.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use chrono::{DateTime, Utc};

use super::sessions::{AuthEvent, Factor, FactorTimes};
use crate::entities::{
    app, app_user, external_identity, identity_provider, membership, organization, passkey,
    password_credential, role, role_assignment,
};
use crate::types::UserStatus;

/// What a role (of the app, or of an organization) demands of the session
/// of anyone who uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RolePolicy {
    pub require_passkey: bool,
    /// Seconds since the user last authenticated; `None` means no limit.
    pub max_auth_age_secs: Option<i64>,
}

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
    #[error("{0} is the last owner of this organization; make someone else an owner first.")]
    LastOrgOwner(String),
}

/// The upstream provider `user` must sign in through, if the app (for
/// everyone) or one of the user's roles requires one and it is turned on
/// ("staff only through our directory").
pub async fn required_provider<C: ConnectionTrait>(
    db: &C,
    app: &app::Model,
    user_id: &str,
) -> Result<Option<identity_provider::Model>, DbErr> {
    let mut required: Vec<String> = app.required_provider_id.iter().cloned().collect();
    let held = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .find_also_related(role::Entity)
        .all(db)
        .await?;
    required.extend(
        held.into_iter()
            .filter_map(|(_, role)| role.and_then(|r| r.required_provider_id)),
    );
    for provider_id in required {
        if let Some(provider) = identity_provider::Entity::find_by_id(provider_id)
            .one(db)
            .await?
            .filter(|p| p.enabled_at.is_some())
        {
            return Ok(Some(provider));
        }
    }
    Ok(None)
}

/// Whether `user` holds the `owner` role of their app.
pub async fn is_owner<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<bool, DbErr> {
    Ok(role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .find_also_related(role::Entity)
        .all(db)
        .await?
        .into_iter()
        .any(|(_, role)| role.is_some_and(|r| r.name == OWNER_ROLE)))
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
    if !holders.contains(&user.id) {
        return Ok(Ok(()));
    }
    let active_owners = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(holders))
        .filter(app_user::Column::Status.eq(UserStatus::Active))
        .count(db)
        .await?;
    Ok(if active_owners <= 1 {
        Err(PolicyError::LastOwner(user.email.clone()))
    } else {
        Ok(())
    })
}

/// The organization role whose last holder is protected, as it is stored
/// (`membership.org_roles` is a JSON list of plain names).
const ORG_OWNER_IN_LIST: &str = "%\"owner\"%";

/// Refuse to take an organization's `owner` role from `user` (by demotion,
/// removal, deactivation or deletion) when they are its last active owner.
/// Locks the organization's row first (FOR NO KEY UPDATE: every change to
/// its memberships takes the same lock), so two owners demoting each other
/// at once are serialised and the second sees the first's change.
pub async fn ensure_org_keeps_an_owner<C: ConnectionTrait>(
    db: &C,
    org_id: &str,
    user: &app_user::Model,
) -> Result<Result<(), PolicyError>, DbErr> {
    organization::Entity::find_by_id(org_id)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(db)
        .await?;
    let owners: Vec<String> = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::OrgRoles.like(ORG_OWNER_IN_LIST))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    if !owners.contains(&user.id) {
        return Ok(Ok(()));
    }
    let other_active_owners = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(owners))
        .filter(app_user::Column::Id.ne(user.id.as_str()))
        .filter(app_user::Column::Status.eq(UserStatus::Active))
        .count(db)
        .await?;
    Ok(if other_active_owners == 0 {
        Err(PolicyError::LastOrgOwner(user.email.clone()))
    } else {
        Ok(())
    })
}

/// [`ensure_org_keeps_an_owner`] for every organization `user` owns: what
/// deactivating or deleting them must pass.
pub async fn ensure_not_last_owner_of_an_org<C: ConnectionTrait>(
    db: &C,
    user: &app_user::Model,
) -> Result<Result<(), PolicyError>, DbErr> {
    let mut owned: Vec<String> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id.as_str()))
        .filter(membership::Column::OrgRoles.like(ORG_OWNER_IN_LIST))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.organization_id)
        .collect();
    // One order for every caller's locks.
    owned.sort();
    for org_id in owned {
        if let Err(refused) = ensure_org_keeps_an_owner(db, &org_id, user).await? {
            return Ok(Err(refused));
        }
    }
    Ok(Ok(()))
}

/// Whether a session meets a role's factor policy. A role that requires a
/// passkey and a maximum age needs a passkey assertion that recent (a fresh
/// password after an old passkey does not do); a maximum age alone is met
/// by any factor proved that recently.
pub fn role_satisfied(role: &role::Model, factors: &FactorTimes, now: DateTime<Utc>) -> bool {
    policy_satisfied(
        &RolePolicy {
            require_passkey: role.require_passkey,
            max_auth_age_secs: role.max_auth_age_secs,
        },
        factors,
        now,
    )
}

/// [`role_satisfied`] for any role's policy (an organization role's too).
pub fn policy_satisfied(policy: &RolePolicy, factors: &FactorTimes, now: DateTime<Utc>) -> bool {
    let recent = |event: Option<AuthEvent>| {
        event.is_some_and(|e| {
            policy
                .max_auth_age_secs
                .is_none_or(|max| e.age(now).num_seconds() <= max)
        })
    };
    if policy.require_passkey {
        recent(factors.last(Factor::Passkey))
    } else {
        recent(factors.newest())
    }
}

/// The roles a user holds, with their policies (one query: this runs on
/// every code exchange and refresh).
pub async fn roles_of_user<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<role::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let assigned = Query::select()
        .column(role_assignment::Column::RoleId)
        .from(role_assignment::Entity)
        .and_where(Expr::col(role_assignment::Column::UserId).eq(user_id))
        .to_owned();
    role::Entity::find()
        .filter(role::Column::Id.in_subquery(assigned))
        .all(db)
        .await
}

/// The names of the roles a token may carry for this session: only those
/// whose requirements the session meets (DESIGN.md, "Factors and policy").
pub fn token_roles(
    roles: &[role::Model],
    factors: &FactorTimes,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut names: Vec<String> = roles
        .iter()
        .filter(|r| role_satisfied(r, factors, now))
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
            app_id: crate::types::AppId::parse("demo").unwrap(),
            name: "admin".into(),
            description: String::new(),
            require_passkey,
            max_auth_age_secs,
            required_provider_id: None,
            builtin: false,
            created_at: now,
            updated_at: now,
        }
    }

    fn ago(now: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
        Some(now - chrono::Duration::seconds(secs))
    }

    #[test]
    fn role_policies_need_the_right_factor_and_age() {
        let now = chrono::Utc::now();
        let password = |secs| FactorTimes {
            password: ago(now, secs),
            ..Default::default()
        };
        let passkey = |secs| FactorTimes {
            passkey: ago(now, secs),
            ..Default::default()
        };
        assert!(role_satisfied(&role(false, None), &password(10_000), now));
        assert!(!role_satisfied(&role(true, None), &password(0), now));
        assert!(role_satisfied(&role(true, None), &passkey(10_000), now));
        assert!(role_satisfied(&role(false, Some(900)), &password(900), now));
        assert!(!role_satisfied(&role(false, Some(900)), &passkey(901), now));
    }

    #[test]
    fn m4_an_old_passkey_and_a_fresh_password_are_not_a_recent_passkey() {
        let now = chrono::Utc::now();
        let merged = FactorTimes {
            passkey: ago(now, 3600),
            password: ago(now, 5),
            ..Default::default()
        };
        assert!(!role_satisfied(&role(true, Some(60)), &merged, now));
        assert!(role_satisfied(&role(false, Some(60)), &merged, now));
        assert!(role_satisfied(&role(true, None), &merged, now));
    }
}
