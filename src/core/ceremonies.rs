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

use super::db::Db;
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
