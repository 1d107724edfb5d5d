//! One write: its transaction, who acts (and from where), and the time,
//! read once from the database's clock. Core functions that change
//! something take this one argument; the change and its audit events commit
//! together or not at all (Kanidm's write transactions, where the time is
//! handed in too).

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, ExecResult, QueryResult,
    Statement,
};

use super::clock::Clock;
use std::sync::Arc;

use super::db::{Db, Deployment, begin_write};

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in user (an end user of the app, or an operator).
    User,
    /// Someone with shell access running the `oneauth` CLI.
    Cli,
    /// 1Auth itself (expiry, cleanup).
    System,
    /// An OAuth client acting for itself (client_credentials).
    Client,
    /// A console operator (a user of the `console` app) acting on an app.
    Operator,
    /// Not signed in (a failed sign-in, say).
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
            ActorKind::Client => "client",
            ActorKind::Operator => "operator",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user's id when the actor is a user.
    pub id: Option<String>,
    /// What a reader sees: an e-mail, `cli:alice`, `system`.
    pub label: String,
    /// The client address of the request, when there is one.
    pub address: Option<String>,
}

impl Actor {
    /// The person at the shell, named by their OS account (from the
    /// environment, else the account of the process: services and
    /// containers often run without $USER).
    pub fn cli() -> Self {
        let who = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|name| !name.is_empty())
            .or_else(|| whoami::username().ok())
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            kind: ActorKind::Cli,
            id: None,
            label: format!("cli:{who}"),
            address: None,
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            label: "system".to_owned(),
            address: None,
        }
    }

    pub fn user(id: &str, label: &str, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(id.to_owned()),
            label: label.to_owned(),
            address,
        }
    }

    pub fn client(client_id: &str, name: &str) -> Self {
        Self {
            kind: ActorKind::Client,
            id: Some(client_id.to_owned()),
            label: format!("client:{name}"),
            address: None,
        }
    }

    pub fn operator(id: &str, email: &str, address: Option<String>) -> Self {
        Self {
            kind: ActorKind::Operator,
            id: Some(id.to_owned()),
            label: email.to_owned(),
            address,
        }
    }

    pub fn anonymous(address: Option<String>) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: None,
            label: "anonymous".to_owned(),
            address,
        }
    }
}

/// A write transaction with its actor and its time. It is a connection
/// itself (statements run in the transaction), so reads inside a write pass
/// `&tx` as they would the bare transaction.
pub struct Write {
    tx: DatabaseTransaction,
    /// Who acts, for the changes and events that name the request's actor.
    pub actor: Actor,
    /// The time of this write: every row it stamps gets this instant.
    pub now: DateTime<Utc>,
    clock: Clock,
    deployment: Arc<Deployment>,
    /// What to do once the write committed (count what it recorded): a
    /// write that rolls back, or is dropped, runs none of it.
    on_commit: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

/// A connection that knows the time: the database (its clock now) or a
/// write (its own time). Reads that compare with "now" take one of these,
/// so inside a write they see the write's instant.
pub trait Clocked: ConnectionTrait {
    fn now(&self) -> DateTime<Utc>;
}

impl Clocked for Db {
    fn now(&self) -> DateTime<Utc> {
        super::db::Database::now(self)
    }
}

impl Clocked for Write {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

/// Begin a write as `actor`, at the database clock's current time.
pub async fn begin(db: &Db, actor: Actor) -> Result<Write, DbErr> {
    begin_as(db, actor, db.deployment_arc()).await
}

/// The same under another deployment's keys (a master-key rotation seals
/// and records with the new key in the transaction that replaces the old).
pub async fn begin_as(db: &Db, actor: Actor, deployment: Arc<Deployment>) -> Result<Write, DbErr> {
    let asked = std::time::Instant::now();
    let tx = begin_write(db).await?;
    super::measure::write_waited(asked.elapsed());
    Ok(Write {
        tx,
        actor,
        now: db.now(),
        clock: db.clock().clone(),
        deployment,
        on_commit: Default::default(),
    })
}

impl Write {
    /// The clock read afresh (the audit chain stamps an event once it holds
    /// the chain's head, so times follow the chain's order).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The deployment the database serves (its public URL for links, the
    /// vault that seals the outbox, the audit chain's key).
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Run `then` once this write has committed.
    pub fn on_commit(&self, then: impl FnOnce() + Send + 'static) {
        self.on_commit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Box::new(then));
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await?;
        let then = self
            .on_commit
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for then in then {
            then();
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Write {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx.query_all_raw(stmt).await
    }
}
