//! An online, consistent copy of the embedded (SQLite) database while the
//! server keeps serving: `VACUUM INTO` reads one snapshot and writes a
//! compact new file, without blocking writers (WAL). PostgreSQL has its own
//! tools (`pg_dump`); the README shows both restores.

use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::json;

use super::audit::{self, Action, Event};
use super::db::Db;
use super::fault::Fault;
use super::write::{self, Actor};
use crate::types::AppId;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: choose a new file (a backup never overwrites one).")]
    Exists(String),
    #[error(
        "This deployment runs on PostgreSQL, which is backed up with its own tools: pg_dump --format=custom (see the README, \"Backups\")."
    )]
    NotSqlite,
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(BackupError);

/// Copy the database to `to` (a new file); its size in bytes. The copy is
/// recorded in the console's audit chain after it was taken, so the copy's
/// chain ends at the head exported before the backup.
pub async fn backup(db: &Db, actor: Actor, to: &Path) -> Result<u64, BackupError> {
    if db.backend() != DatabaseBackend::Sqlite {
        return Err(BackupError::NotSqlite);
    }
    let shown = to.display().to_string();
    if to.exists() {
        return Err(BackupError::Exists(shown));
    }
    // The file name is bound, not spliced into the statement.
    db.writer()
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "VACUUM INTO ?",
            [shown.clone().into()],
        ))
        .await
        .map_err(Fault::from)?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or_default();
    let tx = write::begin(db, actor).await?;
    audit::record(
        &tx,
        Event {
            app_id: &AppId::console(),
            actor: &tx.actor,
            action: Action::DatabaseBackedUp,
            target: None,
            details: json!({ "to": shown, "bytes": bytes }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(bytes)
}
