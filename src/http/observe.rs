//! Every request observed: an id, on every log line written while it runs
//! (the `request` span) and in the answer's `x-request-id`, so a user's
//! report and the operator's logs meet; and its route template, method,
//! status and time in the metrics.
//!
//! The id is the one a trusted proxy sent (HAProxy's `unique-id`, an
//! ingress's `x-request-id`), so a request has one id from the balancer to
//! here; a client's own header is not believed (it could make its requests
//! look like someone else's in the logs). Otherwise a new one is made.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// Ids longer than this, or with other than visible ASCII, are not taken
/// from the proxy (they end up in log lines).
const MOST_ID_CHARS: usize = 128;

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&state, &request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        // Pages and files the router has no template for (the front end's
        // assets, the 404 page): one series, not one per path tried.
        .unwrap_or_else(|| "fallback".to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, "answered with a server error");
        } else {
            tracing::debug!(status, "answered");
        }
    });
    crate::core::measure::http_request(route, method.as_str(), status, started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The trusted proxy's id, or a new one.
fn request_id(state: &AppState, request: &Request) -> String {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    let from_proxy = peer
        .is_some_and(|ip| super::client::is_trusted_proxy(&ip, &state.settings.trusted_proxies));
    from_proxy
        .then(|| request.headers().get(REQUEST_ID))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .filter(|id| usable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

fn usable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MOST_ID_CHARS && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::usable;

    #[test]
    fn only_short_visible_ids_are_taken() {
        assert!(usable("c0a8010a:1f90_0a000001:01bb_6753c3a1_0001:3039"));
        assert!(!usable(""));
        assert!(!usable("two words"));
        assert!(!usable("line\nbreak"));
        assert!(!usable(&"x".repeat(129)));
    }
}
