//! Organizations inside an app (Zitadel's organizations, Auth0's
//! Organizations): a group of the app's users with roles of its own. They
//! never cross the app boundary: every row carries the app id, and the
//! database refuses a membership of another app's user.
//!
//! This file: the organization itself (create, rename, delete, find, list).
//! `roles.rs`: the app's organization roles and their levels; `members.rs`:
//! memberships and the per-organization guardrails; `teams.rs`: teams.

pub mod claims;
pub mod dns;
pub mod domains;
pub mod members;
pub mod roles;
pub mod teams;

use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::audit::{self, Action, Event, Target};
use super::fault::Fault;
use super::secrets;
use super::write::Write;
use crate::entities::{identity_provider, invitation, membership, organization, team};
use crate::types::{AppId, DisplayName, OrgSlug};

/// A change to an organization refused by a guardrail: the reason is a
/// sentence for the person who tried (the caller records the refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Guard {
    #[error("{0} is the last owner of this organization; make someone else an owner first.")]
    LastOwner(String),
    #[error("Only the organization's owners and admins may do this.")]
    NotAnAdmin,
    #[error("You cannot grant the organization role \"{0}\": it is above your own.")]
    RoleAboveOwn(String),
    #[error("This member's access is above your own: only an owner may change it.")]
    MemberAboveOwn,
    #[error("Changing your own access needs a recent sign-in: confirm it's you first.")]
    FreshSignInNeeded,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("An organization with the slug \"{0}\" already exists in this app.")]
    SlugTaken(String),
    #[error("There is no organization \"{0}\" in this app.")]
    NotFound(String),
    #[error("{0} is already a member of this organization.")]
    AlreadyMember(String),
    #[error("{0} is not a member of this organization.")]
    NotAMember(String),
    #[error("There is no organization role \"{0}\" in this app.")]
    NoSuchRole(String),
    #[error("The organization role \"{0}\" already exists in this app.")]
    RoleTaken(String),
    #[error("\"{0}\" is a built-in organization role; it cannot be changed or deleted.")]
    BuiltinRole(String),
    #[error("A member needs at least one organization role.")]
    NoRoles,
    #[error("The maximum authentication age must be a positive number of seconds.")]
    InvalidMaxAuthAge,
    #[error("A team called \"{0}\" already exists in this organization.")]
    TeamTaken(String),
    #[error("There is no such team in this organization.")]
    NoSuchTeam,
    #[error("There is no such user in this app.")]
    NoSuchUser,
    #[error("There is no such pending invitation in this organization.")]
    NoSuchInvitation,
    #[error("{0} is already claimed by this organization.")]
    DomainTaken(String),
    #[error("{0} is already verified for another organization of this app.")]
    DomainVerifiedElsewhere(String),
    #[error("This organization has not claimed the domain {0}.")]
    NoSuchDomain(String),
    #[error("The domain policy must be none, offer or auto, not \"{0}\".")]
    InvalidDomainPolicy(String),
    #[error("{0} belongs to another app.")]
    OtherApp(String),
    #[error(transparent)]
    Refused(#[from] Guard),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(OrgError);

impl From<super::policy::PolicyError> for OrgError {
    fn from(err: super::policy::PolicyError) -> Self {
        match err {
            super::policy::PolicyError::LastOrgOwner(email) => Guard::LastOwner(email).into(),
            other => OrgError::Fault(Fault::unexpected(other)),
        }
    }
}

/// What `organization.domain_policy` may hold.
pub const DOMAIN_POLICIES: [&str; 3] = ["none", "offer", "auto"];

fn describe(org: &organization::Model) -> serde_json::Value {
    json!({ "slug": org.slug, "name": org.name, "domain_policy": org.domain_policy })
}

/// Create an organization. Records `org.created`.
pub async fn create(
    tx: &Write,
    app_id: &AppId,
    slug: &OrgSlug,
    name: &DisplayName,
) -> Result<organization::Model, OrgError> {
    if find_by_slug(tx, app_id, slug).await?.is_some() {
        return Err(OrgError::SlugTaken(slug.to_string()));
    }
    let created = organization::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(app_id.clone()),
        slug: Set(slug.to_string()),
        name: Set(name.to_string()),
        search_name: Set(name.as_str().to_lowercase()),
        domain_policy: Set("none".into()),
        required_provider_id: Set(None),
        created_at: Set(tx.now),
        updated_at: Set(tx.now),
    }
    .insert(tx)
    .await
    .map_err(|err| match err.sql_err() {
        // Two creations racing for one slug: the unique index decides.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            OrgError::SlugTaken(slug.to_string())
        }
        _ => OrgError::Fault(err.into()),
    })?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::OrgCreated,
            target: Some(Target::org(created.id.as_str())),
            details: json!({ "after": describe(&created) }),
        },
    )
    .await?;
    Ok(created)
}

/// Give an organization a new display name (the slug stays: clients pass
/// it). Records `org.renamed`.
pub async fn rename(
    tx: &Write,
    org: &organization::Model,
    name: &DisplayName,
) -> Result<organization::Model, OrgError> {
    let mut update: organization::ActiveModel = org.clone().into();
    update.name = Set(name.to_string());
    update.search_name = Set(name.as_str().to_lowercase());
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::OrgRenamed,
            target: Some(Target::org(org.id.as_str())),
            details: json!({ "before": describe(org), "after": describe(&updated) }),
        },
    )
    .await?;
    Ok(updated)
}

/// What deleting an organization removed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub memberships: u64,
    pub pending_invitations: u64,
    pub teams: u64,
}

/// Delete an organization, and with it (by the database's cascades) its
/// memberships, invitations, teams and domains. Records `org.deleted`
/// with what it removed. Tokens issued for it lose its claims at their
/// next refresh (the membership is gone).
pub async fn delete(tx: &Write, org: &organization::Model) -> Result<Removed, OrgError> {
    // Under the organization's lock, so a member added meanwhile is counted.
    lock_found(tx, org).await?;
    let removed = Removed {
        memberships: membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org.id.as_str()))
            .count(tx)
            .await?,
        pending_invitations: invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(org.id.as_str()))
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(invitation::Column::RevokedAt.is_null())
            .filter(invitation::Column::ExpiresAt.gt(tx.now))
            .count(tx)
            .await?,
        teams: team::Entity::find()
            .filter(team::Column::OrganizationId.eq(org.id.as_str()))
            .count(tx)
            .await?,
    };
    organization::Entity::delete_by_id(org.id.as_str())
        .exec(tx)
        .await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::OrgDeleted,
            target: Some(Target::org(org.id.as_str())),
            details: json!({ "before": describe(org), "removed": removed }),
        },
    )
    .await?;
    Ok(removed)
}

/// Accept the organization's invitations only through `provider` (an
/// upstream provider of its app), or, with `None`, any way the app
/// offers. Records `org.provider_required`.
pub async fn require_provider(
    tx: &Write,
    org: &organization::Model,
    provider: Option<&identity_provider::Model>,
) -> Result<organization::Model, OrgError> {
    if let Some(provider) = provider
        && provider.app_id != org.app_id
    {
        return Err(OrgError::OtherApp(provider.slug.clone()));
    }
    let org = lock_found(tx, org).await?;
    let wanted = provider.map(|p| p.id.clone());
    if org.required_provider_id == wanted {
        return Ok(org);
    }
    let before = match &org.required_provider_id {
        Some(id) => identity_provider::Entity::find_by_id(id.as_str())
            .one(tx)
            .await?
            .map(|p| p.slug),
        None => None,
    };
    let mut update: organization::ActiveModel = org.clone().into();
    update.required_provider_id = Set(wanted);
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::OrgProviderRequired,
            target: Some(Target::org(org.id.as_str())),
            details: json!({
                "org": org.slug,
                "before": before,
                "after": provider.map(|p| p.slug.clone()),
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// The provider `org` accepts its invitations through, if any.
pub async fn required_provider<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
) -> Result<Option<identity_provider::Model>, DbErr> {
    match &org.required_provider_id {
        Some(id) => {
            identity_provider::Entity::find_by_id(id.as_str())
                .one(db)
                .await
        }
        None => Ok(None),
    }
}

/// [`lock`] `org`, read again as it is now; `NotFound` when it was deleted
/// meanwhile.
pub(crate) async fn lock_found(
    tx: &Write,
    org: &organization::Model,
) -> Result<organization::Model, OrgError> {
    lock(tx, &org.id)
        .await?
        .ok_or_else(|| OrgError::NotFound(org.slug.clone()))
}

/// `details` of an audit event with the caller's `extra` fields (an
/// object) added.
pub(crate) fn with_extra(
    mut details: serde_json::Value,
    extra: serde_json::Value,
) -> serde_json::Value {
    if let (Some(details), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra) {
        details.extend(extra);
    }
    details
}

/// Lock an organization's row for the rest of `tx`: every change to its
/// memberships takes it first, so the per-organization guardrails (the
/// last owner) are checked against a membership list nobody else is
/// changing. FOR NO KEY UPDATE on PostgreSQL: it serialises those changes
/// without blocking rows that merely reference the organization; SQLite's
/// write transaction already holds the database.
pub async fn lock(tx: &Write, org_id: &str) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find_by_id(org_id)
        .lock(LockType::NoKeyUpdate)
        .one(tx)
        .await
}

pub async fn find_by_slug<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::AppId.eq(app_id.as_str()))
        .filter(organization::Column::Slug.eq(slug.as_str()))
        .one(db)
        .await
}

pub async fn require_by_slug<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<organization::Model, OrgError> {
    find_by_slug(db, app_id, slug)
        .await?
        .ok_or_else(|| OrgError::NotFound(slug.to_string()))
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    org_id: &str,
) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find_by_id(org_id)
        .filter(organization::Column::AppId.eq(app_id.as_str()))
        .one(db)
        .await
}

/// One page of an app's organizations by slug, optionally those whose slug
/// or name contains `query`; `after` is the last slug of the previous page
/// (keyset paging, on the unique (app, slug) index).
pub async fn page<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    query: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<organization::Model>, DbErr> {
    let mut select =
        organization::Entity::find().filter(organization::Column::AppId.eq(app_id.as_str()));
    if let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) {
        // Names match whatever their case through the stored lower-cased
        // name: a lower() per row cost PostgreSQL most of the search.
        let pattern = super::db::contains_lowercase(query);
        select = select.filter(
            Condition::any()
                .add(Expr::col(organization::Column::Slug).like(pattern.clone()))
                .add(Expr::col(organization::Column::SearchName).like(pattern)),
        );
    }
    if let Some(after) = after {
        select = select.filter(organization::Column::Slug.gt(after));
    }
    select
        .order_by_asc(organization::Column::Slug)
        .limit(limit)
        .all(db)
        .await
}

pub async fn count<C: ConnectionTrait>(db: &C, app_id: &AppId) -> Result<u64, DbErr> {
    organization::Entity::find()
        .filter(organization::Column::AppId.eq(app_id.as_str()))
        .count(db)
        .await
}

/// The signed-in user acting on the member-facing pages: fresh when they
/// proved their strongest factor recently (a passkey, if they have one: a
/// fresh password after an old passkey is not one), as the console asks of
/// operators changing their own access.
pub async fn acting_as<C: ConnectionTrait>(
    db: &C,
    signin: &super::sessions::ActiveSignin,
) -> Result<members::Acting, DbErr> {
    let has_passkey = !super::passkeys::list_for_user(db, &signin.user.id)
        .await?
        .is_empty();
    let fresh = if has_passkey {
        signin.is_fresh_with(super::sessions::Factor::Passkey)
    } else {
        signin.is_fresh()
    };
    Ok(members::Acting::Member {
        user_id: signin.user.id.clone(),
        fresh,
    })
}

/// The organization `slug` of `app_id` and `user_id`'s membership of it;
/// `None` when there is no such organization or they are not a member
/// (the two look alike: a member of one organization learns nothing of
/// another).
pub async fn visible_to<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    slug: &str,
    user_id: &str,
) -> Result<Option<(organization::Model, membership::Model)>, DbErr> {
    let Ok(slug) = OrgSlug::parse(slug) else {
        return Ok(None);
    };
    let Some(org) = find_by_slug(db, app_id, &slug).await? else {
        return Ok(None);
    };
    Ok(members::find(db, &org.id, user_id)
        .await?
        .map(|membership| (org, membership)))
}
