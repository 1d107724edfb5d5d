//! Organization roles: the built-in `owner`, `admin` and `member`, and an
//! app's custom ones (stored, with the same factor policy as app roles).
//! A role's level decides who may grant it and whom its holder may manage:
//! owner above admin above everyone else.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use super::OrgError;
use crate::core::audit::{self, Action, Event, Target};
use crate::core::roles::RolePolicy;
use crate::core::secrets;
use crate::core::write::Write;
use crate::entities::{membership, org_role};
use crate::types::{AppId, RoleName};

pub const OWNER: &str = "owner";
pub const ADMIN: &str = "admin";
pub const MEMBER: &str = "member";
pub const BUILT_IN: [&str; 3] = [OWNER, ADMIN, MEMBER];

/// How much a role lets its holder do in the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `member` and every custom role: no say over other members.
    Member,
    /// Manages members, invitations and teams up to their own level.
    Admin,
    /// Everything, other owners included.
    Owner,
}

impl Level {
    pub fn of_role(name: &str) -> Level {
        match name {
            OWNER => Level::Owner,
            ADMIN => Level::Admin,
            _ => Level::Member,
        }
    }

    /// The level of a set of roles: their highest.
    pub fn of_roles<S: AsRef<str>>(names: &[S]) -> Level {
        names
            .iter()
            .map(|n| Level::of_role(n.as_ref()))
            .max()
            .unwrap_or(Level::Member)
    }
}

/// An organization role and what it demands of a session, as a token
/// minter or a page reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRole {
    pub name: String,
    pub description: String,
    pub policy: RolePolicy,
    pub builtin: bool,
}

fn built_in(name: &str) -> OrgRole {
    let description = match name {
        OWNER => "Everything, other owners included",
        ADMIN => "Manages members, invitations and teams",
        _ => "Belongs to the organization",
    };
    OrgRole {
        name: name.to_owned(),
        description: description.to_owned(),
        policy: RolePolicy::default(),
        builtin: true,
    }
}

fn custom(row: org_role::Model) -> OrgRole {
    OrgRole {
        name: row.name,
        description: row.description,
        policy: RolePolicy {
            require_passkey: row.require_passkey,
            max_auth_age_secs: row.max_auth_age_secs,
        },
        builtin: false,
    }
}

/// Every organization role of the app: the built-in ones, then the
/// custom ones by name.
pub async fn list<C: ConnectionTrait>(db: &C, app_id: &AppId) -> Result<Vec<OrgRole>, DbErr> {
    let mut roles: Vec<OrgRole> = BUILT_IN.iter().map(|n| built_in(n)).collect();
    roles.extend(
        org_role::Entity::find()
            .filter(org_role::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(org_role::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(custom),
    );
    Ok(roles)
}

async fn find_custom<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    name: &str,
) -> Result<Option<org_role::Model>, DbErr> {
    org_role::Entity::find()
        .filter(org_role::Column::AppId.eq(app_id.as_str()))
        .filter(org_role::Column::Name.eq(name))
        .one(db)
        .await
}

/// The roles named, each checked to exist in the app; sorted, without
/// repeats. At least one.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    names: &[RoleName],
) -> Result<Vec<String>, OrgError> {
    let mut resolved: Vec<String> = Vec::new();
    for name in names {
        let name = name.as_str();
        if !BUILT_IN.contains(&name) && find_custom(db, app_id, name).await?.is_none() {
            return Err(OrgError::NoSuchRole(name.to_owned()));
        }
        resolved.push(name.to_owned());
    }
    resolved.sort();
    resolved.dedup();
    if resolved.is_empty() {
        return Err(OrgError::NoRoles);
    }
    Ok(resolved)
}

/// The policies of the custom roles among `names` (the built-in ones have
/// none): what a token for the organization must meet.
pub async fn policies<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    names: &[String],
) -> Result<Vec<OrgRole>, DbErr> {
    let custom_names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !BUILT_IN.contains(n))
        .collect();
    let mut roles: Vec<OrgRole> = names
        .iter()
        .filter(|n| BUILT_IN.contains(&n.as_str()))
        .map(|n| built_in(n))
        .collect();
    if !custom_names.is_empty() {
        roles.extend(
            org_role::Entity::find()
                .filter(org_role::Column::AppId.eq(app_id.as_str()))
                .filter(org_role::Column::Name.is_in(custom_names))
                .all(db)
                .await?
                .into_iter()
                .map(custom),
        );
    }
    Ok(roles)
}

fn check_policy(policy: &RolePolicy) -> Result<(), OrgError> {
    if policy.max_auth_age_secs.is_some_and(|secs| secs <= 0) {
        return Err(OrgError::InvalidMaxAuthAge);
    }
    Ok(())
}

fn describe(role: &org_role::Model) -> serde_json::Value {
    json!({
        "name": role.name,
        "description": role.description,
        "require_passkey": role.require_passkey,
        "max_auth_age_secs": role.max_auth_age_secs,
    })
}

/// Create a custom organization role. Records `org_role.created`.
pub async fn create(
    tx: &Write,
    app_id: &AppId,
    name: &RoleName,
    description: String,
    policy: RolePolicy,
) -> Result<OrgRole, OrgError> {
    check_policy(&policy)?;
    if BUILT_IN.contains(&name.as_str()) {
        return Err(OrgError::BuiltinRole(name.to_string()));
    }
    if find_custom(tx, app_id, name.as_str()).await?.is_some() {
        return Err(OrgError::RoleTaken(name.to_string()));
    }
    let created = org_role::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(app_id.clone()),
        name: Set(name.to_string()),
        description: Set(description),
        require_passkey: Set(policy.require_passkey),
        max_auth_age_secs: Set(policy.max_auth_age_secs),
        created_at: Set(tx.now),
        updated_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::OrgRoleCreated,
            target: Some(Target::role(created.name.as_str())),
            details: json!({ "after": describe(&created) }),
        },
    )
    .await?;
    Ok(custom(created))
}

async fn require_custom(
    tx: &Write,
    app_id: &AppId,
    name: &RoleName,
) -> Result<org_role::Model, OrgError> {
    if BUILT_IN.contains(&name.as_str()) {
        return Err(OrgError::BuiltinRole(name.to_string()));
    }
    find_custom(tx, app_id, name.as_str())
        .await?
        .ok_or_else(|| OrgError::NoSuchRole(name.to_string()))
}

/// Change a custom role's description and policy. Records
/// `org_role.updated`.
pub async fn update(
    tx: &Write,
    app_id: &AppId,
    name: &RoleName,
    description: String,
    policy: RolePolicy,
) -> Result<OrgRole, OrgError> {
    check_policy(&policy)?;
    let current = require_custom(tx, app_id, name).await?;
    let mut update: org_role::ActiveModel = current.clone().into();
    update.description = Set(description);
    update.require_passkey = Set(policy.require_passkey);
    update.max_auth_age_secs = Set(policy.max_auth_age_secs);
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::OrgRoleUpdated,
            target: Some(Target::role(name.as_str())),
            details: json!({ "before": describe(&current), "after": describe(&updated) }),
        },
    )
    .await?;
    Ok(custom(updated))
}

/// Delete a custom role and take it from every member holding it (a member
/// left with no role keeps `member`). Records `org_role.deleted` with how
/// many held it.
pub async fn delete(tx: &Write, app_id: &AppId, name: &RoleName) -> Result<u64, OrgError> {
    let current = require_custom(tx, app_id, name).await?;
    let holders = membership::Entity::find()
        .filter(membership::Column::AppId.eq(app_id.as_str()))
        .filter(membership::Column::OrgRoles.like(super::members::holding_pattern(name.as_str())))
        .all(tx)
        .await?;
    let held_by = holders.len() as u64;
    for held in holders {
        let mut roles = super::members::roles_of(&held);
        roles.retain(|r| r != name.as_str());
        if roles.is_empty() {
            roles.push(MEMBER.to_owned());
        }
        let mut update: membership::ActiveModel = held.into();
        update.org_roles = Set(super::members::encode_roles(&roles));
        update.update(tx).await?;
    }
    org_role::Entity::delete_by_id(current.id.as_str())
        .exec(tx)
        .await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::OrgRoleDeleted,
            target: Some(Target::role(name.as_str())),
            details: json!({ "before": describe(&current), "holders": held_by }),
        },
    )
    .await?;
    Ok(held_by)
}

/// How many memberships of the app hold `name`.
pub async fn holders<C: ConnectionTrait>(db: &C, app_id: &AppId, name: &str) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::AppId.eq(app_id.as_str()))
        .filter(membership::Column::OrgRoles.like(super::members::holding_pattern(name)))
        .count(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_roles_is_as_high_as_its_highest() {
        assert_eq!(Level::of_roles(&["member", "billing"]), Level::Member);
        assert_eq!(Level::of_roles(&["billing", "admin"]), Level::Admin);
        assert_eq!(Level::of_roles(&["owner", "member"]), Level::Owner);
        assert_eq!(Level::of_roles::<&str>(&[]), Level::Member);
        assert!(Level::Owner > Level::Admin && Level::Admin > Level::Member);
    }
}
