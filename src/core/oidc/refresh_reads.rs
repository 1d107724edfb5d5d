//! Refresh-token reads, batched across the requests in flight.
//!
//! Every refresh first reads its token with the family, session, user and
//! roles behind it. Read one by one, each costs the database a round trip
//! and a statement of its own, and at a few dozen chains the statement
//! overhead (not the lookups) was most of PostgreSQL's time. Here one task
//! per process takes every read that is waiting and runs them as one
//! statement (`token_hash IN (...)`), then hands each caller its own rows.
//! With nothing else waiting a read goes out alone, at once: batching only
//! happens when requests already queue, so it adds no latency when idle.
//!
//! A family issued for an organization brings its membership, the
//! organization and the member's team names along in the same statement
//! (two more left joins and a subquery): the organization claims of the
//! next tokens cost no read of their own.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QueryResult, QueryTrait,
};
use tokio::sync::mpsc;

use super::batches::{self, ask, padded, run_in_batches};
use crate::core::db::Db;
use crate::entities::{
    app_user, membership, organization, refresh_token, role, role_assignment, signin_session,
    token_family,
};

/// Reads answered by one statement, at most.
const MAX_BATCH: usize = 64;

/// A token, its family, the family's session, that session's user and one
/// of the user's roles: a row per role held (at least one row); with the
/// family's membership in its organization, if it has one and the user
/// still is a member.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub token: refresh_token::Model,
    pub family: Option<token_family::Model>,
    pub session: Option<signin_session::Model>,
    pub user: Option<app_user::Model>,
    pub role: Option<role::Model>,
    pub membership: Option<Membership>,
}

/// A member's place in the organization of a token's family, as read with
/// the token.
#[derive(Debug, Clone)]
pub struct Membership {
    pub membership: membership::Model,
    pub organization: organization::Model,
    /// The names of the member's teams in it, sorted.
    pub teams: Vec<String>,
}

type Reply = batches::Reply<Vec<TokenRow>>;

/// The queue of this process's refresh-token reads (cheap to clone).
#[derive(Clone, Debug)]
pub struct RefreshReads {
    queue: mpsc::UnboundedSender<(String, Reply)>,
    counts: Arc<Counts>,
}

/// Reads asked for and statements run for them, since start (`/metrics`:
/// their ratio is the batch size under load).
#[derive(Debug, Default)]
struct Counts {
    reads: AtomicU64,
    statements: AtomicU64,
}

impl RefreshReads {
    /// Start the task that reads from `db`.
    pub fn start(db: Db) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(read_batches(db, waiting, Arc::clone(&counts)));
        Self { queue, counts }
    }

    /// Reads asked for since start.
    pub fn reads(&self) -> u64 {
        self.counts.reads.load(Ordering::Relaxed)
    }

    /// Statements run for them since start.
    pub fn statements(&self) -> u64 {
        self.counts.statements.load(Ordering::Relaxed)
    }

    /// The rows of the token whose hash is `token_hash` (none if there is
    /// no such token), read with whatever other reads are waiting.
    pub async fn read(
        &self,
        token_hash: String,
    ) -> Result<Vec<TokenRow>, crate::core::fault::Fault> {
        ask(&self.queue, token_hash, "refresh read").await
    }
}

async fn read_batches(
    db: Db,
    waiting: mpsc::UnboundedReceiver<(String, Reply)>,
    counts: Arc<Counts>,
) {
    // A few statements at once (the cores are few).
    let in_flight = match db.backend() {
        DatabaseBackend::Postgres => 4,
        _ => 2,
    };
    run_in_batches(waiting, MAX_BATCH, in_flight, move |batch| {
        counts
            .reads
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counts.statements.fetch_add(1, Ordering::Relaxed);
        let db = db.clone();
        async move { read_and_answer(&db, batch).await }
    })
    .await;
}

/// Where the membership's and organization's columns go in a row (the
/// chain of six takes `A_` to `F_`).
const MEMBERSHIP: &str = "G_";
const ORGANIZATION: &str = "H_";
const TEAMS: &str = "I_teams";

/// The tokens whose hashes are `hashes`, as rows (see [`TokenRow`]).
async fn read_rows(db: &Db, hashes: Vec<&str>) -> Result<Vec<TokenRow>, DbErr> {
    let backend = db.backend();
    let mut query = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.is_in(hashes))
        .find_also_related(token_family::Entity)
        .find_also(token_family::Entity, signin_session::Entity)
        .find_also(signin_session::Entity, app_user::Entity)
        .find_also(app_user::Entity, role_assignment::Entity)
        .find_also(role_assignment::Entity, role::Entity)
        .into_query();
    let family = |col: token_family::Column| Expr::col((token_family::Entity, col));
    query
        .join(
            JoinType::LeftJoin,
            membership::Entity,
            Condition::all()
                .add(
                    Expr::col((membership::Entity, membership::Column::OrganizationId))
                        .eq(family(token_family::Column::OrganizationId)),
                )
                .add(
                    Expr::col((membership::Entity, membership::Column::UserId))
                        .eq(family(token_family::Column::UserId)),
                ),
        )
        .join(
            JoinType::LeftJoin,
            organization::Entity,
            Expr::col((organization::Entity, organization::Column::Id)).eq(Expr::col((
                membership::Entity,
                membership::Column::OrganizationId,
            ))),
        );
    for col in membership::Column::iter() {
        query.expr_as(
            Expr::col((membership::Entity, col)),
            Alias::new(format!("{MEMBERSHIP}{}", sea_orm::IdenStatic::as_str(&col))),
        );
    }
    for col in organization::Column::iter() {
        query.expr_as(
            Expr::col((organization::Entity, col)),
            Alias::new(format!(
                "{ORGANIZATION}{}",
                sea_orm::IdenStatic::as_str(&col)
            )),
        );
    }
    // The member's team names in the family's organization, as a JSON
    // array (empty, or NULL without an organization).
    let teams = match backend {
        DatabaseBackend::Postgres => {
            "(SELECT coalesce(json_agg(team.name), '[]'::json)::text FROM team_member \
             JOIN team ON team.id = team_member.team_id \
             WHERE team_member.user_id = token_family.user_id \
             AND team.organization_id = token_family.organization_id)"
        }
        _ => {
            "(SELECT json_group_array(team.name) FROM team_member \
             JOIN team ON team.id = team_member.team_id \
             WHERE team_member.user_id = token_family.user_id \
             AND team.organization_id = token_family.organization_id)"
        }
    };
    query.expr_as(Expr::cust(teams), Alias::new(TEAMS));
    let rows = db.query_all(&query).await?;
    rows.iter().map(token_row).collect()
}

/// A model of a left join: `None` where the join found nothing (its
/// columns are null); any other failure to read it is an error, never a
/// quietly missing membership.
fn joined<M: FromQueryResult>(row: &QueryResult, prefix: &str) -> Result<Option<M>, DbErr> {
    match M::from_query_result_nullable(row, prefix) {
        Ok(model) => Ok(Some(model)),
        Err(sea_orm::TryGetError::Null(_)) => Ok(None),
        Err(sea_orm::TryGetError::DbErr(err)) => Err(err),
    }
}

fn token_row(row: &QueryResult) -> Result<TokenRow, DbErr> {
    let membership = match (
        joined::<membership::Model>(row, MEMBERSHIP)?,
        joined::<organization::Model>(row, ORGANIZATION)?,
    ) {
        (Some(membership), Some(organization)) => {
            let teams: Option<String> = row.try_get("", TEAMS)?;
            let mut teams: Vec<String> = match teams {
                Some(json) => serde_json::from_str(&json)
                    .map_err(|err| DbErr::Type(format!("the team names: {err}")))?,
                None => Vec::new(),
            };
            teams.sort();
            Some(Membership {
                membership,
                organization,
                teams,
            })
        }
        _ => None,
    };
    Ok(TokenRow {
        token: refresh_token::Model::from_query_result(row, "A_")?,
        family: token_family::Model::from_query_result_optional(row, "B_")?,
        session: signin_session::Model::from_query_result_optional(row, "C_")?,
        user: app_user::Model::from_query_result_optional(row, "D_")?,
        role: role::Model::from_query_result_optional(row, "F_")?,
        membership,
    })
}

async fn read_and_answer(db: &Db, batch: Vec<(String, Reply)>) {
    let hashes = padded(batch.iter().map(|(hash, _)| hash.as_str()).collect());
    let read = read_rows(db, hashes).await;
    let rows = match read {
        Ok(rows) => rows,
        Err(err) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        }
    };
    // The same token may be presented by several requests at once: each
    // of them gets its rows.
    let mut callers: HashMap<String, usize> = HashMap::new();
    for (hash, _) in &batch {
        *callers.entry(hash.clone()).or_default() += 1;
    }
    let mut by_hash: HashMap<String, Vec<TokenRow>> = HashMap::new();
    for row in rows {
        by_hash
            .entry(row.token.token_hash.clone())
            .or_default()
            .push(row);
    }
    for (hash, reply) in batch {
        let left = callers.get_mut(&hash).expect("counted above");
        *left -= 1;
        let rows = if *left == 0 {
            by_hash.remove(&hash)
        } else {
            by_hash.get(&hash).cloned()
        };
        let _ = reply.send(Ok(rows.unwrap_or_default()));
    }
}
