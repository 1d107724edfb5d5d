//! Machine tokens are counted, not chained one by one.
//!
//! A client_credentials token is routine: a service may ask for one per
//! request, thousands a second. Appending each to the app's audit chain would
//! take the chain head's lock per token (on SQLite the database's write lock),
//! which serialises every machine client behind the disk. Instead this
//! process counts them per app, client and scope, and every few seconds
//! appends one chained `token.granted` event per group with the count and the
//! time span (`count`, `first_at`, `last_at`), the way Auth0 and Keycloak
//! summarise client logins. Security events (sign-ins, code exchanges,
//! reuse detection, revocations, operator actions) are still chained one by
//! one, in the transaction of the change.
//!
//! What a crash loses is at most one interval of counts (tokens that were
//! issued but not yet summarised); a graceful shutdown flushes first.

use crate::core::write;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::core::audit::{self, Action, AuditError, Event, Target};
use crate::core::db::Db;
use crate::core::write::Actor;
use crate::types::AppId;

/// How often the counts are written to the audit chain.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Group {
    app_id: String,
    client_id: String,
    scope: String,
}

#[derive(Debug, Clone)]
struct Count {
    client_name: String,
    tokens: u64,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
}

/// Tokens issued since the last flush, by app, client and scope.
#[derive(Debug, Default)]
pub struct GrantTally {
    pending: Mutex<HashMap<Group, Count>>,
}

impl GrantTally {
    /// Count one client_credentials token.
    pub fn count(
        &self,
        app_id: &str,
        client_id: &str,
        client_name: &str,
        scope: &str,
        now: DateTime<Utc>,
    ) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let group = Group {
            app_id: app_id.to_owned(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
        };
        pending
            .entry(group)
            .and_modify(|count| {
                count.tokens += 1;
                count.last_at = now;
            })
            .or_insert_with(|| Count {
                client_name: client_name.to_owned(),
                tokens: 1,
                first_at: now,
                last_at: now,
            });
    }

    /// Tokens counted and not yet written.
    pub fn pending(&self) -> u64 {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.values().map(|count| count.tokens).sum()
    }

    /// Append one event per group to the audit chain, in one transaction.
    /// When that fails, the counts are kept for the next flush.
    pub async fn flush(&self, db: &Db) -> Result<usize, AuditError> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return Ok(0);
        }
        match write(db, &taken).await {
            Ok(()) => Ok(taken.len()),
            Err(err) => {
                self.put_back(taken);
                Err(err)
            }
        }
    }

    fn put_back(&self, taken: HashMap<Group, Count>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (group, old) in taken {
            pending
                .entry(group)
                .and_modify(|newer| {
                    newer.tokens += old.tokens;
                    newer.first_at = old.first_at;
                })
                .or_insert(old);
        }
    }

    /// Flush every [`FLUSH_EVERY`] until `stop` turns true, then once more
    /// (a stopping server's counts reach the audit log).
    pub async fn flush_until(
        self: std::sync::Arc<Self>,
        db: Db,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = true;
        while running {
            tokio::select! {
                _ = every.tick() => {}
                // Told to stop, or nobody left to tell it: a last flush.
                _ = stop.changed() => running = false,
            }
            running &= !*stop.borrow();
            if let Err(err) = self.flush(&db).await {
                tracing::warn!(%err, "writing the machine-token counts to the audit log failed; kept for the next try");
            }
        }
    }
}

async fn write(db: &Db, taken: &HashMap<Group, Count>) -> Result<(), AuditError> {
    let tx = write::begin(db, Actor::system()).await?;
    // A stable order, so the chain reads the same whatever the map's order.
    let mut groups: Vec<_> = taken.iter().collect();
    groups.sort_by(|a, b| {
        (&a.0.app_id, &a.0.client_id, &a.0.scope).cmp(&(&b.0.app_id, &b.0.client_id, &b.0.scope))
    });
    for (group, count) in groups {
        let Ok(app_id) = AppId::parse(&group.app_id) else {
            continue;
        };
        let recorded = audit::record(
            &tx,
            Event {
                app_id: &app_id,
                actor: &Actor::client(&group.client_id, &count.client_name),
                action: Action::TokenGranted,
                target: Some(Target::client(group.client_id.as_str())),
                details: json!({
                    "grant_type": "client_credentials",
                    "client_id": group.client_id,
                    "scope": group.scope,
                    "count": count.tokens,
                    "first_at": count.first_at,
                    "last_at": count.last_at,
                }),
            },
        )
        .await;
        match recorded {
            // The app was deleted since: its chain went with it.
            Ok(_) | Err(AuditError::NoChain(_)) => {}
            Err(err) => return Err(err),
        }
    }
    tx.commit().await?;
    Ok(())
}
