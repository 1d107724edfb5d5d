//! Server functions behind the operator console (`/console/...`). Each
//! resolves the signed-in operator, then calls one `core::admin` function,
//! which checks permissions and guardrails on the server.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
#[cfg(feature = "ssr")]
use super::context::*;

/// Who is at the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub email: String,
    /// e.g. "owner", or "admin of demo, auditor of shop".
    pub access: String,
    pub can_create_apps: bool,
}

#[server]
pub async fn console_me() -> Result<OperatorView, ApiError> {
    use crate::core::console::Scope;
    let operator = require_operator().await?;
    let access = operator
        .grants
        .iter()
        .map(|g| match &g.scope {
            Scope::All => g.level.as_str().to_owned(),
            Scope::App(app) => format!("{} of {app}", g.level.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(OperatorView {
        email: operator.user().email.clone(),
        access,
        can_create_apps: operator.can_create_apps(),
    })
}

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
            id: app.id,
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
    let app =
        crate::core::admin::apps::create(&state().db, &operator, app_id.trim(), &name).await?;
    Ok(app.id)
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
    pub issuer: String,
    pub can_write: bool,
}

#[cfg(feature = "ssr")]
fn app_view(app: crate::entities::app::Model, can_write: bool) -> AppView {
    let api_audiences = crate::core::oidc::resource::audiences(&app);
    AppView {
        issuer: state().settings.issuer(&app.id),
        disabled: app.disabled_at.is_some(),
        id: app.id,
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
        can_write,
    }
}

#[server]
pub async fn console_app(app_id: String) -> Result<AppView, ApiError> {
    let operator = require_operator().await?;
    let app = crate::core::admin::apps::get(&state().db, &operator, &app_id).await?;
    Ok(app_view(app, operator.can_configure(&app_id)))
}

#[cfg(feature = "ssr")]
fn number(field: &'static str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::invalid(field, "Enter a whole number of seconds."))
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
) -> Result<(), ApiError> {
    use crate::core::apps::AppSettings;
    use crate::core::types::{ApiAudience, BrandColor, DisplayName};
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
    };
    crate::core::admin::apps::update(&state().db, &operator, &app_id, settings).await?;
    Ok(())
}

#[server]
pub async fn console_set_app_disabled(app_id: String, disabled: bool) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    crate::core::admin::apps::set_disabled(&state().db, &operator, &app_id, disabled).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_alg: String,
    pub disabled: bool,
    pub secret_rotated: Option<String>,
}

#[server]
pub async fn console_clients(app_id: String) -> Result<Vec<ClientView>, ApiError> {
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
                client_type: c.client_type,
                id_token_alg: c.id_token_alg,
            })
            .collect(),
    )
}

/// URIs typed one per line (or separated by spaces).
#[cfg(feature = "ssr")]
fn uris(field: &'static str, raw: &str) -> Result<Vec<crate::core::types::RedirectUri>, ApiError> {
    raw.split_whitespace()
        .map(|uri| {
            crate::core::types::RedirectUri::parse(uri).map_err(|e| ApiError::invalid(field, e.0))
        })
        .collect()
}

#[cfg(feature = "ssr")]
fn alg(raw: &str) -> Result<crate::core::oidc::keys::Alg, ApiError> {
    crate::core::oidc::keys::Alg::parse(raw)
        .ok_or_else(|| ApiError::invalid("id_token_alg", "Choose ES256 or RS256."))
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
    use crate::core::clients::NewClient;
    use crate::core::types::{ClientType, DisplayName};
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
    use crate::core::clients::ClientChanges;
    use crate::core::types::DisplayName;
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub status: String,
    pub created: String,
    pub last_sign_in: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserRow>,
    pub total: u64,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

#[server]
pub async fn console_users(
    app_id: String,
    query: Option<String>,
    after: Option<String>,
) -> Result<UsersPage, ApiError> {
    use crate::core::admin::users::PAGE;
    let operator = require_operator().await?;
    let after = after.filter(|a| !a.is_empty());
    let (users, total) = crate::core::admin::users::page(
        &state().db,
        &operator,
        &app_id,
        query.as_deref(),
        after.as_deref(),
    )
    .await?;
    let next = (users.len() as u64 == PAGE)
        .then(|| users.last().map(|u| u.email.clone()))
        .flatten();
    Ok(UsersPage {
        users: users
            .into_iter()
            .map(|u| UserRow {
                created: when(u.created_at),
                last_sign_in: u.last_sign_in_at.map(when),
                id: u.id,
                email: u.email,
                status: u.status,
            })
            .collect(),
        total,
        next,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub signed_in: String,
    pub last_seen: String,
    pub methods: Vec<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub app_id: String,
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub actor_type: String,
    pub action: String,
    pub target: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetailView {
    pub id: String,
    pub app_id: String,
    pub email: String,
    pub status: String,
    pub email_verified: bool,
    pub created: String,
    pub has_password: bool,
    pub passkeys: Vec<FactorRow>,
    pub sessions: Vec<SessionRow>,
    pub roles: Vec<String>,
    /// Roles of the app this user does not hold (to grant).
    pub other_roles: Vec<String>,
    pub events: Vec<AuditRow>,
    pub can_write: bool,
    pub is_self: bool,
}

#[cfg(feature = "ssr")]
fn audit_row(event: crate::entities::audit_event::Model) -> AuditRow {
    let details: serde_json::Value = serde_json::from_str(&event.details).unwrap_or_default();
    let summary = [
        "email",
        "role",
        "method",
        "reason",
        "name",
        "client_id",
        "grant_type",
    ]
    .iter()
    .filter_map(|key| {
        // Creations and updates keep their fields under "after".
        details
            .get(*key)
            .or_else(|| details.get("after").and_then(|after| after.get(*key)))
            .and_then(|v| v.as_str())
            .map(|v| format!("{key}: {v}"))
    })
    .collect::<Vec<_>>()
    .join(" · ");
    AuditRow {
        id: event.id,
        app_id: event.app_id,
        seq: event.seq,
        at: when(event.occurred_at),
        actor: event.actor_label,
        actor_type: event.actor_type,
        action: event.action,
        target: event.target_id,
        summary,
    }
}

#[server]
pub async fn console_user(app_id: String, user_id: String) -> Result<UserDetailView, ApiError> {
    let operator = require_operator().await?;
    let db = &state().db;
    let detail = crate::core::admin::users::detail(db, &operator, &app_id, &user_id).await?;
    let roles_held = detail.roles.clone();
    let all_roles = crate::core::roles::list(db, &app_id)
        .await
        .map_err(internal)?;
    let other_roles = all_roles
        .into_iter()
        .map(|r| r.name)
        .filter(|name| !detail.roles.contains(name) && operator.may_assign(&app_id, name))
        .collect();
    Ok(UserDetailView {
        id: detail.user.id.clone(),
        app_id: detail.user.app_id.clone(),
        email: detail.user.email.clone(),
        status: detail.user.status.clone(),
        email_verified: detail.user.email_verified,
        created: when(detail.user.created_at),
        has_password: detail.has_password,
        passkeys: detail
            .passkeys
            .into_iter()
            .map(|p| FactorRow {
                created: when(p.created_at),
                last_used: p.last_used_at.map(when),
                id: p.id,
                name: p.name,
            })
            .collect(),
        sessions: detail
            .sessions
            .into_iter()
            .map(|s| SessionRow {
                signed_in: when(s.created_at),
                last_seen: when(s.last_seen_at),
                methods: crate::core::sessions::decode_amr(&s.amr),
                address: s.client_address,
                id: s.id,
            })
            .collect(),
        roles: detail.roles,
        other_roles,
        events: detail.recent_events.into_iter().map(audit_row).collect(),
        // Above the operator's own level, the page offers no changes (the
        // server refuses them whatever the page shows).
        can_write: operator.can_write(&app_id)
            && (operator.is_self(&app_id, &user_id) || operator.may_act_on(&app_id, &roles_held)),
        is_self: operator.is_self(&app_id, &user_id),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user_id: String,
    /// The invitation link, shown once.
    pub invite_link: Option<String>,
}

#[server]
pub async fn console_create_user(
    app_id: String,
    email: String,
    roles: Option<String>,
    invite: Option<String>,
) -> Result<CreatedUser, ApiError> {
    let operator = require_operator().await?;
    let roles: Vec<String> = roles
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    let public_url = state().settings.public_url.clone();
    let (user, link) = crate::core::admin::users::create(
        &state().db,
        &operator,
        &app_id,
        &email,
        &roles,
        invite.is_some(),
        &public_url,
    )
    .await?;
    Ok(CreatedUser {
        user_id: user.id,
        invite_link: link,
    })
}

#[server]
pub async fn console_invite_user(app_id: String, user_id: String) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let public_url = state().settings.public_url.clone();
    Ok(
        crate::core::admin::users::invite(&state().db, &operator, &app_id, &user_id, &public_url)
            .await?,
    )
}

#[server]
pub async fn console_set_user_active(
    app_id: String,
    user_id: String,
    active: bool,
    confirmation: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    crate::core::admin::users::set_active(
        &state().db,
        &operator,
        &app_id,
        &user_id,
        active,
        confirmation.as_deref(),
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_sign_out_user(app_id: String, user_id: String) -> Result<u64, ApiError> {
    let operator = require_operator().await?;
    Ok(
        crate::core::admin::users::sign_out_everywhere(&state().db, &operator, &app_id, &user_id)
            .await?,
    )
}

#[server]
pub async fn console_recovery_link(app_id: String, user_id: String) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let public_url = state().settings.public_url.clone();
    Ok(crate::core::admin::users::recovery_link(
        &state().db,
        &operator,
        &app_id,
        &user_id,
        &public_url,
    )
    .await?)
}

/// A one-time link with which a user whose role requires a passkey adds
/// their first one (signed in with their password).
#[server]
pub async fn console_enrolment_link(app_id: String, user_id: String) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let public_url = state().settings.public_url.clone();
    Ok(crate::core::admin::users::enrolment_link(
        &state().db,
        &operator,
        &app_id,
        &user_id,
        &public_url,
    )
    .await?)
}

#[server]
pub async fn console_remove_user_passkey(
    app_id: String,
    user_id: String,
    passkey_id: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    crate::core::admin::users::remove_passkey(
        &state().db,
        &operator,
        &app_id,
        &user_id,
        &passkey_id,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_delete_user(
    app_id: String,
    user_id: String,
    confirmation: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    crate::core::admin::users::delete(
        &state().db,
        &operator,
        &app_id,
        &user_id,
        confirmation.as_deref(),
    )
    .await?;
    Ok(())
}

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

#[cfg(feature = "ssr")]
fn policy(
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

#[server]
pub async fn console_create_role(
    app_id: String,
    name: String,
    description: Option<String>,
    require_passkey: Option<String>,
    max_auth_age_secs: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let policy = policy(require_passkey, max_auth_age_secs)?;
    crate::core::admin::roles::create(
        &state().db,
        &operator,
        &app_id,
        &name,
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
    let policy = policy(require_passkey, max_auth_age_secs)?;
    crate::core::admin::roles::update(
        &state().db,
        &operator,
        &app_id,
        &name,
        description.unwrap_or_default(),
        policy,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_delete_role(app_id: String, name: String) -> Result<(), ApiError> {
    let operator = require_operator().await?;
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

/// The audit log's filters, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub app_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl AuditQuery {
    /// The same filters as a query string (for links and the export).
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("app", &self.app_id),
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

#[cfg(feature = "ssr")]
pub fn parse_time(
    field: &'static str,
    raw: Option<&str>,
    end_of_day: bool,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(at.with_timezone(&chrono::Utc)));
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "Use a date such as 2026-11-25."))?;
    let date = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(Some(
        date.and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc(),
    ))
}

#[cfg(feature = "ssr")]
pub fn audit_filter(query: &AuditQuery) -> Result<crate::core::admin::audit_log::Filter, ApiError> {
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(crate::core::admin::audit_log::Filter {
        app_id: clean(&query.app_id),
        actor: clean(&query.actor),
        action: clean(&query.action),
        target: clean(&query.target),
        from: parse_time("from", query.from.as_deref(), false)?,
        to: parse_time("to", query.to.as_deref(), true)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditRow>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<i64>,
}

#[server]
pub async fn console_audit(
    query: Option<AuditQuery>,
    before: Option<i64>,
) -> Result<AuditPage, ApiError> {
    use crate::core::admin::audit_log::{self, PAGE};
    let operator = require_operator().await?;
    let filter = audit_filter(&query.unwrap_or_default())?;
    let events = audit_log::page(&state().db, &operator, &filter, before).await?;
    let next = (events.len() as u64 == PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(AuditPage {
        events: events.into_iter().map(audit_row).collect(),
        next,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub row: AuditRow,
    pub actor_id: Option<String>,
    pub actor_address: Option<String>,
    pub target_type: Option<String>,
    /// Pretty-printed.
    pub details: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub hash: String,
    pub prev_hash: String,
}

#[server]
pub async fn console_audit_event(id: i64) -> Result<AuditEventView, ApiError> {
    let operator = require_operator().await?;
    let event = crate::core::admin::audit_log::event(&state().db, &operator, id).await?;
    let details: serde_json::Value = serde_json::from_str(&event.details).unwrap_or_default();
    let pretty = |v: Option<&serde_json::Value>| {
        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
    };
    Ok(AuditEventView {
        actor_id: event.actor_id.clone(),
        actor_address: event.actor_address.clone(),
        target_type: event.target_type.clone(),
        details: serde_json::to_string_pretty(&details).unwrap_or_default(),
        before: pretty(details.get("before")),
        after: pretty(details.get("after")),
        hash: event.hash.clone(),
        prev_hash: event.prev_hash.clone(),
        row: audit_row(event),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    pub app_id: String,
    pub events: u64,
    pub problem: Option<String>,
}

#[server]
pub async fn console_verify_chain(app_id: String) -> Result<ChainView, ApiError> {
    let operator = require_operator().await?;
    let report = crate::core::admin::audit_log::verify(&state().db, &operator, &app_id).await?;
    Ok(ChainView {
        app_id: report.app_id,
        events: report.events_checked,
        problem: report.problem,
    })
}
