//! The console's apps: the list, creation, settings, disabling.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    pub brand_color: String,
    pub builtin: bool,
    pub disabled: bool,
    pub can_write: bool,
}

#[server]
pub async fn console_apps() -> Result<Vec<AppSummary>, ApiError> {
    use crate::core::admin;
    let operator = require_operator().await?;
    Ok(admin::apps::list(&state().db, &operator)
        .await?
        .into_iter()
        .map(|app| AppSummary {
            can_write: operator.can_write(&app.id),
            id: app.id.to_string(),
            name: app.name,
            brand_color: app.brand_color,
            builtin: app.builtin,
            disabled: app.disabled_at.is_some(),
        })
        .collect())
}

#[server]
pub async fn console_create_app(app_id: String, name: String) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let app_id = crate::types::AppId::parse(app_id.trim()).map_err(invalid("app_id"))?;
    let app = crate::core::admin::apps::create(&state().db, &operator, &app_id, &name).await?;
    Ok(app.id.to_string())
}

/// An app's settings as the console edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub id: String,
    pub name: String,
    pub brand_color: String,
    pub builtin: bool,
    pub disabled: bool,
    pub self_registration: bool,
    pub password_enabled: bool,
    pub passkey_enabled: bool,
    pub session_idle_secs: i64,
    pub session_absolute_secs: i64,
    pub access_token_ttl_secs: i64,
    pub refresh_idle_secs: i64,
    pub refresh_absolute_secs: i64,
    pub refresh_grace_secs: i64,
    pub require_pkce: bool,
    /// Resource servers clients may ask tokens for (RFC 8707), one per line.
    pub api_audiences: Vec<String>,
    pub email_sender_name: Option<String>,
    pub email_reply_to: Option<String>,
    pub require_verified_email: bool,
    pub notify_new_device: bool,
    /// Whether this server sends e-mail (else it waits in the outbox).
    pub smtp_configured: bool,
    pub issuer: String,
    pub can_write: bool,
}

#[server]
pub async fn console_app(app_id: String) -> Result<AppView, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let app = crate::core::admin::apps::get(&state().db, &operator, &app_id).await?;
    Ok(app_view(app, operator.can_configure(&app_id)))
}

/// Save an app's settings (checkboxes arrive only when ticked).
#[server]
#[allow(clippy::too_many_arguments)]
pub async fn console_update_app(
    app_id: String,
    name: String,
    brand_color: String,
    self_registration: Option<String>,
    password_enabled: Option<String>,
    passkey_enabled: Option<String>,
    require_pkce: Option<String>,
    session_idle_secs: String,
    session_absolute_secs: String,
    access_token_ttl_secs: String,
    refresh_idle_secs: String,
    refresh_absolute_secs: String,
    refresh_grace_secs: String,
    api_audiences: Option<String>,
    email_sender_name: Option<String>,
    email_reply_to: Option<String>,
    require_verified_email: Option<String>,
    notify_new_device: Option<String>,
) -> Result<(), ApiError> {
    let app_id = app_id_of(&app_id)?;
    use crate::core::apps::AppSettings;
    use crate::types::{ApiAudience, BrandColor, DisplayName, Email};
    let operator = require_operator().await?;
    let api_audiences = api_audiences
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(ApiAudience::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid("api_audiences"))?;
    let settings = AppSettings {
        name: DisplayName::parse(&name).map_err(invalid("name"))?,
        brand_color: BrandColor::parse(&brand_color).map_err(invalid("brand_color"))?,
        self_registration: self_registration.is_some(),
        password_enabled: password_enabled.is_some(),
        passkey_enabled: passkey_enabled.is_some(),
        require_pkce: require_pkce.is_some(),
        session_idle_secs: number("session_idle_secs", &session_idle_secs)?,
        session_absolute_secs: number("session_absolute_secs", &session_absolute_secs)?,
        access_token_ttl_secs: number("access_token_ttl_secs", &access_token_ttl_secs)?,
        refresh_idle_secs: number("refresh_idle_secs", &refresh_idle_secs)?,
        refresh_absolute_secs: number("refresh_absolute_secs", &refresh_absolute_secs)?,
        refresh_grace_secs: number("refresh_grace_secs", &refresh_grace_secs)?,
        api_audiences,
        email_sender_name: email_sender_name
            .filter(|name| !name.trim().is_empty())
            .map(|name| DisplayName::parse(&name))
            .transpose()
            .map_err(invalid("email_sender_name"))?,
        email_reply_to: email_reply_to
            .filter(|address| !address.trim().is_empty())
            .map(|address| Email::parse(&address))
            .transpose()
            .map_err(invalid("email_reply_to"))?,
        require_verified_email: require_verified_email.is_some(),
        notify_new_device: notify_new_device.is_some(),
    };
    crate::core::admin::apps::update(&state().db, &operator, &app_id, settings).await?;
    Ok(())
}

#[server]
pub async fn console_set_app_disabled(app_id: String, disabled: bool) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::apps::set_disabled(&state().db, &operator, &app_id, disabled).await?;
    Ok(())
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
mod ssr {
    use super::AppView;
    use crate::api::ApiError;
    pub use crate::api::context::*;

    pub fn app_view(app: crate::entities::app::Model, can_write: bool) -> AppView {
        let api_audiences = crate::core::oidc::resource::audiences(&app);
        AppView {
            issuer: state().settings.issuer(&app.id),
            disabled: app.disabled_at.is_some(),
            id: app.id.to_string(),
            name: app.name,
            brand_color: app.brand_color,
            builtin: app.builtin,
            self_registration: app.self_registration,
            password_enabled: app.password_enabled,
            passkey_enabled: app.passkey_enabled,
            session_idle_secs: app.session_idle_secs,
            session_absolute_secs: app.session_absolute_secs,
            access_token_ttl_secs: app.access_token_ttl_secs,
            refresh_idle_secs: app.refresh_idle_secs,
            refresh_absolute_secs: app.refresh_absolute_secs,
            refresh_grace_secs: app.refresh_grace_secs,
            require_pkce: app.require_pkce,
            api_audiences,
            email_sender_name: app.email_sender_name,
            email_reply_to: app.email_reply_to,
            require_verified_email: app.require_verified_email,
            notify_new_device: app.notify_new_device,
            smtp_configured: state().settings.smtp.is_some(),
            can_write,
        }
    }

    pub fn number(field: &'static str, raw: &str) -> Result<i64, ApiError> {
        raw.trim()
            .parse::<i64>()
            .map_err(|_| ApiError::invalid(field, "Enter a whole number of seconds."))
    }
}
