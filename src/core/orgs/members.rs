//! Memberships of an organization and their roles, with the guardrails of
//! the console applied per organization, here, inside the write, whoever
//! calls (a member-facing page, the console, the CLI):
//!
//! * the last owner stays an owner: not removed, demoted, deactivated or
//!   deleted (`policy::ensure_org_keeps_an_owner`, under the
//!   organization's row lock, so two owners demoting each other at once
//!   are serialised and the second is refused);
//! * nobody grants a role above their own level, or acts on a member above
//!   it;
//! * changing one's own access (demotion, leaving) needs a fresh sign-in.

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::roles::{self as org_roles, Level};
use super::{Guard, OrgError};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::policy;
use crate::core::write::Write;
use crate::entities::{app_user, membership, organization, team, team_member};
use crate::types::RoleName;

/// Who makes a membership change, as the guardrails see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acting {
    /// An operator (console or CLI): above every organization role, but
    /// held to the last-owner guardrail like anyone.
    Operator,
    /// A user of the app on the member-facing pages: their own membership
    /// (read inside the write) decides what they may do. `fresh`: whether
    /// their session proved a factor recently enough to change their own
    /// access.
    Member { user_id: String, fresh: bool },
}

impl Acting {
    fn is(&self, user_id: &str) -> bool {
        matches!(self, Acting::Member { user_id: me, .. } if me == user_id)
    }
}

/// The JSON array stored in `membership.org_roles`.
pub(crate) fn encode_roles(roles: &[String]) -> String {
    serde_json::to_string(roles).expect("a list of strings serialises")
}

/// A membership's role names (an unreadable list reads as none).
pub fn roles_of(membership: &membership::Model) -> Vec<String> {
    serde_json::from_str(&membership.org_roles).unwrap_or_default()
}

/// LIKE pattern for "the stored JSON list holds `role`": role names are
/// plain (no quotes), so `"role"` with its quotes matches that element only.
pub(crate) fn holding_pattern(role: &str) -> LikeExpr {
    let role = crate::core::db::like_literal(role);
    LikeExpr::new(format!("%\"{role}\"%")).escape('\\')
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    org_id: &str,
    user_id: &str,
) -> Result<Option<membership::Model>, DbErr> {
    membership::Entity::find_by_id((org_id.to_owned(), user_id.to_owned()))
        .one(db)
        .await
}

/// Lock the organization and read what the actor may do in it: an
/// operator is above every role; a member acts at their own level, and
/// only an admin or owner manages others.
pub(crate) async fn locked_level(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
) -> Result<Level, OrgError> {
    super::lock_found(tx, org).await?;
    match acting {
        Acting::Operator => Ok(Level::Owner),
        Acting::Member { user_id, .. } => Ok(find(tx, &org.id, user_id)
            .await?
            .map(|m| Level::of_roles(&roles_of(&m)))
            .ok_or(Guard::NotAnAdmin)?),
    }
}

pub(crate) fn ensure_admin(level: Level) -> Result<(), Guard> {
    if level < Level::Admin {
        return Err(Guard::NotAnAdmin);
    }
    Ok(())
}

/// Refuse roles above `level`, naming the highest one.
fn ensure_grantable(roles: &[String], level: Level) -> Result<(), Guard> {
    match roles.iter().find(|r| Level::of_role(r) > level) {
        Some(above) => Err(Guard::RoleAboveOwn(above.clone())),
        None => Ok(()),
    }
}

fn ensure_fresh(acting: &Acting) -> Result<(), Guard> {
    match acting {
        Acting::Member { fresh: false, .. } => Err(Guard::FreshSignInNeeded),
        _ => Ok(()),
    }
}

fn ensure_same_app(org: &organization::Model, user: &app_user::Model) -> Result<(), OrgError> {
    if org.app_id != user.app_id {
        return Err(OrgError::OtherApp(user.email.clone()));
    }
    Ok(())
}

fn details(
    org: &organization::Model,
    user: &app_user::Model,
    extra: serde_json::Value,
) -> serde_json::Value {
    super::with_extra(
        json!({ "org_id": org.id, "org": org.slug, "email": user.email }),
        extra,
    )
}

/// Make `user` a member of `org` with `roles`. Records `membership.added`.
pub async fn add(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    user: &app_user::Model,
    roles: &[RoleName],
) -> Result<membership::Model, OrgError> {
    ensure_same_app(org, user)?;
    let level = locked_level(tx, org, acting).await?;
    ensure_admin(level)?;
    let roles = org_roles::resolve(tx, &org.app_id, roles).await?;
    ensure_grantable(&roles, level)?;
    add_unchecked(tx, org, user, &roles, json!({})).await
}

/// Insert the membership and record it; the caller holds the organization's
/// lock and checked the actor (an accepted invitation checked its sender's
/// right when it was sent).
pub(crate) async fn add_unchecked(
    tx: &Write,
    org: &organization::Model,
    user: &app_user::Model,
    roles: &[String],
    extra: serde_json::Value,
) -> Result<membership::Model, OrgError> {
    if find(tx, &org.id, &user.id).await?.is_some() {
        return Err(OrgError::AlreadyMember(user.email.clone()));
    }
    let added = membership::ActiveModel {
        app_id: Set(org.app_id.clone()),
        organization_id: Set(org.id.clone()),
        user_id: Set(user.id.clone()),
        org_roles: Set(encode_roles(roles)),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    let about = super::with_extra(json!({ "roles": roles }), extra);
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::MembershipAdded,
            target: Some(Target::user(user.id.as_str())),
            details: details(org, user, about),
        },
    )
    .await?;
    Ok(added)
}

/// What a role change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    Changed {
        before: Vec<String>,
        after: Vec<String>,
    },
    Unchanged,
}

/// Give a member exactly `roles`. Records `membership.role_changed`.
pub async fn set_roles(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    user: &app_user::Model,
    roles: &[RoleName],
) -> Result<RoleChange, OrgError> {
    ensure_same_app(org, user)?;
    let level = locked_level(tx, org, acting).await?;
    ensure_admin(level)?;
    let after = org_roles::resolve(tx, &org.app_id, roles).await?;
    let current = find(tx, &org.id, &user.id)
        .await?
        .ok_or_else(|| OrgError::NotAMember(user.email.clone()))?;
    let before = roles_of(&current);
    if before == after {
        return Ok(RoleChange::Unchanged);
    }
    let is_self = acting.is(&user.id);
    if !is_self && Level::of_roles(&before) > level {
        return Err(Guard::MemberAboveOwn.into());
    }
    ensure_grantable(&after, level)?;
    if is_self && before.iter().any(|r| !after.contains(r)) {
        ensure_fresh(acting)?;
    }
    let owner = org_roles::OWNER.to_owned();
    if before.contains(&owner) && !after.contains(&owner) {
        policy::ensure_org_keeps_an_owner(tx, &org.id, user).await??;
    }
    let mut update: membership::ActiveModel = current.into();
    update.org_roles = Set(encode_roles(&after));
    update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::MembershipRoleChanged,
            target: Some(Target::user(user.id.as_str())),
            details: details(
                org,
                user,
                json!({ "before": { "roles": before }, "after": { "roles": after }, "self": is_self }),
            ),
        },
    )
    .await?;
    Ok(RoleChange::Changed { before, after })
}

/// End a membership (removal by an admin, or leaving), and the member's
/// places in the organization's teams. Records `membership.removed`.
pub async fn remove(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    user: &app_user::Model,
) -> Result<(), OrgError> {
    ensure_same_app(org, user)?;
    let is_self = acting.is(&user.id);
    let level = locked_level(tx, org, acting).await?;
    let current = find(tx, &org.id, &user.id)
        .await?
        .ok_or_else(|| OrgError::NotAMember(user.email.clone()))?;
    let roles = roles_of(&current);
    if is_self {
        ensure_fresh(acting)?;
    } else {
        ensure_admin(level)?;
        if Level::of_roles(&roles) > level {
            return Err(Guard::MemberAboveOwn.into());
        }
    }
    if roles.iter().any(|r| r == org_roles::OWNER) {
        policy::ensure_org_keeps_an_owner(tx, &org.id, user).await??;
    }
    let teams_of_org = Query::select()
        .column(team::Column::Id)
        .from(team::Entity)
        .and_where(Expr::col(team::Column::OrganizationId).eq(org.id.as_str()))
        .to_owned();
    let teams_left = team_member::Entity::delete_many()
        .filter(team_member::Column::UserId.eq(user.id.as_str()))
        .filter(team_member::Column::TeamId.in_subquery(teams_of_org))
        .exec(tx)
        .await?
        .rows_affected;
    membership::Entity::delete_by_id((org.id.clone(), user.id.clone()))
        .exec(tx)
        .await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::MembershipRemoved,
            target: Some(Target::user(user.id.as_str())),
            details: details(
                org,
                user,
                json!({ "before": { "roles": roles }, "teams_left": teams_left, "self": is_self }),
            ),
        },
    )
    .await?;
    Ok(())
}

/// One page of an organization's members by e-mail, optionally those whose
/// e-mail contains `query`; `after` is the last e-mail of the previous page.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    query: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<(app_user::Model, membership::Model)>, DbErr> {
    // From the organization's memberships (its primary-key prefix) to their
    // users, never the other way: the app may have far more users.
    let mut select = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id.as_str()))
        .find_also_related(app_user::Entity);
    if let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) {
        select = select.filter(
            Expr::col((app_user::Entity, app_user::Column::Email))
                .like(crate::core::db::contains_lowercase(query)),
        );
    }
    if let Some(after) = after {
        select = select.filter(app_user::Column::Email.gt(after));
    }
    Ok(select
        .order_by_asc(app_user::Column::Email)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(membership, user)| user.map(|user| (user, membership)))
        .collect())
}

/// How many members each of `org_ids` has, in one grouped read.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    org_ids: &[&str],
) -> Result<std::collections::HashMap<String, u64>, DbErr> {
    if org_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, i64)> = membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .column_as(membership::Column::UserId.count(), "members")
        .filter(membership::Column::OrganizationId.is_in(org_ids.iter().copied()))
        .group_by(membership::Column::OrganizationId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(org, n)| (org, u64::try_from(n).unwrap_or(0)))
        .collect())
}

pub async fn count<C: ConnectionTrait>(db: &C, org_id: &str) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .count(db)
        .await
}

/// The organizations `user_id` belongs to, by slug, with their membership:
/// the org picker, the `organizations` scope.
pub async fn of_user<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<(organization::Model, membership::Model)>, DbErr> {
    let mut memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    if memberships.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = memberships
        .iter()
        .map(|m| m.organization_id.clone())
        .collect();
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .order_by_asc(organization::Column::Slug)
        .all(db)
        .await?;
    Ok(orgs
        .into_iter()
        .filter_map(|org| {
            let at = memberships
                .iter()
                .position(|m| m.organization_id == org.id)?;
            Some((org, memberships.swap_remove(at)))
        })
        .collect())
}
