//! Server functions behind `/a/{app_id}/account`: the signed-in user's own
//! passkeys, password, recovery codes, sessions and deactivation.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use super::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// Dates as `YYYY-MM-DD HH:MM UTC`.
    pub created: String,
    pub last_used: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub current: bool,
    pub signed_in: String,
    pub last_seen: String,
    pub methods: Vec<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// An upstream account linked to this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedIdentityView {
    pub id: String,
    pub provider: String,
    /// The address the upstream last reported (shown, never used to sign in).
    pub email: Option<String>,
    pub linked: String,
    pub last_used: Option<String>,
}

/// An upstream identity this browser brought back, waiting to be linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLinkView {
    pub provider: String,
    pub email: Option<String>,
}

/// A provider the account can sign in with (a button).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderButton {
    pub slug: String,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub has_password: bool,
    pub password_enabled: bool,
    pub passkey_enabled: bool,
    pub passkeys: Vec<PasskeyView>,
    pub sessions: Vec<SessionView>,
    pub recovery_codes_left: u64,
    /// Signed in with a recovery code: a new factor must be enrolled first.
    pub requires_enrolment: bool,
    /// Signed in (or re-authenticated) in the last few minutes.
    pub fresh: bool,
    /// Why a passkey cannot be added from this session (a role requires a
    /// passkey and only an enrolment link brings the first one).
    pub passkey_blocked: Option<String>,
    /// The page was opened with a valid enrolment link for this account.
    pub enrolment_link_valid: bool,
    /// Why this session may not set the password (a recovery no operator
    /// vouched for, of a user whose role needs a passkey).
    pub password_blocked: Option<String>,
    /// Upstream accounts linked to this one.
    pub linked: Vec<LinkedIdentityView>,
    /// The app's providers not linked yet (to link from here).
    pub linkable: Vec<ProviderButton>,
    /// An upstream identity waiting for this account to confirm the link.
    pub pending_link: Option<PendingLinkView>,
}

/// Everything the account page shows; `SignInRequired` when nobody is
/// signed in to the app here.
#[server]
pub async fn load_account(
    app_id: String,
    enrolment: Option<String>,
) -> Result<AccountView, ApiError> {
    use crate::core::{account, passkeys, recovery_codes, sessions};

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    let db = &state().db;
    let passkeys = passkeys::list_for_user(db, &signin.user.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            created: to_the_minute(p.created_at),
            last_used: p.last_used_at.map(when),
        })
        .collect();
    let sessions = sessions::list_live_for_user(db, &signin.user.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|s| SessionView {
            current: s.id == signin.session.id,
            signed_in: to_the_minute(s.created_at),
            last_seen: to_the_minute(s.last_seen_at),
            methods: sessions::decode_amr(&s.amr),
            address: s.client_address,
            user_agent: s.user_agent,
            id: s.id,
        })
        .collect();
    let links = crate::core::upstream::accounts::linked(db, &signin.user.id)
        .await
        .map_err(internal)?;
    let linkable = crate::core::upstream::providers::enabled(db, &app.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|p| !links.iter().any(|(_, linked)| linked.id == p.id))
        .map(|p| ProviderButton {
            slug: p.slug,
            name: p.display_name,
            kind: p.kind,
        })
        .collect();
    let linked = links
        .into_iter()
        .map(|(link, provider)| LinkedIdentityView {
            id: link.id,
            provider: provider.display_name,
            email: link.email,
            linked: to_the_minute(link.created_at),
            last_used: link.last_sign_in_at.map(when),
        })
        .collect();
    let pending_link = pending_upstream_link(&app).map(|(_, pending)| PendingLinkView {
        provider: pending.provider_name,
        email: pending.email,
    });
    Ok(AccountView {
        linked,
        linkable,
        pending_link,
        email: signin.user.email.clone(),
        has_password: account::has_password(db, &signin.user.id)
            .await
            .map_err(internal)?,
        password_enabled: app.password_enabled,
        passkey_enabled: app.passkey_enabled,
        passkeys,
        sessions,
        recovery_codes_left: recovery_codes::remaining(db, &signin.user.id)
            .await
            .map_err(internal)?,
        requires_enrolment: signin.session.requires_enrolment,
        fresh: signin.is_fresh(),
        passkey_blocked: account::passkey_enrolment_blocked(db, &signin, enrolment.as_deref())
            .await
            .map_err(internal)?
            .map(|reason| reason.to_string()),
        // The passkey section says what to do; this one, what waits.
        password_blocked: account::password_change_blocked(db, &signin)
            .await
            .map_err(internal)?
            .map(|_| {
                "The password stays as it is until your new passkey is added: a recovery code alone does not change how this account signs in."
                    .to_owned()
            }),
        enrolment_link_valid: match enrolment.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => account::may_change_factors(
                db,
                &signin,
                account::FactorChange::AddPasskey,
                Some(token),
            )
            .await
            .is_ok(),
            None => false,
        },
    })
}

/// Set or change the password (`current` is required when one is set).
#[server]
pub async fn change_password(
    app_id: String,
    current: Option<String>,
    new: String,
) -> Result<(), ApiError> {
    use crate::core::account;
    use crate::core::passwords::Password;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    let new = Password::new_choice(&new).map_err(invalid("new"))?;
    let current = current
        .filter(|c| !c.is_empty())
        .map(|c| Password::attempt(&c));
    let device_mark = account::change_password(
        &state().db,
        &app,
        &signin,
        current.as_ref(),
        &new,
        &client_info(),
        device_cookie(&app.id).as_deref(),
    )
    .await?;
    if let Some(mark) = device_mark {
        remember_device(&app.id, &mark);
    }
    Ok(())
}

/// First step of adding a passkey: creation options for the browser. A
/// step-up operation (see `core::account`): refused before the ceremony
/// when the session lacks the proof it needs; `enrolment` is the token of
/// an operator's enrolment link.
#[server]
pub async fn start_add_passkey(
    app_id: String,
    enrolment: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::{account, passkeys};

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    let enrolment = enrolment.filter(|t| !t.is_empty());
    account::may_change_factors(
        &state().db,
        &signin,
        account::FactorChange::AddPasskey,
        enrolment.as_deref(),
    )
    .await?;
    let existing = passkeys::list_for_user(&state().db, &signin.user.id)
        .await
        .map_err(internal)?;
    let (options, state) = relying_party()?.start_registration(
        &app.name,
        &signin.user.id,
        &signin.user.email,
        &existing,
    )?;
    store_registration(PendingRegistration {
        app_id: app.id.to_string(),
        state,
        signup: None,
        invitation: None,
        user_id: Some(signin.user.id),
        org_invitation: None,
    })?;
    serde_json::to_string(&options).map_err(broken)
}

/// Second step: store the passkey; answers the first recovery codes when
/// this was the user's first strong factor.
#[server]
pub async fn finish_add_passkey(
    app_id: String,
    credential: String,
    name: String,
    enrolment: Option<String>,
) -> Result<Option<Vec<String>>, ApiError> {
    use crate::core::account;
    use webauthn_rs::prelude::RegisterPublicKeyCredential;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| {
            ApiError::Refused("The browser sent an unreadable passkey response.".into())
        })?;
    let (ceremony, pending) = take_registration(&app.id)?;
    let Some(registered_for) = pending.user_id.filter(|_| pending.signup.is_none()) else {
        return Err(ApiError::Refused(
            "That passkey request expired. Try again.".into(),
        ));
    };
    let name = if name.trim().is_empty() {
        "Passkey".to_owned()
    } else {
        name
    };
    let (_, codes) = account::add_passkey(
        &state().db,
        &relying_party()?,
        &app,
        &signin,
        &registered_for,
        &ceremony,
        &pending.state,
        &credential,
        &name,
        enrolment.as_deref().filter(|t| !t.is_empty()),
        &client_info(),
    )
    .await?;
    Ok(codes)
}

#[server]
pub async fn rename_passkey(
    app_id: String,
    passkey_id: String,
    name: String,
) -> Result<(), ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    account::rename_passkey(&state().db, &signin, &passkey_id, &name, &client_info()).await?;
    Ok(())
}

#[server]
pub async fn remove_passkey(app_id: String, passkey_id: String) -> Result<(), ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    account::remove_passkey(&state().db, &app, &signin, &passkey_id, &client_info()).await?;
    Ok(())
}

/// Link the upstream account this browser brought back (after "sign in
/// with your existing account first") to the signed-in account.
#[server]
pub async fn confirm_upstream_link(app_id: String) -> Result<(), ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    let Some((ceremony, pending)) = pending_upstream_link(&app) else {
        return Err(ApiError::Refused(
            "There is no account waiting to be linked: sign in through the provider again.".into(),
        ));
    };
    account::link_upstream(
        &state().db,
        &app,
        &signin,
        &ceremony,
        &pending,
        &client_info(),
    )
    .await?;
    forget_upstream_link();
    Ok(())
}

/// Forget the upstream account waiting to be linked.
#[server]
pub async fn dismiss_upstream_link(app_id: String) -> Result<(), ApiError> {
    load_app(&app_id).await?;
    forget_upstream_link();
    Ok(())
}

/// Unlink an upstream account (a step-up operation; never the last way in).
#[server]
pub async fn unlink_upstream(app_id: String, link_id: String) -> Result<(), ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    account::unlink_upstream(&state().db, &app, &signin, &link_id, &client_info()).await?;
    Ok(())
}

/// End one of the user's sessions; answers whether it was this one (then
/// the browser is signed out).
#[server]
pub async fn revoke_session(app_id: String, session_id: String) -> Result<bool, ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    account::revoke_session(&state().db, &app, &signin, &session_id, &client_info()).await?;
    let current = session_id == signin.session.id;
    if current {
        forget_signin(&session, &app.id).await?;
    }
    Ok(current)
}

#[server]
pub async fn regenerate_recovery_codes(app_id: String) -> Result<Vec<String>, ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    Ok(account::regenerate_recovery_codes(&state().db, &signin, &client_info()).await?)
}

/// Deactivate one's own account (fresh sign-in and typed e-mail required).
#[server]
pub async fn deactivate_account(app_id: String, confirmation: String) -> Result<String, ApiError> {
    use crate::core::account;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    account::deactivate_self(&state().db, &signin, &confirmation, &client_info()).await?;
    forget_signin(&session, &app.id).await?;
    let target = format!("/a/{}/login?deactivated=1", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::api::context::*;

    /// A time as the account page shows it (to the minute).
    pub fn to_the_minute(at: chrono::DateTime<chrono::Utc>) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}
