//! Throttling of failed sign-ins, per account, per known device and per
//! client address.
//!
//! Counters live in the database (`auth_throttle`), so every server process
//! behind a load balancer sees the same state. The account key is the
//! normalised e-mail as typed, whether or not such a user exists: a locked
//! "account" tells an attacker nothing about who is registered.
//!
//! An attempt is *reserved* before its secret is checked, in one short
//! write: a key that is locked, or whose failures and attempts in flight
//! already reach its limit, refuses at once. So concurrent guesses cannot
//! run past the limit, however many arrive together (the check and the
//! count are one step). A failure keeps its reservation and may lock the
//! key; a success gives the reservation back.
//!
//! Locks back off exponentially (1 minute, 2, 4, ... up to an hour), so a
//! guesser gets ever fewer tries, while the people a stranger could lock out
//! keep a way in: a passkey is never subject to an account's lock, and a
//! browser that signed in to the account before (a known device, OWASP's
//! "device cookie") counts its failures on its own key.

use crate::core::write::Clocked;
use crate::core::write::Write;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{
    DeleteStatement, Expr, ExprTrait, InsertStatement, OnConflict, Query, UpdateStatement,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryTrait,
    Set,
};

use super::db::Db;
use super::secrets;
use crate::entities::auth_throttle;
use crate::types::AppId;

/// How many failures within `window` lock a key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i32,
    pub window: Duration,
}

/// OWASP Authentication Cheat Sheet: lock an account for a while after a few
/// failures; a client address gets more room (shared NATs) but not unlimited.
pub const PER_ACCOUNT: Limit = Limit {
    max_failures: 5,
    window: Duration::minutes(15),
};
pub const PER_ADDRESS: Limit = Limit {
    max_failures: 30,
    window: Duration::minutes(15),
};
/// Failures under known-device marks of one account, all marks together
/// (N3): each mark has the account's own budget, and together they have
/// this one, so a person's browsers keep a way in while a stranger locks
/// the account, but marks never multiply the guesses an account allows.
pub const PER_MARKED_ACCOUNT: Limit = Limit {
    max_failures: 10,
    window: Duration::minutes(15),
};

/// E-mail anyone can make 1Auth send (a recovery link, a verification
/// link): a few per recipient, some more per client address, per window.
pub const MAIL_PER_RECIPIENT: Limit = Limit {
    max_failures: 3,
    window: Duration::minutes(15),
};
pub const MAIL_PER_CLIENT: Limit = Limit {
    max_failures: 10,
    window: Duration::minutes(15),
};

/// Sign-ups from one client address (N4 of the second security review):
/// self-registration is open to anyone, and each sign-up creates an
/// account and mails an address of the signer's choosing. A client that
/// reaches the limit is locked (with the usual back-off).
pub const SIGNUPS_PER_CLIENT: Limit = Limit {
    max_failures: 10,
    window: Duration::minutes(15),
};

/// The first lock lasts this long; each lock in a row doubles it...
const FIRST_LOCK: Duration = Duration::minutes(1);
/// ...up to this.
const LONGEST_LOCK: Duration = Duration::hours(1);
/// A key with no failure for this long starts its back-off from the start.
const BACK_OFF_MEMORY: Duration = Duration::hours(24);

/// How long the `lockouts`-th lock in a row lasts.
pub fn lock_duration(lockouts: i32) -> Duration {
    let doublings = lockouts.clamp(1, 16) - 1;
    (FIRST_LOCK * 2i32.pow(doublings as u32)).min(LONGEST_LOCK)
}

/// What a counter is about, for the audit log (never the key itself, which
/// holds what was typed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Account,
    Device,
    /// All known devices of one account together.
    MarkedAccount,
    Address,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Account => "account",
            KeyKind::Device => "device",
            KeyKind::MarkedAccount => "marked_account",
            KeyKind::Address => "address",
        }
    }
}

/// The counters one sign-in attempt touches.
#[derive(Debug, Clone)]
pub struct Keys {
    app_id: AppId,
    account: Option<(KeyKind, String)>,
    /// With a device key: the account's key shared by all its devices.
    marked: Option<String>,
    address: Option<String>,
}

/// The part of a client address that one party controls: an IPv4 address,
/// or the /64 network of an IPv6 address (one host gets a whole /64).
pub fn address_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.to_owned(),
    }
}

impl Keys {
    /// `account` is the identifier typed (an e-mail), normalised by the
    /// caller. With `device` (the id of a live known-device mark for this
    /// account), failures count on that device's own key instead of the
    /// account's, so a stranger's failures do not lock it out, and on the
    /// key all the account's devices share (N3).
    pub fn new(app_id: &AppId, account: &str, address: Option<&str>, device: Option<&str>) -> Self {
        // Keys are bounded whatever was typed (an e-mail is at most 254
        // bytes, but the key must not depend on callers checking that).
        let account = secrets::sha256_hex(account);
        let (own, marked) = match device {
            Some(device) => (
                (
                    KeyKind::Device,
                    format!("dev:{app_id}:{account}:{}", secrets::sha256_hex(device)),
                ),
                Some(format!("marked:{app_id}:{account}")),
            ),
            None => ((KeyKind::Account, format!("acct:{app_id}:{account}")), None),
        };
        Self {
            app_id: app_id.clone(),
            account: Some(own),
            marked,
            address: address.map(|a| format!("addr:{app_id}:{}", address_key(a))),
        }
    }

    /// Whether the browser carries a known-device mark for the account.
    pub fn from_known_device(&self) -> bool {
        matches!(self.account, Some((KeyKind::Device, _)))
    }

    /// Keys for an attempt with no account named (a passkey sign-in).
    pub fn address_only(app_id: &AppId, address: Option<&str>) -> Self {
        Self {
            app_id: app_id.clone(),
            account: None,
            marked: None,
            address: address.map(|a| format!("addr:{app_id}:{}", address_key(a))),
        }
    }

    fn all(&self) -> impl Iterator<Item = (&str, KeyKind, Limit)> {
        self.account
            .iter()
            .map(|(kind, key)| (key.as_str(), *kind, PER_ACCOUNT))
            .chain(self.shared())
    }

    /// The keys beside the account's own that a failure counts on, and
    /// whose lock refuses an attempt: all the account's devices together,
    /// and the client address.
    fn shared(&self) -> impl Iterator<Item = (&str, KeyKind, Limit)> {
        self.marked
            .iter()
            .map(|m| (m.as_str(), KeyKind::MarkedAccount, PER_MARKED_ACCOUNT))
            .chain(
                self.address
                    .iter()
                    .map(|a| (a.as_str(), KeyKind::Address, PER_ADDRESS)),
            )
    }
}

/// An attempt was counted before its secret was checked; hand it back to
/// [`fail`], [`give_back`] or [`Reservation::cleared_with_account`].
#[derive(Debug)]
#[must_use = "a reservation is ended by fail(), give_back() or cleared_with_account()"]
pub struct Reservation {
    keys: Keys,
}

impl Reservation {
    /// The attempt succeeded, and the caller clears the account's counter
    /// ([`clear_account`]) in the same transaction: deleting the row takes
    /// this reservation's count with it, so there is nothing to give back
    /// first (one statement fewer per sign-in). Only a known device's
    /// attempt, also reserved on the key its account's devices share, is
    /// given back there (that key keeps the other devices' failures).
    pub async fn cleared_with_account(self, tx: &Write) -> Result<(), DbErr> {
        if let Some(marked) = &self.keys.marked {
            tx.execute(&uncounting(marked)).await?;
        }
        Ok(())
    }
}

/// The reserved attempt succeeded: the account's counter, this attempt's
/// count with it, is cleared (see [`clear_account`]).
pub async fn succeeded(tx: &Write, reservation: Reservation) -> Result<(), DbErr> {
    clear_account(tx, &reservation.keys).await?;
    reservation.cleared_with_account(tx).await
}

/// A key that locked because of this failure, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub kind: KeyKind,
    pub until: DateTime<Utc>,
    /// Locks in a row, this one included.
    pub lockouts: i32,
}

/// The row of `key`, created if missing, locked for this transaction (the
/// upsert's row lock on PostgreSQL; SQLite's write transaction holds the
/// database).
async fn locked_row(
    tx: &Write,
    app_id: &AppId,
    key: &str,
    now: DateTime<Utc>,
) -> Result<auth_throttle::Model, DbErr> {
    // One statement: insert the row if missing, else a no-op update that
    // takes the row's lock (PostgreSQL) and returns it.
    auth_throttle::Entity::insert(auth_throttle::ActiveModel {
        key: Set(key.to_owned()),
        app_id: Set(app_id.clone()),
        failures: Set(0),
        window_started_at: Set(now),
        locked_until: Set(None),
        lockouts: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(auth_throttle::Column::Key)
            .update_column(auth_throttle::Column::Key)
            .to_owned(),
    )
    .exec_with_returning(tx)
    .await
}

/// Count one failure on `key` (a new window when the last one is over).
async fn bump(
    tx: &Write,
    app_id: &AppId,
    key: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = locked_row(tx, app_id, key, now).await?;
    bump_row(tx, row, limit, now).await
}

/// [`bump`] for a row this transaction has already locked.
async fn bump_row(
    tx: &Write,
    row: auth_throttle::Model,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let window_over = row.window_started_at + limit.window <= now;
    let (failures, started) = if window_over {
        (0, now)
    } else {
        (row.failures, row.window_started_at)
    };
    let quiet = row.updated_at + BACK_OFF_MEMORY <= now;
    let mut update: auth_throttle::ActiveModel = row.into();
    update.failures = Set(failures + 1);
    update.window_started_at = Set(started);
    if quiet {
        update.lockouts = Set(0);
    }
    update.updated_at = Set(now);
    update.update(tx).await?;
    Ok(())
}

/// Lock `key` when its failures have reached the limit (each lock in a row
/// twice as long); the lock, if it happened now.
async fn lock_if_full(
    tx: &Write,
    app_id: &AppId,
    key: &str,
    kind: KeyKind,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<Option<Lock>, DbErr> {
    let row = locked_row(tx, app_id, key, now).await?;
    let already_locked = row.locked_until.is_some_and(|u| u > now);
    if row.failures < limit.max_failures || already_locked {
        return Ok(None);
    }
    let lockouts = row.lockouts + 1;
    let until = now + lock_duration(lockouts);
    let mut update: auth_throttle::ActiveModel = row.into();
    update.locked_until = Set(Some(until));
    update.lockouts = Set(lockouts);
    // The lock is the window's verdict: the next window starts empty.
    update.failures = Set(0);
    update.window_started_at = Set(until);
    update.updated_at = Set(now);
    update.update(tx).await?;
    Ok(Some(Lock {
        kind,
        until,
        lockouts,
    }))
}

/// Count one request for e-mail to `recipient` (normalised) from the client
/// at `address`; false when either has reached its limit, and then nothing
/// may be sent. Counted whether or not the recipient has an account, so
/// the limit tells nothing about who is registered.
pub async fn take_mail_request(
    tx: &Write,
    app_id: &AppId,
    recipient: &str,
    address: Option<&str>,
) -> Result<bool, DbErr> {
    let now = tx.now;
    let mut keys = vec![(
        format!("mail:{app_id}:{}", secrets::sha256_hex(recipient)),
        MAIL_PER_RECIPIENT,
    )];
    if let Some(address) = address {
        keys.push((
            format!("mailfrom:{app_id}:{}", address_key(address)),
            MAIL_PER_CLIENT,
        ));
    }
    let mut allowed = true;
    for (key, limit) in keys {
        let row = locked_row(tx, app_id, &key, now).await?;
        let window_over = row.window_started_at + limit.window <= now;
        if !window_over && row.failures >= limit.max_failures {
            allowed = false;
            continue;
        }
        bump_row(tx, row, limit, now).await?;
    }
    Ok(allowed)
}

fn signup_key(app_id: &AppId, address: &str) -> String {
    format!("signup:{app_id}:{}", address_key(address))
}

/// Until when the client at `address` may not sign up (a lock from too
/// many sign-ups), checked before any work is done for a sign-up.
pub async fn signup_locked_until<C: Clocked>(
    db: &C,
    app_id: &AppId,
    address: Option<&str>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let Some(address) = address else {
        return Ok(None);
    };
    let now = db.now();
    Ok(
        auth_throttle::Entity::find_by_id(signup_key(app_id, address))
            .one(db)
            .await?
            .and_then(|row| row.locked_until)
            .filter(|until| *until > now),
    )
}

/// A sign-up the throttle let through, and whether it locked the client.
pub enum Signup {
    Allowed { locked: Option<Lock> },
    Refused { until: DateTime<Utc> },
}

/// Count one sign-up from the client at `address`, in the write that
/// creates the account: refused while the client is locked; the sign-up
/// that reaches the limit goes through and locks the client.
pub async fn take_signup(
    tx: &Write,
    app_id: &AppId,
    address: Option<&str>,
) -> Result<Signup, DbErr> {
    let Some(address) = address else {
        return Ok(Signup::Allowed { locked: None });
    };
    let now = tx.now;
    let key = signup_key(app_id, address);
    let row = locked_row(tx, app_id, &key, now).await?;
    if let Some(until) = row.locked_until.filter(|until| *until > now) {
        return Ok(Signup::Refused { until });
    }
    bump_row(tx, row, SIGNUPS_PER_CLIENT, now).await?;
    let locked = lock_if_full(tx, app_id, &key, KeyKind::Address, SIGNUPS_PER_CLIENT, now).await?;
    Ok(Signup::Allowed { locked })
}

/// Count one attempt against the account (or device) before its secret is
/// checked, or refuse it (with the time it may be tried again) when a key is
/// locked or the account's failures and attempts in flight already reach
/// its limit. Either way in one statement of its own per key (a known
/// device's attempt is counted on the key its account's devices share
/// too, and given back there if the device's own key refuses it; a refusal
/// writes nothing, and reads once more to say until when). The client
/// address is not reserved: its limit is for spraying many accounts, and a
/// busy office must not be refused for sign-ins merely in flight; its
/// failures count when they happen.
pub async fn reserve(db: &Db, keys: &Keys) -> Result<Result<Reservation, DateTime<Utc>>, DbErr> {
    let now = db.now();
    let reservation = Reservation { keys: keys.clone() };
    let Some((_, key)) = &keys.account else {
        // Nothing to count (a passkey sign-in): only a locked address
        // refuses, which a read tells.
        return Ok(match locked_until(db, keys).await? {
            Some(until) => Err(until),
            None => Ok(reservation),
        });
    };
    // The check and the count are one statement (atomic on its own, so no
    // transaction around it): the upsert counts the attempt only where no
    // key is locked and the account's row is not full, and returns the key
    // when it did. A refused attempt writes nothing, however many arrive.
    // A known device reserves on the key its account's devices share
    // first, so guesses sent at once from many marks share one budget.
    let address: Vec<&str> = keys.address.iter().map(String::as_str).collect();
    if let Some(marked) = &keys.marked {
        let attempt = count_attempt(&keys.app_id, marked, PER_MARKED_ACCOUNT, &address, now);
        if !counted(db, attempt).await? {
            return refused(db, keys, now).await;
        }
    }
    let blocking: Vec<&str> = keys.shared().map(|(key, _, _)| key).collect();
    let attempt = count_attempt(&keys.app_id, key, PER_ACCOUNT, &blocking, now);
    if counted(db, attempt).await? {
        return Ok(Ok(reservation));
    }
    if let Some(marked) = &keys.marked {
        db.writer().execute(&uncounting(marked)).await?;
    }
    refused(db, keys, now).await
}

/// Run a [`count_attempt`] statement: whether it counted the attempt.
async fn counted(db: &Db, attempt: InsertStatement) -> Result<bool, DbErr> {
    Ok(db.writer().query_one(&attempt).await?.is_some())
}

/// The answer to a refused reservation (rare): until when.
async fn refused(
    db: &Db,
    keys: &Keys,
    now: DateTime<Utc>,
) -> Result<Result<Reservation, DateTime<Utc>>, DbErr> {
    // A lock that has just ended meanwhile still refuses this attempt for
    // a moment, as a full row does.
    let locked = locked_until(db, keys).await?;
    Ok(Err(locked.unwrap_or(now + Duration::seconds(5))))
}

/// One attempt fewer on `key` (never below none): a reserved attempt that
/// was not made, or that succeeded on a key a success does not clear.
fn uncounting(key: &str) -> UpdateStatement {
    auth_throttle::Entity::update_many()
        .col_expr(
            auth_throttle::Column::Failures,
            Expr::cust("CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END"),
        )
        .filter(auth_throttle::Column::Key.eq(key))
        .into_query()
}

/// `INSERT ... SELECT ... WHERE NOT EXISTS ... ON CONFLICT DO UPDATE ...
/// WHERE ... RETURNING`: count one attempt on `key` (a first one on a new
/// row), unless one of the `blocking` keys (the client's address, the
/// account's devices together) is locked, or `key`'s row is locked or its
/// failures and attempts in flight already reach `limit` within the
/// window; then nothing is written and nothing returned. The same window
/// and back-off rules as [`bump_row`].
fn count_attempt(
    app_id: &str,
    key: &str,
    limit: Limit,
    blocking: &[&str],
    now: DateTime<Utc>,
) -> InsertStatement {
    use auth_throttle::Column;
    let stored = |column: Column| Expr::col((auth_throttle::Entity, column));
    let window_over = stored(Column::WindowStartedAt).lte(now - limit.window);
    let quiet = stored(Column::UpdatedAt).lte(now - BACK_OFF_MEMORY);
    let not_locked = stored(Column::LockedUntil)
        .is_null()
        .or(stored(Column::LockedUntil).lte(now));
    let room = window_over
        .clone()
        .or(stored(Column::Failures).lt(limit.max_failures));
    // The new row, selected only while no blocking key is locked (no row
    // at all when one is, so neither the insert nor the update happens).
    // SQLite wants a WHERE here in any case, to read ON as the upsert's.
    let unblocked = if blocking.is_empty() {
        Expr::val(true)
    } else {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(auth_throttle::Entity)
                .and_where(Expr::col(Column::Key).is_in(blocking.iter().copied()))
                .and_where(Expr::col(Column::LockedUntil).gt(now))
                .to_owned(),
        )
        .not()
    };
    let attempt = Query::select()
        .exprs([
            Expr::val(key),
            Expr::val(app_id),
            Expr::val(1),
            Expr::val(now),
            Expr::val(Option::<DateTime<Utc>>::None),
            Expr::val(0),
            Expr::val(now),
        ])
        .and_where(unblocked)
        .to_owned();
    Query::insert()
        .into_table(auth_throttle::Entity)
        .columns([
            Column::Key,
            Column::AppId,
            Column::Failures,
            Column::WindowStartedAt,
            Column::LockedUntil,
            Column::Lockouts,
            Column::UpdatedAt,
        ])
        .select_from(attempt)
        .expect("the attempt row has one value per column")
        .on_conflict(
            OnConflict::column(Column::Key)
                .values([
                    (
                        Column::Failures,
                        Expr::case(window_over.clone(), 1)
                            .finally(stored(Column::Failures).add(1))
                            .into(),
                    ),
                    (
                        Column::WindowStartedAt,
                        Expr::case(window_over, now)
                            .finally(stored(Column::WindowStartedAt))
                            .into(),
                    ),
                    (
                        Column::Lockouts,
                        Expr::case(quiet, 0)
                            .finally(stored(Column::Lockouts))
                            .into(),
                    ),
                    (Column::UpdatedAt, now.into()),
                ])
                .action_and_where(not_locked.and(room))
                .to_owned(),
        )
        .returning_col(Column::Key)
        .to_owned()
}

/// The reserved attempt failed: the counts it reserved stay, the
/// address's is counted now, and a key that has reached its limit locks.
/// Returns the keys that locked now.
pub async fn fail(tx: &Write, reservation: Reservation) -> Result<Vec<Lock>, DbErr> {
    let now = tx.now;
    let keys = reservation.keys;
    if let Some(address) = &keys.address {
        bump(tx, &keys.app_id, address, PER_ADDRESS, now).await?;
    }
    let mut locks = Vec::new();
    for (key, kind, limit) in keys.all() {
        if let Some(lock) = lock_if_full(tx, &keys.app_id, key, kind, limit, now).await? {
            locks.push(lock);
        }
    }
    Ok(locks)
}

/// Count a failure that was not reserved (a passkey assertion that did not
/// verify: those are never refused beforehand, see `signin::with_passkey`).
/// Returns the keys that locked now.
pub async fn count_failure(tx: &Write, keys: &Keys) -> Result<Vec<Lock>, DbErr> {
    let now = tx.now;
    let mut locks = Vec::new();
    for (key, kind, limit) in keys.all() {
        bump(tx, &keys.app_id, key, limit, now).await?;
        if let Some(lock) = lock_if_full(tx, &keys.app_id, key, kind, limit, now).await? {
            locks.push(lock);
        }
    }
    Ok(locks)
}

/// The reserved attempt was never made (the password hasher was busy): its
/// counts are given back, one statement each, outside any transaction.
pub async fn give_back(db: &Db, reservation: Reservation) -> Result<(), DbErr> {
    let keys = reservation.keys;
    let reserved = keys.account.iter().map(|(_, key)| key).chain(&keys.marked);
    for key in reserved {
        db.writer().execute(&uncounting(key)).await?;
    }
    Ok(())
}

/// When the attempt may be made again, if any of its keys is locked now.
pub async fn locked_until<C: Clocked>(db: &C, keys: &Keys) -> Result<Option<DateTime<Utc>>, DbErr> {
    let now = db.now();
    let names: Vec<&str> = keys.all().map(|(key, _, _)| key).collect();
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

/// A successful sign-in clears the account's (or device's) counter and its
/// back-off; never the address's: one valid account must not whitelist an
/// address that guesses others.
pub async fn clear_account(tx: &Write, keys: &Keys) -> Result<(), DbErr> {
    if let Some(clearing) = clearing_account(keys) {
        tx.execute(&clearing).await?;
    }
    Ok(())
}

/// The statement of [`clear_account`], for callers that send it with other
/// writes; `None` when there is no account counter.
pub fn clearing_account(keys: &Keys) -> Option<DeleteStatement> {
    let (_, key) = keys.account.as_ref()?;
    Some(auth_throttle::Entity::delete_by_id(key.as_str()).into_query())
}

/// Forget counters nobody needs any more (no lock, and quiet for a day), so
/// guesses at many e-mails leave no lasting rows.
pub async fn delete_stale(db: &Db) -> Result<u64, DbErr> {
    let now = db.now();
    let deleted = auth_throttle::Entity::delete_many()
        .filter(auth_throttle::Column::UpdatedAt.lt(now - BACK_OFF_MEMORY))
        .filter(
            sea_orm::Condition::any()
                .add(auth_throttle::Column::LockedUntil.is_null())
                .add(auth_throttle::Column::LockedUntil.lt(now)),
        )
        .exec(db.writer())
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l20_ipv6_clients_are_throttled_per_64() {
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            address_key("2001:db8:1:2::7")
        );
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            address_key("2001:db8:1:2::1")
        );
        assert_eq!(address_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(address_key("::ffff:203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn l1_locks_back_off_exponentially_up_to_an_hour() {
        assert_eq!(lock_duration(1), Duration::minutes(1));
        assert_eq!(lock_duration(2), Duration::minutes(2));
        assert_eq!(lock_duration(4), Duration::minutes(8));
        assert_eq!(lock_duration(7), Duration::hours(1));
        assert_eq!(lock_duration(40), Duration::hours(1));
    }

    #[test]
    fn keys_are_bounded_whatever_was_typed() {
        let keys = Keys::new(
            &AppId::parse("demo").unwrap(),
            &"a".repeat(100_000),
            Some("203.0.113.9"),
            None,
        );
        assert!(keys.all().all(|(key, _, _)| key.len() < 120));
    }
}
