//! Refresh-token rotations, committed in groups.
//!
//! Every refresh spends its token and stores the successor, and both must
//! be durable before the client sees the new token. Committed one by one,
//! each rotation holds the database's write lock (SQLite has one writer)
//! for its own BEGIN, UPDATE, INSERT and COMMIT, and the rotations queue
//! behind each other. Here one task per process takes every rotation that
//! is waiting and commits them together: one UPDATE spends all their tokens
//! (those still unused, in a family not revoked, of a session not ended),
//! one INSERT stores the successors of those it spent, one COMMIT makes them
//! durable. Each caller then learns whether its own rotation took place.
//! Group commit, as databases do for their logs.
//!
//! On PostgreSQL a group is one statement (spend, then store the successors
//! of what was spent, in one round trip instead of BEGIN, UPDATE, INSERT and
//! COMMIT), and a few groups commit at once: while one waits for its commit
//! to reach the disk, the next runs. A token in two groups at once is spent
//! by one of them (the other's UPDATE waits on the row, then finds it used).
//! SQLite has one writer: one group at a time, in a transaction.

use crate::core::write;
use crate::core::write::Actor;
use std::collections::HashSet;

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, Statement,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::batches::{self, ask, padded, run_in_batches};
use crate::core::db::Db;
use crate::core::{secrets, token_families};
use crate::entities::refresh_token;
use crate::types::AppId;

/// Rotations committed together, at most.
const MAX_GROUP: usize = 256;

/// Groups committing at once on PostgreSQL (a fraction of its pool).
const POSTGRES_GROUPS_IN_FLIGHT: usize = 3;

/// One token to spend and the successor to store in its place.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub app_id: AppId,
    pub token_id: String,
    pub family_id: String,
    /// The successor, in clear (stored by its hash).
    pub successor: String,
    /// How long the successor lives unused (the app's refresh idle time).
    pub idle: Duration,
}

/// What became of one rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotated {
    /// Spent and replaced by its successor.
    Replaced,
    /// Not spent: used by another request meanwhile, its family revoked or
    /// its session ended since it was read. Nothing was stored.
    Lost,
}

type Reply = batches::Reply<Rotated>;

/// The queue of this process's rotations (cheap to clone).
#[derive(Clone, Debug)]
pub struct Rotations {
    queue: mpsc::UnboundedSender<(Rotation, Reply)>,
}

impl Rotations {
    /// Start the task that commits the rotations of `db`.
    pub fn start(db: Db) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(commit_groups(db, waiting));
        Self { queue }
    }

    /// Spend the token and store its successor, with whatever other
    /// rotations are waiting; returns once committed.
    pub async fn rotate(&self, rotation: Rotation) -> Result<Rotated, crate::core::fault::Fault> {
        ask(&self.queue, rotation, "rotation").await
    }
}

async fn commit_groups(db: Db, waiting: mpsc::UnboundedReceiver<(Rotation, Reply)>) {
    let in_flight = match db.backend() {
        DatabaseBackend::Postgres => POSTGRES_GROUPS_IN_FLIGHT,
        _ => 1,
    };
    run_in_batches(waiting, MAX_GROUP, in_flight, move |group| {
        let db = db.clone();
        async move { commit_and_answer(&db, group).await }
    })
    .await;
}

async fn commit_and_answer(db: &Db, group: Vec<(Rotation, Reply)>) {
    let rotations: Vec<&Rotation> = group.iter().map(|(rotation, _)| rotation).collect();
    match commit(db, &rotations).await {
        Ok(mut spent) => {
            for (rotation, reply) in group {
                // A token presented twice in one group rotates once.
                let outcome = match spent.remove(&rotation.token_id) {
                    true => Rotated::Replaced,
                    false => Rotated::Lost,
                };
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(err) => {
            for (_, reply) in group {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }
}

/// Spend what can be spent of `rotations` and store those successors,
/// atomically; answers the ids of the spent tokens.
async fn commit(db: &Db, rotations: &[&Rotation]) -> Result<HashSet<String>, DbErr> {
    match db.backend() {
        DatabaseBackend::Postgres => commit_in_one_statement(db, rotations).await,
        _ => commit_in_a_transaction(db, rotations).await,
    }
}

/// PostgreSQL: the spending UPDATE and the INSERT of the successors of
/// what it spent, as one statement (atomic on its own). The group travels
/// as one JSON parameter, so the text never changes and each connection
/// prepares it once; `= ANY (ARRAY(...))` keeps the spend on the primary
/// key's index whatever the group's size.
const SPEND_AND_STORE: &str = r#"
WITH wanted AS (
    SELECT * FROM json_to_recordset($2::json) AS w(
        spent_id text, id text, app_id text, family_id text, token_hash text,
        expires_at timestamptz)
), spent AS (
    UPDATE "refresh_token" SET "used_at" = $1
    WHERE "id" = ANY (ARRAY(SELECT "spent_id" FROM wanted))
      AND "used_at" IS NULL
      AND (SELECT 1 FROM "token_family"
           INNER JOIN "signin_session" ON "signin_session"."id" = "token_family"."signin_session_id"
           WHERE "token_family"."id" = "refresh_token"."family_id"
             AND "token_family"."revoked_at" IS NULL
             AND "signin_session"."ended_at" IS NULL) = 1
    RETURNING "id"
), stored AS (
    INSERT INTO "refresh_token" ("id", "app_id", "family_id", "token_hash", "expires_at", "used_at", "created_at")
    SELECT wanted.id, wanted.app_id, wanted.family_id, wanted.token_hash, wanted.expires_at, NULL, $1
    FROM wanted INNER JOIN spent ON spent."id" = wanted.spent_id
)
SELECT "id" FROM spent"#;

async fn commit_in_one_statement(
    db: &Db,
    rotations: &[&Rotation],
) -> Result<HashSet<String>, DbErr> {
    // One instant for the group: a token's `used_at` equals its
    // successor's `created_at`, which is how the grace window recognises
    // the immediate successor.
    let now = db.now();
    // The first rotation of each token (a token presented twice in one
    // group has one successor).
    let mut seen = HashSet::new();
    let wanted: Vec<serde_json::Value> = rotations
        .iter()
        .filter(|r| seen.insert(r.token_id.as_str()))
        .map(|r| {
            json!({
                "spent_id": r.token_id,
                "id": secrets::new_id(),
                "app_id": r.app_id,
                "family_id": r.family_id,
                "token_hash": secrets::sha256_hex(&r.successor),
                "expires_at": (now + r.idle).to_rfc3339(),
            })
        })
        .collect();
    let statement = Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        SPEND_AND_STORE,
        [
            now.into(),
            serde_json::Value::Array(wanted).to_string().into(),
        ],
    );
    db.writer()
        .query_all_raw(statement)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "id"))
        .collect()
}

/// SQLite: the spending UPDATE and the INSERT in one write transaction.
async fn commit_in_a_transaction(
    db: &Db,
    rotations: &[&Rotation],
) -> Result<HashSet<String>, DbErr> {
    let tx = write::begin(db, Actor::system()).await?;
    // One instant for the group: a token's `used_at` equals its
    // successor's `created_at`, which is how the grace window recognises
    // the immediate successor.
    let now = tx.now;
    let ids = padded(rotations.iter().map(|r| r.token_id.as_str()).collect());
    let spent: HashSet<String> = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.is_in(ids))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(token_families::live_for_refresh_token())
        .exec_with_returning(&tx)
        .await?
        .into_iter()
        .map(|token| token.id)
        .collect();
    let mut replaced = HashSet::new();
    let successors: Vec<refresh_token::ActiveModel> = rotations
        .iter()
        // The first rotation of each spent token (a token presented twice
        // in one group has one successor).
        .filter(|r| spent.contains(&r.token_id) && replaced.insert(r.token_id.as_str()))
        .map(|r| token_families::token_row(&r.app_id, &r.family_id, &r.successor, r.idle, now))
        .collect();
    if !successors.is_empty() {
        refresh_token::Entity::insert_many(successors)
            .exec_without_returning(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(spent)
}
