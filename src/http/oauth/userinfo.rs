//! GET/POST /a/{app_id}/oauth/userinfo (OIDC Core §5.3), with a Bearer
//! access token of this app (RFC 6750).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json_app;
use super::responses::no_store_json;
use crate::core::oidc::userinfo::{self, UserinfoError};
use crate::state::AppState;

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
    match userinfo::claims(&state.db, &app, &issuer, &token).await {
        Ok(claims) => no_store_json(StatusCode::OK, serde_json::Value::Object(claims)),
        Err(UserinfoError::InvalidToken(why)) => invalid_token(&why),
        Err(UserinfoError::InsufficientScope) => {
            let mut response = StatusCode::FORBIDDEN.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\""),
            );
            response
        }
        Err(UserinfoError::Failed(failed)) => super::responses::oauth_error(&failed, false),
    }
}
