//! The server's background tasks, supervised: each runs until the server
//! stops; one that panics or ends early is restarted after a pause (shown
//! meanwhile in `/readyz` and `oneauth_task_up`). Stopping tells each to
//! finish what it holds (the mail sender its message, the tally its last
//! flush) and waits for them, within the shutdown grace.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::core::db::Db;
use crate::core::mail::MailError;
use crate::core::mail::sender::Sender;
use crate::http::session_store::DbSessionStore;
use crate::state::{AppState, Health};

/// How long a task that failed waits before it runs again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

pub struct Tasks {
    stop: watch::Sender<bool>,
    running: JoinSet<()>,
    health: Arc<Health>,
}

impl Tasks {
    pub fn new(health: Arc<Health>) -> Self {
        Self {
            stop: watch::channel(false).0,
            running: JoinSet::new(),
            health,
        }
    }

    /// Run the task `make` makes until the server stops, making it again
    /// whenever it panics or ends before it was told to stop. The task is
    /// handed the stop signal and must end soon after it turns true.
    pub fn supervise<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.stop.subscribe();
        let health = Arc::clone(&self.health);
        health.set_task(name, true);
        self.running.spawn(async move {
            loop {
                health.set_task(name, true);
                let outcome = tokio::spawn(make(stop.clone())).await;
                if *stop.borrow() {
                    break;
                }
                health.set_task(name, false);
                match outcome {
                    Ok(()) => tracing::error!(task = name, "a background task ended; restarting it"),
                    Err(err) => {
                        tracing::error!(task = name, %err, "a background task failed; restarting it")
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(RESTART_AFTER) => {}
                    _ = stop.changed() => break,
                }
            }
        });
    }

    /// Tell every task to stop and wait for them, at most `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let all_done = async { while self.running.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_err() {
            tracing::warn!(
                "background tasks still busy after {} s; stopping anyway",
                grace.as_secs()
            );
        }
    }
}

/// The server's tasks: hourly cleanup, the mail sender (when SMTP is
/// configured), the machine-token tally's flusher, the metrics' upkeep.
pub fn start(tasks: &mut Tasks, state: &AppState) -> Result<(), MailError> {
    let db = state.db.clone();
    tasks.supervise("cleanup", move |stop| clean_up(db.clone(), stop));
    match &state.settings.smtp {
        Some(smtp) => {
            tracing::info!(host = %smtp.host, port = smtp.port, "sending e-mail through SMTP");
            let sender = Sender::new(state.db.clone(), smtp, state.settings.mail_policy)?;
            tasks.supervise("mail", move |stop| sender.clone().run(stop));
        }
        None => tracing::info!(
            "no SMTP server configured (ONEAUTH_SMTP_URL): e-mail waits in the outbox, which the console shows"
        ),
    }
    let tally = Arc::clone(&state.grant_tally);
    let db = state.db.clone();
    tasks.supervise("token_tally", move |stop| {
        Arc::clone(&tally).flush_until(db.clone(), stop)
    });
    tasks.supervise("metrics", upkeep_metrics);
    let db = state.db.clone();
    let health = Arc::clone(&state.health);
    tasks.supervise("key_watch", move |stop| {
        watch_master_key(db.clone(), Arc::clone(&health), stop)
    });
    if state.db.probe().is_some() {
        let db = state.db.clone();
        let health = Arc::clone(&state.health);
        tasks.supervise("database_probe", move |stop| {
            watch_database(db.clone(), Arc::clone(&health), stop)
        });
    }
    Ok(())
}

/// How often the database's presence is checked, and how long an answer
/// may take: a database that goes away is noticed within about a second.
const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_WITHIN: Duration = Duration::from_millis(750);

/// Ask the database (on a connection of its own) whether it is there; mark
/// it away or back. On its return, the pool's connections that died with
/// the old server are closed first, so requests do not meet them.
async fn watch_database(db: Db, health: Arc<Health>, mut stop: watch::Receiver<bool>) {
    let Some(mut probe) = db.probe() else { return };
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut misses = 0;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return,
        }
        // On a connection of its own: the pool, busy under load, would
        // answer late for reasons of its own (a PostgreSQL refusing a new
        // connection at its limit counts as there: `Probe::check`).
        let up = probe.check(PROBE_WITHIN).await;
        // Two misses in a row: one slow answer on a loaded machine is not
        // an outage.
        misses = if up { 0 } else { misses + 1 };
        match (up, health.database_away()) {
            (false, false) if misses >= 2 => {
                tracing::warn!(
                    "the database does not answer: requests are answered 503 until it does"
                );
                health.set_database_away(true);
            }
            (true, true) => {
                db.drop_broken_connections().await;
                tracing::info!("the database answers again");
                health.set_database_away(false);
            }
            _ => {}
        }
    }
}

/// Delete expired browser sessions, stale throttle counters and spent
/// passkey ceremonies every hour.
async fn clean_up(db: Db, mut stop: watch::Receiver<bool>) {
    let store = DbSessionStore::new(db.clone());
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every_hour.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(err) = store.delete_expired().await {
            tracing::warn!(%err, "deleting expired browser sessions failed");
        }
        if let Err(err) = crate::core::throttle::delete_stale(&db).await {
            tracing::warn!(%err, "deleting stale throttle counters failed");
        }
        if let Err(err) = crate::core::ceremonies::delete_expired(&db).await {
            tracing::warn!(%err, "deleting spent passkey ceremonies failed");
        }
    }
}

/// Every few seconds, whether the deployment's master key is still this
/// process's; once rotated away (`oneauth master-key rotate`), the process
/// answers 503 and fails readiness until it is restarted with the new key.
async fn watch_master_key(db: Db, health: Arc<Health>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return,
        }
        match crate::core::deployment::key_is_current(&db).await {
            Ok(false) if !health.key_rotated() => {
                tracing::error!(
                    "the master key was rotated: restart this server with the new key; until then it answers 503"
                );
                health.set_key_rotated();
            }
            Ok(_) => {}
            Err(err) => tracing::debug!(%err, "reading the master key's check failed"),
        }
    }
}

/// Histogram samples wait in the recorder until drained; without a scrape
/// they would pile up, so they are folded in every few seconds.
async fn upkeep_metrics(mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = every.tick() => crate::telemetry::registry().run_upkeep(),
            _ = stop.changed() => return,
        }
    }
}
