//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and the JWK Set.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json_app;
use super::responses::oauth_error;
use crate::core::cache::TtlMap;
use crate::core::oidc::{keys, scope};
use crate::state::AppState;
use crate::types::AppId;

/// The discovery document of each app, serialised once a second at most.
struct Documents(TtlMap<AppId, Arc<str>>);

impl Default for Documents {
    fn default() -> Self {
        Self(TtlMap::named("discovery_documents"))
    }
}

fn document(state: &AppState, app_id: &str) -> Arc<str> {
    let issuer = state.settings.issuer(app_id);
    let endpoint = |path: &str| format!("{issuer}/oauth/{path}");
    json!({
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
            "org_id", "org_slug", "org_roles", "teams", "organizations",
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
    .to_string()
    .into()
}

/// A JSON body already serialised, with how long others may cache it.
fn json_bytes(body: Arc<str>, cache_control: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

pub async fn configuration(State(state): State<AppState>, Path(app_id): Path<String>) -> Response {
    let app = match json_app(&state, &app_id).await {
        Ok(app) => app,
        Err(response) => return response,
    };
    let documents = state.db.cached::<Documents>();
    let body = match documents.0.get(&app.id) {
        Some(body) => body,
        None => {
            let body = document(&state, &app.id);
            documents.0.put(app.id.clone(), Arc::clone(&body));
            body
        }
    };
    json_bytes(body, "public, max-age=300")
}

pub async fn jwks(State(state): State<AppState>, Path(app_id): Path<String>) -> Response {
    let app = match json_app(&state, &app_id).await {
        Ok(app) => app,
        Err(response) => return response,
    };
    match keys::published(&state.db, &app.id).await {
        // Short: verifiers must see a rotation soon.
        Ok(published) => json_bytes(Arc::clone(&published.jwks), "public, max-age=60"),
        Err(err) => oauth_error(&err, false),
    }
}
