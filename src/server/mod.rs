//! Running the web server: start-up (database, deployment, background
//! tasks), serving connections, and stopping without dropping what is in
//! flight. `router.rs` assembles the routes, `tasks.rs` supervises the
//! background work.

use std::time::Duration;

use axum::Router;

use crate::config::Settings;
use crate::core::db;
use crate::core::db::Db;
use crate::core::deployment::{self, DeploymentError};
use crate::core::vault::VaultError;
use crate::state::AppState;

mod router;
pub mod tasks;

pub use router::{MOST_BODY_BYTES, app_paths, router};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error("Could not listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("The server stopped: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    Audit(#[from] crate::core::audit::AuditError),
    #[error(transparent)]
    Mail(#[from] crate::core::mail::MailError),
}

/// Connect to the configured database, bring its schema up to date, and
/// open this deployment on it (its master key checked against the one the
/// database was first used with): the one start-up of `serve`, every CLI
/// command that works on data, and the tests.
pub async fn open_database(settings: &Settings) -> Result<Db, ServeError> {
    let database = db::connect(&settings.database_url).await?;
    db::migrate(&database).await?;
    let vault = settings.vault()?;
    Ok(deployment::start(database, &settings.public_url, vault).await?)
}

/// Migrate, then serve until SIGINT or SIGTERM. Stopping: `/readyz`
/// answers 503 at once; after `ONEAUTH_SHUTDOWN_DELAY` (default none: a
/// balancer that checks health meanwhile sends nothing new) no connection
/// is accepted; requests in flight get `ONEAUTH_SHUTDOWN_GRACE` to
/// finish; then the background tasks stop (the tally's last counts
/// flushed, the mail sender's message finished) and the process exits 0.
pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    // Installed first, so nothing counted at start-up is lost.
    crate::telemetry::registry();
    let db = open_database(&settings).await?;
    let addr = settings.bind;
    let grace = settings.shutdown_grace;
    crate::core::passwords::warm_up();
    crate::http::assets::precompress_in_background(&settings.site_root);
    let state = AppState::new(db.clone(), settings);
    let mut background = tasks::Tasks::new(std::sync::Arc::clone(&state.health));
    tasks::start(&mut background, &state)?;
    let public_url = state.settings.public_url.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stopping, stop) = tokio::sync::watch::channel(false);
    if let Some(metrics_addr) = state.settings.metrics_bind {
        let metrics = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: metrics_addr,
                source,
            })?;
        tracing::info!("metrics on http://{metrics_addr}/metrics");
        let mut stop = stop.clone();
        tokio::spawn(serve_connections(
            metrics,
            crate::http::metrics::router(state.clone()),
            async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            },
            grace,
        ));
    }
    tracing::info!("1Auth is listening on http://{addr} (public URL {public_url})");
    let health = std::sync::Arc::clone(&state.health);
    let delay = state.settings.shutdown_delay;
    let shutdown = async move {
        shutdown_signal().await;
        health.start_draining();
        if !delay.is_zero() {
            tracing::info!(
                "answering /readyz 503 for {} s before closing the port",
                delay.as_secs()
            );
            tokio::time::sleep(delay).await;
        }
        let _ = stopping.send(true);
    };
    serve_connections(listener, router(state), shutdown, grace).await;
    background.stop(TASKS_GRACE).await;
    tracing::info!("stopped");
    drop(stop);
    Ok(())
}

/// What the background tasks get to finish when the server stops (a mail
/// in hand, the tally's last counts): beside the shutdown delay and grace,
/// what an init system must wait before it kills (README, systemd unit).
pub const TASKS_GRACE: Duration = Duration::from_secs(10);

/// The most a request's line and headers may take together, and how many
/// headers it may have (cookies included, a real browser's stay far below).
pub const MOST_HEAD_BYTES: usize = 32 * 1024;
pub const MOST_HEADERS: usize = 100;

/// A client must send a request's headers within this time (slowloris).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serve `router` on `listener` until `shutdown` completes, then let the
/// open connections finish. hyper's header-read timeout only works with a
/// timer, which `axum::serve` (0.8) does not install, so a client could hold
/// a connection open forever by sending a header a byte at a time (L11):
/// this loop gives every connection one.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // A request head over these is answered 431 before any of it is
        // handled.
        .max_buf_size(MOST_HEAD_BYTES)
        .max_headers(MOST_HEADERS);
    builder
        .http2()
        .max_header_list_size(MOST_HEAD_BYTES as u32)
        .timer(TokioTimer::new())
        .keep_alive_interval(std::time::Duration::from_secs(30))
        .keep_alive_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    // The connections, so those still open after the grace can be ended
    // (and nothing they do lands after the tally's last flush).
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(request)
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
        // Forget the connections that ended (a JoinSet keeps them until
        // joined: a long-running server would grow with every one).
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                "requests still in flight after {} s; closing their connections",
                grace.as_secs()
            );
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
