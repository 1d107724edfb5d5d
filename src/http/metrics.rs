//! `/metrics`: the process's registry (`telemetry.rs`) in Prometheus' text
//! format, to a scraper and never to the internet. Three ways in, all off
//! by default:
//! - `ONEAUTH_METRICS_BIND`: a listener of its own (an internal address a
//!   scraper in another container reaches), serving nothing else;
//! - `ONEAUTH_METRICS_TOKEN_FILE`: on the main port, to a request bearing
//!   that token;
//! - `ONEAUTH_METRICS=on`: on the main port, to a client on this machine
//!   that no proxy forwarded (a scraper beside the process).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::state::AppState;

/// What a busy server asks clients to wait before trying again (seconds).
pub const RETRY_AFTER_SECS: &str = "1";

/// Count one 503 answered because a database connection, a lock or the
/// password hasher was not free in time.
pub fn count_busy() {
    crate::core::measure::busy_answered();
}

/// Make `headers` those of a "busy, try again" answer: counted, and with
/// the `Retry-After` the client should honour.
pub fn mark_busy(headers: &mut HeaderMap) {
    count_busy();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
}

/// `/metrics` on the main port.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !may_scrape(&state, peer, &headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    rendered(&state).await
}

/// The router of `ONEAUTH_METRICS_BIND`'s own listener: `/metrics` to
/// whoever reaches that address, 404 for anything else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { rendered(&state).await }),
        )
        .with_state(state)
}

/// N11: a bearer of the configured token, or (when turned on) a scraper on
/// this machine that no proxy forwarded.
fn may_scrape(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    if let Some(token) = &state.settings.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if bool::from(presented.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
            return true;
        }
    }
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    state.settings.metrics && peer.ip().to_canonical().is_loopback() && !forwarded
}

async fn rendered(state: &AppState) -> Response {
    let mut response = crate::telemetry::render(state).await.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
