//! Assembling and running the web server: protocol routes from `http/`, the
//! Leptos app (hosted pages, console) and its server functions.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use sea_orm::DatabaseConnection;

use crate::app::{App, shell};
use crate::config::Settings;
use crate::core::db;

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
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
    pub fn new(db: DatabaseConnection, settings: Settings) -> Self {
        let leptos_options = leptos_options(&settings);
        Self {
            db,
            settings: Arc::new(settings),
            leptos_options,
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
    Router::new()
        .merge(crate::http::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .with_state(state)
}

/// Migrate, then serve until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, db: DatabaseConnection) -> Result<(), ServeError> {
    db::migrate(&db).await?;
    let addr = settings.bind;
    let state = AppState::new(db, settings);
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
