//! Connecting to the database (SQLite or PostgreSQL) and starting write
//! transactions that behave the same on both.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};

use super::clock::Clock;
use super::vault::{DerivedKey, Vault};
use sea_orm::sea_query::{Alias, CommonTableExpression, SubQueryStatement, WithClause};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database as Connector, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, ExecResult, QueryResult, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
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

/// The database as 1Auth uses it: reads go to a pool, writes through
/// [`begin_write`]. On SQLite, which has one writer at a time anyway, writes
/// have a connection of their own: writers queue for it in order (instead
/// of sleeping in SQLite's busy handler while holding a pooled connection),
/// and readers never wait for them (WAL). The read connections refuse to
/// write (`query_only`), so a write that skips the queue fails loudly. On
/// PostgreSQL both are one pool: row locks do the serialising there.
///
/// This is the database before its deployment is known (migrations run
/// on it); everything else takes a [`Db`], which adds the deployment.
#[derive(Clone, Debug)]
pub struct Database {
    read: DatabaseConnection,
    write: DatabaseConnection,
    read_connections: u32,
    /// PostgreSQL's URL (it may carry a password: never printed), for the
    /// probe's connection of its own.
    postgres_url: Option<secrecy::SecretString>,
    cached: Arc<Cached>,
    clock: Clock,
}

/// The database of one deployment ([`Deployment`]: its public URL, the
/// vault and the keys derived from the master key), made by
/// [`super::deployment::start`]. It derefs to the [`Database`].
#[derive(Clone, Debug)]
pub struct Db {
    database: Database,
    deployment: Arc<Deployment>,
}

impl Db {
    pub(crate) fn new(database: Database, deployment: Arc<Deployment>) -> Self {
        Self {
            database,
            deployment,
        }
    }

    /// The deployment this database serves.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The same, to keep beside the database (a write holds one).
    pub fn deployment_arc(&self) -> Arc<Deployment> {
        Arc::clone(&self.deployment)
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.database.close().await
    }
}

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.database
    }
}

/// What the audit chain's key is called among the keys derived from the
/// master key (also the row of its check value in `key_check`).
pub(crate) const CHAIN_KEY_PURPOSE: &str = "audit-chain";

/// What one deployment has one of (see `core::deployment`, which opens
/// it): its public URL, the vault holding the master key, and the keys
/// derived from that key for what 1Auth signs.
pub struct Deployment {
    /// The one origin of issuers, links, cookies and passkeys, without a
    /// trailing slash.
    pub public_url: String,
    /// Seals and opens secrets at rest (signing keys, mail bodies,
    /// ceremony cookies).
    pub vault: Vault,
    /// The MAC key of every app's audit chain.
    pub chain_key: DerivedKey,
    /// Its check value (stored with each chain since a rotation).
    pub chain_key_check: String,
    /// Signs the known-device marks (`core::devices`).
    pub device_key: DerivedKey,
    /// Signs the `login_after` marks of `prompt=login`.
    pub login_after_key: DerivedKey,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Deployment {
    /// The keys of `vault`, for a deployment at `public_url` (no database
    /// check: see [`start`]).
    pub fn new(public_url: &str, vault: Vault) -> Self {
        let chain_key = vault.derive(CHAIN_KEY_PURPOSE);
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            chain_key_check: chain_key.check_value(),
            chain_key,
            device_key: vault.derive("device-cookie"),
            login_after_key: vault.derive("login-after"),
            vault,
        }
    }
}

/// What this process keeps of the database in memory (apps, clients,
/// signing keys, precomputed documents), one value per type, owned by the
/// module that fills it: each entry lives a second or two, so a change made
/// by another process (the CLI, another node) is seen within that, and a
/// change made here drops everything at once ([`Db::forget_cached`]).
#[derive(Default)]
struct Cached {
    by_type: std::sync::RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cached")
    }
}

/// How long a request waits for a connection before it is answered "busy,
/// try again" (503 with Retry-After) rather than queueing further.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL: one pool for reads and writes (row locks serialise writers).
const POSTGRES_CONNECTIONS: u32 = 16;
/// SQLite: readers beside the one writer (WAL lets them run at once).
const SQLITE_READERS: u32 = 8;

impl Database {
    fn new(read: DatabaseConnection, write: DatabaseConnection, read_connections: u32) -> Self {
        Self {
            read,
            write,
            read_connections,
            postgres_url: None,
            cached: Arc::default(),
            clock: Clock::default(),
        }
    }

    /// The time now, by this database's clock (the one clock every rule
    /// reads; tests advance it).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The size of the read pool (on PostgreSQL, of the one pool).
    pub fn read_connections(&self) -> u32 {
        self.read_connections
    }

    /// This process's cache of type `T` (created empty on first use).
    pub fn cached<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let id = TypeId::of::<T>();
        if let Some(found) = self
            .cached
            .by_type
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&id)
        {
            return Arc::clone(found)
                .downcast::<T>()
                .expect("one value per type");
        }
        let mut all = self
            .cached
            .by_type
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = all
            .entry(id)
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>);
        Arc::clone(entry)
            .downcast::<T>()
            .expect("one value per type")
    }

    /// Drop everything cached (after a change to apps, clients or keys made
    /// by this process, so it sees the change at once).
    pub fn forget_cached(&self) {
        self.cached
            .by_type
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// The connection pools, for the metrics: (name, open, idle, most).
    /// On PostgreSQL one pool serves reads and writes.
    pub fn pools(&self) -> Vec<PoolStatus> {
        let status = |name: &'static str, connection: &DatabaseConnection, max: u32| {
            let (size, idle) = match connection.get_database_backend() {
                DatabaseBackend::Postgres => {
                    let pool = connection.get_postgres_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                _ => {
                    let pool = connection.get_sqlite_connection_pool();
                    (pool.size(), pool.num_idle())
                }
            };
            PoolStatus {
                name,
                open: size,
                idle: u32::try_from(idle).unwrap_or(u32::MAX),
                max,
            }
        };
        match self.backend() {
            DatabaseBackend::Sqlite => vec![
                status("read", &self.read, self.read_connections),
                status("write", &self.write, 1),
            ],
            _ => vec![status("shared", &self.read, self.read_connections)],
        }
    }

    /// A probe of the database's presence: PostgreSQL can go away and come
    /// back, a SQLite file cannot (`None`).
    pub fn probe(&self) -> Option<Probe> {
        self.postgres_url.as_ref().map(|url| Probe {
            url: url.clone(),
            connection: None,
        })
    }

    /// After the database came back: the pool's idle connections may have
    /// died with the old server, and would fail the next requests once
    /// each. Each is pinged; the dead are closed, the live given back.
    pub async fn drop_broken_connections(&self) {
        use sea_orm::sqlx::Connection;
        if self.backend() != DatabaseBackend::Postgres {
            return;
        }
        let pool = self.read.get_postgres_connection_pool();
        let mut alive = Vec::new();
        let mut closed = 0;
        while let Some(mut connection) = pool.try_acquire() {
            match tokio::time::timeout(Duration::from_secs(1), connection.ping()).await {
                Ok(Ok(())) => alive.push(connection),
                _ => {
                    connection.close_on_drop();
                    closed += 1;
                }
            }
        }
        drop(alive);
        if closed > 0 {
            tracing::info!(
                closed,
                "closed the database connections that died while it was away"
            );
        }
    }

    /// The connection that writes (migrations run on it).
    pub fn writer(&self) -> &DatabaseConnection {
        &self.write
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.read.get_database_backend()
    }

    /// A read-only snapshot (one transaction on the read pool).
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.read.begin().await
    }

    pub async fn close(self) -> Result<(), DbErr> {
        let sqlite = self.backend() == DatabaseBackend::Sqlite;
        self.read.close().await?;
        if sqlite {
            self.write.close().await?;
        }
        Ok(())
    }
}

/// One connection pool's state (see [`Database::pools`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub name: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// Statements outside a transaction run on the read pool.
macro_rules! reads_on_the_pool {
    ($type:ty, $($pool:ident).+) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $type {
            fn get_database_backend(&self) -> DatabaseBackend {
                self.$($pool).+.get_database_backend()
            }

            async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
                self.$($pool).+.execute_raw(stmt).await
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                self.$($pool).+.execute_unprepared(sql).await
            }

            async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
                self.$($pool).+.query_one_raw(stmt).await
            }

            async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
                self.$($pool).+.query_all_raw(stmt).await
            }
        }
    };
}

reads_on_the_pool!(Database, read);
reads_on_the_pool!(Db, database.read);

/// `value` inside a LIKE pattern whose escape character is `\`: its `%`,
/// `_` and `\` match themselves.
pub fn like_literal(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// LIKE `%query%`, the query lower-cased and taken literally: the
/// console's and the member pages' "contains" searches.
pub fn contains_lowercase(query: &str) -> sea_orm::sea_query::LikeExpr {
    sea_orm::sea_query::LikeExpr::new(format!("%{}%", like_literal(&query.to_lowercase())))
        .escape('\\')
}

/// Whether a database error means "busy or away, try again shortly" (no
/// connection free in time, SQLite's write lock held too long: its
/// SQLITE_BUSY and SQLITE_LOCKED result codes; or the database cannot be
/// reached: a connection refused or cut, PostgreSQL shutting down or
/// starting) rather than a fault. Both are answered 503 with Retry-After.
pub fn is_busy(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let sqlx_busy = |err: &sqlx::Error| match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            db.code()
                .and_then(|code| code.parse::<i32>().ok())
                // The extended code's low byte is the primary one.
                .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
        }
        sqlx::Error::Database(db) => db.code().is_some_and(|code| postgres_away(&code)),
        _ => false,
    };
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => sqlx_busy(err),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs for "not there right now": connection exceptions
/// (class 08), an administrator's shutdown, a server starting or crashing
/// (57P01-57P03), too many connections (53300).
fn postgres_away(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "53300")
}

/// A connection of its own that tells whether PostgreSQL is there, apart
/// from the pool (which, busy under load, would answer late for reasons of
/// its own): `server/tasks.rs` asks it a few times a second.
pub struct Probe {
    url: secrecy::SecretString,
    connection: Option<sea_orm::sqlx::PgConnection>,
}

impl Probe {
    /// Whether the database answers `SELECT 1` within `within`; a broken
    /// connection is dropped and a new one tried next time.
    pub async fn check(&mut self, within: Duration) -> bool {
        use sea_orm::sqlx::{Connection, Executor};
        use secrecy::ExposeSecret;
        let answered = tokio::time::timeout(within, async {
            if self.connection.is_none() {
                self.connection =
                    Some(sea_orm::sqlx::PgConnection::connect(self.url.expose_secret()).await?);
            }
            let connection = self.connection.as_mut().expect("connected above");
            connection.execute("SELECT 1").await.map(|_| ())
        })
        .await;
        let up = match answered {
            Ok(Ok(())) => true,
            // It answered, refusing a connection more: it is there.
            Ok(Err(sea_orm::sqlx::Error::Database(err))) => err.code().as_deref() == Some("53300"),
            _ => false,
        };
        if !up {
            self.connection = None;
        }
        up
    }
}

/// SQLite's primary result codes for "the database is locked".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

/// Connect with settings suited to each backend. For a SQLite file, its
/// directory is created first so the default `data/oneauth.db` just works.
pub async fn connect(url: &str) -> Result<Database, DbSetupError> {
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(DbSetupError::UnsupportedUrl(redact(url)));
    }
    if !is_sqlite {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .max_connections(POSTGRES_CONNECTIONS)
            // A ping on every checkout would double the round trips of each
            // query outside a transaction; a connection idle for a while may
            // have been dropped by a proxy, so that one is tested.
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        let pool = Connector::connect(options)
            .await
            .map_err(DbSetupError::Connect)?;
        let mut database = Database::new(pool.clone(), pool, POSTGRES_CONNECTIONS);
        database.postgres_url = Some(url.to_owned().into());
        return Ok(database);
    }
    ensure_sqlite_dir(url)?;
    let sqlite = |connections: u32, read_only: bool| {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .min_connections(1)
            .max_connections(connections)
            // A file does not drop connections: no ping per checkout (each
            // one is a round trip through the connection's worker thread).
            .test_before_acquire(false);
        // WAL lets readers run beside the one writer; a writer of another
        // process (the CLI) is waited for (busy_timeout).
        options.map_sqlx_sqlite_opts(move |opts: SqliteConnectOptions| {
            let opts = opts
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if read_only {
                opts.pragma("query_only", "ON")
            } else {
                opts
            }
        });
        options
    };
    // The writer first: it creates the file (and the WAL) the readers open.
    let write = Connector::connect(sqlite(1, false))
        .await
        .map_err(DbSetupError::Connect)?;
    let read = Connector::connect(sqlite(SQLITE_READERS, true))
        .await
        .map_err(DbSetupError::Connect)?;
    Ok(Database::new(read, write, SQLITE_READERS))
}

/// Bring the schema up to date (idempotent). Several processes may start
/// at once (a deployment of three behind a balancer, a CLI command beside
/// a starting server): one migrates, the others wait for it and then find
/// nothing to do. The migrations run in one write transaction on one
/// connection: on SQLite BEGIN IMMEDIATE takes the file's write lock, which
/// the others wait for; on PostgreSQL (whose schema changes are
/// transactional too) the transaction first takes an advisory lock.
pub async fn migrate(db: &Database) -> Result<(), DbSetupError> {
    let tx = begin_write(db).await.map_err(DbSetupError::Migrate)?;
    if db.backend() == DatabaseBackend::Postgres {
        tx.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await
        .map_err(DbSetupError::Migrate)?;
    }
    Migrator::up(&tx, None)
        .await
        .map_err(DbSetupError::Migrate)?;
    tx.commit().await.map_err(DbSetupError::Migrate)
}

/// The advisory lock migrations take on PostgreSQL ("1Auth" in ASCII, a
/// number no other application sharing the server is likely to pick).
const MIGRATION_LOCK: i64 = 0x31_41_75_74_68;

/// Begin a transaction that will write. On SQLite it takes the write lock at
/// BEGIN (IMMEDIATE): a deferred transaction that reads, then writes, fails
/// with SQLITE_BUSY when another process committed in between, whatever
/// the busy timeout. On PostgreSQL row locks do this job.
pub async fn begin_write(db: &Database) -> Result<DatabaseTransaction, DbErr> {
    match db.backend() {
        DatabaseBackend::Sqlite => {
            db.write
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await
        }
        _ => db.write.begin().await,
    }
}

/// Writes that belong together and need nothing from each other, with the
/// number of rows the last one touched (so it can be a conditional write
/// whose miss the caller answers by rolling back). On PostgreSQL they are
/// one statement, each but the last a data-modifying CTE of the last: one
/// round trip instead of one each. Every part runs to completion and
/// foreign keys are checked at the statement's end, but all parts see one
/// snapshot in no set order: they must not touch the same row nor depend
/// on each other's effects. On SQLite (in-process, no round trips) one
/// after another. Run them in the caller's transaction.
pub async fn write_together(
    tx: &impl ConnectionTrait,
    first: Vec<SubQueryStatement>,
    last: impl Into<SubQueryStatement>,
) -> Result<u64, DbErr> {
    let last = last.into();
    if tx.get_database_backend() == DatabaseBackend::Postgres && !first.is_empty() {
        let mut with = WithClause::new();
        for (n, write) in first.into_iter().enumerate() {
            with.cte(
                CommonTableExpression::new()
                    .query(write)
                    .table_name(Alias::new(format!("write_{n}")))
                    .to_owned(),
            );
        }
        return Ok(tx.execute(&with.query(last)).await?.rows_affected());
    }
    for write in first {
        execute_write(tx, write).await?;
    }
    execute_write(tx, last).await
}

async fn execute_write(tx: &impl ConnectionTrait, write: SubQueryStatement) -> Result<u64, DbErr> {
    let done = match write {
        SubQueryStatement::InsertStatement(insert) => tx.execute(&insert).await?,
        SubQueryStatement::UpdateStatement(update) => tx.execute(&update).await?,
        SubQueryStatement::DeleteStatement(delete) => tx.execute(&delete).await?,
        SubQueryStatement::SelectStatement(select) => tx.execute(&select).await?,
        SubQueryStatement::WithStatement(with) => tx.execute(&with).await?,
    };
    Ok(done.rows_affected())
}

/// Whether the database answers a trivial query (readiness).
pub async fn ping(db: &Database) -> bool {
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
