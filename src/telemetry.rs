//! What an operator sees of a running process: its log lines (text or
//! JSON, one per event, each carrying the request's id) and its one
//! metrics registry. The domain counts through the `metrics` facade
//! (`core::measure` names every series); this module installs the
//! recorder once per process and renders it with what is read at scrape
//! time (pools, queues, the outbox). `http/metrics.rs` only serves it.

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::config::LogFormat;
use crate::core::{measure, passwords};
use crate::state::AppState;
use crate::types::MailStatus;

/// The process's recorder, installed on first use (the server installs it
/// at start, so counts from the first request on are kept).
pub fn registry() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(measure::SECONDS_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed before 1Auth's: /metrics stays empty");
        }
        measure::describe();
        handle
    })
}

/// Log lines to standard error, filtered by `ONEAUTH_LOG` (an
/// `EnvFilter`), as text or as one JSON object per line. The request's
/// span (`request{id=...}`) is on every line written while it runs.
pub fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ONEAUTH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// Every series in Prometheus' text format: the process's counters and
/// histograms, then this server's gauges read now.
pub async fn render(state: &AppState) -> String {
    let mut text = registry().render();
    text.push_str(&scraped(state).await);
    text
}

/// The figures read at scrape time, recorded into a recorder of their own
/// (so servers sharing a process, as the tests run them, each show theirs).
async fn scraped(state: &AppState) -> String {
    // Not while the database is away: each scrape would wait for the pool.
    let outbox = if state.health.database_away() {
        Err(sea_orm::DbErr::Custom("the database is away".to_owned()))
    } else {
        crate::core::mail::outbox::depth(&state.db).await
    };
    let now = state.db.now();
    let recorder = PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        describe_gauge!(
            "oneauth_build_info",
            "Always 1; the labels name the running build."
        );
        gauge!(
            "oneauth_build_info",
            "version" => env!("CARGO_PKG_VERSION"),
            "database" => match state.db.backend() {
                sea_orm::DatabaseBackend::Postgres => "postgres",
                _ => "sqlite",
            }
        )
        .set(1.0);

        describe_gauge!(
            "oneauth_db_connections",
            "Database connections open, by pool and state (in_use, idle)."
        );
        describe_gauge!(
            "oneauth_db_connections_max",
            "The most connections a pool opens."
        );
        for pool in state.db.pools() {
            let in_use = pool.open.saturating_sub(pool.idle);
            gauge!("oneauth_db_connections", "pool" => pool.name, "state" => "in_use")
                .set(f64::from(in_use));
            gauge!("oneauth_db_connections", "pool" => pool.name, "state" => "idle")
                .set(f64::from(pool.idle));
            gauge!("oneauth_db_connections_max", "pool" => pool.name).set(f64::from(pool.max));
        }

        describe_gauge!(
            "oneauth_password_hashes_waiting",
            "Password hashes waiting for a core now."
        );
        gauge!("oneauth_password_hashes_waiting").set(passwords::hashes_waiting() as f64);

        describe_gauge!(
            "oneauth_machine_tokens_unsummarised",
            "Machine tokens issued and not yet summarised in the audit log."
        );
        gauge!("oneauth_machine_tokens_unsummarised").set(state.grant_tally.pending() as f64);

        describe_counter!(
            "oneauth_refresh_reads_total",
            "Refresh tokens read since start."
        );
        counter!("oneauth_refresh_reads_total").absolute(state.refresh_reads.reads());
        describe_counter!(
            "oneauth_refresh_read_statements_total",
            "Statements those reads took (several reads share one under load)."
        );
        counter!("oneauth_refresh_read_statements_total")
            .absolute(state.refresh_reads.statements());

        describe_gauge!(
            "oneauth_outbox_messages",
            "Messages in the outbox, by status."
        );
        describe_gauge!(
            "oneauth_outbox_oldest_pending_age_seconds",
            "Age of the oldest message still waiting to be sent (0 when none waits)."
        );
        match &outbox {
            Ok(rows) => {
                for status in MailStatus::ALL {
                    let row = rows.iter().find(|(s, _, _)| *s == status);
                    let messages = row.map_or(0, |(_, n, _)| *n);
                    gauge!("oneauth_outbox_messages", "status" => status.as_str())
                        .set(messages as f64);
                    if status == MailStatus::Pending {
                        let age = row
                            .and_then(|(_, _, oldest)| *oldest)
                            .map_or(0.0, |oldest| {
                                (now - oldest).num_milliseconds().max(0) as f64 / 1000.0
                            });
                        gauge!("oneauth_outbox_oldest_pending_age_seconds").set(age);
                    }
                }
            }
            Err(err) => tracing::warn!(%err, "reading the outbox for /metrics failed"),
        }

        describe_gauge!(
            "oneauth_task_up",
            "Whether a supervised background task is running (1) or waiting to restart (0)."
        );
        for (task, up) in state.health.tasks() {
            gauge!("oneauth_task_up", "task" => task).set(if up { 1.0 } else { 0.0 });
        }
        describe_gauge!(
            "oneauth_draining",
            "1 once the server was asked to stop: it finishes what is in flight."
        );
        gauge!("oneauth_draining").set(if state.health.draining() { 1.0 } else { 0.0 });
    });
    recorder.handle().render()
}
