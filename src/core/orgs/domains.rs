//! The domains an organization claims (WorkOS' and Auth0's verified
//! domains), and what a claim gives: users who confirm an address at a
//! verified domain are offered to join, join at once, or nothing
//! (`organization.domain_policy`).
//!
//! A domain is verified by a DNS TXT record at `_oneauth-challenge.{domain}`
//! holding `oneauth-domain-verification={proof}` (asked of the DNS through
//! `dns.rs` by [`check_published`]), or by an operator's attestation; either way the
//! `org_domain.verified` event names how and who. Within an app a domain is
//! verified for one organization at most, so no address is offered two
//! organizations' doors by one claim.
//!
//! Only the address a user *confirmed* counts (`app_user.email_verified`):
//! anyone can type an address at acme.example into a sign-up form.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde_json::json;

use super::dns::DnsError;
use super::members;
use super::roles as org_roles;
use super::{OrgError, lock_found, with_extra};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::fault::Fault;
use crate::core::secrets::{self, constant_time_eq};
use crate::core::write::Write;
use crate::entities::{app_user, external_identity, membership, org_domain, organization};
use crate::types::DomainName;

/// The label the TXT record lives under, below the domain.
pub const CHALLENGE_LABEL: &str = "_oneauth-challenge";
/// What the TXT record holds before the proof.
pub const PROOF_PREFIX: &str = "oneauth-domain-verification=";

/// What happens to a user who confirms an address at a verified domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Nothing.
    None,
    /// The member pages offer to join (as `member`).
    Offer,
    /// They join (as `member`) when the address is confirmed.
    Auto,
}

impl DomainPolicy {
    pub fn parse(raw: &str) -> Result<Self, OrgError> {
        match raw.trim() {
            "none" => Ok(Self::None),
            "offer" => Ok(Self::Offer),
            "auto" => Ok(Self::Auto),
            other => Err(OrgError::InvalidDomainPolicy(
                other.chars().take(40).collect(),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Offer => "offer",
            Self::Auto => "auto",
        }
    }

    pub fn of(org: &organization::Model) -> Self {
        Self::parse(&org.domain_policy).unwrap_or(Self::None)
    }
}

/// How a domain was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Its TXT record held the proof.
    Dns,
    /// An operator vouched for it (the audit event names them).
    Attested,
}

impl Verification {
    fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Attested => "attested",
        }
    }
}

/// The name whose TXT record proves `domain`.
pub fn challenge_name(domain: &str) -> String {
    format!("{CHALLENGE_LABEL}.{domain}")
}

/// The TXT record's value that proves `claim`.
pub fn expected_record(claim: &org_domain::Model) -> String {
    format!("{PROOF_PREFIX}{}", claim.proof)
}

/// Whether one of `records` (the TXT strings found) holds `claim`'s proof.
pub fn proof_found(claim: &org_domain::Model, records: &[String]) -> bool {
    let expected = expected_record(claim);
    records
        .iter()
        .any(|record| constant_time_eq(record.trim(), &expected))
}

/// Why a claim's proof was not found in the DNS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unproved {
    #[error(transparent)]
    Dns(#[from] DnsError),
    #[error(
        "No TXT record at {name} holds {value} yet. Publish it and check again (a new record can take a while to be seen)."
    )]
    Missing { name: String, value: String },
}

/// Ask the DNS (`server`, or the system's resolvers) for `claim`'s TXT
/// record; `Ok` when it holds the proof. Asked outside any write, so no
/// lock waits on the network.
pub async fn check_published(
    claim: &org_domain::Model,
    server: Option<std::net::SocketAddr>,
) -> Result<(), Unproved> {
    let name = challenge_name(&claim.domain);
    let records = super::dns::txt_records(server, &name).await?;
    if proof_found(claim, &records) {
        return Ok(());
    }
    Err(Unproved::Missing {
        name,
        value: expected_record(claim),
    })
}

fn describe(claim: &org_domain::Model, org: &organization::Model) -> serde_json::Value {
    json!({
        "org_id": org.id,
        "org": org.slug,
        "domain": claim.domain,
        "verified_by": claim.verified_by,
    })
}

/// An organization's domains, verified or not, by name.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
) -> Result<Vec<org_domain::Model>, DbErr> {
    org_domain::Entity::find()
        .filter(org_domain::Column::OrganizationId.eq(org.id.as_str()))
        .order_by_asc(org_domain::Column::Domain)
        .all(db)
        .await
}

/// One of `org`'s domains, by name.
pub async fn require<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    domain: &DomainName,
) -> Result<org_domain::Model, OrgError> {
    org_domain::Entity::find()
        .filter(org_domain::Column::OrganizationId.eq(org.id.as_str()))
        .filter(org_domain::Column::Domain.eq(domain.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| OrgError::NoSuchDomain(domain.to_string()))
}

/// Claim `domain` for `org`, unverified, with a fresh proof to publish.
/// Records `org_domain.added`.
pub async fn add(
    tx: &Write,
    org: &organization::Model,
    domain: &DomainName,
) -> Result<org_domain::Model, OrgError> {
    lock_found(tx, org).await?;
    if require(tx, org, domain).await.is_ok() {
        return Err(OrgError::DomainTaken(domain.to_string()));
    }
    let claim = org_domain::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(org.app_id.clone()),
        organization_id: Set(org.id.clone()),
        domain: Set(domain.to_string()),
        // Public once published, so no secret (nor stored as one); hex,
        // which every DNS console takes as typed.
        proof: Set(secrets::random_hex(20)),
        verified_at: Set(None),
        verified_by: Set(None),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    record(tx, org, &claim, Action::OrgDomainAdded, json!({})).await?;
    Ok(claim)
}

/// Mark `claim` verified, once its proof was found or an operator
/// attested it. Refused when another organization of the app verified the
/// same domain first. Records `org_domain.verified` with how.
pub async fn mark_verified(
    tx: &Write,
    org: &organization::Model,
    claim: &org_domain::Model,
    how: Verification,
) -> Result<org_domain::Model, OrgError> {
    lock_found(tx, org).await?;
    if claim.verified_at.is_some() {
        return Ok(claim.clone());
    }
    if let Some(holder) = verified_holder(tx, org, &claim.domain).await?
        && holder != org.id
    {
        return Err(OrgError::DomainVerifiedElsewhere(claim.domain.clone()));
    }
    let mut update: org_domain::ActiveModel = claim.clone().into();
    update.verified_at = Set(Some(tx.now));
    update.verified_by = Set(Some(how.as_str().to_owned()));
    let verified = update.update(tx).await.map_err(|err| match err.sql_err() {
        // Two organizations verifying one domain at once: the partial
        // unique index (one verified claim per domain and app) decides.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            OrgError::DomainVerifiedElsewhere(claim.domain.clone())
        }
        _ => OrgError::Fault(err.into()),
    })?;
    record(
        tx,
        org,
        &verified,
        Action::OrgDomainVerified,
        json!({ "method": how.as_str() }),
    )
    .await?;
    Ok(verified)
}

/// The organization of the app that verified `domain`, if any.
async fn verified_holder<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    domain: &str,
) -> Result<Option<String>, DbErr> {
    Ok(org_domain::Entity::find()
        .filter(org_domain::Column::AppId.eq(org.app_id.as_str()))
        .filter(org_domain::Column::Domain.eq(domain))
        .filter(org_domain::Column::VerifiedAt.is_not_null())
        .one(db)
        .await?
        .map(|claim| claim.organization_id))
}

/// Give up a claim (memberships it brought stay). Records
/// `org_domain.removed`.
pub async fn remove(
    tx: &Write,
    org: &organization::Model,
    claim: &org_domain::Model,
) -> Result<(), OrgError> {
    lock_found(tx, org).await?;
    org_domain::Entity::delete_by_id(claim.id.as_str())
        .exec(tx)
        .await?;
    record(tx, org, claim, Action::OrgDomainRemoved, json!({})).await
}

/// Set what a confirmed address at a verified domain brings. Records
/// `org.domain_policy_changed`.
pub async fn set_policy(
    tx: &Write,
    org: &organization::Model,
    policy: DomainPolicy,
) -> Result<organization::Model, OrgError> {
    let org = lock_found(tx, org).await?;
    if DomainPolicy::of(&org) == policy {
        return Ok(org);
    }
    let before = org.domain_policy.clone();
    let mut update: organization::ActiveModel = org.clone().into();
    update.domain_policy = Set(policy.as_str().to_owned());
    update.updated_at = Set(tx.now);
    let updated = update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::OrgDomainPolicyChanged,
            target: Some(Target::org(org.id.as_str())),
            details: json!({
                "org": org.slug,
                "before": before,
                "after": policy.as_str(),
            }),
        },
    )
    .await?;
    Ok(updated)
}

async fn record(
    tx: &Write,
    org: &organization::Model,
    claim: &org_domain::Model,
    action: Action,
    extra: serde_json::Value,
) -> Result<(), OrgError> {
    let details = with_extra(describe(claim, org), extra);
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action,
            target: Some(Target::org(org.id.as_str())),
            details,
        },
    )
    .await?;
    Ok(())
}

/// The organizations whose verified domain is `user`'s confirmed address's
/// and whose policy is not `none`, that `user` is not a member of yet. An
/// organization that takes its members through an upstream provider is
/// open only to an account that holds an identity there: a mailbox alone
/// (someone the directory removed keeps theirs for a while) is not enough.
pub async fn open_to<C: ConnectionTrait>(
    db: &C,
    user: &app_user::Model,
) -> Result<Vec<(organization::Model, DomainPolicy)>, DbErr> {
    if !user.email_verified {
        return Ok(Vec::new());
    }
    let Some(domain) = DomainName::of_email(&user.email) else {
        return Ok(Vec::new());
    };
    let claims = org_domain::Entity::find()
        .filter(org_domain::Column::AppId.eq(user.app_id.as_str()))
        .filter(org_domain::Column::Domain.eq(domain.as_str()))
        .filter(org_domain::Column::VerifiedAt.is_not_null())
        .all(db)
        .await?;
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = claims.into_iter().map(|c| c.organization_id).collect();
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.clone()))
        .order_by_asc(organization::Column::Slug)
        .all(db)
        .await?;
    let providers_held: Vec<String> = external_identity::Entity::find()
        .filter(external_identity::Column::UserId.eq(user.id.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|link| link.provider_id)
        .collect();
    let joined: Vec<String> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id.as_str()))
        .filter(membership::Column::OrganizationId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.organization_id)
        .collect();
    Ok(orgs
        .into_iter()
        .filter(|org| !joined.contains(&org.id))
        .filter(|org| {
            org.required_provider_id
                .as_ref()
                .is_none_or(|required| providers_held.contains(required))
        })
        .map(|org| {
            let policy = DomainPolicy::of(&org);
            (org, policy)
        })
        .filter(|(_, policy)| *policy != DomainPolicy::None)
        .collect())
}

/// `user` just confirmed their address (a verification link, an invitation,
/// an upstream provider's verified address): join every organization that
/// verified its domain with the `auto` policy, as `member`, in the same
/// write. The organizations joined, by slug.
pub async fn address_confirmed(tx: &Write, user: &app_user::Model) -> Result<Vec<String>, Fault> {
    let mut joined = Vec::new();
    for (org, policy) in open_to(tx, user).await? {
        if policy == DomainPolicy::Auto {
            match join_by_domain(tx, &org, user).await {
                Ok(_) => joined.push(org.slug),
                // Joined meanwhile (an invitation, an operator): nothing
                // to add, and no reason to fail the confirmation.
                Err(OrgError::AlreadyMember(_)) => {}
                Err(OrgError::Fault(fault)) => return Err(fault),
                Err(other) => return Err(Fault::unexpected(other)),
            }
        }
    }
    Ok(joined)
}

/// `user` accepts the offer of `org` from the member pages: checked again
/// here, under the organization's lock.
pub async fn join_offered(
    tx: &Write,
    org: &organization::Model,
    user: &app_user::Model,
) -> Result<membership::Model, OrgError> {
    let open = open_to(tx, user).await?;
    if !open.iter().any(|(o, _)| o.id == org.id) {
        return Err(OrgError::NotFound(org.slug.clone()));
    }
    join_by_domain(tx, org, user).await
}

async fn join_by_domain(
    tx: &Write,
    org: &organization::Model,
    user: &app_user::Model,
) -> Result<membership::Model, OrgError> {
    let org = lock_found(tx, org).await?;
    let domain = DomainName::of_email(&user.email).map(|d| d.to_string());
    members::add_unchecked(
        tx,
        &org,
        user,
        &[org_roles::MEMBER.to_owned()],
        json!({ "via": "domain", "domain": domain, "policy": org.domain_policy }),
    )
    .await
}
