//! Passkey ceremonies are single use on the server (N5 of the second
//! security review). Between its two steps a ceremony's state lives in a
//! cookie sealed with the master key, so an anonymous request writes no row
//! (L13); the sealed state carries a random id, which the ceremony's second
//! step spends inside the write it completes: a captured cookie and
//! assertion replay nothing, even for a synced passkey whose signature
//! counter stays 0, and even after the user signed out. Only ceremonies
//! that verified leave a row, and only until they would have expired.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::db::Db;
use super::vault::Vault;
use super::write::Write;
use crate::entities::spent_ceremony;

/// A ceremony presented a second time (or never spent because it failed).
#[derive(Debug, thiserror::Error)]
#[error("That passkey request was already used or has expired. Try again.")]
pub struct Spent;

/// A ceremony's identity, as its sealed state carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub id: String,
    pub expires_at: DateTime<Utc>,
}

/// A ceremony's state as its second step received it, with the identity
/// it is spent under.
#[derive(Debug)]
pub struct Taken<T> {
    pub ceremony: Ceremony,
    pub state: T,
}

/// A ceremony's state between its two steps, as the browser keeps it:
/// sealed with the master key (AES-GCM, bound to the ceremony's kind), so
/// an anonymous request writes no row (L13). It carries a random id, which
/// the second step spends.
#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    id: String,
    expires_at: i64,
    pending: T,
}

/// Seal `pending` as a new ceremony of `kind` that lives `lifetime_secs`.
pub fn seal<T: Serialize>(
    vault: &Vault,
    kind: &str,
    pending: T,
    now: DateTime<Utc>,
    lifetime_secs: i64,
) -> String {
    let sealed = Sealed {
        id: super::secrets::random_token(16),
        expires_at: now.timestamp() + lifetime_secs,
        pending,
    };
    let json = serde_json::to_vec(&sealed).expect("a ceremony's state serialises");
    vault.seal(&format!("ceremony:{kind}"), &json)
}

/// Open a sealed ceremony of `kind`, if it is ours, of that kind, and
/// not expired at `now`.
pub fn open<T: DeserializeOwned>(
    vault: &Vault,
    kind: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Option<(Ceremony, T)> {
    let json = vault.open(&format!("ceremony:{kind}"), value).ok()?;
    let sealed: Sealed<T> = serde_json::from_slice(&json).ok()?;
    let expires_at = DateTime::from_timestamp(sealed.expires_at, 0)?;
    (expires_at > now).then_some((
        Ceremony {
            id: sealed.id,
            expires_at,
        },
        sealed.pending,
    ))
}

/// Spend `ceremony` in `tx`, or refuse it when it was spent before.
pub async fn spend(tx: &Write, ceremony: &Ceremony) -> Result<Result<(), Spent>, DbErr> {
    Ok(if spend_once(tx, ceremony).await? {
        Ok(())
    } else {
        Err(Spent)
    })
}

/// Spend `ceremony` in `tx`; false when it was spent before (a replay).
pub async fn spend_once(tx: &Write, ceremony: &Ceremony) -> Result<bool, DbErr> {
    let inserted = spent_ceremony::Entity::insert(spent_ceremony::ActiveModel {
        id: Set(ceremony.id.clone()),
        expires_at: Set(ceremony.expires_at),
    })
    .on_conflict(
        OnConflict::column(spent_ceremony::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    Ok(inserted == 1)
}

/// Forget spent ceremonies that could no longer be presented anyway.
pub async fn delete_expired(db: &Db) -> Result<u64, DbErr> {
    let now = db.now();
    Ok(spent_ceremony::Entity::delete_many()
        .filter(spent_ceremony::Column::ExpiresAt.lt(now))
        .exec(db.writer())
        .await?
        .rows_affected)
}
