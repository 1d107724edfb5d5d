//! `oneauth org …`: an app's organizations, their members, roles and teams
//! from the shell. The person at the shell acts as an operator (above every
//! organization role); the per-organization guardrails hold as everywhere.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::{CliError, CliResult, print_json};
use crate::config::Settings;
use crate::core::db::Db;
use crate::core::links::invitations;
use crate::core::orgs::domains::{self, DomainPolicy, Verification};
use crate::core::orgs::members::{self, Acting, RoleChange};
use crate::core::orgs::roles as org_roles;
use crate::core::orgs::{self, teams};
use crate::core::roles::RolePolicy;
use crate::core::write::{self, Actor, Write};
use crate::core::{apps, users};
use crate::entities::{app_user, organization};
use crate::types::{AppId, DisplayName, DomainName, Email, OrgSlug, RoleName};

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organization; prints it as JSON
    Create {
        #[arg(long)]
        app: String,
        /// Its slug: unique in the app, used in URLs and `organization=`
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List the app's organizations (JSON lines: slug, name, members)
    List {
        #[arg(long)]
        app: String,
        /// Only those whose slug or name contains this
        #[arg(long)]
        search: Option<String>,
    },
    /// Delete an organization with its memberships, invitations and teams
    Delete {
        #[arg(long)]
        app: String,
        slug: String,
        /// The slug again, to confirm
        #[arg(long)]
        confirm: String,
    },
    /// Invite someone by e-mail into an organization with a role; prints
    /// the link as well (it is e-mailed through the outbox)
    Invite {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// Organization role; repeatable (default: member)
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Manage members of an organization
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage the app's custom organization roles
    #[command(subcommand)]
    Role(OrgRoleCommand),
    /// Manage teams of an organization
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage the domains an organization claims, and what they bring
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Accept the organization's invitations only through one of the app's
    /// upstream providers (or, with "none", any way the app offers)
    RequireProvider {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        /// The provider's slug, or none
        provider: String,
    },
}

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Claim a domain; prints the TXT record that proves it
    Add {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        domain: String,
    },
    /// Look up the domain's TXT record and mark it verified when it holds
    /// the proof
    Check {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        domain: String,
    },
    /// Vouch for the domain without DNS (recorded in the audit log)
    Attest {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        domain: String,
    },
    /// Give up a claimed domain
    Remove {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        domain: String,
    },
    /// List the domains (JSON lines: domain, verified_by, txt_name, txt_value)
    List {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
    },
    /// What a confirmed address at a verified domain brings: none, offer
    /// (the member pages offer to join) or auto (joins as member)
    Policy {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        policy: String,
    },
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Make a user of the app a member (default role: member)
    Add {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// Organization role; repeatable
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// End a membership
    Remove {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
    },
    /// Set a member's organization roles (replaces them)
    Role {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// Organization role; repeatable
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// List the members (JSON lines: email, roles)
    List {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
pub enum OrgRoleCommand {
    /// Create a custom organization role with its factor policy
    Create {
        #[arg(long)]
        app: String,
        role: String,
        /// Holders must have used a passkey in the session
        #[arg(long)]
        require_passkey: bool,
        /// Holders must have authenticated at most this many seconds ago
        #[arg(long)]
        max_auth_age: Option<i64>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete a custom organization role (its holders lose it)
    Delete {
        #[arg(long)]
        app: String,
        role: String,
    },
}

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Create a team
    Create {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        name: String,
    },
    /// Delete a team
    Delete {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        name: String,
    },
    /// Put a member of the organization into a team
    Add {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
    },
    /// Take someone out of a team
    Remove {
        #[arg(long)]
        app: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
    },
}

fn role_names(raw: &[String]) -> Result<Vec<RoleName>, CliError> {
    if raw.is_empty() {
        return Ok(vec![RoleName::parse(org_roles::MEMBER)?]);
    }
    Ok(raw
        .iter()
        .map(|r| RoleName::parse(r))
        .collect::<Result<_, _>>()?)
}

/// The app, checked to exist.
async fn app_of(db: &Db, app: &str) -> Result<AppId, CliError> {
    let app_id = AppId::parse(app)?;
    apps::require(db, &app_id).await?;
    Ok(app_id)
}

/// Run `change` in one write as the person at the shell, on the
/// organization `org` of `app`.
async fn in_org<T>(
    db: &Db,
    app: &str,
    org: &str,
    change: impl AsyncFnOnce(&Write, organization::Model) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let app_id = app_of(db, app).await?;
    let slug = OrgSlug::parse(org)?;
    let tx = write::begin(db, Actor::cli()).await?;
    let org = orgs::require_by_slug(&tx, &app_id, &slug).await?;
    let value = change(&tx, org).await?;
    tx.commit().await?;
    Ok(value)
}

/// [`in_org`], on the app's user `email` too.
async fn on_user_in_org<T>(
    db: &Db,
    app: &str,
    org: &str,
    email: &str,
    change: impl AsyncFnOnce(&Write, organization::Model, app_user::Model) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let email = Email::for_lookup(email)?;
    in_org(db, app, org, async |tx, org| {
        let user = users::require_by_email(tx, &org.app_id, &email).await?;
        change(tx, org, user).await
    })
    .await
}

pub async fn org_command(settings: &Settings, db: &Db, command: OrgCommand) -> CliResult {
    match command {
        OrgCommand::Invite {
            app,
            org,
            email,
            roles,
        } => {
            let email = Email::parse(&email)?;
            let roles = role_names(&roles)?;
            let (row, token) = in_org(db, &app, &org, async |tx, org| {
                Ok(invitations::send(tx, &org, &Acting::Operator, &email, &roles).await?)
            })
            .await?;
            print_json(json!({
                "invitation_id": row.id,
                "email": row.email,
                "roles": invitations::roles_of_invitation(&row),
                "expires_at": row.expires_at.to_rfc3339(),
                "link": format!("{}{}", settings.public_url, invitations::path(&row.app_id, &token)),
            }));
        }
        OrgCommand::Create { app, slug, name } => {
            let app_id = app_of(db, &app).await?;
            let slug = OrgSlug::parse(&slug)?;
            let name = DisplayName::parse(&name)?;
            let tx = write::begin(db, Actor::cli()).await?;
            let org = orgs::create(&tx, &app_id, &slug, &name).await?;
            tx.commit().await?;
            print_json(json!({
                "app_id": org.app_id,
                "org_id": org.id,
                "slug": org.slug,
                "name": org.name,
            }));
        }
        OrgCommand::List { app, search } => {
            let app_id = app_of(db, &app).await?;
            let mut after: Option<String> = None;
            loop {
                let page =
                    orgs::page(db, &app_id, search.as_deref(), after.as_deref(), 500).await?;
                for org in &page {
                    let members = members::count(db, &org.id).await?;
                    println!(
                        "{}",
                        json!({ "org_id": org.id, "slug": org.slug, "name": org.name, "members": members })
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.slug.clone()),
                    _ => break,
                }
            }
        }
        OrgCommand::Delete { app, slug, confirm } => {
            if confirm.trim() != slug.trim() {
                return Err(CliError(format!(
                    "--confirm must repeat the organization's slug ({slug}) to delete it."
                )));
            }
            let removed = in_org(db, &app, &slug, async |tx, org| {
                Ok(orgs::delete(tx, &org).await?)
            })
            .await?;
            println!(
                "Deleted organization {slug}: {} memberships, {} pending invitations and {} teams removed.",
                removed.memberships, removed.pending_invitations, removed.teams
            );
        }
        OrgCommand::Member(command) => member_command(db, command).await?,
        OrgCommand::Role(command) => role_command(db, command).await?,
        OrgCommand::Team(command) => team_command(db, command).await?,
        OrgCommand::Domain(command) => domain_command(settings, db, command).await?,
        OrgCommand::RequireProvider { app, org, provider } => {
            let app_id = app_of(db, &app).await?;
            let wanted = match provider.trim() {
                "none" => None,
                slug => Some(
                    crate::core::upstream::providers::find(db, &app_id, slug)
                        .await?
                        .ok_or_else(|| {
                            CliError(format!("The app {app} has no sign-in provider \"{slug}\"."))
                        })?,
                ),
            };
            in_org(db, &app, &org, async |tx, org| {
                Ok(orgs::require_provider(tx, &org, wanted.as_ref()).await?)
            })
            .await?;
            match wanted {
                Some(p) => println!(
                    "{org} now accepts its invitations through {} only.",
                    p.display_name
                ),
                None => println!("{org} accepts its invitations any way the app offers."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn member_command(db: &Db, command: MemberCommand) -> Result<(), CliError> {
    match command {
        MemberCommand::Add {
            app,
            org,
            email,
            roles,
        } => {
            let roles = role_names(&roles)?;
            let added = on_user_in_org(db, &app, &org, &email, async |tx, org, user| {
                Ok(members::add(tx, &org, &Acting::Operator, &user, &roles).await?)
            })
            .await?;
            println!(
                "Added {email} to {org} as {}.",
                members::roles_of(&added).join(", ")
            );
        }
        MemberCommand::Remove { app, org, email } => {
            on_user_in_org(db, &app, &org, &email, async |tx, org, user| {
                Ok(members::remove(tx, &org, &Acting::Operator, &user).await?)
            })
            .await?;
            println!("Removed {email} from {org}.");
        }
        MemberCommand::Role {
            app,
            org,
            email,
            roles,
        } => {
            let roles = role_names(&roles)?;
            let changed = on_user_in_org(db, &app, &org, &email, async |tx, org, user| {
                Ok(members::set_roles(tx, &org, &Acting::Operator, &user, &roles).await?)
            })
            .await?;
            match changed {
                RoleChange::Changed { after, .. } => {
                    println!("{email} now holds {} in {org}.", after.join(", "))
                }
                RoleChange::Unchanged => println!("{email} already holds exactly those roles."),
            }
        }
        MemberCommand::List { app, org } => {
            let app_id = app_of(db, &app).await?;
            let org = orgs::require_by_slug(db, &app_id, &OrgSlug::parse(&org)?).await?;
            let mut after: Option<String> = None;
            loop {
                let page = members::page(db, &org, None, after.as_deref(), 500).await?;
                for (user, membership) in &page {
                    println!(
                        "{}",
                        json!({ "email": user.email, "user_id": user.id, "roles": members::roles_of(membership) })
                    );
                }
                match page.last() {
                    Some((last, _)) if page.len() == 500 => after = Some(last.email.clone()),
                    _ => break,
                }
            }
        }
    }
    Ok(())
}

async fn role_command(db: &Db, command: OrgRoleCommand) -> Result<(), CliError> {
    match command {
        OrgRoleCommand::Create {
            app,
            role,
            require_passkey,
            max_auth_age,
            description,
        } => {
            let app_id = app_of(db, &app).await?;
            let name = RoleName::parse(&role)?;
            let policy = RolePolicy {
                require_passkey,
                max_auth_age_secs: max_auth_age,
            };
            let tx = write::begin(db, Actor::cli()).await?;
            let created = org_roles::create(&tx, &app_id, &name, description, policy).await?;
            tx.commit().await?;
            print_json(json!({
                "app_id": app_id,
                "org_role": created.name,
                "require_passkey": created.policy.require_passkey,
                "max_auth_age_secs": created.policy.max_auth_age_secs,
            }));
        }
        OrgRoleCommand::Delete { app, role } => {
            let app_id = app_of(db, &app).await?;
            let name = RoleName::parse(&role)?;
            let tx = write::begin(db, Actor::cli()).await?;
            let holders = org_roles::delete(&tx, &app_id, &name).await?;
            tx.commit().await?;
            println!("Deleted the organization role {name} ({holders} members held it).");
        }
    }
    Ok(())
}

async fn team_command(db: &Db, command: TeamCommand) -> Result<(), CliError> {
    let acting = Acting::Operator;
    match command {
        TeamCommand::Create { app, org, name } => {
            let name = DisplayName::parse(&name)?;
            let team = in_org(db, &app, &org, async |tx, org| {
                Ok(teams::create(tx, &org, &acting, &name).await?)
            })
            .await?;
            print_json(json!({ "team_id": team.id, "name": team.name }));
        }
        TeamCommand::Delete { app, org, name } => {
            in_org(db, &app, &org, async |tx, org| {
                let team = teams::require_named(tx, &org, &name).await?;
                Ok(teams::delete(tx, &org, &acting, &team).await?)
            })
            .await?;
            println!("Deleted the team {name}.");
        }
        TeamCommand::Add {
            app,
            org,
            team,
            email,
        } => {
            let added = on_user_in_org(db, &app, &org, &email, async |tx, org, user| {
                let team = teams::require_named(tx, &org, &team).await?;
                Ok(teams::add_member(tx, &org, &acting, &team, &user).await?)
            })
            .await?;
            match added {
                true => println!("Added {email} to the team {team}."),
                false => println!("{email} is in the team {team} already."),
            }
        }
        TeamCommand::Remove {
            app,
            org,
            team,
            email,
        } => {
            let removed = on_user_in_org(db, &app, &org, &email, async |tx, org, user| {
                let team = teams::require_named(tx, &org, &team).await?;
                Ok(teams::remove_member(tx, &org, &acting, &team, &user).await?)
            })
            .await?;
            match removed {
                true => println!("Removed {email} from the team {team}."),
                false => println!("{email} was not in the team {team}."),
            }
        }
    }
    Ok(())
}

async fn domain_command(
    settings: &Settings,
    db: &Db,
    command: DomainCommand,
) -> Result<(), CliError> {
    let record = |claim: &crate::entities::org_domain::Model| {
        json!({
            "domain": claim.domain,
            "verified_by": claim.verified_by,
            "verified_at": claim.verified_at.map(|at| at.to_rfc3339()),
            "txt_name": domains::challenge_name(&claim.domain),
            "txt_value": domains::expected_record(claim),
        })
    };
    match command {
        DomainCommand::Add { app, org, domain } => {
            let domain = DomainName::parse(&domain)?;
            let claim = in_org(db, &app, &org, async |tx, org| {
                Ok(domains::add(tx, &org, &domain).await?)
            })
            .await?;
            print_json(record(&claim));
        }
        DomainCommand::Check { app, org, domain } => {
            let domain = DomainName::parse(&domain)?;
            let app_id = app_of(db, &app).await?;
            let found = orgs::require_by_slug(db, &app_id, &OrgSlug::parse(&org)?).await?;
            let claim = domains::require(db, &found, &domain).await?;
            if claim.verified_at.is_none() {
                domains::check_published(&claim, settings.dns_server)
                    .await
                    .map_err(|unproved| CliError(unproved.to_string()))?;
                in_org(db, &app, &org, async |tx, org| {
                    Ok(domains::mark_verified(tx, &org, &claim, Verification::Dns).await?)
                })
                .await?;
            }
            println!("{domain} is verified for {org}.");
        }
        DomainCommand::Attest { app, org, domain } => {
            let domain = DomainName::parse(&domain)?;
            in_org(db, &app, &org, async |tx, org| {
                let claim = domains::require(tx, &org, &domain).await?;
                Ok(domains::mark_verified(tx, &org, &claim, Verification::Attested).await?)
            })
            .await?;
            println!("{domain} is verified for {org}, on your word (recorded in the audit log).");
        }
        DomainCommand::Remove { app, org, domain } => {
            let domain = DomainName::parse(&domain)?;
            in_org(db, &app, &org, async |tx, org| {
                let claim = domains::require(tx, &org, &domain).await?;
                Ok(domains::remove(tx, &org, &claim).await?)
            })
            .await?;
            println!("{org} no longer claims {domain}.");
        }
        DomainCommand::List { app, org } => {
            let app_id = app_of(db, &app).await?;
            let org = orgs::require_by_slug(db, &app_id, &OrgSlug::parse(&org)?).await?;
            println!("{}", json!({ "domain_policy": org.domain_policy }));
            for claim in domains::list(db, &org).await? {
                println!("{}", record(&claim));
            }
        }
        DomainCommand::Policy { app, org, policy } => {
            let policy = DomainPolicy::parse(&policy)?;
            in_org(db, &app, &org, async |tx, org| {
                Ok(domains::set_policy(tx, &org, policy).await?)
            })
            .await?;
            println!("{org}'s domain policy is now {}.", policy.as_str());
        }
    }
    Ok(())
}
