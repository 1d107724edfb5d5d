//! An app's roles in the console: their policies, and granting and revoking
//! them.

#[cfg(feature = "ssr")]
use crate::types::RoleName;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    pub name: String,
    pub description: String,
    pub require_passkey: bool,
    pub max_auth_age_secs: Option<i64>,
    pub builtin: bool,
    pub holders: u64,
}

#[server]
pub async fn console_roles(app_id: String) -> Result<Vec<RoleView>, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    Ok(
        crate::core::admin::roles::list(&state().db, &operator, &app_id)
            .await?
            .into_iter()
            .map(|(r, holders)| RoleView {
                name: r.name,
                description: r.description,
                require_passkey: r.require_passkey,
                max_auth_age_secs: r.max_auth_age_secs,
                builtin: r.builtin,
                holders,
            })
            .collect(),
    )
}

#[server]
pub async fn console_create_role(
    app_id: String,
    name: String,
    description: Option<String>,
    require_passkey: Option<String>,
    max_auth_age_secs: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let policy = policy(require_passkey, max_auth_age_secs)?;
    crate::core::admin::roles::create(
        &state().db,
        &operator,
        &app_id,
        &RoleName::parse(&name).map_err(invalid("name"))?,
        description.unwrap_or_default(),
        policy,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_update_role(
    app_id: String,
    name: String,
    description: Option<String>,
    require_passkey: Option<String>,
    max_auth_age_secs: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let policy = policy(require_passkey, max_auth_age_secs)?;
    crate::core::admin::roles::update(
        &state().db,
        &operator,
        &app_id,
        &RoleName::parse(&name).map_err(invalid("name"))?,
        description.unwrap_or_default(),
        policy,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_delete_role(app_id: String, name: String) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let name = RoleName::parse(&name).map_err(invalid("name"))?;
    crate::core::admin::roles::delete(&state().db, &operator, &app_id, &name).await?;
    Ok(())
}

#[server]
pub async fn console_grant_role(
    app_id: String,
    user_id: String,
    role: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let role = RoleName::parse(&role).map_err(invalid("role"))?;
    crate::core::admin::roles::grant(&state().db, &operator, &app_id, &user_id, &role).await?;
    Ok(())
}

#[server]
pub async fn console_revoke_role(
    app_id: String,
    user_id: String,
    role: String,
    confirmation: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let role = RoleName::parse(&role).map_err(invalid("role"))?;
    crate::core::admin::roles::revoke(
        &state().db,
        &operator,
        &app_id,
        &user_id,
        &role,
        confirmation.as_deref(),
    )
    .await?;
    Ok(())
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
pub(super) mod ssr {
    use crate::api::ApiError;
    pub use crate::api::context::*;

    pub fn policy(
        require_passkey: Option<String>,
        max_auth_age_secs: Option<String>,
    ) -> Result<crate::core::roles::RolePolicy, ApiError> {
        let max = match max_auth_age_secs
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(raw) => Some(raw.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
                ApiError::invalid(
                    "max_auth_age_secs",
                    "Enter a positive number of seconds, or leave it empty.",
                )
            })?),
            None => None,
        };
        Ok(crate::core::roles::RolePolicy {
            require_passkey: require_passkey.is_some(),
            max_auth_age_secs: max,
        })
    }
}
