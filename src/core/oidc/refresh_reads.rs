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

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter};
use tokio::sync::mpsc;

use super::batches::{self, ask, padded, run_in_batches};
use crate::core::db::Db;
use crate::entities::{
    app_user, refresh_token, role, role_assignment, signin_session, token_family,
};

/// Reads answered by one statement, at most.
const MAX_BATCH: usize = 64;

/// A token, its family, the family's session, that session's user and one
/// of the user's roles: a row per role held (at least one row).
pub type TokenRow = (
    refresh_token::Model,
    Option<token_family::Model>,
    Option<signin_session::Model>,
    Option<app_user::Model>,
    Option<role_assignment::Model>,
    Option<role::Model>,
);

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

async fn read_and_answer(db: &Db, batch: Vec<(String, Reply)>) {
    let hashes = padded(batch.iter().map(|(hash, _)| hash.as_str()).collect());
    let read = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.is_in(hashes))
        .find_also_related(token_family::Entity)
        .find_also(token_family::Entity, signin_session::Entity)
        .find_also(signin_session::Entity, app_user::Entity)
        .find_also(app_user::Entity, role_assignment::Entity)
        .find_also(role_assignment::Entity, role::Entity)
        .all(db)
        .await;
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
            .entry(row.0.token_hash.clone())
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
