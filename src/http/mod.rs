//! Routes that are protocol, not UI: health probes and the OAuth/OpenID
//! Connect endpoints of every app; the browser session plumbing they share
//! with the server functions.

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub mod assets;
pub mod client;
pub mod cookies;
pub mod health;
pub mod metrics;
mod oauth;
pub mod observe;
pub mod origin_check;
pub mod security_headers;
pub mod session_store;
pub mod signins;
pub mod text_only;
pub mod upstream;

/// No request of 1Auth's carries more than a few kilobytes (forms, JSON of
/// a passkey ceremony); a larger body is refused (413) before it is read.
pub const MOST_BODY_BYTES: usize = 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(oauth::routes())
        .merge(upstream::routes())
}
