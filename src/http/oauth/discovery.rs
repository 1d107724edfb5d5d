//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and the JWK Set.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{find_app, unknown_app_json};
use crate::core::oidc::{keys, scope};
use crate::server::AppState;

pub async fn configuration(State(state): State<AppState>, Path(app_id): Path<String>) -> Response {
    let Some(app) = find_app(&state, &app_id).await else {
        return unknown_app_json();
    };
    let issuer = state.settings.issuer(&app.id);
    let endpoint = |path: &str| format!("{issuer}/oauth/{path}");
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "jwks_uri": endpoint("jwks"),
        "revocation_endpoint": endpoint("revoke"),
        "introspection_endpoint": endpoint("introspect"),
        "end_session_endpoint": endpoint("end_session"),
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": ["phr", "pwd", "otp"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
            "email", "email_verified", "name", "preferred_username",
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

pub async fn jwks(State(state): State<AppState>, Path(app_id): Path<String>) -> Response {
    let Some(app) = find_app(&state, &app_id).await else {
        return unknown_app_json();
    };
    match keys::jwks(&state.db, &state.vault, &app.id).await {
        Ok(set) => {
            let mut response = Json(set).into_response();
            // Short: verifiers must see a rotation soon.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
            response
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
