//! Invitations into an organization: sent by e-mail (through the outbox) by
//! its owners and admins or by an operator, with organization roles no
//! higher than the sender's; bound to the invited address; single use;
//! expiring after 7 days; revocable and resendable while pending. Only the
//! SHA-256 of the link's token is stored.
//!
//! Accepting creates the membership in the same write as whatever else it
//! takes: for an address with no account, the account itself (even where
//! the app's self-registration is off: the invitation is the permission)
//! and its sign-in; for an existing account, the invitee signs in first,
//! as that very account (another account is refused, clearly).

use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use crate::core::audit::{self, Action, Event, Target};
use crate::core::ceremonies::{self, Ceremony};
use crate::core::db::Db;
use crate::core::fault::Fault;
use crate::core::mail::{self, templates::Content};
use crate::core::orgs::members::{self, Acting, ensure_admin, locked_level};
use crate::core::orgs::roles as org_roles;
use crate::core::orgs::{self, Guard, OrgError};
use crate::core::passkeys::{self, PasskeyError, RelyingParty};
use crate::core::passwords::{Hashed, Password};
use crate::core::sessions::{ClientInfo, Factor};
use crate::core::signin::{self, SignInError, SignedIn};
use crate::core::write::{self, Actor, Write};
use crate::core::{recovery_codes, secrets, throttle, users};
use crate::entities::{
    app, app_user, external_identity, identity_provider, invitation, membership, organization,
};
use crate::types::{AppId, Email, RoleName, UserStatus};

/// How long an invitation waits to be accepted.
pub const LIFETIME: Duration = Duration::days(7);

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error(
        "This invitation is invalid, was already used, was revoked or has expired. Ask for a new one."
    )]
    Invalid,
    #[error(
        "This invitation is for {invited}, but you are signed in as {signed_in}. Sign out, then sign in as {invited} to accept it."
    )]
    WrongAccount { invited: String, signed_in: String },
    #[error("{0} already has an account here: sign in to accept the invitation.")]
    AccountExists(String),
    #[error("You are already a member of {0}.")]
    AlreadyMember(String),
    #[error("This account is deactivated.")]
    Deactivated,
    #[error("Password sign-in is turned off for this app: create a passkey instead.")]
    PasswordDisabled,
    #[error(
        "{org} accepts its members through {provider}: continue with {provider} to accept this invitation."
    )]
    ProviderRequired { org: String, provider: String },
    #[error(transparent)]
    Busy(#[from] crate::core::passwords::Busy),
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    #[error(transparent)]
    Ceremony(#[from] ceremonies::Spent),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(InviteError);

impl From<OrgError> for InviteError {
    fn from(err: OrgError) -> Self {
        match err {
            OrgError::AlreadyMember(_) => InviteError::Invalid,
            OrgError::Fault(fault) => InviteError::Fault(fault),
            other => InviteError::Fault(Fault::unexpected(other)),
        }
    }
}

impl From<users::UserError> for InviteError {
    fn from(err: users::UserError) -> Self {
        match err {
            users::UserError::EmailTaken { email, .. } => InviteError::AccountExists(email),
            users::UserError::Fault(fault) => InviteError::Fault(fault),
            other => InviteError::Fault(Fault::unexpected(other)),
        }
    }
}

/// The page an invitation link opens.
pub fn path(app_id: &str, token: &str) -> String {
    format!("/a/{app_id}/invite/{token}")
}

fn is_pending(row: &invitation::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    row.organization_id.is_some()
        && row.accepted_at.is_none()
        && row.revoked_at.is_none()
        && row.expires_at > now
}

fn roles_invited(row: &invitation::Model) -> Vec<String> {
    serde_json::from_str(&row.roles).unwrap_or_default()
}

fn describe(org: &organization::Model, row: &invitation::Model) -> serde_json::Value {
    json!({
        "org_id": org.id,
        "org": org.slug,
        "email": row.email,
        "roles": roles_invited(row),
        "expires_at": row.expires_at.to_rfc3339(),
    })
}

/// Write the invitation e-mail (through the outbox) with a fresh token.
async fn mail_it(
    tx: &Write,
    org: &organization::Model,
    row: &invitation::Model,
    token: &str,
) -> Result<(), OrgError> {
    let app = mail::app_of(tx, &org.app_id).await?;
    let content = Content::OrgInvitation {
        link: mail::public_link(tx, &path(&org.app_id, token)),
        org: org.name.clone(),
        inviter: tx.actor.label.clone(),
    };
    mail::outbox::enqueue(tx, &app, &row.email, None, &content, row.expires_at).await?;
    Ok(())
}

/// Invite `email` into `org` with `roles` (no higher than the sender's).
/// A pending invitation of the same address to the same organization is
/// replaced. Records `invitation.sent`; returns the row and the token.
pub async fn send(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    email: &Email,
    roles: &[RoleName],
) -> Result<(invitation::Model, String), OrgError> {
    let level = locked_level(tx, org, acting).await?;
    ensure_admin(level)?;
    let roles = org_roles::resolve(tx, &org.app_id, roles).await?;
    if let Some(above) = roles.iter().find(|r| org_roles::Level::of_role(r) > level) {
        return Err(Guard::RoleAboveOwn(above.clone()).into());
    }
    if let Some(user) = users::find_by_email(tx, &org.app_id, email).await?
        && members::find(tx, &org.id, &user.id).await?.is_some()
    {
        return Err(OrgError::AlreadyMember(email.to_string()));
    }
    // One pending invitation per address and organization: a new one
    // replaces the last.
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(tx.now),
        )
        .filter(invitation::Column::OrganizationId.eq(org.id.as_str()))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    let token = secrets::random_token(32);
    let row = invitation::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(org.app_id.clone()),
        organization_id: Set(Some(org.id.clone())),
        email: Set(email.to_string()),
        token_hash: Set(secrets::sha256_hex(&token)),
        roles: Set(serde_json::to_string(&roles).expect("strings serialise")),
        invited_by: Set(tx.actor.id.clone().or_else(|| Some(tx.actor.label.clone()))),
        expires_at: Set(tx.now + LIFETIME),
        accepted_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::InvitationSent,
            target: Some(Target::invitation(row.id.as_str())),
            details: describe(org, &row),
        },
    )
    .await?;
    mail_it(tx, org, &row, &token).await?;
    Ok((row, token))
}

/// The pending invitation `invitation_id` of `org`, locked for `tx`.
async fn locked_pending(
    tx: &Write,
    org: &organization::Model,
    invitation_id: &str,
) -> Result<invitation::Model, OrgError> {
    invitation::Entity::find_by_id(invitation_id)
        .filter(invitation::Column::OrganizationId.eq(org.id.as_str()))
        .lock_exclusive()
        .one(tx)
        .await?
        .filter(|row| is_pending(row, tx.now))
        .ok_or(OrgError::NoSuchInvitation)
}

/// Send a pending invitation again: a new link (the old one stops
/// working) and a new 7 days. Records `invitation.sent` (`resent`).
pub async fn resend(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    invitation_id: &str,
) -> Result<String, OrgError> {
    let level = locked_level(tx, org, acting).await?;
    ensure_admin(level)?;
    let row = locked_pending(tx, org, invitation_id).await?;
    if let Some(above) = roles_invited(&row)
        .iter()
        .find(|r| org_roles::Level::of_role(r) > level)
    {
        return Err(Guard::RoleAboveOwn(above.clone()).into());
    }
    let token = secrets::random_token(32);
    let mut update: invitation::ActiveModel = row.into();
    update.token_hash = Set(secrets::sha256_hex(&token));
    update.expires_at = Set(tx.now + LIFETIME);
    let row = update.update(tx).await?;
    let mut details = describe(org, &row);
    details["resent"] = json!(true);
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::InvitationSent,
            target: Some(Target::invitation(row.id.as_str())),
            details,
        },
    )
    .await?;
    mail_it(tx, org, &row, &token).await?;
    Ok(token)
}

/// Revoke a pending invitation: its link stops working. Records
/// `invitation.revoked`.
pub async fn revoke(
    tx: &Write,
    org: &organization::Model,
    acting: &Acting,
    invitation_id: &str,
) -> Result<(), OrgError> {
    let level = locked_level(tx, org, acting).await?;
    ensure_admin(level)?;
    let row = locked_pending(tx, org, invitation_id).await?;
    let mut update: invitation::ActiveModel = row.clone().into();
    update.revoked_at = Set(Some(tx.now));
    update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::InvitationRevoked,
            target: Some(Target::invitation(row.id.as_str())),
            details: describe(org, &row),
        },
    )
    .await?;
    Ok(())
}

/// The pending invitations of `org`, newest first.
pub async fn pending<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org.id.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await
}

/// What the invitation page shows of a pending invitation.
#[derive(Debug, Clone)]
pub struct Pending {
    pub invitation: invitation::Model,
    pub org: organization::Model,
    pub roles: Vec<String>,
    /// Whether the invited address already has an account in the app.
    pub account_exists: bool,
    /// The upstream provider the organization accepts its members through.
    pub required_provider: Option<identity_provider::Model>,
}

/// The pending invitation behind `token` in `app_id`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Pending>, DbErr> {
    let Some(row) = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(secrets::sha256_hex(token)))
        .filter(invitation::Column::AppId.eq(app_id.as_str()))
        .one(db)
        .await?
        .filter(|row| is_pending(row, now))
    else {
        return Ok(None);
    };
    let Some(org) = orgs::find(
        db,
        app_id,
        row.organization_id.as_deref().unwrap_or_default(),
    )
    .await?
    else {
        return Ok(None);
    };
    let account_exists = match Email::for_lookup(&row.email) {
        Ok(email) => users::find_by_email(db, app_id, &email).await?.is_some(),
        Err(_) => false,
    };
    let required_provider = orgs::required_provider(db, &org).await?;
    Ok(Some(Pending {
        roles: roles_invited(&row),
        invitation: row,
        org,
        account_exists,
        required_provider,
    }))
}

/// Spend the invitation behind `token` for `user` in `tx`: the row is
/// locked and checked again (of two acceptances at once, one wins), the
/// address must be the invited one, and the membership is created.
/// Records `membership.added` and `invitation.accepted`.
async fn spend(
    tx: &Write,
    app: &app::Model,
    token: &str,
    user: &app_user::Model,
) -> Result<membership::Model, InviteError> {
    let row = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(secrets::sha256_hex(token)))
        .filter(invitation::Column::AppId.eq(app.id.as_str()))
        .lock_exclusive()
        .one(tx)
        .await?
        .filter(|row| is_pending(row, tx.now))
        .ok_or(InviteError::Invalid)?;
    if !secrets::constant_time_eq(&row.email, &user.email) {
        return Err(InviteError::WrongAccount {
            invited: row.email.clone(),
            signed_in: user.email.clone(),
        });
    }
    let org = orgs::lock(tx, row.organization_id.as_deref().unwrap_or_default())
        .await?
        .ok_or(InviteError::Invalid)?;
    if members::find(tx, &org.id, &user.id).await?.is_some() {
        return Err(InviteError::AlreadyMember(org.name.clone()));
    }
    // An organization bound to a provider takes accounts that hold an
    // identity there (the upstream sign-in links it in this very write).
    if let Some(provider) = orgs::required_provider(tx, &org).await? {
        let holds = external_identity::Entity::find()
            .filter(external_identity::Column::UserId.eq(user.id.as_str()))
            .filter(external_identity::Column::ProviderId.eq(provider.id.as_str()))
            .one(tx)
            .await?
            .is_some();
        if !holds {
            return Err(InviteError::ProviderRequired {
                org: org.name.clone(),
                provider: provider.display_name,
            });
        }
    }
    let roles = roles_invited(&row);
    let added = members::add_unchecked(
        tx,
        &org,
        user,
        &roles,
        json!({ "invitation_id": row.id, "invited_by": row.invited_by }),
    )
    .await?;
    let mut update: invitation::ActiveModel = row.clone().into();
    update.accepted_at = Set(Some(tx.now));
    update.update(tx).await?;
    audit::record(
        tx,
        Event {
            app_id: &org.app_id,
            actor: &tx.actor,
            action: Action::InvitationAccepted,
            target: Some(Target::invitation(row.id.as_str())),
            details: describe(&org, &row),
        },
    )
    .await?;
    Ok(added)
}

fn actor_for(user: &app_user::Model, client: &ClientInfo) -> Actor {
    Actor::user(&user.id, &user.email, client.address.clone())
}

/// Accept as the signed-in `user` (whose address must be the invited one).
pub async fn accept_signed_in(
    db: &Db,
    app: &app::Model,
    token: &str,
    user: &app_user::Model,
    client: &ClientInfo,
) -> Result<organization::Model, InviteError> {
    if user.status != UserStatus::Active {
        return Err(InviteError::Deactivated);
    }
    let tx = write::begin(db, actor_for(user, client)).await?;
    let added = spend(&tx, app, token, user).await?;
    let org = orgs::find(&tx, &app.id, &added.organization_id)
        .await?
        .ok_or(InviteError::Invalid)?;
    tx.commit().await?;
    Ok(org)
}

/// Accept, in the write of an upstream sign-in, as the account it signed
/// in (just linked or created for the invitation): the organization.
pub async fn accept_arrived(
    tx: &Write,
    app: &app::Model,
    token: &str,
    user: &app_user::Model,
) -> Result<organization::Model, InviteError> {
    let added = spend(tx, app, token, user).await?;
    orgs::find(tx, &app.id, &added.organization_id)
        .await?
        .ok_or(InviteError::Invalid)
}

/// The pending invitation for a new account, or why there is none.
async fn for_new_account(
    db: &Db,
    app: &app::Model,
    token: &str,
) -> Result<(Pending, Email), InviteError> {
    let pending = find(db, &app.id, token, db.now())
        .await?
        .ok_or(InviteError::Invalid)?;
    let email = Email::for_lookup(&pending.invitation.email).map_err(|_| InviteError::Invalid)?;
    if pending.account_exists {
        return Err(InviteError::AccountExists(email.to_string()));
    }
    if let Some(provider) = &pending.required_provider {
        return Err(InviteError::ProviderRequired {
            org: pending.org.name.clone(),
            provider: provider.display_name.clone(),
        });
    }
    Ok((pending, email))
}

/// Create the invited account (its address confirmed by the link) with
/// `password`, in `tx`, and spend the invitation for it.
async fn new_account(
    tx: &Write,
    app: &app::Model,
    token: &str,
    id: String,
    email: Email,
    password: Option<Hashed>,
) -> Result<app_user::Model, InviteError> {
    let user = users::create(
        tx,
        &app.id,
        users::NewUser {
            id: Some(id),
            email,
            password,
            roles: Vec::new(),
        },
    )
    .await?;
    // Following the link proved control of the address.
    let mut update: app_user::ActiveModel = user.into();
    update.email_verified = Set(true);
    let user = update.update(tx).await?;
    spend(tx, app, token, &user).await?;
    orgs::domains::address_confirmed(tx, &user).await?;
    Ok(user)
}

/// Accept by creating the invited account with a password, and sign in.
pub async fn accept_with_password(
    db: &Db,
    app: &app::Model,
    token: &str,
    password: &Password,
    client: &ClientInfo,
) -> Result<SignedIn, InviteError> {
    if !app.password_enabled {
        return Err(InviteError::PasswordDisabled);
    }
    let (_, email) = for_new_account(db, app, token).await?;
    let hashed = password.hashed().await?;
    let id = secrets::new_id();
    let tx = write::begin(db, Actor::user(&id, email.as_str(), client.address.clone())).await?;
    let user = new_account(&tx, app, token, id, email, Some(hashed)).await?;
    let keys = throttle::Keys::new(&app.id, &user.email, client.address.as_deref(), None);
    let signed_in = signin::succeed(
        &tx,
        app,
        &user,
        Factor::Password,
        &keys,
        client,
        signin::Browser::New,
    )
    .await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// First step of accepting with a passkey: creation options for the new
/// account, and the id it will have (its WebAuthn user handle).
pub async fn start_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    token: &str,
) -> Result<(serde_json::Value, PasskeyRegistration, String), InviteError> {
    let (_, email) = for_new_account(db, app, token).await?;
    let id = secrets::new_id();
    let (options, state) = rp.start_registration(&app.name, &id, email.as_str(), &[])?;
    Ok((options, state, id))
}

/// Second step: create the account with its passkey (and the password
/// chosen beside it, if any), spend the invitation, sign in, and hand back
/// the first recovery codes.
#[allow(clippy::too_many_arguments)]
pub async fn finish_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    token: &str,
    user_id: String,
    ceremony: &Ceremony,
    state: &PasskeyRegistration,
    credential: &RegisterPublicKeyCredential,
    password: Option<&Password>,
    client: &ClientInfo,
) -> Result<(SignedIn, Vec<String>), InviteError> {
    if password.is_some() && !app.password_enabled {
        return Err(InviteError::PasswordDisabled);
    }
    let (_, email) = for_new_account(db, app, token).await?;
    let key = rp.finish_registration(&app.name, credential, state)?;
    let password = match password {
        Some(password) => Some(password.hashed().await?),
        None => None,
    };
    let tx = write::begin(
        db,
        Actor::user(&user_id, email.as_str(), client.address.clone()),
    )
    .await?;
    ceremonies::spend(&tx, ceremony).await??;
    let user = new_account(&tx, app, token, user_id, email, password).await?;
    passkeys::store(&tx, &user, "Passkey", &key).await?;
    let codes = recovery_codes::generate(&tx, &user).await?;
    let keys = throttle::Keys::new(&app.id, &user.email, client.address.as_deref(), None);
    let signed_in = signin::succeed(
        &tx,
        app,
        &user,
        Factor::Passkey,
        &keys,
        client,
        signin::Browser::New,
    )
    .await?;
    tx.commit().await?;
    Ok((signed_in, codes))
}

/// The roles an invitation gives, for a page.
pub fn roles_of_invitation(row: &invitation::Model) -> Vec<String> {
    roles_invited(row)
}

/// Whether `user` already belongs to the invitation's organization.
pub async fn already_member<C: ConnectionTrait>(
    db: &C,
    pending: &Pending,
    user_id: &str,
) -> Result<bool, DbErr> {
    Ok(members::find(db, &pending.org.id, user_id).await?.is_some())
}
