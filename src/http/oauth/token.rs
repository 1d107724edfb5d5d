//! POST /a/{app_id}/oauth/token, /revoke and /introspect: the endpoints a
//! client authenticates to (RFC 6749 §2.3).

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::json_app;
use super::responses::{no_store_json, oauth_error};
use crate::core::measure;
use crate::core::oidc::grants::{self, ClientCredentials, Issuer};
use crate::core::oidc::introspection;
use crate::core::oidc::{ErrorCode, OAuthError};
use crate::entities::{app, oauth_client};
use crate::state::AppState;

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before encoding.
fn decode_component(raw: &str) -> String {
    url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The client's credentials from the Authorization header or the body;
/// both at once is an error (RFC 6749 §2.3).
fn credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<ClientCredentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    let body_id = form.get("client_id").filter(|v| !v.is_empty());
    let body_secret = form.get("client_secret").filter(|v| !v.is_empty());
    match basic {
        Some(encoded) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "Use one client authentication method, not two.",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    OAuthError::invalid_client("The Basic credentials are malformed.")
                })?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| {
                OAuthError::invalid_client("The Basic credentials are malformed.")
            })?;
            let client_id = decode_component(id);
            if body_id.is_some_and(|b| *b != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client.",
                ));
            }
            Ok(ClientCredentials::Basic {
                client_id,
                secret: decode_component(secret),
            })
        }
        None => Ok(match (body_id, body_secret) {
            (Some(id), Some(secret)) => ClientCredentials::Post {
                client_id: id.clone(),
                secret: secret.clone(),
            },
            (Some(id), None) => ClientCredentials::Public {
                client_id: id.clone(),
            },
            _ => ClientCredentials::None,
        }),
    }
}

/// The app and the authenticated client, or the response that says why not.
async fn authenticated(
    state: &AppState,
    app_id: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(app::Model, oauth_client::Model), Response> {
    let app = json_app(state, app_id).await?;
    let creds = credentials(headers, form).map_err(|e| oauth_error(&e, false))?;
    match grants::authenticate_client(&state.db, &app, &creds).await {
        Ok(client) => Ok((app, client)),
        Err(err) => Err(oauth_error(&err, creds.used_basic())),
    }
}

pub async fn token(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let grant_type = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let (app, client) = match authenticated(&state, &app_id, &headers, &form).await {
        Ok(found) => found,
        Err(response) => {
            measure::token_grant(grant_type, "client_refused");
            return response;
        }
    };
    let issuer_url = state.settings.issuer(&app.id);
    let issuer = Issuer {
        db: &state.db,
        issuer: &issuer_url,
        app: &app,
        tally: &state.grant_tally,
        refresh_reads: &state.refresh_reads,
        rotations: &state.rotations,
    };
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let result = match field("grant_type") {
        Some("authorization_code") => match field("code") {
            Some(code) => {
                grants::exchange_code(
                    &issuer,
                    &client,
                    code,
                    field("redirect_uri"),
                    field("code_verifier"),
                    field("resource"),
                )
                .await
            }
            None => Err(OAuthError::invalid_request("code is missing.")),
        },
        Some("refresh_token") => match field("refresh_token") {
            Some(token) => {
                grants::refresh(&issuer, &client, token, field("scope"), field("resource")).await
            }
            None => Err(OAuthError::invalid_request("refresh_token is missing.")),
        },
        Some("client_credentials") => {
            grants::client_credentials(&issuer, &client, field("scope"), field("resource")).await
        }
        Some(other) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("The grant type \"{other}\" is not supported."),
        )),
        None => Err(OAuthError::invalid_request("grant_type is missing.")),
    };
    match result {
        Ok(tokens) => {
            measure::token_grant(grant_type, "issued");
            no_store_json(
                StatusCode::OK,
                serde_json::to_value(tokens).expect("a token response serialises"),
            )
        }
        Err(err) => {
            measure::token_grant(grant_type, err.error.as_str());
            oauth_error(&err, false)
        }
    }
}

/// RFC 7009: always 200 for a well-formed request by an authenticated
/// client, whether or not the token was known.
pub async fn revoke(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (app, client) = match authenticated(&state, &app_id, &headers, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(&OAuthError::invalid_request("token is missing."), false);
    };
    match introspection::revoke(&state.db, &app, &client, token).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => oauth_error(&err, false),
    }
}

pub async fn introspect(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (app, client) = match authenticated(&state, &app_id, &headers, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(&OAuthError::invalid_request("token is missing."), false);
    };
    let issuer = state.settings.issuer(&app.id);
    match introspection::introspect(&state.db, &issuer, &app, &client, token).await {
        Ok(body) => no_store_json(StatusCode::OK, body),
        Err(err) => oauth_error(&err, false),
    }
}
