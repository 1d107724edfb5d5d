//! `/metrics`: what an operator watches under load, in Prometheus' text
//! format. Off unless `ONEAUTH_METRICS` turns it on, and then served only
//! to a client on this machine that no proxy forwarded (a scraper beside
//! the process), never to the internet through a proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::core::passwords;
use crate::state::AppState;

/// Answers "busy, try again" (503) given since start.
static BUSY_ANSWERS: AtomicU64 = AtomicU64::new(0);

/// What a busy server asks clients to wait before trying again (seconds).
pub const RETRY_AFTER_SECS: &str = "1";

/// Count one 503 answered because a database connection, a lock or the
/// password hasher was not free in time.
pub fn count_busy() {
    BUSY_ANSWERS.fetch_add(1, Ordering::Relaxed);
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

pub fn busy_answers() -> u64 {
    BUSY_ANSWERS.load(Ordering::Relaxed)
}

pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    // N11: off unless turned on (ONEAUTH_METRICS), and then only for a
    // scraper on this machine that no proxy forwarded.
    if !state.settings.metrics || !peer.ip().to_canonical().is_loopback() || forwarded {
        return StatusCode::NOT_FOUND.into_response();
    }
    let body = format!(
        "# HELP oneauth_busy_answers_total Requests answered 503 (busy, try again) since start.\n\
         # TYPE oneauth_busy_answers_total counter\n\
         oneauth_busy_answers_total {}\n\
         # HELP oneauth_password_hashes_total Password verifications since start.\n\
         # TYPE oneauth_password_hashes_total counter\n\
         oneauth_password_hashes_total {}\n\
         # HELP oneauth_password_hashes_refused_total Password hashes refused because the queue was full.\n\
         # TYPE oneauth_password_hashes_refused_total counter\n\
         oneauth_password_hashes_refused_total {}\n\
         # HELP oneauth_password_hashes_waiting Password hashes waiting for a core now.\n\
         # TYPE oneauth_password_hashes_waiting gauge\n\
         oneauth_password_hashes_waiting {}\n\
         # HELP oneauth_machine_tokens_unsummarised Machine tokens issued and not yet summarised in the audit log.\n\
         # TYPE oneauth_machine_tokens_unsummarised gauge\n\
         oneauth_machine_tokens_unsummarised {}\n\
         # HELP oneauth_refresh_reads_total Refresh tokens read since start.\n\
         # TYPE oneauth_refresh_reads_total counter\n\
         oneauth_refresh_reads_total {}\n\
         # HELP oneauth_refresh_read_statements_total Statements those reads took (several reads share one under load).\n\
         # TYPE oneauth_refresh_read_statements_total counter\n\
         oneauth_refresh_read_statements_total {}\n",
        busy_answers(),
        passwords::verifications(),
        passwords::hashes_refused(),
        passwords::hashes_waiting(),
        state.grant_tally.pending(),
        state.refresh_reads.reads(),
        state.refresh_reads.statements(),
    );
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
