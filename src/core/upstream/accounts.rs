//! Who a verified upstream identity is in the app, decided in the write
//! that signs it in.
//!
//! A user is an upstream identity, not an e-mail: once linked, only the
//! key (provider, issuer, subject) signs that user in, whatever address
//! the upstream later reports. An identity not linked yet
//!
//! * links itself to the account with the same address only when the
//!   provider allows it, the upstream verified the address, **and** the
//!   account confirmed it too (so an unverified upstream address, or an
//!   account someone pre-registered with the victim's address, gets
//!   nothing); the link is audited and the user told by e-mail;
//! * may have an account created (provisioning) for a verified address of
//!   an allowed domain;
//! * otherwise asks the user to sign in with their existing method first:
//!   the browser keeps a sealed [`PendingLink`] bound to that exact issuer
//!   and subject, spent once by the signed-in account (`link_pending`).

use std::collections::BTreeSet;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::mapping;
use super::providers;
use super::{Identity, UpstreamFailure};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::ceremonies::{self, Ceremony};
use crate::core::db::Db;
use crate::core::fault::Fault;
use crate::core::links::invitations::{self, InviteError};
use crate::core::mail::notices;
use crate::core::mail::templates::Notice;
use crate::core::sessions::{self, ActiveSignin, ClientInfo, Factor};
use crate::core::signin::{self, SignedIn};
use crate::core::users::{self, NewUser};
use crate::core::write::{self, Actor, Write};
use crate::core::{roles, secrets, throttle};
use crate::entities::{app, app_user, external_identity, identity_provider, signin_session};
use crate::types::{Email, UserStatus};

/// An upstream identity waiting for its owner to sign in here first; the
/// browser keeps it sealed, and it links only that issuer and subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub app_id: String,
    pub provider_id: String,
    pub provider_name: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Where an upstream sign-in ends.
#[derive(Debug)]
pub enum Outcome {
    SignedIn(Box<SignedIn>),
    /// Linked to the account signed in here (from its account page).
    Linked,
    /// An identity the account page asked to link: the user confirms it
    /// there (a GET that started cross-site links nothing by itself).
    ConfirmLink(PendingLink),
    /// Not linked, and not linkable now: sign in here first.
    SignInFirst(PendingLink),
    /// Signed in, and the invitation accepted: a member of `org_slug`.
    JoinedOrg {
        signed_in: Box<SignedIn>,
        org_slug: String,
    },
}

/// One upstream sign-in to finish.
pub struct Arrival<'a> {
    pub app: &'a app::Model,
    pub provider: &'a identity_provider::Model,
    pub identity: &'a Identity,
    /// The `state` of this sign-in, spent in the write that finishes it.
    pub ceremony: &'a Ceremony,
    pub client: &'a ClientInfo,
    pub device_cookie: Option<&'a str>,
    /// Linking from the account page: the session that asked.
    pub link_to: Option<&'a ActiveSignin>,
    /// Accepting an organization invitation: its link's token. The
    /// membership is created in the write that signs in.
    pub invitation: Option<&'a str>,
}

/// Finish an upstream sign-in: resolve the account, keep its mapped roles
/// in step with the claims, open the session. Failures are audited here
/// (`signin.failed` with the reason) and answered as [`UpstreamFailure`].
pub async fn arrive(
    db: &Db,
    arrival: Arrival<'_>,
) -> Result<Result<Outcome, UpstreamFailure>, Fault> {
    let provider = arrival.provider;
    if provider.enabled_at.is_none() {
        return failed(db, &arrival, UpstreamFailure::ProviderDisabled).await;
    }
    let found = find_link(db, provider, arrival.identity).await?;
    let tx = write::begin(db, Actor::anonymous(arrival.client.address.clone())).await?;
    if !ceremonies::spend_once(&tx, arrival.ceremony).await? {
        drop(tx);
        return failed(db, &arrival, UpstreamFailure::BadState).await;
    }
    let decided = match (found, arrival.link_to) {
        (Some((link, user)), Some(signin)) => {
            if user.id != signin.user.id {
                // Already the way in of another account here.
                Err(UpstreamFailure::LinkedElsewhere)
            } else {
                touch_link(&tx, &link, arrival.identity).await?;
                Ok(Outcome::Linked)
            }
        }
        (None, Some(_)) => Ok(Outcome::ConfirmLink(pending_link(&arrival))),
        (Some((link, user)), None) => {
            touch_link(&tx, &link, arrival.identity).await?;
            sign_in(&tx, &arrival, &user, &link.id).await
        }
        (None, None) => match arrival.invitation {
            Some(token) => invited(&tx, &arrival, token).await?,
            None => unlinked(&tx, &arrival).await?,
        },
    };
    let decided = match (decided, arrival.invitation) {
        (Ok(Outcome::SignedIn(signed_in)), Some(token)) => {
            accept_invitation(&tx, &arrival, token, signed_in).await?
        }
        (decided, _) => decided,
    };
    // An account the invitation created exists only with its membership:
    // if the invitation was not spent after all (a race), nothing stays.
    if let (Ok(Outcome::SignedIn(signed_in)), Some(_)) = (&decided, arrival.invitation)
        && signed_in.user.created_at == tx.now
    {
        drop(tx);
        return failed(db, &arrival, UpstreamFailure::InvitationInvalid).await;
    }
    match decided {
        Ok(outcome) => {
            tx.commit().await?;
            Ok(Ok(outcome))
        }
        Err(failure) => {
            drop(tx);
            failed(db, &arrival, failure).await
        }
    }
}

/// An identity seen for the first time, arriving with an organization
/// invitation: it may create the invited account (even where the provider
/// provisions none: the invitation is the permission), but only when the
/// upstream verified the very address invited. An existing account of
/// that address is found as any unlinked identity finds it.
async fn invited(
    tx: &Write,
    arrival: &Arrival<'_>,
    token: &str,
) -> Result<Result<Outcome, UpstreamFailure>, Fault> {
    let Some(pending) = invitations::find(tx, &arrival.app.id, token, tx.now).await? else {
        return Ok(Err(UpstreamFailure::InvitationInvalid));
    };
    // An organization bound to a provider takes no account another one
    // vouched for.
    if let Some(required) = &pending.required_provider
        && required.id != arrival.provider.id
    {
        return Ok(Err(UpstreamFailure::ProviderRequired {
            provider: required.display_name.clone(),
        }));
    }
    let identity = arrival.identity;
    if !identity.email_verified {
        return Ok(Err(UpstreamFailure::UnverifiedEmail));
    }
    let address = identity.email.as_deref().and_then(|e| Email::parse(e).ok());
    let Some(email) =
        address.filter(|a| secrets::constant_time_eq(a.as_str(), &pending.invitation.email))
    else {
        return Ok(Err(UpstreamFailure::InvitedElsewhere {
            invited: pending.invitation.email.clone(),
            provider: arrival.provider.display_name.clone(),
        }));
    };
    if pending.account_exists {
        return unlinked(tx, arrival).await;
    }
    let user = create_account(tx, arrival, email).await?;
    let link = create_link(
        tx,
        arrival.app,
        arrival.provider,
        identity,
        &user,
        "invitation",
    )
    .await?;
    Ok(sign_in(tx, arrival, &user, &link.id).await)
}

/// Spend the invitation for the account just signed in, in the same write;
/// an invitation it cannot take (another address, a provider it does not
/// hold) leaves the sign-in as it is, and the invitation page says why.
async fn accept_invitation(
    tx: &Write,
    arrival: &Arrival<'_>,
    token: &str,
    signed_in: Box<SignedIn>,
) -> Result<Result<Outcome, UpstreamFailure>, Fault> {
    match invitations::accept_arrived(tx, arrival.app, token, &signed_in.user).await {
        Ok(org) => {
            // After the invitation, so its organization is joined with
            // the invited roles, not by the domain's.
            crate::core::orgs::domains::address_confirmed(tx, &signed_in.user).await?;
            Ok(Ok(Outcome::JoinedOrg {
                signed_in,
                org_slug: org.slug,
            }))
        }
        Err(InviteError::Fault(fault)) => Err(fault),
        Err(refused) => {
            tracing::info!(reason = %refused, "an invitation was not accepted at an upstream sign-in");
            Ok(Ok(Outcome::SignedIn(signed_in)))
        }
    }
}

/// An identity seen for the first time (and no account page asked).
async fn unlinked(
    tx: &Write,
    arrival: &Arrival<'_>,
) -> Result<Result<Outcome, UpstreamFailure>, Fault> {
    let (provider, identity) = (arrival.provider, arrival.identity);
    let address = identity
        .email
        .as_deref()
        .and_then(|e| Email::for_lookup(e).ok());
    // Only a verified address is looked up: an unverified one (anyone's
    // own tenant can assert any) must not tell whether an account exists.
    let existing = match &address {
        Some(email) if identity.email_verified => {
            users::find_by_email(tx, &arrival.app.id, email).await?
        }
        _ => None,
    };
    match existing {
        // Linking by address: both sides must vouch for it.
        Some(user)
            if provider.auto_link
                && identity.email_verified
                && user.email_verified
                && user.status == UserStatus::Active =>
        {
            let link = create_link(tx, arrival.app, provider, identity, &user, "auto_link").await?;
            Ok(sign_in(tx, arrival, &user, &link.id).await)
        }
        Some(_) => Ok(Ok(Outcome::SignInFirst(pending_link(arrival)))),
        None if provider.provisioning => {
            let kind = providers::kind_of(provider);
            if !identity.email_verified {
                return Ok(Err(UpstreamFailure::UnverifiedEmail));
            }
            if !mapping::may_provision(kind, &providers::domains_of(provider), identity) {
                return Ok(Err(UpstreamFailure::DomainNotAllowed));
            }
            // A new account's address is parsed as strictly as a typed one.
            let Some(email) = identity.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
                return Ok(Err(UpstreamFailure::UnusableEmail));
            };
            let user = create_account(tx, arrival, email).await?;
            let link =
                create_link(tx, arrival.app, provider, identity, &user, "provisioned").await?;
            // Once linked: an organization that takes its members through
            // this provider counts the identity.
            crate::core::orgs::domains::address_confirmed(tx, &user).await?;
            Ok(sign_in(tx, arrival, &user, &link.id).await)
        }
        // Same page whether or not an account exists (no enumeration).
        None => Ok(Ok(Outcome::SignInFirst(pending_link(arrival)))),
    }
}

fn pending_link(arrival: &Arrival<'_>) -> PendingLink {
    PendingLink {
        app_id: arrival.app.id.to_string(),
        provider_id: arrival.provider.id.clone(),
        provider_name: arrival.provider.display_name.clone(),
        issuer: arrival.identity.issuer.clone(),
        subject: arrival.identity.subject.clone(),
        email: arrival.identity.email.clone(),
        email_verified: arrival.identity.email_verified,
    }
}

/// A new account for a verified upstream address, its address confirmed.
async fn create_account(
    tx: &Write,
    arrival: &Arrival<'_>,
    email: Email,
) -> Result<app_user::Model, Fault> {
    let user = users::create(
        tx,
        &arrival.app.id,
        NewUser {
            id: None,
            email,
            password: None,
            roles: Vec::new(),
        },
    )
    .await
    .map_err(|err| match err {
        users::UserError::Fault(fault) => fault,
        other => Fault::unexpected(other),
    })?;
    // The upstream verified the address, in a domain the operator allowed.
    let mut active = user.clone().into_active_model();
    active.email_verified = Set(true);
    Ok(active.update(tx).await?)
}

/// The link of `identity`, and its user, if there is one.
async fn find_link<C: sea_orm::ConnectionTrait>(
    db: &C,
    provider: &identity_provider::Model,
    identity: &Identity,
) -> Result<Option<(external_identity::Model, app_user::Model)>, Fault> {
    let found = external_identity::Entity::find()
        .filter(external_identity::Column::ProviderId.eq(provider.id.as_str()))
        .filter(external_identity::Column::Issuer.eq(identity.issuer.as_str()))
        .filter(external_identity::Column::Subject.eq(identity.subject.as_str()))
        .one(db)
        .await?;
    let Some(link) = found else { return Ok(None) };
    let user = app_user::Entity::find_by_id(link.user_id.as_str())
        .one(db)
        .await?;
    Ok(user.map(|user| (link, user)))
}

/// Keep what the upstream last said of a linked identity (its address is
/// shown, never used to find the account).
async fn touch_link(
    tx: &Write,
    link: &external_identity::Model,
    identity: &Identity,
) -> Result<(), Fault> {
    let mut active = link.clone().into_active_model();
    active.email = Set(identity.email.clone());
    active.email_verified = Set(identity.email_verified);
    active.last_sign_in_at = Set(Some(tx.now));
    active.update(tx).await?;
    Ok(())
}

async fn create_link(
    tx: &Write,
    app: &app::Model,
    provider: &identity_provider::Model,
    identity: &Identity,
    user: &app_user::Model,
    how: &str,
) -> Result<external_identity::Model, Fault> {
    let link = external_identity::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(app.id.clone()),
        user_id: Set(user.id.clone()),
        provider_id: Set(provider.id.clone()),
        subject: Set(identity.subject.clone()),
        issuer: Set(identity.issuer.clone()),
        email: Set(identity.email.clone()),
        email_verified: Set(identity.email_verified),
        last_sign_in_at: Set(None),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id: &app.id,
            actor: &tx.actor,
            action: Action::UpstreamLinked,
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "provider": provider.slug,
                "issuer": identity.issuer,
                "subject": identity.subject,
                "upstream_email": identity.email,
                "how": how,
            }),
        },
    )
    .await?;
    notices::notify_in(
        tx,
        app,
        user,
        Notice::UpstreamLinked {
            provider: provider.display_name.clone(),
            upstream_email: identity.email.clone(),
        },
    )
    .await?;
    Ok(link)
}

/// Open the session of `user`, signed in through `link_id`.
async fn sign_in(
    tx: &Write,
    arrival: &Arrival<'_>,
    user: &app_user::Model,
    link_id: &str,
) -> Result<Outcome, UpstreamFailure> {
    match sign_in_inner(tx, arrival, user, link_id).await {
        Ok(outcome) => Ok(outcome),
        Err(SignInStep::Refused(failure)) => Err(failure),
        Err(SignInStep::Fault(fault)) => {
            tracing::error!(%fault, "an upstream sign-in could not be written");
            Err(UpstreamFailure::Unreachable)
        }
    }
}

enum SignInStep {
    Refused(UpstreamFailure),
    Fault(Fault),
}

impl<E: Into<Fault>> From<E> for SignInStep {
    fn from(err: E) -> Self {
        Self::Fault(err.into())
    }
}

async fn sign_in_inner(
    tx: &Write,
    arrival: &Arrival<'_>,
    user: &app_user::Model,
    link_id: &str,
) -> Result<Outcome, SignInStep> {
    let (app, provider, identity) = (arrival.app, arrival.provider, arrival.identity);
    let Some(user) = users::lock(tx, &user.id).await? else {
        return Err(SignInStep::Refused(UpstreamFailure::NoAccount));
    };
    if user.status != UserStatus::Active {
        return Err(SignInStep::Refused(UpstreamFailure::Deactivated));
    }
    // A user bound to one directory does not get in through another.
    if let Some(required) = crate::core::policy::required_provider(tx, app, &user.id).await?
        && required.id != provider.id
    {
        return Err(SignInStep::Refused(UpstreamFailure::ProviderRequired {
            provider: required.display_name,
        }));
    }
    let wanted: BTreeSet<String> =
        mapping::granted_roles(&providers::rules_of(provider), &identity.claims);
    roles::sync_mapped(tx, &user, &provider.id, &provider.slug, &wanted)
        .await
        .map_err(|err| match err {
            roles::RoleError::Fault(fault) => SignInStep::Fault(fault),
            other => SignInStep::Fault(Fault::unexpected(other)),
        })?;
    let keys = throttle::Keys::new(
        &app.id,
        &user.email,
        arrival.client.address.as_deref(),
        None,
    );
    let browser = signin::browser_of(tx.deployment(), &user, arrival.device_cookie);
    let extra = json!({
        "provider": provider.slug,
        "upstream_amr": identity.amr,
        "upstream_acr": identity.acr,
        "upstream_trusted": provider.trust_upstream_mfa,
    });
    let mut signed_in = signin::succeed_with(
        tx,
        app,
        &user,
        Factor::Upstream,
        &keys,
        arrival.client,
        browser,
        extra,
    )
    .await
    .map_err(|err| match err {
        signin::SignInError::Fault(fault) => SignInStep::Fault(fault),
        other => SignInStep::Fault(Fault::unexpected(other)),
    })?;
    let mut session = signed_in.session.clone().into_active_model();
    session.upstream_identity_id = Set(Some(link_id.to_owned()));
    session.upstream_sid = Set(identity.session_id.clone());
    signed_in.session = session.update(tx).await?;
    // The upstream's own proof counts here only when the operator trusts it.
    if provider.trust_upstream_mfa && identity.amr.iter().any(|m| m == "hwk") {
        signed_in.session =
            sessions::record_reauthentication(tx, &signed_in.session, Factor::Passkey).await?;
    }
    Ok(Outcome::SignedIn(Box::new(signed_in)))
}

/// Record a refused upstream sign-in (`signin.failed`) and answer it.
pub async fn failed<T>(
    db: &Db,
    arrival: &Arrival<'_>,
    failure: UpstreamFailure,
) -> Result<Result<T, UpstreamFailure>, Fault> {
    record_failure(
        db,
        arrival.app,
        Some(arrival.provider),
        arrival.client,
        &failure,
    )
    .await?;
    Ok(Err(failure))
}

fn failure_keys(app: &app::Model, client: &ClientInfo) -> throttle::Keys {
    throttle::Keys::address_only(&app.id, client.address.as_deref())
}

/// Until when upstream sign-ins from the client's address are refused
/// (too many failures), if they are.
pub async fn locked_out(
    db: &Db,
    app: &app::Model,
    client: &ClientInfo,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Fault> {
    let until = throttle::locked_until(db, &failure_keys(app, client)).await?;
    if until.is_some() {
        crate::core::measure::throttled("upstream");
    }
    Ok(until)
}

/// Record a refused upstream sign-in that never reached an identity.
pub async fn record_failure(
    db: &Db,
    app: &app::Model,
    provider: Option<&identity_provider::Model>,
    client: &ClientInfo,
    failure: &UpstreamFailure,
) -> Result<(), Fault> {
    let tx = write::begin(db, Actor::anonymous(client.address.clone())).await?;
    // Counted on the client's address like a failed passkey: past the
    // limit the callback answers without a write (`locked_out`), so an
    // anonymous flood cannot grow the audit log without bound.
    throttle::count_failure(&tx, &failure_keys(app, client)).await?;
    audit::record(
        &tx,
        Event {
            app_id: &app.id,
            actor: &tx.actor,
            action: Action::SigninFailed,
            target: None,
            details: json!({
                "method": "upstream",
                "provider": provider.map(|p| p.slug.as_str()),
                "reason": failure.reason(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Link the identity the browser kept to `user` (signed in here, stepped
/// up: `core::account::link_upstream`), once: the pending link's id is
/// spent, and it links only the issuer and subject it was made for.
pub async fn link_pending(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    ceremony: &Ceremony,
    pending: &PendingLink,
) -> Result<Result<(), LinkRefusal>, Fault> {
    if pending.app_id != app.id.as_str() {
        return Ok(Err(LinkRefusal::Expired));
    }
    let Some(provider) = identity_provider::Entity::find_by_id(pending.provider_id.as_str())
        .filter(identity_provider::Column::AppId.eq(app.id.clone()))
        .one(tx)
        .await?
        .filter(|p| p.enabled_at.is_some())
    else {
        return Ok(Err(LinkRefusal::Expired));
    };
    if !ceremonies::spend_once(tx, ceremony).await? {
        return Ok(Err(LinkRefusal::Expired));
    }
    let identity = Identity {
        issuer: pending.issuer.clone(),
        subject: pending.subject.clone(),
        email: pending.email.clone(),
        email_verified: pending.email_verified,
        name: None,
        hosted_domain: None,
        session_id: None,
        amr: Vec::new(),
        acr: None,
        claims: Default::default(),
    };
    if find_link(tx, &provider, &identity).await?.is_some() {
        return Ok(Err(LinkRefusal::Taken));
    }
    create_link(tx, app, &provider, &identity, user, "after_sign_in").await?;
    Ok(Ok(()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error(
        "That link request was already used or has expired. Sign in through the provider again."
    )]
    Expired,
    #[error("That upstream account is already linked to an account here.")]
    Taken,
}

/// The identities linked to `user_id`, with their providers.
pub async fn linked(
    db: &Db,
    user_id: &str,
) -> Result<Vec<(external_identity::Model, identity_provider::Model)>, Fault> {
    let links = external_identity::Entity::find()
        .filter(external_identity::Column::UserId.eq(user_id))
        .find_also_related(identity_provider::Entity)
        .all(db)
        .await?;
    Ok(links
        .into_iter()
        .filter_map(|(link, provider)| provider.map(|p| (link, p)))
        .collect())
}

/// Unlink one identity of `user` (the account page's step-up operation,
/// or an operator's), only while another way to sign in remains; the
/// sessions opened through it end.
pub async fn unlink(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    link_id: &str,
) -> Result<Result<(), UnlinkRefusal>, Fault> {
    let Some(user) = users::lock(tx, &user.id).await? else {
        return Ok(Err(UnlinkRefusal::NotFound));
    };
    let Some((link, provider)) = external_identity::Entity::find_by_id(link_id)
        .filter(external_identity::Column::UserId.eq(user.id.as_str()))
        .find_also_related(identity_provider::Entity)
        .one(tx)
        .await?
    else {
        return Ok(Err(UnlinkRefusal::NotFound));
    };
    if crate::core::policy::ensure_can_remove_a_sign_in_method(tx, app, &user.id)
        .await?
        .is_err()
    {
        return Ok(Err(UnlinkRefusal::LastWayIn));
    }
    external_identity::Entity::delete_by_id(link.id.clone())
        .exec(tx)
        .await?;
    // The sessions opened through it end, with their token families.
    let opened = signin_session::Entity::find()
        .filter(signin_session::Column::UpstreamIdentityId.eq(link.id.as_str()))
        .filter(signin_session::Column::EndedAt.is_null())
        .all(tx)
        .await?;
    let mut ended = 0;
    for session in &opened {
        if sessions::end(tx, &session.id, "upstream_unlinked").await? {
            ended += 1;
        }
    }
    let provider_name = provider
        .as_ref()
        .map(|p| p.display_name.clone())
        .unwrap_or_default();
    audit::record(
        tx,
        Event {
            app_id: &app.id,
            actor: &tx.actor,
            action: Action::UpstreamUnlinked,
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "provider": provider.as_ref().map(|p| p.slug.clone()),
                "issuer": link.issuer,
                "subject": link.subject,
                "sessions_ended": ended,
            }),
        },
    )
    .await?;
    notices::notify_in(
        tx,
        app,
        &user,
        Notice::UpstreamUnlinked {
            provider: provider_name,
        },
    )
    .await?;
    Ok(Ok(()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnlinkRefusal {
    #[error("There is no such linked account.")]
    NotFound,
    #[error("This is the account's last way to sign in: add a password or a passkey first.")]
    LastWayIn,
}
