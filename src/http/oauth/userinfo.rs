//! GET/POST /a/{app_id}/oauth/userinfo (OIDC Core §5.3), with a Bearer
//! access token of this app (RFC 6750).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::EntityTrait;

use super::json_app;
use super::responses::no_store_json;
use crate::core::oidc::introspection;
use crate::core::oidc::minting::{self, ACCESS_TOKEN_TYP};
use crate::core::oidc::scope::Scope;
use crate::entities::app_user;
use crate::state::AppState;
use crate::types::UserStatus;

fn invalid_token(description: &str) -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub async fn userinfo(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = match json_app(&state, &app_id).await {
        Ok(app) => app,
        Err(response) => return response,
    };
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    // RFC 6750 §2.2: the form-encoded body parameter, for POST only. Never
    // the query string (§2.3, RFC 9700 §4.3.2): URLs end up in logs.
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_body = || {
        (method == Method::POST && is_form)
            .then(|| {
                url::form_urlencoded::parse(&body)
                    .collect::<HashMap<_, _>>()
                    .get("access_token")
                    .map(|v| v.to_string())
            })
            .flatten()
    };
    let Some(token) = from_header.or_else(from_body) else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    };
    let issuer = state.settings.issuer(&app.id);
    let verified = match minting::verify(
        &state.db,
        &app.id,
        &issuer,
        &token,
        Some(ACCESS_TOKEN_TYP),
        false,
    )
    .await
    {
        Ok(verified) => verified,
        Err(err) => return invalid_token(&err.to_string()),
    };
    match introspection::access_token_live(&state.db, &app, &verified).await {
        Ok(true) => {}
        Ok(false) => return invalid_token("the sign-in behind the token has ended"),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    let user = match app_user::Entity::find_by_id(verified.str("sub").unwrap_or_default())
        .one(&state.db)
        .await
    {
        Ok(Some(user)) if user.app_id == app.id && user.status == UserStatus::Active => user,
        Ok(_) => return invalid_token("the token's user is not active in this app"),
        Err(err) => {
            tracing::error!(%err, "loading a user failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let scope = Scope::parse(verified.str("scope").unwrap_or_default()).unwrap_or_default();
    if !scope.is_openid() {
        let mut response = StatusCode::FORBIDDEN.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\""),
        );
        return response;
    }
    no_store_json(
        StatusCode::OK,
        serde_json::Value::Object(minting::user_claims(&user, &scope)),
    )
}
