//! Organizations of an app, their roles, members and teams, as operators
//! manage them. An operator acts above every organization role
//! (`members::Acting::Operator`), but the per-organization guardrails (the
//! last owner) hold for them as for anyone: a refusal is recorded.

use super::users::user_of;
use super::{AdminError, change, readable_app, refused, writable_app};
use crate::core::audit::Target;
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::links::invitations;
use crate::core::orgs::domains::{self, DomainPolicy, Verification};
use crate::core::orgs::members::{self, Acting, RoleChange};
use crate::core::orgs::roles::{self as org_roles, OrgRole};
use crate::core::orgs::{self, OrgError, Removed, teams};
use crate::core::roles::RolePolicy;
use crate::core::users;
use crate::core::write::Write;
use crate::entities::{app_user, membership, org_domain, organization, team};
use crate::types::{AppId, DisplayName, DomainName, Email, OrgSlug, RoleName};

/// Organizations and members shown per page.
pub const PAGE: u64 = 50;

fn org_error(err: OrgError) -> AdminError {
    let invalid = |field: &'static str, err: OrgError| AdminError::Invalid {
        field,
        message: err.to_string(),
    };
    match err {
        OrgError::SlugTaken(_) => invalid("slug", err),
        OrgError::RoleTaken(_) | OrgError::BuiltinRole(_) => invalid("name", err),
        OrgError::TeamTaken(_) => invalid("name", err),
        OrgError::InvalidMaxAuthAge => invalid("max_auth_age_secs", err),
        OrgError::NoRoles | OrgError::NoSuchRole(_) => invalid("roles", err),
        OrgError::AlreadyMember(_) => invalid("email", err),
        OrgError::DomainTaken(_) | OrgError::DomainVerifiedElsewhere(_) => invalid("domain", err),
        OrgError::InvalidDomainPolicy(_) => invalid("domain_policy", err),
        OrgError::NoSuchDomain(_) => AdminError::NotFound(err.to_string()),
        OrgError::NotFound(_)
        | OrgError::NotAMember(_)
        | OrgError::NoSuchTeam
        | OrgError::NoSuchUser
        | OrgError::NoSuchInvitation => AdminError::NotFound(err.to_string()),
        OrgError::OtherApp(_) => AdminError::NotFound("There is no such user in this app.".into()),
        OrgError::Refused(guard) => AdminError::Refused(guard.to_string()),
        OrgError::Fault(fault) => AdminError::Fault(fault),
    }
}

/// A core result inside [`change`]: a guardrail's refusal is recorded and
/// rolled back, any other error rolls back.
fn settled<T>(result: Result<T, OrgError>) -> super::Outcome<T> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(OrgError::Refused(guard)) => Ok(Err(guard.to_string())),
        Err(err) => Err(org_error(err)),
    }
}

async fn org_of(
    db: &Db,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<organization::Model, AdminError> {
    orgs::require_by_slug(db, app_id, slug)
        .await
        .map_err(org_error)
}

/// A change to the organization `slug` of `app_id`, once the operator may
/// change the app: one write, refusals recorded.
async fn org_change<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    attempted: &str,
    target: Option<Target>,
    change_org: impl AsyncFnOnce(&Write, organization::Model) -> Result<T, OrgError>,
) -> Result<T, AdminError> {
    writable_app(db, operator, app_id, attempted, target.clone()).await?;
    let org = org_of(db, app_id, slug).await?;
    let target = target.or_else(|| Some(Target::org(org.id.as_str())));
    change(db, operator, app_id, attempted, target, async |tx| {
        settled(change_org(tx, org).await)
    })
    .await
}

/// An organization as the console lists it.
pub struct OrgSummary {
    pub org: organization::Model,
    pub members: u64,
}

/// One page of organizations (by slug, optionally filtered), plus the total.
pub async fn page(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    query: Option<&str>,
    after: Option<&str>,
) -> Result<(Vec<OrgSummary>, u64), AdminError> {
    readable_app(db, operator, app_id, "org.list").await?;
    let page = orgs::page(db, app_id, query, after, PAGE).await?;
    let ids: Vec<&str> = page.iter().map(|org| org.id.as_str()).collect();
    let counts = members::counts(db, &ids).await?;
    let out = page
        .into_iter()
        .map(|org| OrgSummary {
            members: counts.get(&org.id).copied().unwrap_or(0),
            org,
        })
        .collect();
    Ok((out, orgs::count(db, app_id).await?))
}

pub async fn view(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<organization::Model, AdminError> {
    readable_app(db, operator, app_id, "org.view").await?;
    org_of(db, app_id, slug).await
}

pub async fn create(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    name: &DisplayName,
) -> Result<organization::Model, AdminError> {
    writable_app(db, operator, app_id, "org.create", None).await?;
    change(db, operator, app_id, "org.create", None, async |tx| {
        settled(orgs::create(tx, app_id, slug, name).await)
    })
    .await
}

pub async fn rename(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    name: &DisplayName,
) -> Result<organization::Model, AdminError> {
    org_change(
        db,
        operator,
        app_id,
        slug,
        "org.rename",
        None,
        async |tx, org| orgs::rename(tx, &org, name).await,
    )
    .await
}

/// Delete an organization: the operator types its slug to confirm.
pub async fn delete(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    confirmation: &str,
) -> Result<Removed, AdminError> {
    if confirmation.trim() != slug.as_str() {
        return Err(AdminError::Invalid {
            field: "confirmation",
            message: format!("Type the organization's slug, {slug}, to confirm its deletion."),
        });
    }
    org_change(
        db,
        operator,
        app_id,
        slug,
        "org.delete",
        None,
        async |tx, org| orgs::delete(tx, &org).await,
    )
    .await
}

/// The user `user_id` of the app, inside a team change.
async fn member_user(
    tx: &Write,
    app_id: &AppId,
    user_id: &str,
) -> Result<app_user::Model, OrgError> {
    users::find(tx, app_id, user_id)
        .await?
        .ok_or(OrgError::NoSuchUser)
}

/// One page of an organization's members (by e-mail), plus the total.
pub async fn members(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    query: Option<&str>,
    after: Option<&str>,
) -> Result<(Vec<(app_user::Model, membership::Model)>, u64), AdminError> {
    readable_app(db, operator, app_id, "org.members").await?;
    let org = org_of(db, app_id, slug).await?;
    let page = members::page(db, &org, query, after, PAGE).await?;
    Ok((page, members::count(db, &org.id).await?))
}

pub async fn add_member(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    user_id: &str,
    roles: &[RoleName],
) -> Result<membership::Model, AdminError> {
    let user = user_of(db, app_id, user_id).await?;
    let target = Some(Target::user(user_id));
    org_change(
        db,
        operator,
        app_id,
        slug,
        "membership.add",
        target,
        async |tx, org| members::add(tx, &org, &Acting::Operator, &user, roles).await,
    )
    .await
}

pub async fn set_member_roles(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    user_id: &str,
    roles: &[RoleName],
) -> Result<RoleChange, AdminError> {
    let user = user_of(db, app_id, user_id).await?;
    let target = Some(Target::user(user_id));
    org_change(
        db,
        operator,
        app_id,
        slug,
        "membership.role_change",
        target,
        async |tx, org| members::set_roles(tx, &org, &Acting::Operator, &user, roles).await,
    )
    .await
}

pub async fn remove_member(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    user_id: &str,
) -> Result<(), AdminError> {
    let user = user_of(db, app_id, user_id).await?;
    let target = Some(Target::user(user_id));
    org_change(
        db,
        operator,
        app_id,
        slug,
        "membership.remove",
        target,
        async |tx, org| members::remove(tx, &org, &Acting::Operator, &user).await,
    )
    .await
}

/// The app's organization roles. (How many hold each is not counted here:
/// that reads every membership of the app; deleting a role says it.)
pub async fn roles(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
) -> Result<Vec<OrgRole>, AdminError> {
    readable_app(db, operator, app_id, "org_role.list").await?;
    Ok(org_roles::list(db, app_id).await?)
}

/// Create, update or delete a custom organization role.
pub enum RoleEdit {
    Create {
        description: String,
        policy: RolePolicy,
    },
    Update {
        description: String,
        policy: RolePolicy,
    },
    Delete,
}

pub async fn edit_role(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    name: &RoleName,
    edit: RoleEdit,
) -> Result<(), AdminError> {
    let attempted = match edit {
        RoleEdit::Create { .. } => "org_role.create",
        RoleEdit::Update { .. } => "org_role.update",
        RoleEdit::Delete => "org_role.delete",
    };
    let target = Some(Target::role(name.as_str()));
    writable_app(db, operator, app_id, attempted, target.clone()).await?;
    if app_id.is_console() {
        return Err(refused(
            db,
            operator,
            app_id,
            attempted,
            target,
            "The console has no organizations.",
        )
        .await);
    }
    change(db, operator, app_id, attempted, target, async |tx| {
        settled(match edit {
            RoleEdit::Create {
                description,
                policy,
            } => org_roles::create(tx, app_id, name, description, policy)
                .await
                .map(|_| ()),
            RoleEdit::Update {
                description,
                policy,
            } => org_roles::update(tx, app_id, name, description, policy)
                .await
                .map(|_| ()),
            RoleEdit::Delete => org_roles::delete(tx, app_id, name).await.map(|_| ()),
        })
    })
    .await
}

/// An organization's teams, each with its members.
pub async fn teams(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<Vec<(team::Model, Vec<app_user::Model>)>, AdminError> {
    readable_app(db, operator, app_id, "team.list").await?;
    let org = org_of(db, app_id, slug).await?;
    let mut out = Vec::new();
    for (team, _) in teams::list(db, &org).await? {
        let members = teams::members_of(db, &team).await?;
        out.push((team, members));
    }
    Ok(out)
}

/// What an operator does to a team.
pub enum TeamEdit<'a> {
    Create(&'a DisplayName),
    Rename {
        team_id: &'a str,
        name: &'a DisplayName,
    },
    Delete {
        team_id: &'a str,
    },
    AddMember {
        team_id: &'a str,
        user_id: &'a str,
    },
    RemoveMember {
        team_id: &'a str,
        user_id: &'a str,
    },
}

pub async fn edit_team(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    edit: TeamEdit<'_>,
) -> Result<(), AdminError> {
    let attempted = match edit {
        TeamEdit::Create(_) => "team.create",
        TeamEdit::Rename { .. } => "team.rename",
        TeamEdit::Delete { .. } => "team.delete",
        TeamEdit::AddMember { .. } => "team.member_add",
        TeamEdit::RemoveMember { .. } => "team.member_remove",
    };
    let acting = Acting::Operator;
    org_change(
        db,
        operator,
        app_id,
        slug,
        attempted,
        None,
        async |tx, org| match edit {
            TeamEdit::Create(name) => teams::create(tx, &org, &acting, name).await.map(|_| ()),
            TeamEdit::Rename { team_id, name } => {
                let team = teams::require(tx, &org, team_id).await?;
                teams::rename(tx, &org, &acting, &team, name)
                    .await
                    .map(|_| ())
            }
            TeamEdit::Delete { team_id } => {
                let team = teams::require(tx, &org, team_id).await?;
                teams::delete(tx, &org, &acting, &team).await
            }
            TeamEdit::AddMember { team_id, user_id } => {
                let team = teams::require(tx, &org, team_id).await?;
                let user = member_user(tx, app_id, user_id).await?;
                teams::add_member(tx, &org, &acting, &team, &user)
                    .await
                    .map(|_| ())
            }
            TeamEdit::RemoveMember { team_id, user_id } => {
                let team = teams::require(tx, &org, team_id).await?;
                let user = member_user(tx, app_id, user_id).await?;
                teams::remove_member(tx, &org, &acting, &team, &user)
                    .await
                    .map(|_| ())
            }
        },
    )
    .await
}

/// The pending invitations of an organization, newest first.
pub async fn invitations(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<Vec<crate::entities::invitation::Model>, AdminError> {
    readable_app(db, operator, app_id, "invitation.list").await?;
    let org = org_of(db, app_id, slug).await?;
    Ok(invitations::pending(db, &org, db.now()).await?)
}

/// Invite `email` with `roles`; the link goes out by e-mail, and is handed
/// back for the operator to pass on another way if they must.
pub async fn invite(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    email: &Email,
    roles: &[RoleName],
) -> Result<String, AdminError> {
    let token = org_change(
        db,
        operator,
        app_id,
        slug,
        "invitation.send",
        None,
        async |tx, org| {
            invitations::send(tx, &org, &Acting::Operator, email, roles)
                .await
                .map(|(_, token)| token)
        },
    )
    .await?;
    Ok(token)
}

/// Resend (a new link and 7 days) or revoke a pending invitation.
pub async fn edit_invitation(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    invitation_id: &str,
    revoke: bool,
) -> Result<(), AdminError> {
    let (attempted, target) = match revoke {
        true => ("invitation.revoke", Target::invitation(invitation_id)),
        false => ("invitation.resend", Target::invitation(invitation_id)),
    };
    org_change(
        db,
        operator,
        app_id,
        slug,
        attempted,
        Some(target),
        async |tx, org| match revoke {
            true => invitations::revoke(tx, &org, &Acting::Operator, invitation_id).await,
            false => invitations::resend(tx, &org, &Acting::Operator, invitation_id)
                .await
                .map(|_| ()),
        },
    )
    .await
}

/// An organization's domains, with the TXT record each one's proof needs.
pub async fn domains(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<(organization::Model, Vec<org_domain::Model>), AdminError> {
    readable_app(db, operator, app_id, "org_domain.list").await?;
    let org = org_of(db, app_id, slug).await?;
    let claims = domains::list(db, &org).await?;
    Ok((org, claims))
}

/// What an operator does to an organization's domains.
#[derive(Debug, Clone, Copy)]
pub enum DomainEdit<'a> {
    Add(&'a DomainName),
    Remove(&'a DomainName),
    /// Vouch for the domain without DNS; `confirmation` must repeat it.
    Attest {
        domain: &'a DomainName,
        confirmation: &'a str,
    },
    /// Set what a confirmed address at a verified domain brings.
    Policy(DomainPolicy),
}

pub async fn edit_domain(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    edit: DomainEdit<'_>,
) -> Result<(), AdminError> {
    let attempted = match edit {
        DomainEdit::Add(_) => "org_domain.add",
        DomainEdit::Remove(_) => "org_domain.remove",
        DomainEdit::Attest { .. } => "org_domain.attest",
        DomainEdit::Policy(_) => "org.domain_policy",
    };
    // The typed domain in whichever spelling (Unicode or its ASCII form).
    if let DomainEdit::Attest {
        domain,
        confirmation,
    } = edit
        && DomainName::parse(confirmation).ok().as_ref() != Some(domain)
    {
        return Err(AdminError::Invalid {
            field: "confirmation",
            message: format!("Type {domain} to attest that this organization controls it."),
        });
    }
    org_change(
        db,
        operator,
        app_id,
        slug,
        attempted,
        None,
        async |tx, org| match edit {
            DomainEdit::Add(domain) => domains::add(tx, &org, domain).await.map(|_| ()),
            DomainEdit::Remove(domain) => {
                let claim = domains::require(tx, &org, domain).await?;
                domains::remove(tx, &org, &claim).await
            }
            DomainEdit::Attest { domain, .. } => {
                let claim = domains::require(tx, &org, domain).await?;
                domains::mark_verified(tx, &org, &claim, Verification::Attested)
                    .await
                    .map(|_| ())
            }
            DomainEdit::Policy(policy) => domains::set_policy(tx, &org, policy).await.map(|_| ()),
        },
    )
    .await
}

/// Check a domain's TXT record through the DNS (`server`, or the system's
/// resolvers) and mark it verified when it holds the proof. The question
/// is asked before the write, so no lock waits on the network.
pub async fn check_domain(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    domain: &DomainName,
    server: Option<std::net::SocketAddr>,
) -> Result<(), AdminError> {
    let attempted = "org_domain.check";
    writable_app(db, operator, app_id, attempted, None).await?;
    let org = org_of(db, app_id, slug).await?;
    let claim = domains::require(db, &org, domain)
        .await
        .map_err(org_error)?;
    if claim.verified_at.is_some() {
        return Ok(());
    }
    domains::check_published(&claim, server)
        .await
        .map_err(|unproved| AdminError::Invalid {
            field: "proof",
            message: unproved.to_string(),
        })?;
    let target = Some(Target::org(org.id.as_str()));
    change(db, operator, app_id, attempted, target, async |tx| {
        settled(
            domains::mark_verified(tx, &org, &claim, Verification::Dns)
                .await
                .map(|_| ()),
        )
    })
    .await
}

/// How people get into an organization besides being added: its domains,
/// their policy, and the provider its invitations are accepted through.
pub struct Access {
    pub org: organization::Model,
    pub domains: Vec<org_domain::Model>,
    pub required_provider: Option<crate::entities::identity_provider::Model>,
    /// The app's providers, to choose from.
    pub providers: Vec<crate::entities::identity_provider::Model>,
}

pub async fn access(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
) -> Result<Access, AdminError> {
    let (org, domains) = domains(db, operator, app_id, slug).await?;
    Ok(Access {
        required_provider: orgs::required_provider(db, &org).await?,
        providers: crate::core::upstream::providers::list(db, app_id).await?,
        domains,
        org,
    })
}

/// Accept the organization's invitations only through the provider
/// `provider_slug` of the app, or (with `None`) any way the app offers.
pub async fn require_provider(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &OrgSlug,
    provider_slug: Option<&str>,
) -> Result<(), AdminError> {
    let provider = match provider_slug {
        Some(wanted) => Some(
            crate::core::upstream::providers::find(db, app_id, wanted)
                .await?
                .ok_or_else(|| AdminError::Invalid {
                    field: "provider",
                    message: format!("This app has no sign-in provider \"{wanted}\"."),
                })?,
        ),
        None => None,
    };
    org_change(
        db,
        operator,
        app_id,
        slug,
        "org.require_provider",
        None,
        async |tx, org| {
            orgs::require_provider(tx, &org, provider.as_ref())
                .await
                .map(|_| ())
        },
    )
    .await
}
