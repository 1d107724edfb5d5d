//! An app's users in the console: the list, one user's detail, and what an
//! operator may do to them (create, invite, deactivate, sign out, links,
//! remove a passkey, delete).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
#[cfg(feature = "ssr")]
use crate::api::context::*;

use super::audit::AuditRow;
#[cfg(feature = "ssr")]
use super::audit::ssr::audit_row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub active: bool,
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
    let app_id = app_id_of(&app_id)?;
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
                active: u.status == crate::types::UserStatus::Active,
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
pub struct UserDetailView {
    pub id: String,
    pub app_id: String,
    pub email: String,
    pub active: bool,
    pub email_verified: bool,
    pub created: String,
    pub has_password: bool,
    pub passkeys: Vec<FactorRow>,
    pub sessions: Vec<SessionRow>,
    pub roles: Vec<String>,
    /// Roles of the app this user does not hold (to grant).
    pub other_roles: Vec<String>,
    pub events: Vec<AuditRow>,
    /// Upstream accounts linked to the user.
    pub links: Vec<crate::api::console::providers::LinkView>,
    pub can_write: bool,
    pub is_self: bool,
}

#[server]
pub async fn console_user(app_id: String, user_id: String) -> Result<UserDetailView, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let db = &state().db;
    let detail = crate::core::admin::users::detail(db, &operator, &app_id, &user_id).await?;
    let roles_held = detail.roles.clone();
    let links = crate::api::console::providers::link_views(
        crate::core::admin::providers::linked(db, &operator, &app_id, &user_id).await?,
    );
    Ok(UserDetailView {
        links,
        id: detail.user.id.clone(),
        app_id: detail.user.app_id.to_string(),
        email: detail.user.email.clone(),
        active: detail.user.status == crate::types::UserStatus::Active,
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
        other_roles: detail.grantable_roles,
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
    let app_id = app_id_of(&app_id)?;
    let roles = roles
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|r| !r.is_empty())
        .map(crate::types::RoleName::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid("roles"))?;
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
    let app_id = app_id_of(&app_id)?;
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
    let app_id = app_id_of(&app_id)?;
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
    let app_id = app_id_of(&app_id)?;
    Ok(
        crate::core::admin::users::sign_out_everywhere(&state().db, &operator, &app_id, &user_id)
            .await?,
    )
}

#[server]
pub async fn console_recovery_link(app_id: String, user_id: String) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
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
    let app_id = app_id_of(&app_id)?;
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
    let app_id = app_id_of(&app_id)?;
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
    let app_id = app_id_of(&app_id)?;
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
