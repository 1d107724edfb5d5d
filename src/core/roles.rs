//! Roles of an app, with their factor policy, and their assignment to users.

use crate::core::fault::Fault;
use crate::core::write::Write;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::audit::{self, Action, Event, Target};
use super::secrets;
use crate::entities::{app_user, role, role_assignment};
use crate::types::{AppId, RoleName};

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("The role \"{role}\" already exists in app \"{app}\".")]
    AlreadyExists { role: String, app: String },
    #[error("There is no role \"{role}\" in app \"{app}\".")]
    NotFound { role: String, app: String },
    #[error("The maximum authentication age must be a positive number of seconds.")]
    InvalidMaxAuthAge,
    #[error(transparent)]
    Policy(#[from] super::policy::PolicyError),
    #[error("The owner role still has holders; it cannot be deleted.")]
    OwnerRoleHeld,
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(RoleError);

pub use super::policy::RolePolicy;

pub struct NewRole {
    pub name: RoleName,
    pub description: String,
    pub policy: RolePolicy,
}

pub async fn create(tx: &Write, app_id: &AppId, new: NewRole) -> Result<role::Model, RoleError> {
    if new.policy.max_auth_age_secs.is_some_and(|secs| secs <= 0) {
        return Err(RoleError::InvalidMaxAuthAge);
    }
    if find(tx, app_id, &new.name).await?.is_some() {
        return Err(RoleError::AlreadyExists {
            role: new.name.to_string(),
            app: app_id.to_string(),
        });
    }
    let now = tx.now;
    let created = role::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(app_id.clone()),
        name: Set(new.name.to_string()),
        description: Set(new.description),
        require_passkey: Set(new.policy.require_passkey),
        max_auth_age_secs: Set(new.policy.max_auth_age_secs),
        required_provider_id: Set(None),
        builtin: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::RoleCreated,
            target: Some(Target::role(created.name.as_str())),
            details: json!({ "after": {
                "name": created.name,
                "description": created.description,
                "require_passkey": created.require_passkey,
                "max_auth_age_secs": created.max_auth_age_secs,
            }}),
        },
    )
    .await?;
    Ok(created)
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    name: &RoleName,
) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find()
        .filter(role::Column::AppId.eq(app_id.as_str()))
        .filter(role::Column::Name.eq(name.as_str()))
        .one(db)
        .await
}

pub async fn require<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    name: &RoleName,
) -> Result<role::Model, RoleError> {
    find(db, app_id, name)
        .await?
        .ok_or_else(|| RoleError::NotFound {
            role: name.to_string(),
            app: app_id.to_string(),
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOutcome {
    Granted,
    AlreadyHeld,
}

/// Give `user` the role `name` (same app), recording `role.granted`.
/// Granting a role already held changes nothing and records nothing.
pub async fn grant(
    tx: &Write,
    user: &app_user::Model,
    name: &RoleName,
) -> Result<GrantOutcome, RoleError> {
    let actor = &tx.actor;
    let app_id = user.app_id.clone();
    let role = require(tx, &app_id, name).await?;
    let held = role_assignment::Entity::find_by_id((user.id.clone(), role.id.clone()))
        .one(tx)
        .await?;
    if let Some(held) = held {
        // Held through a provider's rule: an operator's grant makes it the
        // operator's, so the rule no longer takes it away.
        if let Some(provider) = held.mapped_from_provider.clone() {
            let mut manual: role_assignment::ActiveModel = held.into();
            manual.mapped_from_provider = Set(None);
            manual.granted_by = Set(actor.id.clone().or_else(|| Some(actor.label.clone())));
            manual.update(tx).await?;
            audit::record(
                tx,
                Event {
                    app_id: &app_id,
                    actor,
                    action: Action::RoleGranted,
                    target: Some(Target::user(user.id.as_str())),
                    details: json!({ "role": role.name, "email": user.email, "was_mapped_from": provider }),
                },
            )
            .await?;
            return Ok(GrantOutcome::Granted);
        }
        return Ok(GrantOutcome::AlreadyHeld);
    }
    role_assignment::ActiveModel {
        app_id: Set(user.app_id.clone()),
        user_id: Set(user.id.clone()),
        role_id: Set(role.id.clone()),
        granted_by: Set(actor.id.clone().or_else(|| Some(actor.label.clone()))),
        mapped_from_provider: Set(None),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id: &app_id,
            actor,
            action: Action::RoleGranted,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "role": role.name, "email": user.email }),
        },
    )
    .await?;
    Ok(GrantOutcome::Granted)
}

/// Make the roles `provider_id`'s claim-to-role rules granted `user` be
/// exactly `wanted`: grant what is missing (marked as the provider's), and
/// revoke the provider's grants whose claim is gone. A grant an operator
/// made is never touched, and a role that does not exist is skipped (the
/// rule names it; the operator sees it in the console). The last owner
/// keeps the owner role (`policy::ensure_not_last_owner`).
pub async fn sync_mapped(
    tx: &Write,
    user: &app_user::Model,
    provider_id: &str,
    provider_slug: &str,
    wanted: &std::collections::BTreeSet<String>,
) -> Result<(), RoleError> {
    let app_id = user.app_id.clone();
    let held = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user.id.as_str()))
        .find_also_related(role::Entity)
        .all(tx)
        .await?;
    for name in wanted {
        let Ok(role_name) = RoleName::parse(name) else {
            continue;
        };
        if held
            .iter()
            .any(|(_, role)| role.as_ref().is_some_and(|r| r.name == role_name.as_str()))
        {
            continue;
        }
        let Some(role) = find(tx, &app_id, &role_name).await? else {
            tracing::warn!(
                provider = provider_slug,
                role = name,
                "a mapping names a role that does not exist"
            );
            continue;
        };
        role_assignment::ActiveModel {
            app_id: Set(app_id.clone()),
            user_id: Set(user.id.clone()),
            role_id: Set(role.id.clone()),
            granted_by: Set(Some(format!("provider:{provider_slug}"))),
            mapped_from_provider: Set(Some(provider_id.to_owned())),
            created_at: Set(tx.now),
        }
        .insert(tx)
        .await?;
        audit::record(
            tx,
            Event {
                app_id: &app_id,
                actor: &tx.actor,
                action: Action::RoleGranted,
                target: Some(Target::user(user.id.as_str())),
                details: json!({ "role": role.name, "email": user.email, "mapped_from": provider_slug }),
            },
        )
        .await?;
    }
    for (assignment, role) in held {
        let Some(role) = role else { continue };
        if assignment.mapped_from_provider.as_deref() != Some(provider_id)
            || wanted.contains(&role.name)
        {
            continue;
        }
        if role.name == super::policy::OWNER_ROLE
            && super::policy::ensure_not_last_owner(tx, user)
                .await?
                .is_err()
        {
            continue;
        }
        role_assignment::Entity::delete_by_id((user.id.clone(), role.id.clone()))
            .exec(tx)
            .await?;
        audit::record(
            tx,
            Event {
                app_id: &app_id,
                actor: &tx.actor,
                action: Action::RoleRevoked,
                target: Some(Target::user(user.id.as_str())),
                details: json!({ "role": role.name, "email": user.email, "mapped_from": provider_slug, "reason": "claim_gone" }),
            },
        )
        .await?;
    }
    Ok(())
}

/// The names of the roles a user holds, sorted.
pub async fn names_held<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Vec<String>, DbErr> {
    let assignments = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let ids: Vec<String> = assignments.into_iter().map(|a| a.role_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let roles = role::Entity::find()
        .filter(role::Column::Id.is_in(ids))
        .order_by_asc(role::Column::Name)
        .all(db)
        .await?;
    Ok(roles.into_iter().map(|r| r.name).collect())
}

/// The roles of an app, by name.
pub async fn list<C: ConnectionTrait>(db: &C, app_id: &str) -> Result<Vec<role::Model>, DbErr> {
    role::Entity::find()
        .filter(role::Column::AppId.eq(app_id))
        .order_by_asc(role::Column::Name)
        .all(db)
        .await
}

/// How many users hold a role.
pub async fn holders<C: ConnectionTrait>(db: &C, role_id: &str) -> Result<u64, DbErr> {
    role_assignment::Entity::find()
        .filter(role_assignment::Column::RoleId.eq(role_id))
        .count(db)
        .await
}

fn describe(role: &role::Model) -> serde_json::Value {
    json!({
        "name": role.name,
        "description": role.description,
        "require_passkey": role.require_passkey,
        "max_auth_age_secs": role.max_auth_age_secs,
    })
}

/// Change a role's description and policy. Records `role.updated`.
pub async fn update(
    tx: &Write,
    current: &role::Model,
    description: String,
    policy: RolePolicy,
) -> Result<role::Model, RoleError> {
    if policy.max_auth_age_secs.is_some_and(|secs| secs <= 0) {
        return Err(RoleError::InvalidMaxAuthAge);
    }
    let before = describe(current);
    let mut update: role::ActiveModel = current.clone().into();
    update.description = Set(description);
    update.require_passkey = Set(policy.require_passkey);
    update.max_auth_age_secs = Set(policy.max_auth_age_secs);
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &current.app_id,
            actor: &tx.actor,
            action: Action::RoleUpdated,
            target: Some(Target::role(current.name.as_str())),
            details: json!({ "before": before, "after": describe(&updated) }),
        },
    )
    .await?;
    Ok(updated)
}

/// Delete a role (its assignments go with it). Records `role.deleted`. An
/// `owner` role someone holds stays: counted under the role row's lock, so
/// a grant racing the deletion is either seen or waits (L16).
pub async fn delete(tx: &Write, current: &role::Model) -> Result<(), RoleError> {
    let locked = role::Entity::find_by_id(current.id.as_str())
        .lock_exclusive()
        .one(tx)
        .await?;
    if locked.is_none() {
        return Err(RoleError::NotFound {
            role: current.name.clone(),
            app: current.app_id.to_string(),
        });
    }
    let held_by = holders(tx, &current.id).await?;
    if current.name == super::policy::OWNER_ROLE && held_by > 0 {
        return Err(RoleError::OwnerRoleHeld);
    }
    role::Entity::delete_by_id(current.id.as_str())
        .exec(tx)
        .await?;
    audit::record(
        tx,
        Event {
            app_id: &current.app_id,
            actor: &tx.actor,
            action: Action::RoleDeleted,
            target: Some(Target::role(current.name.as_str())),
            details: json!({ "before": describe(current), "holders": held_by }),
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked,
    NotHeld,
}

/// Take a role from a user. Records `role.revoked`. Nobody takes `owner`
/// from the app's last owner (checked here, under the owner role's lock);
/// self-demotion's fresh sign-in is the caller's.
pub async fn revoke(
    tx: &Write,
    user: &app_user::Model,
    name: &RoleName,
) -> Result<RevokeOutcome, RoleError> {
    let app_id = user.app_id.clone();
    if name.as_str() == super::policy::OWNER_ROLE {
        super::policy::ensure_not_last_owner(tx, user).await??;
    }
    let role = require(tx, &app_id, name).await?;
    let removed = role_assignment::Entity::delete_by_id((user.id.clone(), role.id.clone()))
        .exec(tx)
        .await?;
    if removed.rows_affected == 0 {
        return Ok(RevokeOutcome::NotHeld);
    }
    audit::record(
        tx,
        Event {
            app_id: &app_id,
            actor: &tx.actor,
            action: Action::RoleRevoked,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "role": role.name, "email": user.email }),
        },
    )
    .await?;
    Ok(RevokeOutcome::Revoked)
}
