//! tower-sessions storage in our own database through sea-orm, so browser
//! sessions live in SQLite or PostgreSQL beside everything else and every
//! server process sees them. (tower-sessions-sqlx-store targets an older
//! sqlx than sea-orm 2's, which cannot be linked twice.)
//!
//! Rows are keyed by the SHA-256 of the session id: someone who can read the
//! table cannot use what they read as a cookie.

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::core::db::Db;
use crate::core::secrets;
use crate::entities::browser_session;

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Delete expired rows (run periodically by the server).
    pub async fn delete_expired(&self) -> Result<u64, sea_orm::DbErr> {
        let result = browser_session::Entity::delete_many()
            .filter(browser_session::Column::ExpiresAt.lt(self.db.now()))
            .exec(self.db.writer())
            .await?;
        Ok(result.rows_affected)
    }
}

fn key(id: &Id) -> String {
    secrets::sha256_hex(&id.to_string())
}

/// What the store answers when the database was busy (tower-sessions
/// carries a store's failure as text; this one is ours, so the edge tells
/// busy from broken without reading a driver's wording).
pub const BUSY: &str = "the session store's database is busy";

fn backend(err: sea_orm::DbErr) -> session_store::Error {
    if crate::core::db::is_busy(&err) {
        tracing::warn!(%err, "session store: database busy");
        session_store::Error::Backend(BUSY.to_owned())
    } else {
        session_store::Error::Backend(err.to_string())
    }
}

fn to_chrono(at: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap_or_default()
}

fn to_time(at: chrono::DateTime<chrono::Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map(|t| t + time::Duration::nanoseconds(at.timestamp_subsec_nanos().into()))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The row that stores `record`.
fn row(record: &Record) -> session_store::Result<browser_session::ActiveModel> {
    let data = serde_json::to_vec(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok(browser_session::ActiveModel {
        id: Set(key(&record.id)),
        data: Set(data),
        expires_at: Set(to_chrono(record.expiry_date)),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A collision of 128-bit random ids is not going to happen, but
        // never overwrite someone else's session if it does: the row goes in
        // only where its id is free (one statement, not a read and a write).
        loop {
            let inserted = browser_session::Entity::insert(row(record)?)
                .on_conflict(
                    OnConflict::column(browser_session::Column::Id)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(self.db.writer())
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        browser_session::Entity::insert(row(record)?)
            .on_conflict(
                OnConflict::column(browser_session::Column::Id)
                    .update_columns([
                        browser_session::Column::Data,
                        browser_session::Column::ExpiresAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(self.db.writer())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = browser_session::Entity::find_by_id(key(session_id))
            .filter(browser_session::Column::ExpiresAt.gt(self.db.now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let data = serde_json::from_slice(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date: to_time(row.expires_at),
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        browser_session::Entity::delete_by_id(key(session_id))
            .exec(self.db.writer())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
