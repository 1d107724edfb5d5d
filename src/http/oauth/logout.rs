//! GET/POST /a/{app_id}/oauth/end_session (OpenID Connect RP-Initiated
//! Logout 1.0).

use axum::extract::{Form, Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use super::find_app;
use super::page::{busy_page, error_page};
use super::responses::found;
use crate::core::oidc::logout::{self, EndSessionParams, LogoutOutcome};
use crate::http::{client, signins};
use crate::state::AppState;

pub async fn end_session_get(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    session: Session,
    headers: HeaderMap,
    extensions: Extensions,
    Query(params): Query<EndSessionParams>,
) -> Response {
    handle(state, app_id, session, headers, extensions, params).await
}

pub async fn end_session_post(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    session: Session,
    headers: HeaderMap,
    extensions: Extensions,
    Form(params): Form<EndSessionParams>,
) -> Response {
    handle(state, app_id, session, headers, extensions, params).await
}

async fn handle(
    state: AppState,
    app_id: String,
    session: Session,
    headers: HeaderMap,
    extensions: Extensions,
    params: EndSessionParams,
) -> Response {
    let app = match find_app(&state, &app_id).await {
        Ok(Some(app)) => app,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "Unknown app",
                &format!("There is no app called \"{app_id}\"."),
            );
        }
        Err(_) => return busy_page(),
    };
    let unavailable = || {
        error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Try again",
            "The service is unavailable; try again shortly.",
        )
    };
    let current = match signins::current(&state.db, &session, &app).await {
        Ok(current) => current,
        Err(err) => {
            tracing::error!(%err, "reading the browser session failed");
            return unavailable();
        }
    };
    let client_info = client::client_info(&headers, &extensions, &state.settings.trusted_proxies);
    let issuer = state.settings.issuer(&app.id);
    match logout::end_session(
        &state.db,
        &issuer,
        &app,
        params,
        current.as_ref(),
        &client_info,
    )
    .await
    {
        Ok(LogoutOutcome::ErrorPage(message)) => error_page(
            StatusCode::BAD_REQUEST,
            "This sign-out request is invalid",
            &message,
        ),
        Ok(LogoutOutcome::Redirect(target)) => found(&target),
        Ok(LogoutOutcome::Confirm) => found(&format!("/a/{}/logout", app.id)),
        Ok(LogoutOutcome::SignedOut(target)) => {
            if let Err(err) = signins::forget(&session, &app.id).await {
                tracing::error!(%err, "forgetting the sign-in failed");
            }
            found(&target)
        }
        Err(err) => {
            tracing::error!(%err, "sign-out failed");
            unavailable()
        }
    }
}
