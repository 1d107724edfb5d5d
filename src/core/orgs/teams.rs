//! Teams inside an organization: named groups of its members, managed by
//! its admins and owners; their names go into tokens under the `teams`
//! scope.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use super::OrgError;
use super::members::{self, Acting, ensure_admin, locked_level};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::secrets;
use crate::core::write::Write;
use crate::entities::{app_user, organization, team, team_member};
use crate::types::DisplayName;

async fn record(
    tx: &Write,
    org: &organization::Model,
    action: Action,
    team: &team::Model,
    extra: serde_json::Value,
) -> Result<(), OrgError> {
    let details = super::with_extra(
        json!({ "org_id": org.id, "org": org.slug, "team": team.name }),
        extra,
    );
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action,
            target: Some(Target::team(team.id.as_str())),
            details,
        },
    )
    .await?;
    Ok(())
}

async fn find_named<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    name: &str,
) -> Result<Option<team::Model>, DbErr> {
    team::Entity::find()
        .filter(team::Column::OrganizationId.eq(org.id.as_str()))
        .filter(team::Column::Name.eq(name))
        .one(db)
        .await
}

/// The team `team_id` of `org`.
pub async fn require<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    team_id: &str,
) -> Result<team::Model, OrgError> {
    team::Entity::find_by_id(team_id)
        .filter(team::Column::OrganizationId.eq(org.id.as_str()))
        .one(db)
        .await?
        .ok_or(OrgError::NoSuchTeam)
}

/// The team called `name` in `org`.
pub async fn require_named<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    name: &str,
) -> Result<team::Model, OrgError> {
    find_named(db, org, name.trim())
        .await?
        .ok_or(OrgError::NoSuchTeam)
}

fn taken(name: &DisplayName) -> impl FnOnce(sea_orm::DbErr) -> OrgError + '_ {
    move |err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            OrgError::TeamTaken(name.to_string())
        }
        _ => OrgError::Fault(err.into()),
    }
}

/// Create a team. Records `team.created`.
pub async fn create(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    name: &DisplayName,
) -> Result<team::Model, OrgError> {
    ensure_admin(locked_level(tx, org, acting).await?)?;
    if find_named(tx, org, name.as_str()).await?.is_some() {
        return Err(OrgError::TeamTaken(name.to_string()));
    }
    let created = team::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(org.app_id.clone()),
        organization_id: Set(org.id.clone()),
        name: Set(name.to_string()),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await
    .map_err(taken(name))?;
    record(tx, org, Action::TeamCreated, &created, json!({})).await?;
    Ok(created)
}

/// Rename a team. Records `team.renamed`.
pub async fn rename(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    team: &team::Model,
    name: &DisplayName,
) -> Result<team::Model, OrgError> {
    ensure_admin(locked_level(tx, org, acting).await?)?;
    if let Some(other) = find_named(tx, org, name.as_str()).await?
        && other.id != team.id
    {
        return Err(OrgError::TeamTaken(name.to_string()));
    }
    let mut update: team::ActiveModel = team.clone().into();
    update.name = Set(name.to_string());
    let renamed = update.update(tx).await.map_err(taken(name))?;
    record(
        tx,
        org,
        Action::TeamRenamed,
        &renamed,
        json!({ "before": { "name": team.name } }),
    )
    .await?;
    Ok(renamed)
}

/// Delete a team (its member list goes with it). Records `team.deleted`.
pub async fn delete(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    team: &team::Model,
) -> Result<(), OrgError> {
    ensure_admin(locked_level(tx, org, acting).await?)?;
    let members = member_count(tx, &team.id).await?;
    team::Entity::delete_by_id(team.id.as_str())
        .exec(tx)
        .await?;
    record(
        tx,
        org,
        Action::TeamDeleted,
        team,
        json!({ "members": members }),
    )
    .await
}

/// Put a member of the organization into a team. Records
/// `team.member_added`; false when they were in it already.
pub async fn add_member(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    team: &team::Model,
    user: &app_user::Model,
) -> Result<bool, OrgError> {
    ensure_admin(locked_level(tx, org, acting).await?)?;
    if members::find(tx, &org.id, &user.id).await?.is_none() {
        return Err(OrgError::NotAMember(user.email.clone()));
    }
    if team_member::Entity::find_by_id((team.id.clone(), user.id.clone()))
        .one(tx)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    team_member::ActiveModel {
        app_id: Set(org.app_id.clone()),
        team_id: Set(team.id.clone()),
        user_id: Set(user.id.clone()),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    record(
        tx,
        org,
        Action::TeamMemberAdded,
        team,
        json!({ "user_id": user.id, "email": user.email }),
    )
    .await?;
    Ok(true)
}

/// Take someone out of a team. Records `team.member_removed`; false when
/// they were not in it.
pub async fn remove_member(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    team: &team::Model,
    user: &app_user::Model,
) -> Result<bool, OrgError> {
    ensure_admin(locked_level(tx, org, acting).await?)?;
    let removed = team_member::Entity::delete_by_id((team.id.clone(), user.id.clone()))
        .exec(tx)
        .await?
        .rows_affected;
    if removed == 0 {
        return Ok(false);
    }
    record(
        tx,
        org,
        Action::TeamMemberRemoved,
        team,
        json!({ "user_id": user.id, "email": user.email }),
    )
    .await?;
    Ok(true)
}

pub async fn member_count<C: ConnectionTrait>(db: &C, team_id: &str) -> Result<u64, DbErr> {
    team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .count(db)
        .await
}

/// An organization's teams by name, with how many members each has.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
) -> Result<Vec<(team::Model, u64)>, DbErr> {
    let teams = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(org.id.as_str()))
        .order_by_asc(team::Column::Name)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(teams.len());
    for team in teams {
        let members = member_count(db, &team.id).await?;
        out.push((team, members));
    }
    Ok(out)
}

/// The members of a team, by e-mail.
pub async fn members_of<C: ConnectionTrait>(
    db: &C,
    team: &team::Model,
) -> Result<Vec<app_user::Model>, DbErr> {
    let in_team = Query::select()
        .column(team_member::Column::UserId)
        .from(team_member::Entity)
        .and_where(Expr::col(team_member::Column::TeamId).eq(team.id.as_str()))
        .to_owned();
    app_user::Entity::find()
        .filter(app_user::Column::Id.in_subquery(in_team))
        .order_by_asc(app_user::Column::Email)
        .all(db)
        .await
}

/// The names of the teams of `org_id` that `user_id` is in, sorted: the
/// `teams` claim.
pub async fn names_for<C: ConnectionTrait>(
    db: &C,
    org_id: &str,
    user_id: &str,
) -> Result<Vec<String>, DbErr> {
    let in_teams = Query::select()
        .column(team_member::Column::TeamId)
        .from(team_member::Entity)
        .and_where(Expr::col(team_member::Column::UserId).eq(user_id))
        .to_owned();
    let mut names: Vec<String> = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(org_id))
        .filter(team::Column::Id.in_subquery(in_teams))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    // Sorted here, by bytes, as the refresh read sorts them: the claim does
    // not change order with the database's collation.
    names.sort();
    Ok(names)
}
