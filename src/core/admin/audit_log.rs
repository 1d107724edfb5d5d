//! The audit log as operators read it: filtered, newest first, paged by
//! event id (an index walk, whatever the table's size), exported, and
//! checked.

use crate::types::AppId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{AdminError, readable_app};
use crate::core::audit::{self, ChainReport};
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::entities::audit_event;

/// Events shown per page.
pub const PAGE: u64 = 50;

/// What the operator filters by; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub app_id: Option<AppId>,
    /// The actor's label (an e-mail, `cli:alice`), exactly.
    pub actor: Option<String>,
    /// An action (`user.created`) or a prefix ending in a dot (`signin.`).
    pub action: Option<String>,
    /// A target id, exactly.
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The condition for `filter` within what the operator may read; `None`
/// when they may read nothing of what was asked.
async fn condition(db: &Db, operator: &Operator, filter: &Filter) -> Result<Condition, AdminError> {
    let mut condition = Condition::all();
    match &filter.app_id {
        Some(app_id) => {
            readable_app(db, operator, app_id, "audit.view").await?;
            condition = condition.add(audit_event::Column::AppId.eq(app_id.as_str()));
        }
        None if operator.sees_all_apps() => {}
        None => condition = condition.add(audit_event::Column::AppId.is_in(operator.scoped_apps())),
    }
    if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
        condition = condition.add(audit_event::Column::ActorLabel.eq(actor));
    }
    if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
        condition = if action.ends_with('.') {
            condition.add(Expr::col(audit_event::Column::Action).like(
                LikeExpr::new(format!("{}%", crate::core::db::like_literal(action))).escape('\\'),
            ))
        } else {
            condition.add(audit_event::Column::Action.eq(action))
        };
    }
    if let Some(target) = filter.target.as_deref().filter(|t| !t.is_empty()) {
        condition = condition.add(audit_event::Column::TargetId.eq(target));
    }
    if let Some(from) = filter.from {
        condition = condition.add(audit_event::Column::OccurredAt.gte(from));
        if let Some(id) =
            boundary_id(db, filter, audit_event::Column::OccurredAt.gte(from), false).await?
        {
            condition = condition.add(audit_event::Column::Id.gte(id - ID_SLACK));
        }
    }
    if let Some(to) = filter.to {
        condition = condition.add(audit_event::Column::OccurredAt.lt(to));
        if let Some(id) =
            boundary_id(db, filter, audit_event::Column::OccurredAt.lt(to), true).await?
        {
            condition = condition.add(audit_event::Column::Id.lte(id + ID_SLACK));
        }
    }
    Ok(condition)
}

/// Ids grow with time (events are appended as they happen), give or take the
/// few transactions in flight together: a time range is also an id range,
/// widened by this much, which lets the id index serve "newest first" within
/// a time range. The time condition itself stays, so no row is wrongly kept.
const ID_SLACK: i64 = 1000;

/// The id of the event nearest the edge of a time range (one index probe).
async fn boundary_id(
    db: &Db,
    filter: &Filter,
    edge: sea_orm::sea_query::SimpleExpr,
    latest: bool,
) -> Result<Option<i64>, AdminError> {
    let mut select = audit_event::Entity::find().filter(edge);
    if let Some(app_id) = &filter.app_id {
        select = select.filter(audit_event::Column::AppId.eq(app_id.as_str()));
    }
    let select = if latest {
        select.order_by_desc(audit_event::Column::OccurredAt)
    } else {
        select.order_by_asc(audit_event::Column::OccurredAt)
    };
    Ok(select.limit(1).one(db).await?.map(|event| event.id))
}

/// A page of events, newest first; `before` is the last id of the previous page.
pub async fn page(
    db: &Db,
    operator: &Operator,
    filter: &Filter,
    before: Option<i64>,
) -> Result<Vec<audit_event::Model>, AdminError> {
    page_sized(db, operator, filter, before, PAGE).await
}

/// `page` with a page size of the caller's (exports read 1,000 at a time).
pub async fn page_sized(
    db: &Db,
    operator: &Operator,
    filter: &Filter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, AdminError> {
    let mut condition = condition(db, operator, filter).await?;
    if let Some(before) = before {
        condition = condition.add(audit_event::Column::Id.lt(before));
    }
    Ok(audit_event::Entity::find()
        .filter(condition)
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// One event, if the operator may read its app.
pub async fn event(
    db: &Db,
    operator: &Operator,
    id: i64,
) -> Result<audit_event::Model, AdminError> {
    let no_such_event = || AdminError::NotFound("There is no such event.".into());
    let event = audit_event::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(no_such_event)?;
    // An event of an app the operator cannot see is answered like a missing
    // one: probing ids must not tell which apps exist.
    readable_app(db, operator, &event.app_id, "audit.view")
        .await
        .map_err(|err| match err {
            AdminError::NotFound(_) => no_such_event(),
            other => other,
        })?;
    Ok(event)
}

/// Check one app's chain.
pub async fn verify(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
) -> Result<ChainReport, AdminError> {
    readable_app(db, operator, app_id, "audit.verify").await?;
    Ok(audit::verify_chain(db, db.deployment(), app_id, None).await?)
}
