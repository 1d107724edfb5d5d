//! OAuth 2.0 / OpenID Connect endpoints of every app, under `/a/{app_id}`.
//! Thin: each handler parses the request, calls `core::oidc`, and writes the
//! protocol's response (JSON errors per RFC 6749 §5.2, redirects per §4.1.2).

use axum::Router;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};

use crate::state::AppState;

mod authorize;
mod discovery;
mod logout;
pub(super) mod page;
mod responses;
mod token;
mod userinfo;

pub fn routes() -> Router<AppState> {
    // Endpoints that other origins' JavaScript (single-page apps) call with
    // their own credentials, never cookies.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let cross_origin = Router::new()
        .route(
            "/a/{app_id}/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/a/{app_id}/oauth/jwks", get(discovery::jwks))
        .route("/a/{app_id}/oauth/token", post(token::token))
        .route(
            "/a/{app_id}/oauth/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/a/{app_id}/oauth/revoke", post(token::revoke))
        .route("/a/{app_id}/oauth/introspect", post(token::introspect))
        .layer(cors);
    Router::new()
        .route(
            "/a/{app_id}/oauth/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/a/{app_id}/oauth/end_session",
            get(logout::end_session_get).post(logout::end_session_post),
        )
        .merge(cross_origin)
}

/// The enabled app behind `/a/{app_id}`; `Ok(None)` when there is none, an
/// error when the database could not say (never "no such app" then: a
/// client would take its configuration for wrong).
pub(super) async fn find_app(
    state: &AppState,
    app_id: &str,
) -> Result<Option<crate::entities::app::Model>, sea_orm::DbErr> {
    let Ok(id) = crate::types::AppId::parse(app_id) else {
        return Ok(None);
    };
    let app = crate::core::apps::find_cached(&state.db, &id).await?;
    Ok(app.filter(|a| a.disabled_at.is_none()))
}

/// The enabled app behind `/a/{app_id}`, or the JSON answer: 404 for none,
/// 503 for a database that did not answer.
async fn json_app(
    state: &AppState,
    app_id: &str,
) -> Result<crate::entities::app::Model, axum::response::Response> {
    find_app(state, app_id)
        .await
        .map_err(responses::unavailable)?
        .ok_or_else(unknown_app_json)
}

/// 404 for an unknown app, as JSON for the API endpoints.
fn unknown_app_json() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": crate::core::oidc::ErrorCode::InvalidRequest.as_str(),
            "error_description": "There is no such app.",
        })),
    )
        .into_response()
}
