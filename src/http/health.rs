//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::core::db;
use crate::state::AppState;

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
    if !db::ping(&state.db).await {
        return unready("database unreachable".to_owned());
    }
    let mut body = "ready\n".to_owned();
    for (task, up) in state.health.tasks() {
        let how = if up { "running" } else { "restarting" };
        body.push_str(&format!("task {task}: {how}\n"));
    }
    (StatusCode::OK, body).into_response()
}
