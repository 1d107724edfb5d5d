//! An app's OAuth clients in the console: list, register, edit, rotate the
//! secret, disable.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub confidential: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_alg: String,
    pub disabled: bool,
    pub secret_rotated: Option<String>,
}

#[server]
pub async fn console_clients(app_id: String) -> Result<Vec<ClientView>, ApiError> {
    let app_id = app_id_of(&app_id)?;
    use crate::core::clients::{post_logout_redirect_uris, redirect_uris};
    let operator = require_operator().await?;
    Ok(
        crate::core::admin::apps::clients(&state().db, &operator, &app_id)
            .await?
            .into_iter()
            .map(|c| ClientView {
                redirect_uris: redirect_uris(&c),
                post_logout_redirect_uris: post_logout_redirect_uris(&c),
                disabled: c.disabled_at.is_some(),
                secret_rotated: c.secret_rotated_at.map(when),
                id: c.id,
                name: c.name,
                confidential: c.client_type == crate::types::ClientType::Confidential,
                id_token_alg: c.id_token_alg.to_string(),
            })
            .collect(),
    )
}

/// A new client; a confidential one's secret is in the answer, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewClientView {
    pub client_id: String,
    pub client_secret: Option<String>,
}

#[server]
pub async fn console_create_client(
    app_id: String,
    name: String,
    client_type: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    id_token_alg: String,
) -> Result<NewClientView, ApiError> {
    let app_id = app_id_of(&app_id)?;
    use crate::core::clients::NewClient;
    use crate::types::{ClientType, DisplayName};
    let operator = require_operator().await?;
    let redirect = uris("redirect_uris", &redirect_uris)?;
    if redirect.is_empty() {
        return Err(ApiError::invalid(
            "redirect_uris",
            "Register at least one redirect URI.",
        ));
    }
    let new = NewClient {
        name: DisplayName::parse(&name).map_err(invalid("name"))?,
        client_type: ClientType::parse(&client_type).map_err(invalid("client_type"))?,
        redirect_uris: redirect,
        post_logout_redirect_uris: uris("post_logout_redirect_uris", &post_logout_redirect_uris)?,
        id_token_alg: alg(&id_token_alg)?,
    };
    let (client, secret) =
        crate::core::admin::apps::create_client(&state().db, &operator, &app_id, new).await?;
    Ok(NewClientView {
        client_id: client.id,
        client_secret: secret.map(|s| s.expose().to_owned()),
    })
}

#[server]
pub async fn console_update_client(
    app_id: String,
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    id_token_alg: String,
) -> Result<(), ApiError> {
    let app_id = app_id_of(&app_id)?;
    use crate::core::clients::ClientChanges;
    use crate::types::DisplayName;
    let operator = require_operator().await?;
    let redirect = uris("redirect_uris", &redirect_uris)?;
    if redirect.is_empty() {
        return Err(ApiError::invalid(
            "redirect_uris",
            "Register at least one redirect URI.",
        ));
    }
    let changes = ClientChanges {
        name: DisplayName::parse(&name).map_err(invalid("name"))?,
        redirect_uris: redirect,
        post_logout_redirect_uris: uris("post_logout_redirect_uris", &post_logout_redirect_uris)?,
        id_token_alg: alg(&id_token_alg)?,
    };
    crate::core::admin::apps::update_client(&state().db, &operator, &app_id, &client_id, changes)
        .await?;
    Ok(())
}

#[server]
pub async fn console_rotate_client_secret(
    app_id: String,
    client_id: String,
) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let secret =
        crate::core::admin::apps::rotate_secret(&state().db, &operator, &app_id, &client_id)
            .await?;
    Ok(secret.expose().to_owned())
}

#[server]
pub async fn console_set_client_disabled(
    app_id: String,
    client_id: String,
    disabled: bool,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::apps::set_client_disabled(
        &state().db,
        &operator,
        &app_id,
        &client_id,
        disabled,
    )
    .await?;
    Ok(())
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
mod ssr {
    use crate::api::ApiError;
    pub use crate::api::context::*;

    /// URIs typed one per line (or separated by spaces).
    pub fn uris(
        field: &'static str,
        raw: &str,
    ) -> Result<Vec<crate::types::RedirectUri>, ApiError> {
        raw.split_whitespace()
            .map(|uri| {
                crate::types::RedirectUri::parse(uri).map_err(|e| ApiError::invalid(field, e.0))
            })
            .collect()
    }

    pub fn alg(raw: &str) -> Result<crate::types::Alg, ApiError> {
        crate::types::Alg::parse(raw)
            .map_err(|_| ApiError::invalid("id_token_alg", "Choose ES256 or RS256."))
    }
}
