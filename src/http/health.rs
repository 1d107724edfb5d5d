//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::core::db;
use crate::state::AppState;

/// A balancer's health check waits this long for the database's answer.
const PING_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// The probes, the metrics and the front end's files: what a balancer, a
/// scraper or a cached page asks for, which needs neither the database nor
/// the public host name.
pub fn is_probe_or_asset(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/pkg/")
}

/// While the database probe gets no answer, every new request that needs
/// the database is answered 503 with Retry-After at once (a client and a
/// balancer know to try again, or elsewhere), rather than waiting for a
/// connection that cannot come. Requests already in flight are left to
/// finish or fail on their own (a connection error, the pool's time-out:
/// 503 too); cutting one short could hide a change it had committed. The
/// same answer while this process holds a master key the deployment has
/// rotated away from (it could only fail). The probe lets requests through
/// again as soon as the database answers.
pub async fn unavailable_while_database_away(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !is_probe_or_asset(request.uri().path()) {
        if state.health.database_away() {
            return unavailable(
                "The service cannot reach its database right now. Try again in a moment.",
            );
        }
        if state.health.key_rotated() {
            return unavailable("This server is being restarted. Try again in a moment.");
        }
    }
    next.run(request).await
}

fn unavailable(why: &'static str) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    super::metrics::mark_busy(response.headers_mut());
    response
}

/// The process is up and answering.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work: it is not stopping and the database
/// answers. A balancer health-checking this sends no new requests to a
/// draining server (SIGTERM) or one cut off from its database, and sends
/// them again when it recovers. The body also lists the supervised
/// background tasks; one waiting to restart does not stop requests being
/// served (taking every node out for a stuck mail server would be an
/// outage), so it shows here and in `oneauth_task_up` instead.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let unready = |why: String| {
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(super::metrics::RETRY_AFTER_SECS),
        );
        response
    };
    if state.health.draining() {
        return unready("stopping".to_owned());
    }
    if state.health.key_rotated() {
        return unready("the master key was rotated: restart with the new key".to_owned());
    }
    // The probe's verdict when it has one; else a ping of the pool (which
    // the probe may overtake by finding the database gone meanwhile).
    let answered = !state.health.database_away()
        && tokio::select! {
            answered = tokio::time::timeout(PING_WITHIN, db::ping(&state.db)) => {
                matches!(answered, Ok(true))
            }
            () = state.health.database_gone() => false,
        };
    if !answered {
        return unready("database unreachable".to_owned());
    }
    let mut body = "ready\n".to_owned();
    for (task, up) in state.health.tasks() {
        let how = if up { "running" } else { "restarting" };
        body.push_str(&format!("task {task}: {how}\n"));
    }
    (StatusCode::OK, body).into_response()
}
