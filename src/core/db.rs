//! Connecting to the database (SQLite or PostgreSQL) and starting write
//! transactions that behave the same on both.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("The database URL must start with sqlite: or postgres:, not \"{0}\".")]
    UnsupportedUrl(String),
    #[error("Could not create the directory {path} for the SQLite database: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("Could not connect to the database: {0}")]
    Connect(DbErr),
    #[error("Could not migrate the database: {0}")]
    Migrate(DbErr),
}

/// Connect with settings suited to each backend. For a SQLite file, its
/// directory is created first so the default `data/oneauth.db` just works.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(DbSetupError::UnsupportedUrl(redact(url)));
    }
    if is_sqlite {
        ensure_sqlite_dir(url)?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(if is_sqlite { 8 } else { 16 });
    // WAL lets readers run beside the one writer; a busy writer is waited
    // for (busy_timeout) rather than failing the request.
    options.map_sqlx_sqlite_opts(|opts: SqliteConnectOptions| {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
    });
    Database::connect(options)
        .await
        .map_err(DbSetupError::Connect)
}

/// Bring the schema up to date (idempotent).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbSetupError> {
    Migrator::up(db, None).await.map_err(DbSetupError::Migrate)
}

/// Begin a transaction that will write. On SQLite it takes the write lock at
/// BEGIN (IMMEDIATE): a deferred transaction that reads, then writes, fails
/// with SQLITE_BUSY when another connection committed in between, whatever
/// the busy timeout. On PostgreSQL row locks do this job.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Whether the database answers a trivial query (readiness).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

fn ensure_sqlite_dir(url: &str) -> Result<(), DbSetupError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| DbSetupError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
