//! The outbox: a message is written in the transaction of the change that
//! causes it (a rolled-back change sends nothing, a committed one always
//! sends), its bodies sealed with the master key because a message may
//! carry a one-time link. Sender processes claim due messages with a lease:
//! a conditional update that only one of them can win, on SQLite and
//! PostgreSQL alike, and that another can take over once the lease has run
//! out (the claimer was killed mid-send).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;

use super::MailError;
use super::templates::{self, Content};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::db::{Db, Deployment};
use crate::core::secrets;
use crate::core::write::{self, Actor, Write};
use crate::entities::{app, email_outbox};
use crate::types::{AppId, MailKind, MailStatus};

/// Write `content`, rendered for `app`, to the outbox for `to`.
pub async fn enqueue(
    tx: &Write,
    app: &app::Model,
    to: &str,
    user_id: Option<&str>,
    content: &Content,
) -> Result<email_outbox::Model, DbErr> {
    let deployment = tx
        .deployment()
        .ok_or_else(|| DbErr::Custom(MailError::NoDeployment.to_string()))?;
    let rendered = templates::render(app, content);
    let id = secrets::new_id();
    let row = email_outbox::ActiveModel {
        id: Set(id.clone()),
        app_id: Set(app.id.clone()),
        kind: Set(content.kind()),
        user_id: Set(user_id.map(str::to_owned)),
        to_address: Set(to.to_owned()),
        sender_name: Set(Some(
            app.email_sender_name
                .clone()
                .unwrap_or_else(|| app.name.clone()),
        )),
        reply_to: Set(app.email_reply_to.clone()),
        subject: Set(rendered.subject),
        body_text: Set(seal(deployment, &id, "text", &rendered.text)),
        body_html: Set(Some(seal(deployment, &id, "html", &rendered.html))),
        status: Set(MailStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(tx.now),
        lease_until: Set(None),
        last_error: Set(None),
        smtp_response: Set(None),
        sent_at: Set(None),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    Ok(row)
}

fn seal(deployment: &Deployment, id: &str, part: &str, body: &str) -> String {
    deployment
        .vault
        .seal(&format!("email_outbox:{id}:{part}"), body.as_bytes())
}

/// A message's bodies, opened.
#[derive(Debug, Clone)]
pub struct Bodies {
    pub text: String,
    pub html: Option<String>,
}

pub fn open(deployment: &Deployment, row: &email_outbox::Model) -> Result<Bodies, MailError> {
    let open_part = |part: &str, sealed: &str| -> Result<String, MailError> {
        let bytes = deployment
            .vault
            .open(&format!("email_outbox:{}:{part}", row.id), sealed)?;
        String::from_utf8(bytes).map_err(|_| MailError::Corrupt)
    };
    Ok(Bodies {
        text: open_part("text", &row.body_text)?,
        html: row
            .body_html
            .as_deref()
            .map(|html| open_part("html", html))
            .transpose()?,
    })
}

/// When the next attempt after `attempts` failed ones may start: the
/// first back-off, doubled each time, at most six hours.
pub fn back_off(first: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    let delay = first * 2i32.pow(doublings);
    delay.min(Duration::hours(6))
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(email_outbox::Column::Status.eq(MailStatus::Pending))
        .add(email_outbox::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(email_outbox::Column::LeaseUntil.is_null())
                .add(email_outbox::Column::LeaseUntil.lte(now)),
        )
}

/// Claim up to `limit` due messages for `lease`; each claim counts as an
/// attempt. Two processes may read the same candidates; the conditional
/// update gives each message to one of them (on PostgreSQL the second
/// update waits for the first and then finds the lease taken).
pub async fn claim_due(
    db: &Db,
    lease: Duration,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, DbErr> {
    let now = db.now();
    let candidates: Vec<String> = email_outbox::Entity::find()
        .select_only()
        .column(email_outbox::Column::Id)
        .filter(claimable(now))
        .order_by_asc(email_outbox::Column::NextAttemptAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut claimed = Vec::new();
    for id in candidates {
        if let Some(row) = claim(db, &id, lease).await? {
            claimed.push(row);
        }
    }
    Ok(claimed)
}

/// Claim one message (due or not: `oneauth email test` sends its message at
/// once), unless another process holds it or it is done.
pub async fn claim(
    db: &Db,
    id: &str,
    lease: Duration,
) -> Result<Option<email_outbox::Model>, DbErr> {
    let now = db.now();
    let won = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(
            email_outbox::Column::Attempts,
            Expr::col(email_outbox::Column::Attempts).add(1),
        )
        .filter(email_outbox::Column::Id.eq(id))
        .filter(email_outbox::Column::Status.eq(MailStatus::Pending))
        .filter(
            Condition::any()
                .add(email_outbox::Column::LeaseUntil.is_null())
                .add(email_outbox::Column::LeaseUntil.lte(now)),
        )
        .exec(db.writer())
        .await?;
    if won.rows_affected != 1 {
        return Ok(None);
    }
    email_outbox::Entity::find_by_id(id).one(db.writer()).await
}

/// The server accepted the message.
pub async fn mark_sent(db: &Db, id: &str, response: &str) -> Result<(), DbErr> {
    email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Status, Expr::value(MailStatus::Sent))
        .col_expr(email_outbox::Column::SentAt, Expr::value(db.now()))
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(email_outbox::Column::SmtpResponse, Expr::value(response))
        .filter(email_outbox::Column::Id.eq(id))
        .exec(db.writer())
        .await?;
    Ok(())
}

/// The attempt failed; try again at `next_attempt_at`.
pub async fn retry_later(
    db: &Db,
    id: &str,
    error: &str,
    response: Option<&str>,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(email_outbox::Column::LastError, Expr::value(error))
        .col_expr(
            email_outbox::Column::SmtpResponse,
            Expr::value(response.map(str::to_owned)),
        )
        .filter(email_outbox::Column::Id.eq(id))
        .exec(db.writer())
        .await?;
    Ok(())
}

/// Give up on a message (its last attempt failed, or the server refused it
/// for good), recording `email.failed` with it.
pub async fn give_up(
    db: &Db,
    row: &email_outbox::Model,
    error: &str,
    response: Option<&str>,
) -> Result<(), MailError> {
    let tx = write::begin(db, Actor::system()).await?;
    email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::Status,
            Expr::value(MailStatus::Failed),
        )
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(email_outbox::Column::LastError, Expr::value(error))
        .col_expr(
            email_outbox::Column::SmtpResponse,
            Expr::value(response.map(str::to_owned)),
        )
        .filter(email_outbox::Column::Id.eq(row.id.as_str()))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        Event {
            app_id: &row.app_id,
            actor: &tx.actor,
            action: Action::EmailFailed,
            target: Some(Target::message(row.id.as_str())),
            details: json!({
                "kind": row.kind,
                "to": row.to_address,
                "attempts": row.attempts,
                "error": error,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the console's outbox page filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<MailStatus>,
    pub kind: Option<MailKind>,
    /// Part of the recipient's address.
    pub to: Option<String>,
}

/// An app's messages, newest first.
pub async fn list(
    db: &Db,
    app_id: &AppId,
    filter: &Filter,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, DbErr> {
    let mut query = email_outbox::Entity::find().filter(email_outbox::Column::AppId.eq(app_id));
    if let Some(status) = filter.status {
        query = query.filter(email_outbox::Column::Status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(email_outbox::Column::Kind.eq(kind));
    }
    if let Some(to) = filter
        .to
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        query = query.filter(email_outbox::Column::ToAddress.contains(to.to_lowercase()));
    }
    query
        .order_by_desc(email_outbox::Column::CreatedAt)
        .order_by_desc(email_outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// One message of an app.
pub async fn find(db: &Db, app_id: &AppId, id: &str) -> Result<Option<email_outbox::Model>, DbErr> {
    email_outbox::Entity::find_by_id(id)
        .filter(email_outbox::Column::AppId.eq(app_id))
        .one(db)
        .await
}

/// Send a message again from the start (a failed one, or a sent one the
/// user did not get), recording `email.resent`.
pub async fn resend(tx: &Write, app_id: &AppId, id: &str) -> Result<bool, MailError> {
    let Some(row) = email_outbox::Entity::find_by_id(id)
        .filter(email_outbox::Column::AppId.eq(app_id))
        .one(tx)
        .await?
    else {
        return Ok(false);
    };
    let mut update: email_outbox::ActiveModel = row.clone().into();
    update.status = Set(MailStatus::Pending);
    update.attempts = Set(0);
    update.next_attempt_at = Set(tx.now);
    update.lease_until = Set(None);
    update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::EmailResent,
            target: Some(Target::message(id)),
            details: json!({
                "kind": row.kind,
                "to": row.to_address,
                "before": { "status": row.status, "attempts": row.attempts },
            }),
        },
    )
    .await?;
    Ok(true)
}
