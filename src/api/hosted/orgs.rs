//! Server functions behind the member-facing organization pages of an app
//! (`/a/{app_id}/orgs`): the organization chooser of a sign-in.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
#[cfg(feature = "ssr")]
use crate::api::context::*;

/// One organization the signed-in user may continue as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgChoice {
    pub slug: String,
    pub name: String,
    pub roles: Vec<String>,
    /// The sign-in request again, for this organization.
    pub href: String,
}

/// `return_to` (a path of this app) with `organization=slug` in its query,
/// in place of any there.
#[cfg(feature = "ssr")]
fn with_organization(return_to: &str, slug: &str) -> String {
    let (path, query) = return_to.split_once('?').unwrap_or((return_to, ""));
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name != "organization" {
            pairs.append_pair(&name, &value);
        }
    }
    pairs.append_pair("organization", slug);
    format!("{path}?{}", pairs.finish())
}

/// The organizations of the signed-in user, each with the way back to the
/// sign-in request (`return_to`, a page of this app) for it.
#[server]
pub async fn org_choices(
    app_id: String,
    return_to: Option<String>,
) -> Result<Vec<OrgChoice>, ApiError> {
    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let Some(signin) = current_signin(&session, &app).await? else {
        return Err(ApiError::SignInRequired);
    };
    let back = safe_return_to(&app.id, return_to.as_deref());
    let memberships = crate::core::orgs::members::of_user(&state().db, &signin.user.id)
        .await
        .map_err(internal)?;
    Ok(memberships
        .into_iter()
        .map(|(org, membership)| OrgChoice {
            href: with_organization(&back, &org.slug),
            roles: crate::core::orgs::members::roles_of(&membership),
            slug: org.slug,
            name: org.name,
        })
        .collect())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::with_organization;

    #[test]
    fn the_choice_replaces_any_organization_in_the_request() {
        assert_eq!(
            with_organization("/a/shop/oauth/authorize?client_id=c&organization=x", "acme"),
            "/a/shop/oauth/authorize?client_id=c&organization=acme"
        );
        assert_eq!(
            with_organization("/a/shop/account", "acme"),
            "/a/shop/account?organization=acme"
        );
    }
}

/// What the invitation page shows of an invitation into an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgInvitationView {
    pub org_name: String,
    pub org_slug: String,
    pub roles: Vec<String>,
    /// The invited address has an account here: accepting means signing in.
    pub account_exists: bool,
    /// Who is signed in to the app in this browser, if anyone.
    pub signed_in_as: Option<String>,
    /// The signed-in account is in the organization already.
    pub already_member: bool,
    /// Sign in as the invited account, then come back to the invitation.
    pub sign_in_href: String,
    /// Sign out (of another account), then come back to the invitation.
    pub sign_out_href: String,
}

/// The organization invitation behind `token`, as the invitation page
/// shows it (`None`: no pending one).
#[cfg(feature = "ssr")]
pub async fn org_invitation_view(
    app: &crate::entities::app::Model,
    token: &str,
) -> Result<Option<super::InvitationView>, ApiError> {
    use crate::core::links::invitations;
    let db = &state().db;
    let Some(pending) = invitations::find(db, &app.id, token, db.now())
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let session = browser_session().await?;
    let signin = current_signin(&session, app).await?;
    let already_member = match &signin {
        Some(signin) => invitations::already_member(db, &pending, &signin.user.id)
            .await
            .map_err(internal)?,
        None => false,
    };
    let back_here = crate::core::links::invitations::path(&app.id, token);
    let with_return = |page: &str, hint: Option<&str>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("return_to", &back_here);
        if let Some(hint) = hint {
            query.append_pair("login_hint", hint);
        }
        format!("/a/{}/{page}?{}", app.id, query.finish())
    };
    Ok(Some(super::InvitationView {
        email: pending.invitation.email.clone(),
        needs_passkey: false,
        password_allowed: app.password_enabled,
        passkey_allowed: app.passkey_enabled,
        org: Some(OrgInvitationView {
            org_name: pending.org.name,
            org_slug: pending.org.slug,
            roles: pending.roles,
            account_exists: pending.account_exists,
            signed_in_as: signin.map(|s| s.user.email),
            already_member,
            sign_in_href: with_return("login", Some(&pending.invitation.email)),
            sign_out_href: with_return("logout", None),
        }),
    }))
}

/// Where an accepted invitation lands: the organization's page.
#[cfg(feature = "ssr")]
fn landing(app_id: &str, slug: &str) -> String {
    format!("/a/{app_id}/orgs?joined={slug}")
}

/// Accept an organization invitation as the signed-in account (works
/// without JavaScript).
#[server]
pub async fn accept_org_invitation(app_id: String, token: String) -> Result<String, ApiError> {
    use crate::core::links::invitations;
    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let Some(signin) = current_signin(&session, &app).await? else {
        return Err(ApiError::SignInRequired);
    };
    let org =
        invitations::accept_signed_in(&state().db, &app, &token, &signin.user, &client_info())
            .await?;
    let target = landing(&app.id, &org.slug);
    redirect_form_post(&target);
    Ok(target)
}

/// The organization of the pending invitation `token` of `app`, if it is
/// one (the invitation page's server functions serve both kinds).
#[cfg(feature = "ssr")]
pub async fn invited_to(
    app: &crate::entities::app::Model,
    token: &str,
) -> Result<Option<String>, ApiError> {
    let db = &state().db;
    Ok(crate::core::links::invitations::find(db, &app.id, token, db.now())
        .await
        .map_err(internal)?
        .map(|pending| pending.org.slug))
}

/// Accept an organization invitation (to `slug`) by setting up the invited
/// account with a password; where to go next.
#[cfg(feature = "ssr")]
pub async fn accept_with_password(
    app: &crate::entities::app::Model,
    slug: &str,
    token: &str,
    password: &crate::core::passwords::Password,
) -> Result<String, ApiError> {
    use crate::core::links::invitations;
    let signed_in =
        invitations::accept_with_password(&state().db, app, token, password, &client_info())
            .await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    Ok(landing(&app.id, slug))
}

/// First step of setting up the invited account with a passkey (the
/// caller checked the app allows passkeys and the password beside it).
#[cfg(feature = "ssr")]
pub async fn start_passkey(
    app: &crate::entities::app::Model,
    token: String,
) -> Result<String, ApiError> {
    use crate::core::links::invitations;
    let (options, state, user_id) =
        invitations::start_with_passkey(&state().db, &relying_party()?, app, &token).await?;
    store_registration(PendingRegistration {
        app_id: app.id.to_string(),
        state,
        signup: None,
        invitation: None,
        user_id: Some(user_id),
        org_invitation: Some(token),
    })?;
    serde_json::to_string(&options).map_err(broken)
}

/// Second step (`pending` names the invitation and the new account's id):
/// the account is set up, in the organization and signed in; its first
/// recovery codes follow.
#[cfg(feature = "ssr")]
pub async fn finish_passkey(
    app: &crate::entities::app::Model,
    ceremony: crate::core::ceremonies::Ceremony,
    pending: PendingRegistration,
    credential: &webauthn_rs::prelude::RegisterPublicKeyCredential,
    password: Option<crate::core::passwords::Password>,
) -> Result<super::NewCodes, ApiError> {
    use crate::core::links::invitations;
    let (Some(token), Some(user_id)) = (pending.org_invitation, pending.user_id) else {
        return Err(ApiError::Refused(
            "That passkey request expired. Try again.".into(),
        ));
    };
    let slug = invited_to(app, &token).await?.unwrap_or_default();
    let (signed_in, codes) = invitations::finish_with_passkey(
        &state().db,
        &relying_party()?,
        app,
        &token,
        user_id,
        &ceremony,
        &pending.state,
        credential,
        password.as_ref(),
        &client_info(),
    )
    .await?;
    let session = browser_session().await?;
    remember_signed_in(&session, &app.id, &signed_in).await?;
    Ok(super::NewCodes {
        codes,
        continue_to: landing(&app.id, &slug),
    })
}
