//! Routes that are protocol, not UI: health probes and the OAuth/OpenID
//! Connect endpoints of every app; the browser session plumbing they share
//! with the server functions.

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub mod assets;
pub mod client;
pub mod cookies;
mod health;
pub mod metrics;
mod oauth;
pub mod observe;
pub mod origin_check;
pub mod security_headers;
pub mod session_store;
pub mod signins;
pub mod upstream;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(oauth::routes())
        .merge(upstream::routes())
}
