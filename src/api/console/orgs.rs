//! An app's organizations in the console: the list, one organization's
//! members and teams, the app's organization roles, and what an operator
//! may change in them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
#[cfg(feature = "ssr")]
use crate::api::context::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub members: u64,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgsPage {
    pub orgs: Vec<OrgRow>,
    pub total: u64,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub active: bool,
    pub roles: Vec<String>,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub org: OrgRow,
    pub members: Vec<MemberRow>,
    pub total: u64,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRoleView {
    pub name: String,
    pub description: String,
    pub require_passkey: bool,
    pub max_auth_age_secs: Option<i64>,
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// (user id, e-mail), by e-mail.
    pub members: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::types::{DisplayName, OrgSlug, RoleName};

    pub fn slug_of(raw: &str) -> Result<OrgSlug, ApiError> {
        OrgSlug::parse(raw).map_err(invalid("slug"))
    }

    pub fn name_of(raw: &str) -> Result<DisplayName, ApiError> {
        DisplayName::parse(raw).map_err(invalid("name"))
    }

    /// Roles from a form: one field, separated by commas or spaces.
    pub fn roles_of(raw: Option<&str>) -> Result<Vec<RoleName>, ApiError> {
        raw.unwrap_or_default()
            .split([',', ' '])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| RoleName::parse(r).map_err(invalid("roles")))
            .collect()
    }

    pub fn org_row(org: crate::entities::organization::Model, members: u64) -> OrgRow {
        OrgRow {
            created: when(org.created_at),
            id: org.id,
            slug: org.slug,
            name: org.name,
            members,
        }
    }
}
#[cfg(feature = "ssr")]
use ssr::*;

#[server]
pub async fn console_orgs(
    app_id: String,
    query: Option<String>,
    after: Option<String>,
) -> Result<OrgsPage, ApiError> {
    use crate::core::admin::orgs::PAGE;
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let after = after.filter(|a| !a.is_empty());
    let (orgs, total) = crate::core::admin::orgs::page(
        &state().db,
        &operator,
        &app_id,
        query.as_deref(),
        after.as_deref(),
    )
    .await?;
    let next = (orgs.len() as u64 == PAGE)
        .then(|| orgs.last().map(|o| o.org.slug.clone()))
        .flatten();
    Ok(OrgsPage {
        orgs: orgs
            .into_iter()
            .map(|o| org_row(o.org, o.members))
            .collect(),
        total,
        next,
    })
}

#[server]
pub async fn console_create_org(
    app_id: String,
    slug: String,
    name: String,
) -> Result<OrgRow, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let org = crate::core::admin::orgs::create(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &name_of(&name)?,
    )
    .await?;
    Ok(org_row(org, 0))
}

#[server]
pub async fn console_rename_org(
    app_id: String,
    slug: String,
    name: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::orgs::rename(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &name_of(&name)?,
    )
    .await?;
    Ok(())
}

/// Delete an organization; `confirmation` must repeat its slug. Says what
/// went with it.
#[server]
pub async fn console_delete_org(
    app_id: String,
    slug: String,
    confirmation: String,
) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let removed = crate::core::admin::orgs::delete(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &confirmation,
    )
    .await?;
    Ok(format!(
        "Deleted {slug}: {} memberships, {} pending invitations and {} teams removed.",
        removed.memberships, removed.pending_invitations, removed.teams
    ))
}

#[server]
pub async fn console_org_members(
    app_id: String,
    slug: String,
    query: Option<String>,
    after: Option<String>,
) -> Result<MembersPage, ApiError> {
    use crate::core::admin::orgs::{self, PAGE};
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let slug = slug_of(&slug)?;
    let db = &state().db;
    let org = orgs::view(db, &operator, &app_id, &slug).await?;
    let after = after.filter(|a| !a.is_empty());
    let (members, total) = orgs::members(
        db,
        &operator,
        &app_id,
        &slug,
        query.as_deref(),
        after.as_deref(),
    )
    .await?;
    let next = (members.len() as u64 == PAGE)
        .then(|| members.last().map(|(u, _)| u.email.clone()))
        .flatten();
    Ok(MembersPage {
        org: org_row(org, total),
        members: members
            .into_iter()
            .map(|(user, membership)| MemberRow {
                roles: crate::core::orgs::members::roles_of(&membership),
                since: when(membership.created_at),
                active: user.status == crate::types::UserStatus::Active,
                user_id: user.id,
                email: user.email,
            })
            .collect(),
        total,
        next,
    })
}

/// Make the app's user `email` a member with `roles` (default: member).
#[server]
pub async fn console_add_org_member(
    app_id: String,
    slug: String,
    email: String,
    roles: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let db = &state().db;
    let mut roles = roles_of(roles.as_deref())?;
    if roles.is_empty() {
        roles.push(
            crate::types::RoleName::parse(crate::core::orgs::roles::MEMBER)
                .map_err(invalid("roles"))?,
        );
    }
    let email = crate::types::Email::for_lookup(&email).map_err(invalid("email"))?;
    let user = crate::core::users::find_by_email(db, &app_id, &email)
        .await
        .map_err(crate::core::fault::Fault::from)?
        .ok_or_else(|| {
            ApiError::invalid("email", "There is no user with this e-mail in the app.")
        })?;
    crate::core::admin::orgs::add_member(
        db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &user.id,
        &roles,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_set_org_member_roles(
    app_id: String,
    slug: String,
    user_id: String,
    roles: Option<String>,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::orgs::set_member_roles(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &user_id,
        &roles_of(roles.as_deref())?,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_remove_org_member(
    app_id: String,
    slug: String,
    user_id: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::orgs::remove_member(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &user_id,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn console_org_roles(app_id: String) -> Result<Vec<OrgRoleView>, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    Ok(
        crate::core::admin::orgs::roles(&state().db, &operator, &app_id)
            .await?
            .into_iter()
            .map(|role| OrgRoleView {
                name: role.name,
                description: role.description,
                require_passkey: role.policy.require_passkey,
                max_auth_age_secs: role.policy.max_auth_age_secs,
                builtin: role.builtin,
            })
            .collect(),
    )
}

/// Create (`action` "create"), update ("update") or delete ("delete") a
/// custom organization role.
#[server]
pub async fn console_edit_org_role(
    app_id: String,
    name: String,
    action: String,
    description: Option<String>,
    require_passkey: Option<String>,
    max_auth_age_secs: Option<String>,
) -> Result<(), ApiError> {
    use crate::core::admin::orgs::RoleEdit;
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let name = crate::types::RoleName::parse(&name).map_err(invalid("name"))?;
    let policy = || super::roles::ssr::policy(require_passkey.clone(), max_auth_age_secs.clone());
    let edit = match action.as_str() {
        "create" => RoleEdit::Create {
            description: description.clone().unwrap_or_default(),
            policy: policy()?,
        },
        "update" => RoleEdit::Update {
            description: description.clone().unwrap_or_default(),
            policy: policy()?,
        },
        "delete" => RoleEdit::Delete,
        _ => {
            return Err(ApiError::invalid(
                "action",
                "Choose create, update or delete.",
            ));
        }
    };
    crate::core::admin::orgs::edit_role(&state().db, &operator, &app_id, &name, edit).await?;
    Ok(())
}

#[server]
pub async fn console_org_teams(app_id: String, slug: String) -> Result<Vec<TeamView>, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    Ok(
        crate::core::admin::orgs::teams(&state().db, &operator, &app_id, &slug_of(&slug)?)
            .await?
            .into_iter()
            .map(|(team, members)| TeamView {
                id: team.id,
                name: team.name,
                members: members.into_iter().map(|u| (u.id, u.email)).collect(),
            })
            .collect(),
    )
}

/// A change to a team: `action` is create (with `name`), rename (`team_id`,
/// `name`), delete (`team_id`), add or remove (`team_id`, `user_id`).
#[server]
pub async fn console_edit_team(
    app_id: String,
    slug: String,
    action: String,
    team_id: Option<String>,
    name: Option<String>,
    user_id: Option<String>,
) -> Result<(), ApiError> {
    use crate::core::admin::orgs::TeamEdit;
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let slug = slug_of(&slug)?;
    let name = name.as_deref().map(name_of).transpose()?;
    let required = |value: &Option<String>, field: &'static str| {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::invalid(field, "This is required."))
    };
    let named = || {
        name.as_ref()
            .ok_or_else(|| ApiError::invalid("name", "Give the team a name."))
    };
    let team = || required(&team_id, "team_id");
    let user = || required(&user_id, "user_id");
    let (team_id, user_id) = (team(), user());
    let edit = match action.as_str() {
        "create" => TeamEdit::Create(named()?),
        "rename" => TeamEdit::Rename {
            team_id: team_id.as_deref().map_err(Clone::clone)?,
            name: named()?,
        },
        "delete" => TeamEdit::Delete {
            team_id: team_id.as_deref().map_err(Clone::clone)?,
        },
        "add" => TeamEdit::AddMember {
            team_id: team_id.as_deref().map_err(Clone::clone)?,
            user_id: user_id.as_deref().map_err(Clone::clone)?,
        },
        "remove" => TeamEdit::RemoveMember {
            team_id: team_id.as_deref().map_err(Clone::clone)?,
            user_id: user_id.as_deref().map_err(Clone::clone)?,
        },
        _ => {
            return Err(ApiError::invalid(
                "action",
                "Choose create, rename, delete, add or remove.",
            ));
        }
    };
    crate::core::admin::orgs::edit_team(&state().db, &operator, &app_id, &slug, edit).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub roles: Vec<String>,
    pub sent: String,
    pub expires: String,
}

#[server]
pub async fn console_org_invitations(
    app_id: String,
    slug: String,
) -> Result<Vec<InvitationRow>, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    Ok(
        crate::core::admin::orgs::invitations(&state().db, &operator, &app_id, &slug_of(&slug)?)
            .await?
            .into_iter()
            .map(|row| InvitationRow {
                roles: crate::core::links::invitations::roles_of_invitation(&row),
                sent: when(row.created_at),
                expires: when(row.expires_at),
                id: row.id,
                email: row.email,
            })
            .collect(),
    )
}

/// Invite `email` into the organization with `roles` (default: member);
/// answers the link (it is also e-mailed).
#[server]
pub async fn console_invite_to_org(
    app_id: String,
    slug: String,
    email: String,
    roles: Option<String>,
) -> Result<String, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let email = crate::types::Email::parse(&email).map_err(invalid("email"))?;
    let mut roles = roles_of(roles.as_deref())?;
    if roles.is_empty() {
        roles.push(
            crate::types::RoleName::parse(crate::core::orgs::roles::MEMBER)
                .map_err(invalid("roles"))?,
        );
    }
    let token = crate::core::admin::orgs::invite(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &email,
        &roles,
    )
    .await?;
    Ok(format!(
        "{}{}",
        state().settings.public_url,
        crate::core::links::invitations::path(&app_id, &token)
    ))
}

/// Resend (`action` "resend") or revoke ("revoke") a pending invitation.
#[server]
pub async fn console_edit_invitation(
    app_id: String,
    slug: String,
    invitation_id: String,
    action: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let revoke = match action.as_str() {
        "revoke" => true,
        "resend" => false,
        _ => return Err(ApiError::invalid("action", "Choose resend or revoke.")),
    };
    crate::core::admin::orgs::edit_invitation(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        &invitation_id,
        revoke,
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRow {
    pub domain: String,
    /// `dns` or `attested` once verified.
    pub verified_by: Option<String>,
    pub verified: Option<String>,
    /// Where the TXT record goes, and what it must hold.
    pub record_name: String,
    pub record_value: String,
}

/// How people get into an organization besides being added: its domains
/// and their policy, and the provider its invitations go through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessView {
    /// none, offer or auto.
    pub policy: String,
    pub domains: Vec<DomainRow>,
    /// The provider's slug, if the organization requires one.
    pub required_provider: Option<String>,
    /// The app's providers: (slug, display name).
    pub providers: Vec<(String, String)>,
}

#[server]
pub async fn console_org_access(app_id: String, slug: String) -> Result<AccessView, ApiError> {
    use crate::core::orgs::domains;
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let access =
        crate::core::admin::orgs::access(&state().db, &operator, &app_id, &slug_of(&slug)?).await?;
    Ok(AccessView {
        policy: access.org.domain_policy,
        required_provider: access.required_provider.map(|p| p.slug),
        providers: access
            .providers
            .into_iter()
            .map(|p| (p.slug, p.display_name))
            .collect(),
        domains: access
            .domains
            .into_iter()
            .map(|claim| DomainRow {
                record_name: domains::challenge_name(&claim.domain),
                record_value: domains::expected_record(&claim),
                verified: claim.verified_at.map(when),
                verified_by: claim.verified_by,
                domain: claim.domain,
            })
            .collect(),
    })
}

/// A change to an organization's domains: `action` is add, remove, check
/// (the DNS TXT proof), attest (with `confirmation`, the domain typed
/// again) or policy (with `policy`: none, offer or auto).
#[server]
pub async fn console_edit_org_domain(
    app_id: String,
    slug: String,
    action: String,
    domain: Option<String>,
    confirmation: Option<String>,
    policy: Option<String>,
) -> Result<(), ApiError> {
    use crate::core::admin::orgs::{self as admin_orgs, DomainEdit};
    use crate::core::orgs::domains::DomainPolicy;
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let slug = slug_of(&slug)?;
    let domain = || {
        crate::types::DomainName::parse(domain.as_deref().unwrap_or_default())
            .map_err(invalid("domain"))
    };
    let db = &state().db;
    let edit = |edit| admin_orgs::edit_domain(db, &operator, &app_id, &slug, edit);
    match action.as_str() {
        "add" => edit(DomainEdit::Add(&domain()?)).await?,
        "remove" => edit(DomainEdit::Remove(&domain()?)).await?,
        "attest" => {
            edit(DomainEdit::Attest {
                domain: &domain()?,
                confirmation: confirmation.as_deref().unwrap_or_default(),
            })
            .await?
        }
        "policy" => {
            let policy = DomainPolicy::parse(policy.as_deref().unwrap_or_default())
                .map_err(|err| ApiError::invalid("policy", err.to_string()))?;
            edit(DomainEdit::Policy(policy)).await?
        }
        "check" => {
            admin_orgs::check_domain(
                db,
                &operator,
                &app_id,
                &slug,
                &domain()?,
                state().settings.dns_server,
            )
            .await?
        }
        _ => {
            return Err(ApiError::invalid(
                "action",
                "Choose add, remove, check, attest or policy.",
            ));
        }
    }
    Ok(())
}

/// Accept the organization's invitations only through the app's provider
/// `provider` (a slug), or, empty or "none", any way the app offers.
#[server]
pub async fn console_require_org_provider(
    app_id: String,
    slug: String,
    provider: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let provider = Some(provider.trim()).filter(|p| !p.is_empty() && *p != "none");
    crate::core::admin::orgs::require_provider(
        &state().db,
        &operator,
        &app_id,
        &slug_of(&slug)?,
        provider,
    )
    .await?;
    Ok(())
}
