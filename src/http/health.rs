//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::core::db;
use crate::state::AppState;

/// A balancer's health check waits this long for the database's answer.
const PING_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Paths that answer without the database: the probes, the metrics and the
/// front end's files.
fn needs_no_database(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/pkg/")
}

/// While the database probe gets no answer, every request that needs the
/// database is answered 503 with Retry-After at once (a client and a
/// balancer know to try again, or elsewhere), rather than waiting for a
/// connection that cannot come. A request already in flight when the
/// database goes away gets a moment to finish, then the same answer (its
/// transaction, if any, rolls back, as when a client hangs up). The probe
/// lets requests through again as soon as the database answers.
pub async fn unavailable_while_database_away(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if needs_no_database(request.uri().path()) {
        return next.run(request).await;
    }
    if state.health.database_away() {
        return database_away();
    }
    let gone_a_while = async {
        state.health.database_gone().await;
        tokio::time::sleep(IN_FLIGHT_WHILE_AWAY).await;
    };
    tokio::select! {
        response = next.run(request) => response,
        () = gone_a_while => database_away(),
    }
}

/// How long a request in flight when the database went away may still take.
const IN_FLIGHT_WHILE_AWAY: std::time::Duration = std::time::Duration::from_millis(500);

fn database_away() -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        "The service cannot reach its database right now. Try again in a moment.",
    )
        .into_response();
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
