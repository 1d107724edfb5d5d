//! Server functions behind the hosted pages of an app: sign-in (password,
//! passkey, recovery code), re-authentication, sign-up, sign-out.
//!
//! Password and recovery-code forms work without JavaScript: a plain form
//! post is answered with a redirect (or, on error, back to the form with the
//! error in the URL, which the page shows).

pub mod orgs;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use super::ApiError;

/// What a hosted page shows of its app, and who is signed in to it here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedApp {
    pub id: String,
    pub name: String,
    /// `#rrggbb`, validated when stored.
    pub brand_color: String,
    pub self_registration: bool,
    pub password_enabled: bool,
    pub passkey_enabled: bool,
    /// The e-mail of the user signed in to this app in this browser.
    pub signed_in_as: Option<String>,
    /// Whether that user has a passkey (for a passkey step-up).
    pub signed_in_has_passkey: bool,
    /// Whether that user has a password (a passkey-only user confirms
    /// their presence with the passkey alone).
    pub signed_in_has_password: bool,
    /// That user has no passkey and a role of theirs requires one: their
    /// first passkey comes only with an enrolment link from an operator.
    pub signed_in_needs_enrolment_link: bool,
    /// Whether that user's address is confirmed.
    pub signed_in_verified: bool,
    /// Whether this server sends e-mail (else the recovery page offers no
    /// link by e-mail).
    pub sends_email: bool,
    /// The app's upstream providers (buttons on the sign-in page).
    pub providers: Vec<crate::api::account::ProviderButton>,
    /// The provider whose account waits to be linked after this sign-in.
    pub link_pending: Option<String>,
}

/// The app behind `/a/{app_id}`, or `None` when there is no such app (or it
/// is disabled).
#[server]
pub async fn load_hosted_app(app_id: String) -> Result<Option<HostedApp>, ApiError> {
    let app = match load_app(&app_id).await {
        Ok(app) => app,
        Err(ApiError::NotFound(_)) => return Ok(None),
        Err(err) => return Err(err),
    };
    let session = browser_session().await?;
    let signin = current_signin(&session, &app).await?;
    let (signed_in_has_passkey, signed_in_has_password, signed_in_needs_enrolment_link) =
        match &signin {
            Some(signin) => {
                let db = &state().db;
                let passkeys = crate::core::passkeys::list_for_user(db, &signin.user.id)
                    .await
                    .map_err(internal)?;
                let password = crate::core::account::has_password(db, &signin.user.id)
                    .await
                    .map_err(internal)?;
                let needs_link = passkeys.is_empty()
                    && crate::core::links::needs_passkey(db, &signin.user)
                        .await
                        .map_err(internal)?;
                (!passkeys.is_empty(), password, needs_link)
            }
            None => (false, false, false),
        };
    let signed_in_verified = signin.as_ref().is_some_and(|s| s.user.email_verified);
    let providers = crate::core::upstream::providers::enabled(&state().db, &app.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|p| crate::api::account::ProviderButton {
            slug: p.slug,
            name: p.display_name,
            kind: p.kind,
        })
        .collect();
    let link_pending = pending_upstream_link(&app).map(|(_, pending)| pending.provider_name);
    let signed_in_as = signin.map(|s| s.user.email);
    Ok(Some(HostedApp {
        id: app.id.to_string(),
        name: app.name,
        brand_color: app.brand_color,
        self_registration: app.self_registration,
        password_enabled: app.password_enabled,
        passkey_enabled: app.passkey_enabled,
        signed_in_as,
        signed_in_has_passkey,
        signed_in_has_password,
        signed_in_needs_enrolment_link,
        signed_in_verified,
        sends_email: state().settings.smtp.is_some(),
        providers,
        link_pending,
    }))
}

/// Sign in with e-mail and password; answers the path to continue to.
#[server]
pub async fn sign_in_with_password(
    app_id: String,
    email: String,
    password: String,
    return_to: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::passwords::Password;
    use crate::core::signin;

    let app = load_app(&app_id).await?;
    if email.trim().is_empty() {
        return Err(ApiError::invalid("email", "Enter your e-mail address."));
    }
    if password.is_empty() {
        return Err(ApiError::invalid("password", "Enter your password."));
    }
    let signed_in = signin::with_password(
        &state().db,
        &app,
        &email,
        &Password::attempt(&password),
        &client_info(),
        device_cookie(&app.id).as_deref(),
    )
    .await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    let target = after_sign_in(&app.id, &signed_in.session.id, return_to.as_deref());
    redirect_form_post(&target);
    Ok(target)
}

/// Sign in with e-mail and a one-time recovery code; the account page then
/// asks for a new factor.
#[server]
pub async fn sign_in_with_recovery_code(
    app_id: String,
    email: String,
    code: String,
) -> Result<String, ApiError> {
    use crate::core::signin;

    let app = load_app(&app_id).await?;
    if email.trim().is_empty() {
        return Err(ApiError::invalid("email", "Enter your e-mail address."));
    }
    if code.trim().is_empty() {
        return Err(ApiError::invalid(
            "code",
            "Enter one of your recovery codes.",
        ));
    }
    let signed_in =
        signin::with_recovery_code(&state().db, &app, &email, &code, &client_info()).await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    let target = format!("/a/{}/account", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// First step of a passkey sign-in (or re-authentication): the options for
/// `navigator.credentials.get`, as JSON.
#[server]
pub async fn start_passkey_assertion(app_id: String) -> Result<String, ApiError> {
    let app = load_app(&app_id).await?;
    if !app.passkey_enabled {
        return Err(ApiError::Refused(
            "Passkey sign-in is turned off for this app.".into(),
        ));
    }
    let (options, state) = relying_party()?.start_authentication(&app.name)?;
    store_assertion(PendingAssertion {
        app_id: app.id.to_string(),
        state,
    })?;
    serde_json::to_string(&options).map_err(broken)
}

/// Second step of a passkey sign-in. When someone is already signed in to
/// the app here, it is a re-authentication (or step-up) of that user.
#[server]
pub async fn finish_passkey_assertion(
    app_id: String,
    credential: String,
    return_to: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::signin;
    use webauthn_rs::prelude::PublicKeyCredential;

    let app = load_app(&app_id).await?;
    let credential: PublicKeyCredential = serde_json::from_str(&credential).map_err(|_| {
        ApiError::Refused("The browser sent an unreadable passkey response.".into())
    })?;
    let session = browser_session().await?;
    let assertion = take_assertion(&app.id)?;
    let rp = relying_party()?;
    let db = &state().db;
    let client = client_info();
    let session_id = match current_signin(&session, &app).await? {
        Some(signin) => {
            signin::reauthenticate_with_passkey(
                db,
                &rp,
                &app,
                &signin,
                assertion,
                &credential,
                &client,
            )
            .await?;
            signin.session.id
        }
        None => {
            let signed_in = signin::with_passkey(
                db,
                &rp,
                &app,
                assertion,
                &credential,
                &client,
                device_cookie(&app.id).as_deref(),
            )
            .await?;
            remember_signed_in(&session, &app.id, &signed_in).await?;
            signed_in.session.id
        }
    };
    Ok(after_sign_in(&app.id, &session_id, return_to.as_deref()))
}

/// Confirm with the password that the signed-in user is present.
#[server]
pub async fn reauthenticate_with_password(
    app_id: String,
    password: String,
    return_to: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::passwords::Password;
    use crate::core::signin;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &app).await?;
    if password.is_empty() {
        return Err(ApiError::invalid("password", "Enter your password."));
    }
    signin::reauthenticate_with_password(
        &state().db,
        &app,
        &signin,
        &Password::attempt(&password),
        &client_info(),
        device_cookie(&app.id).as_deref(),
    )
    .await?;
    let target = after_sign_in(&app.id, &signin.session.id, return_to.as_deref());
    redirect_form_post(&target);
    Ok(target)
}

/// Sign up with e-mail and password (when the app allows sign-up).
#[server]
pub async fn register_with_password(
    app_id: String,
    email: String,
    password: String,
    return_to: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::passwords::Password;
    use crate::core::registration;
    use crate::types::Email;

    let app = load_app(&app_id).await?;
    let email = Email::parse(&email).map_err(invalid("email"))?;
    let password = Password::new_choice(&password).map_err(invalid("password"))?;
    let signed_in =
        registration::with_password(&state().db, &app, email, password, &client_info()).await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    let target = after_sign_in(&app.id, &signed_in.session.id, return_to.as_deref());
    redirect_form_post(&target);
    Ok(target)
}

/// First step of a passkey sign-up: creation options for the browser.
#[server]
pub async fn start_passkey_sign_up(app_id: String, email: String) -> Result<String, ApiError> {
    use crate::core::registration;
    use crate::types::Email;

    let app = load_app(&app_id).await?;
    let email = Email::parse(&email).map_err(invalid("email"))?;
    let rp = relying_party()?;
    let (options, state, pending) =
        registration::start_with_passkey(&state().db, &rp, &app, email, &client_info()).await?;
    store_registration(PendingRegistration {
        app_id: app.id.to_string(),
        state,
        signup: Some(pending),
        invitation: None,
        user_id: None,
        org_invitation: None,
    })?;
    serde_json::to_string(&options).map_err(broken)
}

/// Recovery codes shown once, and where to go after reading them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCodes {
    pub codes: Vec<String>,
    pub continue_to: String,
}

/// Second step of a passkey sign-up: the account exists and is signed in.
#[server]
pub async fn finish_passkey_sign_up(
    app_id: String,
    credential: String,
) -> Result<NewCodes, ApiError> {
    use crate::core::registration;
    use webauthn_rs::prelude::RegisterPublicKeyCredential;

    let app = load_app(&app_id).await?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| {
            ApiError::Refused("The browser sent an unreadable passkey response.".into())
        })?;
    let session = browser_session().await?;
    let (ceremony, pending) = take_registration(&app.id)?;
    let Some(signup) = pending.signup else {
        return Err(ApiError::Refused(
            "That passkey request expired. Try again.".into(),
        ));
    };
    let rp = relying_party()?;
    let (signed_in, codes) = registration::finish_with_passkey(
        &state().db,
        &rp,
        &app,
        signup,
        Taken {
            ceremony,
            state: &pending.state,
        },
        &credential,
        &client_info(),
    )
    .await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    Ok(NewCodes {
        codes,
        continue_to: format!("/a/{}/account", app.id),
    })
}

/// Sign out of this app in this browser.
#[server]
pub async fn sign_out(app_id: String) -> Result<String, ApiError> {
    use crate::core::signin;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    if let Some(signin) = current_signin(&session, &app).await? {
        signin::sign_out(&state().db, &app, &signin, &client_info()).await?;
    }
    forget_signin(&session, &app.id).await?;
    let target = format!("/a/{}/login?signed_out=1", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// What the invitation page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    /// A role of theirs requires a passkey: a password alone will not do.
    pub needs_passkey: bool,
    pub password_allowed: bool,
    pub passkey_allowed: bool,
    /// An invitation into an organization (else: to set up an account an
    /// operator made).
    #[serde(default)]
    pub org: Option<orgs::OrgInvitationView>,
}

/// The invitation behind `/a/{app_id}/invite/{token}`.
#[server]
pub async fn load_invitation(app_id: String, token: String) -> Result<InvitationView, ApiError> {
    use crate::core::links::{self, Purpose};

    let app = load_app(&app_id).await?;
    let db = &state().db;
    let Some((_, user)) = links::find_valid(db, &app.id, &token, Purpose::Invite)
        .await
        .map_err(internal)?
    else {
        if let Some(view) = orgs::org_invitation_view(&app, &token).await? {
            return Ok(view);
        }
        return Err(ApiError::NotFound(
            "This invitation is invalid, was already used, or has expired. Ask for a new one."
                .into(),
        ));
    };
    if crate::core::policy::sign_in_methods(db, &app, &user.id)
        .await
        .map_err(internal)?
        > 0
    {
        return Err(links::LinkError::AlreadySetUp.into());
    }
    Ok(InvitationView {
        needs_passkey: links::needs_passkey(db, &user).await.map_err(internal)?,
        email: user.email,
        password_allowed: app.password_enabled,
        passkey_allowed: app.passkey_enabled,
        org: None,
    })
}

/// Accept an invitation by choosing a password (works without JavaScript).
#[server]
pub async fn accept_invitation_with_password(
    app_id: String,
    token: String,
    password: String,
) -> Result<String, ApiError> {
    use crate::core::links;
    use crate::core::passwords::Password;

    let app = load_app(&app_id).await?;
    let password = Password::new_choice(&password).map_err(invalid("password"))?;
    if let Some(slug) = orgs::invited_to(&app, &token).await? {
        let target = orgs::accept_with_password(&app, &slug, &token, &password).await?;
        redirect_form_post(&target);
        return Ok(target);
    }
    let signed_in =
        links::accept_with_password(&state().db, &app, &token, &password, &client_info()).await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    let target = format!("/a/{}/account", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// First step of accepting an invitation with a passkey (and, optionally,
/// a password beside it).
#[server]
pub async fn start_invitation_passkey(
    app_id: String,
    token: String,
    password: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::links;

    let app = load_app(&app_id).await?;
    if !app.passkey_enabled {
        return Err(ApiError::Refused(
            "Passkeys are turned off for this app.".into(),
        ));
    }
    optional_password(&app, password)?;
    if orgs::invited_to(&app, &token).await?.is_some() {
        return orgs::start_passkey(&app, token).await;
    }
    let (options, state) =
        links::start_with_passkey(&state().db, &relying_party()?, &app, &token).await?;
    store_registration(PendingRegistration {
        app_id: app.id.to_string(),
        state,
        signup: None,
        invitation: Some(token),
        user_id: None,
        org_invitation: None,
    })?;
    serde_json::to_string(&options).map_err(broken)
}

/// Second step: the account is set up and signed in; recovery codes follow.
#[server]
pub async fn finish_invitation_passkey(
    app_id: String,
    credential: String,
    password: Option<String>,
) -> Result<NewCodes, ApiError> {
    use crate::core::links;
    use webauthn_rs::prelude::RegisterPublicKeyCredential;

    let app = load_app(&app_id).await?;
    let password = optional_password(&app, password)?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_str(&credential).map_err(|_| {
            ApiError::Refused("The browser sent an unreadable passkey response.".into())
        })?;
    let session = browser_session().await?;
    let (ceremony, pending) = take_registration(&app.id)?;
    if pending.org_invitation.is_some() {
        return orgs::finish_passkey(&app, ceremony, pending, &credential, password).await;
    }
    let Some(token) = pending.invitation else {
        return Err(ApiError::Refused(
            "That passkey request expired. Try again.".into(),
        ));
    };
    let (signed_in, codes) = links::finish_with_passkey(
        &state().db,
        &relying_party()?,
        &app,
        &token,
        &ceremony,
        &pending.state,
        &credential,
        password.as_ref(),
        &client_info(),
    )
    .await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    let continue_to = if app.id == crate::types::AppId::CONSOLE {
        "/console".to_owned()
    } else {
        format!("/a/{}/account", app.id)
    };
    Ok(NewCodes { codes, continue_to })
}

/// Sign in once with an operator's recovery link (works without JavaScript).
#[server]
pub async fn redeem_recovery_link(app_id: String, token: String) -> Result<String, ApiError> {
    use crate::core::links;

    let app = load_app(&app_id).await?;
    let signed_in = links::redeem_recovery(&state().db, &app, &token, &client_info()).await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    let target = format!("/a/{}/account", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// The recovery page's "e-mail me a link". The answer is the same whether
/// or not the address has an account (and whether or not the throttle
/// held the message back): the page says a link is on its way if it does.
#[server]
pub async fn request_recovery_email(app_id: String, email: String) -> Result<String, ApiError> {
    use crate::core::links;
    use crate::types::Email;

    let app = load_app(&app_id).await?;
    let email = Email::parse(&email).map_err(invalid("email"))?;
    links::request_recovery(&state().db, &app, &email, &client_info()).await?;
    let target = format!("/a/{}/recover?sent=1", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// What the confirmation page shows of the account behind a verification
/// link (N6): when and how it was made, and whether this browser is
/// signed in to it (only then can it confirm).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationView {
    pub email: String,
    /// The day it was made, e.g. "6 December 2026".
    pub created_on: String,
    /// "by signing up with a password", "created by ops@example.com"...
    pub how: String,
    pub self_registered: bool,
    /// This browser is signed in to that account.
    pub signed_in_to_it: bool,
}

#[server]
pub async fn load_confirmation(
    app_id: String,
    token: String,
) -> Result<ConfirmationView, ApiError> {
    use crate::core::links;

    let app = load_app(&app_id).await?;
    let found = links::confirmation(&state().db, &app, &token).await?;
    let session = browser_session().await?;
    let signed_in_to_it = current_signin(&session, &app)
        .await?
        .is_some_and(|s| s.user.id == found.user.id);
    Ok(ConfirmationView {
        email: found.user.email.clone(),
        created_on: found.user.created_at.format("%-d %B %Y").to_string(),
        how: if found.self_registered {
            format!("by signing up on this page with a {}", found.how)
        } else {
            format!("by {}", found.how)
        },
        self_registered: found.self_registered,
        signed_in_to_it,
    })
}

/// Follow the link of a verification e-mail (a form post, so a mail
/// scanner that fetches links does not spend it), signed in to its account.
#[server]
pub async fn confirm_email(app_id: String, token: String) -> Result<String, ApiError> {
    use crate::core::links;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let signin = current_signin(&session, &app).await?;
    links::verify_email(&state().db, &app, &token, signin.as_ref(), &client_info()).await?;
    let target = format!("/a/{}/verify?verified=1", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// "This wasn't me": close the account an address was used for without
/// its owner (N6).
#[server]
pub async fn disown_email(app_id: String, token: String) -> Result<String, ApiError> {
    use crate::core::links;

    let app = load_app(&app_id).await?;
    links::disown(&state().db, &app, &token, &client_info()).await?;
    let target = format!("/a/{}/verify?disowned=1", app.id);
    redirect_form_post(&target);
    Ok(target)
}

/// Send the signed-in user a new verification link.
#[server]
pub async fn resend_verification(
    app_id: String,
    return_to: Option<String>,
) -> Result<String, ApiError> {
    use crate::core::links;

    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let Some(signin) = current_signin(&session, &app).await? else {
        return Err(ApiError::SignInRequired);
    };
    if !links::send_verification(&state().db, &signin.user, &client_info()).await? {
        return Err(ApiError::Refused(
            "Several links were sent a moment ago: wait a few minutes, and check your spam folder meanwhile.".to_owned(),
        ));
    }
    let mut target = url::form_urlencoded::Serializer::new(String::new());
    target.append_pair("sent", "1");
    if let Some(back) = return_to.filter(|r| !r.is_empty()) {
        target.append_pair("return_to", &safe_return_to(&app.id, Some(&back)));
    }
    let target = format!("/a/{}/verify?{}", app.id, target.finish());
    redirect_form_post(&target);
    Ok(target)
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
pub(super) mod ssr {
    use crate::api::ApiError;
    pub use crate::api::context::*;

    /// A password chosen beside a passkey on an invitation: optional, checked
    /// against the policy (and the app's sign-in methods) before the passkey
    /// ceremony starts, so a bad one is answered beside its field.
    pub fn optional_password(
        app: &crate::entities::app::Model,
        password: Option<String>,
    ) -> Result<Option<crate::core::passwords::Password>, ApiError> {
        match password.filter(|p| !p.is_empty()) {
            None => Ok(None),
            Some(_) if !app.password_enabled => Err(ApiError::invalid(
                "password",
                "Password sign-in is turned off for this app.",
            )),
            Some(raw) => crate::core::passwords::Password::new_choice(&raw)
                .map(Some)
                .map_err(invalid("password")),
        }
    }
}
