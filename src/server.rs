//! Assembling and running the web server: protocol routes from `http/`, the
//! Leptos app (hosted pages, console) and its server functions.

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, file_and_error_handler_with_context, generate_route_list,
};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::{App, shell};
use crate::config::Settings;
use crate::core::db;
use crate::core::db::Db;
use crate::core::deployment::{self, DeploymentError};
use crate::core::mail::sender::Sender;
use crate::core::vault::VaultError;
use crate::http::origin_check::{canonical_host, require_same_origin};
use crate::http::security_headers::{CspNonce, security_headers};
use crate::http::session_store::DbSessionStore;
use crate::state::{AppState, SESSION_COOKIE};

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

/// The app's routes, generated once per process. Generating them sets a
/// process-wide flag in leptos_server under which a resource first polled
/// meanwhile waits forever (leptos-rs/leptos#4773), so it must never run
/// beside a render: a second server built in the same process (the tests
/// run many) once stalled a page of the first for good.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole HTTP surface of 1Auth.
pub fn router(state: AppState) -> Router {
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            // The nonce the CSP header of this response names (see
            // `http::security_headers`), for the hydration scripts.
            let nonce = use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
            if let Some(CspNonce(nonce)) = nonce {
                provide_context(leptos::nonce::Nonce::from_value(nonce));
            }
        }
    };
    let routes = route_list();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)));
    Router::new()
        .merge(crate::http::routes())
        .route(
            "/console/audit/export",
            axum::routing::get(crate::api::console::export::export),
        )
        .merge(crate::http::assets::routes(&state.settings.site_root))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_same_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            canonical_host,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// Delete expired browser sessions, stale throttle counters and spent
/// passkey ceremonies every hour.
fn spawn_cleanup(db: Db) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(db.clone());
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
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
    });
}

/// Deliver the outbox, when an SMTP server is configured.
fn spawn_mail_sender(settings: &Settings, db: &Db) -> Result<(), ServeError> {
    match &settings.smtp {
        Some(smtp) => {
            tracing::info!(host = %smtp.host, port = smtp.port, "sending e-mail through SMTP");
            Sender::new(db.clone(), smtp, settings.mail_policy)?.spawn();
        }
        None => tracing::info!(
            "no SMTP server configured (ONEAUTH_SMTP_URL): e-mail waits in the outbox, which the console shows"
        ),
    }
    Ok(())
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

/// Migrate, then serve until SIGINT or SIGTERM.
pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    let db = open_database(&settings).await?;
    let addr = settings.bind;
    spawn_cleanup(db.clone());
    spawn_mail_sender(&settings, &db)?;
    crate::core::passwords::warm_up();
    crate::http::assets::precompress_in_background(&settings.site_root);
    let state = AppState::new(db.clone(), settings);
    Arc::clone(&state.grant_tally).spawn_flusher(db.clone());
    let grant_tally = Arc::clone(&state.grant_tally);
    let public_url = state.settings.public_url.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    tracing::info!("1Auth is listening on http://{addr} (public URL {public_url})");
    serve_connections(listener, router(state), shutdown_signal()).await;
    // What was counted since the last flush still goes to the audit log.
    if let Err(err) = grant_tally.flush(&db).await {
        tracing::warn!(%err, "writing the last machine-token counts to the audit log failed");
    }
    Ok(())
}

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
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(std::time::Duration::from_secs(30))
        .keep_alive_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
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
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("connections still open after 30 s; stopping anyway");
        }
    }
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
