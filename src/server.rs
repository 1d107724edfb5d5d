//! Assembling and running the web server: protocol routes from `http/`, the
//! Leptos app (hosted pages, console) and its server functions.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use sea_orm::DatabaseConnection;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::{App, shell};
use crate::config::Settings;
use crate::core::db;
use crate::core::passkeys::RelyingParty;
use crate::core::vault::{Vault, VaultError};
use crate::http::origin_check::{canonical_host, require_same_origin};
use crate::http::session_store::DbSessionStore;

/// The browser session cookie. It only points at server-side records; every
/// app's sign-in has its own record with the app's own lifetimes.
pub const SESSION_COOKIE: &str = "oneauth_session";

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    /// The WebAuthn relying party; `None` when the public URL is an IP
    /// address (browsers refuse passkeys there).
    pub relying_party: Option<RelyingParty>,
    /// Seals and opens secrets at rest (signing keys...).
    pub vault: Vault,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

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
}

fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("oneauth")
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(settings.bind)
        .build()
}

impl AppState {
    pub fn new(db: DatabaseConnection, settings: Settings, vault: Vault) -> Self {
        let leptos_options = leptos_options(&settings);
        let relying_party = match RelyingParty::new(&settings.public_url) {
            Ok(rp) => Some(rp),
            Err(err) => {
                tracing::warn!("passkeys are unavailable: {err}");
                None
            }
        };
        Self {
            db,
            settings: Arc::new(settings),
            leptos_options,
            relying_party,
            vault,
        }
    }
}

/// The whole HTTP surface of 1Auth.
pub fn router(state: AppState) -> Router {
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)));
    Router::new()
        .merge(crate::http::routes())
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
        .with_state(state)
}

/// Delete expired browser sessions every hour.
fn spawn_session_cleanup(db: DatabaseConnection) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(db);
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if let Err(err) = store.delete_expired().await {
                tracing::warn!(%err, "deleting expired browser sessions failed");
            }
        }
    });
}

/// Migrate, then serve until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, db: DatabaseConnection) -> Result<(), ServeError> {
    db::migrate(&db).await?;
    let addr = settings.bind;
    let vault = settings.vault()?;
    spawn_session_cleanup(db.clone());
    crate::core::passwords::warm_up();
    let state = AppState::new(db, settings, vault);
    let public_url = state.settings.public_url.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    tracing::info!("1Auth is listening on http://{addr} (public URL {public_url})");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
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
