//! Throttling of failed sign-ins, per account and per client address.
//!
//! Counters live in the database (`auth_throttle`), so every server process
//! behind a load balancer sees the same state. The account key is the
//! normalised e-mail as typed, whether or not such a user exists: a locked
//! "account" tells an attacker nothing about who is registered.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QuerySelect, Set,
};

use super::clock;
use crate::entities::auth_throttle;

/// How many failures within `window` lock a key, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i32,
    pub window: Duration,
    pub lockout: Duration,
}

/// OWASP Authentication Cheat Sheet: lock an account for a while after a few
/// failures; a client address gets more room (shared NATs) but not unlimited.
pub const PER_ACCOUNT: Limit = Limit {
    max_failures: 5,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};
pub const PER_ADDRESS: Limit = Limit {
    max_failures: 30,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};

/// The counters one sign-in attempt touches.
#[derive(Debug, Clone)]
pub struct Keys {
    app_id: String,
    account: String,
    address: Option<String>,
}

impl Keys {
    /// `account` is the identifier typed (an e-mail), normalised by the caller.
    pub fn new(app_id: &str, account: &str, address: Option<&str>) -> Self {
        Self {
            app_id: app_id.to_owned(),
            account: format!("acct:{app_id}:{account}"),
            address: address.map(|a| format!("addr:{app_id}:{a}")),
        }
    }

    /// Keys for an attempt with no account named (a passkey sign-in).
    pub fn address_only(app_id: &str, address: Option<&str>) -> Self {
        Self {
            app_id: app_id.to_owned(),
            account: String::new(),
            address: address.map(|a| format!("addr:{app_id}:{a}")),
        }
    }

    fn all(&self) -> impl Iterator<Item = (&str, Limit)> {
        (!self.account.is_empty())
            .then_some((self.account.as_str(), PER_ACCOUNT))
            .into_iter()
            .chain(self.address.as_deref().map(|a| (a, PER_ADDRESS)))
    }
}

/// When the attempt may be made again, if any of its keys is locked now.
pub async fn locked_until<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let now = clock::now();
    let names: Vec<&str> = keys.all().map(|(key, _)| key).collect();
    let rows = auth_throttle::Entity::find()
        .filter(auth_throttle::Column::Key.is_in(names))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.locked_until)
        .filter(|until| *until > now)
        .max())
}

/// Count a failure against every key; lock those that reach their limit.
pub async fn record_failure(tx: &DatabaseTransaction, keys: &Keys) -> Result<(), DbErr> {
    let now = clock::now();
    for (key, limit) in keys.all() {
        // Make sure the row exists without racing another process, then
        // lock it (FOR UPDATE on PostgreSQL) and count.
        auth_throttle::Entity::insert(auth_throttle::ActiveModel {
            key: Set(key.to_owned()),
            app_id: Set(keys.app_id.clone()),
            failures: Set(0),
            window_started_at: Set(now),
            locked_until: Set(None),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(auth_throttle::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(tx)
        .await?;
        let row = auth_throttle::Entity::find_by_id(key)
            .lock_exclusive()
            .one(tx)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("throttle row {key}")))?;
        let window_over = row.window_started_at + limit.window <= now;
        let (failures, started) = if window_over {
            (1, now)
        } else {
            (row.failures + 1, row.window_started_at)
        };
        let locked = if failures >= limit.max_failures {
            Some(now + limit.lockout)
        } else {
            row.locked_until.filter(|until| *until > now)
        };
        let mut update: auth_throttle::ActiveModel = row.into();
        update.failures = Set(failures);
        update.window_started_at = Set(started);
        update.locked_until = Set(locked);
        update.updated_at = Set(now);
        update.update(tx).await?;
    }
    Ok(())
}

/// A successful sign-in clears the account's counter (not the address's:
/// one valid account must not whitelist an address that guesses others).
pub async fn record_success(tx: &DatabaseTransaction, keys: &Keys) -> Result<(), DbErr> {
    if !keys.account.is_empty() {
        auth_throttle::Entity::delete_by_id(keys.account.as_str())
            .exec(tx)
            .await?;
    }
    Ok(())
}
