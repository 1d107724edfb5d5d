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
    /// The organization accepts its members through this upstream
    /// provider only: its name, and where its sign-in starts (with the
    /// invitation).
    pub provider: Option<(String, String)>,
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
    let provider = pending.required_provider.as_ref().map(|provider| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("invitation", token);
        query.append_pair("return_to", &back_here);
        (
            provider.display_name.clone(),
            format!(
                "/a/{}/upstream/{}/start?{}",
                app.id,
                provider.slug,
                query.finish()
            ),
        )
    });
    // Only the provider sets up or signs in the invited account.
    let local = provider.is_none();
    Ok(Some(super::InvitationView {
        email: pending.invitation.email.clone(),
        needs_passkey: false,
        password_allowed: local && app.password_enabled,
        passkey_allowed: local && app.passkey_enabled,
        org: Some(OrgInvitationView {
            org_name: pending.org.name,
            org_slug: pending.org.slug,
            roles: pending.roles,
            account_exists: pending.account_exists,
            signed_in_as: signin.map(|s| s.user.email),
            already_member,
            sign_in_href: with_return("login", Some(&pending.invitation.email)),
            sign_out_href: with_return("logout", None),
            provider,
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
    Ok(
        crate::core::links::invitations::find(db, &app.id, token, db.now())
            .await
            .map_err(internal)?
            .map(|pending| pending.org.slug),
    )
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

/// One organization of the signed-in user, for the switcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyOrg {
    pub slug: String,
    pub name: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgMember {
    pub user_id: String,
    pub email: String,
    pub roles: Vec<String>,
    pub is_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvite {
    pub id: String,
    pub email: String,
    pub roles: Vec<String>,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgTeam {
    pub id: String,
    pub name: String,
    /// (user id, e-mail), by e-mail.
    pub members: Vec<(String, String)>,
}

/// One organization as a member sees it: everyone sees its members and
/// teams; its owners and admins also its invitations, and may change
/// what their level allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPage {
    pub slug: String,
    pub name: String,
    pub my_roles: Vec<String>,
    /// Owner or admin: manages members, invitations and teams.
    pub manages: bool,
    /// The organization roles this member may grant.
    pub grantable: Vec<String>,
    pub members: Vec<OrgMember>,
    pub total_members: u64,
    /// Pass as `after` for the next page of members.
    pub next: Option<String>,
    pub invitations: Vec<PendingInvite>,
    pub teams: Vec<OrgTeam>,
}

/// The signed-in user's organizations.
#[server]
pub async fn my_orgs(app_id: String) -> Result<Vec<MyOrg>, ApiError> {
    let (_, signin) = signed_in(&app_id).await?;
    Ok(
        crate::core::orgs::members::of_user(&state().db, &signin.user.id)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(org, membership)| MyOrg {
                roles: crate::core::orgs::members::roles_of(&membership),
                slug: org.slug,
                name: org.name,
            })
            .collect(),
    )
}

/// An organization that verified the domain of the user's confirmed
/// address and offers to let them join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgOffer {
    pub slug: String,
    pub name: String,
}

/// The organizations open to the signed-in user by their address' domain.
#[server]
pub async fn org_offers(app_id: String) -> Result<Vec<OrgOffer>, ApiError> {
    let (_, signin) = signed_in(&app_id).await?;
    Ok(
        crate::core::orgs::domains::open_to(&state().db, &signin.user)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(org, _)| OrgOffer {
                slug: org.slug,
                name: org.name,
            })
            .collect(),
    )
}

/// Join an organization open to the user by their address' domain (as
/// `member`); checked again inside the write.
#[server]
pub async fn org_join(app_id: String, slug: String) -> Result<(), ApiError> {
    use crate::core::orgs::{self, OrgError};
    use crate::core::write::{self, Actor};
    let (app, signin) = signed_in(&app_id).await?;
    let db = &state().db;
    let slug = crate::types::OrgSlug::parse(&slug).map_err(invalid("slug"))?;
    let actor = Actor::user(&signin.user.id, &signin.user.email, client_info().address);
    let tx = write::begin(db, actor).await.map_err(internal)?;
    let joined = async {
        let org = orgs::require_by_slug(&tx, &app.id, &slug).await?;
        let user = crate::core::users::find(&tx, &app.id, &signin.user.id)
            .await?
            .ok_or(OrgError::NoSuchUser)?;
        crate::core::orgs::domains::join_offered(&tx, &org, &user).await
    }
    .await;
    match joined {
        Ok(_) => tx.commit().await.map_err(internal),
        Err(err) => {
            tx.rollback().await.map_err(internal)?;
            Err(err.into())
        }
    }
}

/// One organization of the signed-in user (members by e-mail, 50 a page,
/// optionally those whose e-mail contains `query`).
#[server]
pub async fn org_view(
    app_id: String,
    slug: String,
    query: Option<String>,
    after: Option<String>,
) -> Result<OrgPage, ApiError> {
    use crate::core::links::invitations;
    use crate::core::orgs::roles::{self as org_roles, Level};
    use crate::core::orgs::{members, teams};
    const PAGE: u64 = 50;
    let (app, signin) = signed_in(&app_id).await?;
    let db = &state().db;
    let (org, mine) = visible(&app, &slug, &signin.user.id).await?;
    let my_roles = members::roles_of(&mine);
    let level = Level::of_roles(&my_roles);
    let manages = level >= Level::Admin;
    let after = after.filter(|a| !a.is_empty());
    let page = members::page(db, &org, query.as_deref(), after.as_deref(), PAGE)
        .await
        .map_err(internal)?;
    let next = (page.len() as u64 == PAGE)
        .then(|| page.last().map(|(u, _)| u.email.clone()))
        .flatten();
    let grantable = match manages {
        true => org_roles::list(db, &app.id)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|r| r.name)
            .filter(|name| Level::of_role(name) <= level)
            .collect(),
        false => Vec::new(),
    };
    let invitations = match manages {
        true => invitations::pending(db, &org, db.now())
            .await
            .map_err(internal)?
            .into_iter()
            .map(|row| PendingInvite {
                roles: invitations::roles_of_invitation(&row),
                expires: when(row.expires_at),
                id: row.id,
                email: row.email,
            })
            .collect(),
        false => Vec::new(),
    };
    let mut team_views = Vec::new();
    for (team, _) in teams::list(db, &org).await.map_err(internal)? {
        let members = teams::members_of(db, &team).await.map_err(internal)?;
        team_views.push(OrgTeam {
            id: team.id,
            name: team.name,
            members: members.into_iter().map(|u| (u.id, u.email)).collect(),
        });
    }
    Ok(OrgPage {
        total_members: members::count(db, &org.id).await.map_err(internal)?,
        members: page
            .into_iter()
            .map(|(user, membership)| OrgMember {
                is_me: user.id == signin.user.id,
                roles: members::roles_of(&membership),
                user_id: user.id,
                email: user.email,
            })
            .collect(),
        next,
        slug: org.slug,
        name: org.name,
        my_roles,
        manages,
        grantable,
        invitations,
        teams: team_views,
    })
}

/// Invite `email` into the organization with `roles` (no higher than the
/// inviter's; default: member).
#[server]
pub async fn org_invite(
    app_id: String,
    slug: String,
    email: String,
    roles: Option<String>,
) -> Result<(), ApiError> {
    let email = crate::types::Email::parse(&email).map_err(invalid("email"))?;
    let roles = role_list(roles.as_deref())?;
    as_member(&app_id, &slug, async |tx, org, acting| {
        crate::core::links::invitations::send(tx, &org, &acting, &email, &roles)
            .await
            .map(|_| ())
    })
    .await
}

/// Resend (`action` "resend") or revoke ("revoke") a pending invitation.
#[server]
pub async fn org_edit_invitation(
    app_id: String,
    slug: String,
    invitation_id: String,
    action: String,
) -> Result<(), ApiError> {
    use crate::core::links::invitations;
    let revoke = match action.as_str() {
        "revoke" => true,
        "resend" => false,
        _ => return Err(ApiError::invalid("action", "Choose resend or revoke.")),
    };
    as_member(&app_id, &slug, async |tx, org, acting| match revoke {
        true => invitations::revoke(tx, &org, &acting, &invitation_id).await,
        false => invitations::resend(tx, &org, &acting, &invitation_id)
            .await
            .map(|_| ()),
    })
    .await
}

/// Give a member exactly `roles` (one's own demotion needs a recent
/// sign-in).
#[server]
pub async fn org_set_member_roles(
    app_id: String,
    slug: String,
    user_id: String,
    roles: Option<String>,
) -> Result<(), ApiError> {
    let roles = role_list(roles.as_deref())?;
    as_member(&app_id, &slug, async |tx, org, acting| {
        let user = member_user(tx, &org, &user_id).await?;
        crate::core::orgs::members::set_roles(tx, &org, &acting, &user, &roles)
            .await
            .map(|_| ())
    })
    .await
}

/// Remove a member; with one's own id, leave (which needs a recent
/// sign-in).
#[server]
pub async fn org_remove_member(
    app_id: String,
    slug: String,
    user_id: String,
) -> Result<(), ApiError> {
    as_member(&app_id, &slug, async |tx, org, acting| {
        let user = member_user(tx, &org, &user_id).await?;
        crate::core::orgs::members::remove(tx, &org, &acting, &user).await
    })
    .await
}

/// A change to a team: `action` is create (with `name`), rename (`team_id`,
/// `name`), delete (`team_id`), add or remove (`team_id`, `user_id`).
#[server]
pub async fn org_edit_team(
    app_id: String,
    slug: String,
    action: String,
    team_id: Option<String>,
    name: Option<String>,
    user_id: Option<String>,
) -> Result<(), ApiError> {
    use crate::core::orgs::teams;
    let name = name
        .as_deref()
        .map(|n| crate::types::DisplayName::parse(n).map_err(invalid("name")))
        .transpose()?;
    let team_id = team_id.unwrap_or_default();
    let user_id = user_id.unwrap_or_default();
    as_member(&app_id, &slug, async |tx, org, acting| {
        let named = || name.clone().ok_or(crate::core::orgs::OrgError::NoSuchTeam);
        match action.as_str() {
            "create" => teams::create(tx, &org, &acting, &named()?)
                .await
                .map(|_| ()),
            "rename" => {
                let team = teams::require(tx, &org, &team_id).await?;
                teams::rename(tx, &org, &acting, &team, &named()?)
                    .await
                    .map(|_| ())
            }
            "delete" => {
                let team = teams::require(tx, &org, &team_id).await?;
                teams::delete(tx, &org, &acting, &team).await
            }
            "add" | "remove" => {
                let team = teams::require(tx, &org, &team_id).await?;
                let user = member_user(tx, &org, &user_id).await?;
                match action.as_str() {
                    "add" => teams::add_member(tx, &org, &acting, &team, &user).await,
                    _ => teams::remove_member(tx, &org, &acting, &team, &user).await,
                }
                .map(|_| ())
            }
            _ => Err(crate::core::orgs::OrgError::NoSuchTeam),
        }
    })
    .await
}

#[cfg(feature = "ssr")]
use member_side::*;

/// What the member-facing server functions share.
#[cfg(feature = "ssr")]
mod member_side {
    use super::*;
    use crate::core::orgs::{self, OrgError, members::Acting};
    use crate::core::sessions::ActiveSignin;
    use crate::core::write::{self, Actor, Write};
    use crate::entities::{app, app_user, membership, organization};

    /// The app and who is signed in to it here.
    pub async fn signed_in(app_id: &str) -> Result<(app::Model, ActiveSignin), ApiError> {
        let app = load_app(app_id).await?;
        let session = browser_session().await?;
        let signin = current_signin(&session, &app)
            .await?
            .ok_or(ApiError::SignInRequired)?;
        Ok((app, signin))
    }

    /// The organization `slug`, if the user is a member (else "not found",
    /// whether or not it exists).
    pub async fn visible(
        app: &app::Model,
        slug: &str,
        user_id: &str,
    ) -> Result<(organization::Model, membership::Model), ApiError> {
        orgs::visible_to(&state().db, &app.id, slug, user_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "You are not a member of an organization \"{slug}\" here."
                ))
            })
    }

    /// A member of `org` (by user id), for a change.
    pub async fn member_user(
        tx: &Write,
        org: &organization::Model,
        user_id: &str,
    ) -> Result<app_user::Model, OrgError> {
        crate::core::users::find(tx, &org.app_id, user_id)
            .await?
            .ok_or(OrgError::NoSuchUser)
    }

    /// Organization roles from a form field (commas or spaces); `member`
    /// when none is given.
    pub fn role_list(raw: Option<&str>) -> Result<Vec<crate::types::RoleName>, ApiError> {
        let mut roles: Vec<crate::types::RoleName> = raw
            .unwrap_or_default()
            .split([',', ' '])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| crate::types::RoleName::parse(r).map_err(invalid("roles")))
            .collect::<Result<_, _>>()?;
        if roles.is_empty() {
            roles.push(
                crate::types::RoleName::parse(orgs::roles::MEMBER).map_err(invalid("roles"))?,
            );
        }
        Ok(roles)
    }

    /// Run `change` in one write as the signed-in member of the
    /// organization `slug` (the core functions check their level, the
    /// last-owner guard and, for their own access, a recent sign-in).
    pub async fn as_member(
        app_id: &str,
        slug: &str,
        change: impl AsyncFnOnce(&Write, organization::Model, Acting) -> Result<(), OrgError>,
    ) -> Result<(), ApiError> {
        let (app, signin) = signed_in(app_id).await?;
        let db = &state().db;
        let (org, _) = visible(&app, slug, &signin.user.id).await?;
        let acting = orgs::acting_as(db, &signin).await.map_err(internal)?;
        let actor = Actor::user(&signin.user.id, &signin.user.email, client_info().address);
        let tx = write::begin(db, actor).await.map_err(internal)?;
        match change(&tx, org, acting).await {
            Ok(()) => {
                tx.commit().await.map_err(internal)?;
                Ok(())
            }
            Err(err) => {
                tx.rollback().await.map_err(internal)?;
                Err(err.into())
            }
        }
    }
}
