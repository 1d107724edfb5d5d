//! Routes that are protocol, not UI: health probes now; OAuth/OIDC endpoints
//! and metrics join here.

use axum::Router;
use axum::routing::get;

use crate::server::AppState;

mod health;
pub mod origin_check;
pub mod session_store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}
