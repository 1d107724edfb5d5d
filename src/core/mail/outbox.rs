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

/// Write `content`, rendered for `app`, to the outbox for `to`; it is not
/// sent after `expires_at` (when the link it carries dies).
pub async fn enqueue(
    tx: &Write,
    app: &app::Model,
    to: &str,
    user_id: Option<&str>,
    content: &Content,
    expires_at: DateTime<Utc>,
) -> Result<email_outbox::Model, DbErr> {
    let deployment = tx.deployment();
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
        claimed_by: Set(None),
        expires_at: Set(Some(expires_at)),
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
        .seal(&sealed_context(id, part), body.as_bytes())
}

/// What a message's body (`text` or `html`) is sealed under.
pub(crate) fn sealed_context(id: &str, part: &str) -> String {
    format!("email_outbox:{id}:{part}")
}

/// A message's bodies, opened.
#[derive(Clone)]
pub struct Bodies {
    pub text: String,
    pub html: Option<String>,
}

impl std::fmt::Debug for Bodies {
    // A body may carry a live one-time link: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bodies(***)")
    }
}

pub fn open(deployment: &Deployment, row: &email_outbox::Model) -> Result<Bodies, MailError> {
    let open_part = |part: &str, sealed: &str| -> Result<String, MailError> {
        let bytes = deployment
            .vault
            .open(&sealed_context(&row.id, part), sealed)?;
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
    first
        .checked_mul(2i32.pow(doublings))
        .unwrap_or(MAX_BACK_OFF)
        .min(MAX_BACK_OFF)
}

/// The longest wait between two attempts.
pub const MAX_BACK_OFF: Duration = Duration::hours(6);

/// Not held by a live lease.
fn unleased(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(email_outbox::Column::LeaseUntil.is_null())
        .add(email_outbox::Column::LeaseUntil.lte(now))
}

/// How many messages are in each status, with the oldest one's creation
/// time (the metrics: a growing pending queue, or an old pending message,
/// means mail is not going out).
pub async fn depth(db: &Db) -> Result<Vec<(MailStatus, i64, Option<DateTime<Utc>>)>, DbErr> {
    email_outbox::Entity::find()
        .select_only()
        .column(email_outbox::Column::Status)
        .column_as(Expr::col(email_outbox::Column::Id).count(), "messages")
        .column_as(Expr::col(email_outbox::Column::CreatedAt).min(), "oldest")
        .group_by(email_outbox::Column::Status)
        .into_tuple::<(MailStatus, i64, Option<DateTime<Utc>>)>()
        .all(db)
        .await
}

/// The ids of up to `limit` due messages, in the order they should go
/// (N4 of the second security review): security mail (recovery links,
/// invitations, enrolment links, notices) before address verification,
/// which anyone can cause by signing up; and within each class the apps
/// take turns (each app's oldest due message, then each app's second...),
/// so one app's backlog cannot hold another app's links until they expire.
pub async fn due(db: &Db, limit: u64) -> Result<Vec<String>, DbErr> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let now = db.now();
    let backend = db.get_database_backend();
    let placeholder = |n: u8| match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let class = format!(
        "CASE WHEN kind = '{}' THEN 1 ELSE 0 END",
        MailKind::Verification
    );
    let sql = format!(
        "SELECT id FROM (\
           SELECT id, next_attempt_at, {class} AS class, \
             ROW_NUMBER() OVER (PARTITION BY app_id, {class} ORDER BY next_attempt_at, id) AS turn \
           FROM email_outbox \
           WHERE status = '{pending}' AND next_attempt_at <= {now} \
             AND (lease_until IS NULL OR lease_until <= {lease_now})\
         ) due \
         ORDER BY class, turn, next_attempt_at, id \
         LIMIT {limit}",
        pending = MailStatus::Pending,
        now = placeholder(1),
        lease_now = placeholder(2),
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now.into(), now.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "id"))
        .collect()
}

/// A message claimed for one attempt, and the claim that holds it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub row: email_outbox::Model,
    pub claim: String,
}

fn claim_update(
    now: DateTime<Utc>,
    lease: Duration,
    first_retry: Duration,
    claim: &str,
) -> sea_orm::UpdateMany<email_outbox::Entity> {
    // The claim counts as an attempt and already schedules the next one, so
    // a message whose sender dies mid-send (every time) still backs off
    // and runs out of attempts.
    email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(email_outbox::Column::ClaimedBy, Expr::value(claim))
        .col_expr(
            email_outbox::Column::Attempts,
            Expr::col(email_outbox::Column::Attempts).add(1),
        )
        .col_expr(
            email_outbox::Column::NextAttemptAt,
            Expr::value(now + lease + first_retry),
        )
}

/// Claim message `id` for one attempt (due or not: `oneauth email test`
/// sends at once), unless another claim holds it or it is done. Two
/// processes may try at once; the conditional update gives it to one (on
/// PostgreSQL the second update waits for the first, then finds the lease
/// taken).
pub async fn claim(
    db: &Db,
    id: &str,
    lease: Duration,
    first_retry: Duration,
) -> Result<Option<Claimed>, DbErr> {
    let now = db.now();
    let claim = secrets::new_id();
    let won = claim_update(now, lease, first_retry, &claim)
        .filter(email_outbox::Column::Id.eq(id))
        .filter(email_outbox::Column::Status.eq(MailStatus::Pending))
        .filter(unleased(now))
        .exec(db.writer())
        .await?;
    if won.rows_affected != 1 {
        return Ok(None);
    }
    Ok(email_outbox::Entity::find_by_id(id)
        .one(db.writer())
        .await?
        .map(|row| Claimed { row, claim }))
}

/// Claim a message just written in `tx` (the CLI's test message), so no
/// running server takes it first.
pub async fn claim_in(
    tx: &Write,
    row: &email_outbox::Model,
    lease: Duration,
    first_retry: Duration,
) -> Result<Claimed, DbErr> {
    let claim = secrets::new_id();
    claim_update(tx.now, lease, first_retry, &claim)
        .filter(email_outbox::Column::Id.eq(row.id.as_str()))
        .exec(tx)
        .await?;
    let row = email_outbox::Entity::find_by_id(row.id.as_str())
        .one(tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(row.id.clone()))?;
    Ok(Claimed { row, claim })
}

/// Only the claim's holder, while the message is pending, records how the
/// attempt went: a sender whose lease ran out (another took over) changes
/// nothing. True when the row was updated.
fn held(claimed: &Claimed) -> Condition {
    Condition::all()
        .add(email_outbox::Column::Id.eq(claimed.row.id.as_str()))
        .add(email_outbox::Column::Status.eq(MailStatus::Pending))
        .add(email_outbox::Column::ClaimedBy.eq(claimed.claim.as_str()))
}

fn released() -> [(email_outbox::Column, Expr); 2] {
    [
        (
            email_outbox::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        ),
        (
            email_outbox::Column::ClaimedBy,
            Expr::value(Option::<String>::None),
        ),
    ]
}

/// The server accepted the message.
pub async fn mark_sent(db: &Db, claimed: &Claimed, response: &str) -> Result<bool, DbErr> {
    let mut update = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Status, Expr::value(MailStatus::Sent))
        .col_expr(email_outbox::Column::SentAt, Expr::value(db.now()))
        .col_expr(email_outbox::Column::SmtpResponse, Expr::value(response));
    for (column, value) in released() {
        update = update.col_expr(column, value);
    }
    let done = update.filter(held(claimed)).exec(db.writer()).await?;
    Ok(done.rows_affected == 1)
}

/// The attempt failed; try again at `next_attempt_at`.
pub async fn retry_later(
    db: &Db,
    claimed: &Claimed,
    error: &str,
    response: Option<&str>,
    next_attempt_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .col_expr(email_outbox::Column::LastError, Expr::value(error))
        .col_expr(
            email_outbox::Column::SmtpResponse,
            Expr::value(response.map(str::to_owned)),
        );
    for (column, value) in released() {
        update = update.col_expr(column, value);
    }
    let done = update.filter(held(claimed)).exec(db.writer()).await?;
    Ok(done.rows_affected == 1)
}

/// Give up on a message (its last attempt failed, the server refused it
/// for good, or its link expired first), recording `email.failed` with it.
pub async fn give_up(
    db: &Db,
    claimed: &Claimed,
    error: &str,
    response: Option<&str>,
) -> Result<bool, MailError> {
    let row = &claimed.row;
    let tx = write::begin(db, Actor::system()).await?;
    let mut update = email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::Status,
            Expr::value(MailStatus::Failed),
        )
        .col_expr(email_outbox::Column::LastError, Expr::value(error))
        .col_expr(
            email_outbox::Column::SmtpResponse,
            Expr::value(response.map(str::to_owned)),
        );
    for (column, value) in released() {
        update = update.col_expr(column, value);
    }
    let done = update.filter(held(claimed)).exec(&tx).await?;
    if done.rows_affected != 1 {
        // Another sender took over; it decides.
        return Ok(false);
    }
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
    Ok(true)
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

/// Send a message again from its first attempt (a failed one, or a sent
/// one the user did not get), recording `email.resent`. A message a sender
/// holds right now is left alone (resending it would send it twice).
pub async fn resend(tx: &Write, app_id: &AppId, id: &str) -> Result<Resend, MailError> {
    let Some(row) = email_outbox::Entity::find_by_id(id)
        .filter(email_outbox::Column::AppId.eq(app_id))
        .one(tx)
        .await?
    else {
        return Ok(Resend::NotFound);
    };
    let mut update = email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::Status,
            Expr::value(MailStatus::Pending),
        )
        .col_expr(email_outbox::Column::Attempts, Expr::value(0))
        .col_expr(email_outbox::Column::NextAttemptAt, Expr::value(tx.now))
        // A resent message gets a day more; its link may still be dead,
        // which the page it opens says.
        .col_expr(
            email_outbox::Column::ExpiresAt,
            Expr::value(Some(tx.now + Duration::days(1))),
        );
    for (column, value) in released() {
        update = update.col_expr(column, value);
    }
    let done = update
        .filter(email_outbox::Column::Id.eq(id))
        .filter(unleased(tx.now))
        .exec(tx)
        .await?;
    if done.rows_affected != 1 {
        return Ok(Resend::BeingSent);
    }
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
    Ok(Resend::Queued)
}

/// What a resend did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    Queued,
    NotFound,
    /// A sender holds it at this moment.
    BeingSent,
}
