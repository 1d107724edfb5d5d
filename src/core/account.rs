//! Self-service on the account page: passkeys, password, recovery codes,
//! sessions and deactivation, each checked against the guardrails and
//! audited in the same transaction as the change.
//!
//! A factor is only as strong as the way it was enrolled (H2 of the security
//! review): adding or removing a passkey, setting a first password and new
//! recovery codes are step-up operations. They need a proof made within the
//! last five minutes with the strongest factor the user already has, a
//! passkey if they have one. A user whose role demands a passkey and who has
//! none gets their first one only through a one-time link an operator
//! issued, never from a password session. A session opened by a recovery
//! code or link may enrol one new factor, with one exception (N2 of the
//! second security review): for a user whose role demands a passkey, only an
//! operator vouches for one. A recovery code is a typed secret (phishable)
//! and a requested link proves only a mailbox, so such a session adds a
//! passkey only with an operator's enrolment link, whether or not the user
//! still has a passkey, and sets no password.

use crate::core::fault::Fault;
use crate::core::write;
use crate::core::write::Write;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::json;
use webauthn_rs::prelude::{Passkey, PasskeyRegistration, RegisterPublicKeyCredential};

use super::audit::{self, Action, Event, Target};
use super::ceremonies::{self, Ceremony};
use super::db::Db;
use super::devices;
use super::links::{self, Purpose};
use super::mail::notices;
use super::mail::templates::Notice;
use super::passkeys::{self, PasskeyError, RelyingParty};
use super::passwords::{Password, PasswordCheck};
use super::policy::PolicyError;
use super::sessions::{self, ActiveSignin, ClientInfo, Factor};
use super::upstream::accounts::{self as upstream_accounts, PendingLink};
use super::{recovery_codes, throttle, users};
use crate::core::write::Actor;
use crate::entities::{app, app_user, password_credential, signin_session};
use crate::types::Email;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("The current password is not right.")]
    WrongPassword,
    #[error("Confirm it's you first: sign in again to continue.")]
    ReauthenticationRequired,
    #[error("Confirm it's you with your passkey first: this change needs a recent passkey.")]
    PasskeyReauthenticationRequired,
    #[error(
        "Your access needs a passkey, and a first passkey can only be added with an enrolment link from your administrator."
    )]
    EnrolmentLinkRequired,
    #[error(
        "You signed in with a recovery code or a link you asked for, and your access needs a passkey: ask an operator for an enrolment link to add one."
    )]
    RecoveryNeedsEnrolmentLink,
    #[error(
        "Recovery codes come with a passkey: your access needs one, so add a passkey first (with an enrolment link from your administrator)."
    )]
    RecoveryCodesNeedAPasskey,
    #[error(
        "This enrolment link is invalid, was already used, has expired, or is for another account."
    )]
    InvalidEnrolmentLink,
    #[error("That passkey request was started for another account. Try again.")]
    RegistrationForAnotherUser,
    #[error("Type your e-mail address exactly to confirm.")]
    ConfirmationMismatch,
    #[error("That session does not exist or has already ended.")]
    NoSuchSession,
    #[error(transparent)]
    Link(upstream_accounts::LinkRefusal),
    #[error(transparent)]
    Unlink(upstream_accounts::UnlinkRefusal),
    #[error("Too many failed attempts. Try again later.")]
    Throttled,
    #[error(transparent)]
    Busy(#[from] super::passwords::Busy),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    #[error(transparent)]
    Ceremony(#[from] ceremonies::Spent),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(AccountError);

fn actor(signin: &ActiveSignin, client: &ClientInfo) -> Actor {
    Actor::user(&signin.user.id, &signin.user.email, client.address.clone())
}

/// A change to the user's own factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorChange {
    AddPasskey,
    RemovePasskey,
    /// A password where there was none.
    SetFirstPassword,
    /// Replacing the password (the current one is checked by the caller,
    /// except in a session opened by a recovery).
    SetPassword,
    NewRecoveryCodes,
    /// Linking an upstream identity (a new way in).
    LinkUpstream,
    /// Unlinking an upstream identity.
    UnlinkUpstream,
}

/// What the user has to sign in with, read inside the changing transaction.
struct Factors {
    passkeys: usize,
    password: bool,
    /// A role of theirs requires a passkey.
    role_needs_passkey: bool,
}

impl Factors {
    /// What setting a password is for this user: a first one, or another.
    fn password_change(&self) -> FactorChange {
        if self.password {
            FactorChange::SetPassword
        } else {
            FactorChange::SetFirstPassword
        }
    }
}

async fn factors_of<C: ConnectionTrait>(tx: &C, user: &app_user::Model) -> Result<Factors, DbErr> {
    Ok(Factors {
        passkeys: passkeys::list_for_user(tx, &user.id).await?.len(),
        password: password_credential::Entity::find_by_id(user.id.as_str())
            .one(tx)
            .await?
            .is_some(),
        role_needs_passkey: links::needs_passkey(tx, user).await?,
    })
}

/// The step-up a factor change needs (see the module comment). `enrolment`
/// is whether a valid enrolment link for this user comes with the change
/// (spent by the caller in the same transaction).
fn ensure_stepped_up(
    signin: &ActiveSignin,
    factors: &Factors,
    change: FactorChange,
    enrolment: bool,
) -> Result<(), AccountError> {
    let recovering = signin.session.requires_enrolment;
    // An operator's link (an enrolment link, or the recovery link an
    // operator issued) is the only voucher for a passkey a role demands.
    let vouched = enrolment || (recovering && signin.session.opened_by_link);
    let fresh_passkey = || {
        signin
            .is_fresh_with(Factor::Passkey)
            .then_some(())
            .ok_or(AccountError::PasskeyReauthenticationRequired)
    };
    // Without a passkey the strongest factor is the password; a recovery
    // session has proved nothing stronger than its code.
    let fresh_any = || {
        signin
            .is_fresh()
            .then_some(())
            .ok_or(AccountError::ReauthenticationRequired)
    };
    match change {
        // N2: checked before "has a passkey already", so a phished recovery
        // code never adds the attacker's passkey beside the victim's.
        FactorChange::AddPasskey if factors.role_needs_passkey => {
            if vouched {
                Ok(())
            } else if recovering {
                Err(AccountError::RecoveryNeedsEnrolmentLink)
            } else if factors.passkeys > 0 {
                fresh_passkey()
            } else {
                Err(AccountError::EnrolmentLinkRequired)
            }
        }
        FactorChange::AddPasskey if factors.passkeys > 0 => {
            if recovering {
                Ok(())
            } else {
                fresh_passkey()
            }
        }
        FactorChange::AddPasskey => {
            if recovering || enrolment {
                Ok(())
            } else {
                fresh_any()
            }
        }
        // N2: a recovery that no operator vouched for leaves a passkey-role
        // user's password alone (a phished code would otherwise become a
        // lasting password).
        FactorChange::SetPassword | FactorChange::SetFirstPassword
            if recovering && factors.role_needs_passkey && !signin.session.opened_by_link =>
        {
            Err(AccountError::RecoveryNeedsEnrolmentLink)
        }
        FactorChange::SetPassword => Ok(()),
        FactorChange::SetFirstPassword if factors.passkeys > 0 => {
            if recovering {
                Ok(())
            } else {
                fresh_passkey()
            }
        }
        FactorChange::SetFirstPassword => {
            if recovering {
                Ok(())
            } else {
                fresh_any()
            }
        }
        FactorChange::RemovePasskey => fresh_passkey(),
        FactorChange::NewRecoveryCodes if factors.passkeys > 0 => fresh_passkey(),
        FactorChange::NewRecoveryCodes if factors.role_needs_passkey => {
            Err(AccountError::RecoveryCodesNeedAPasskey)
        }
        FactorChange::NewRecoveryCodes => fresh_any(),
        // A recovery session proved only a code: an upstream account it
        // linked would outlast the recovery (like a password, N2).
        FactorChange::LinkUpstream if recovering => Err(AccountError::RecoveryNeedsEnrolmentLink),
        FactorChange::LinkUpstream | FactorChange::UnlinkUpstream if factors.passkeys > 0 => {
            fresh_passkey()
        }
        FactorChange::LinkUpstream | FactorChange::UnlinkUpstream => fresh_any(),
    }
}

/// Link the upstream identity this browser brought back (and kept sealed)
/// to the signed-in account: a step-up operation, spent once, bound to that
/// exact issuer and subject.
pub async fn link_upstream(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    ceremony: &Ceremony,
    pending: &PendingLink,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = write::begin(db, actor(signin, client)).await?;
    users::lock(&tx, &signin.user.id).await?;
    let factors = factors_of(&tx, &signin.user).await?;
    ensure_stepped_up(signin, &factors, FactorChange::LinkUpstream, false)?;
    upstream_accounts::link_pending(&tx, app, &signin.user, ceremony, pending)
        .await?
        .map_err(AccountError::Link)?;
    tx.commit().await?;
    Ok(())
}

/// Unlink one of the account's upstream identities (a step-up operation;
/// never the last way to sign in).
pub async fn unlink_upstream(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    link_id: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = write::begin(db, actor(signin, client)).await?;
    users::lock(&tx, &signin.user.id).await?;
    let factors = factors_of(&tx, &signin.user).await?;
    ensure_stepped_up(signin, &factors, FactorChange::UnlinkUpstream, false)?;
    upstream_accounts::unlink(&tx, app, &signin.user, link_id)
        .await?
        .map_err(AccountError::Unlink)?;
    tx.commit().await?;
    Ok(())
}

/// Whether the account page should offer to add a passkey at all, and why
/// not: for the page only; the change itself is checked by [`add_passkey`].
pub async fn passkey_enrolment_blocked(
    db: &Db,
    signin: &ActiveSignin,
    enrolment_link: Option<&str>,
) -> Result<Option<AccountError>, DbErr> {
    let factors = factors_of(db, &signin.user).await?;
    let enrolment = match enrolment_link {
        Some(token) => valid_enrolment(db, signin, token).await?.is_some(),
        None => false,
    };
    Ok(
        match ensure_stepped_up(signin, &factors, FactorChange::AddPasskey, enrolment) {
            Err(
                err @ (AccountError::EnrolmentLinkRequired
                | AccountError::RecoveryNeedsEnrolmentLink),
            ) => Some(err),
            _ => None,
        },
    )
}

/// Whether the account page should offer to set the password at all, and
/// why not (N2: a recovery no operator vouched for leaves a passkey-role
/// user's password alone): for the page only; the change itself is checked
/// by [`change_password`].
pub async fn password_change_blocked(
    db: &Db,
    signin: &ActiveSignin,
) -> Result<Option<AccountError>, DbErr> {
    let factors = factors_of(db, &signin.user).await?;
    Ok(
        match ensure_stepped_up(signin, &factors, factors.password_change(), false) {
            Err(err @ AccountError::RecoveryNeedsEnrolmentLink) => Some(err),
            _ => None,
        },
    )
}

/// The unspent enrolment link `token`, if it is this user's.
async fn valid_enrolment<C: crate::core::write::Clocked>(
    tx: &C,
    signin: &ActiveSignin,
    token: &str,
) -> Result<Option<crate::entities::action_token::Model>, DbErr> {
    Ok(
        links::find_valid(tx, &signin.user.app_id, token, Purpose::Enrol)
            .await?
            .filter(|(_, user)| user.id == signin.user.id)
            .map(|(row, _)| row),
    )
}

/// A change to the user's factors may begin: the step-up it needs is there
/// (checked again when it completes, under the user's row lock).
pub async fn may_change_factors(
    db: &Db,
    signin: &ActiveSignin,
    change: FactorChange,
    enrolment_link: Option<&str>,
) -> Result<(), AccountError> {
    let factors = factors_of(db, &signin.user).await?;
    let enrolment = match enrolment_link {
        Some(token) => valid_enrolment(db, signin, token).await?.is_some(),
        None => false,
    };
    if enrolment_link.is_some() && !enrolment {
        return Err(AccountError::InvalidEnrolmentLink);
    }
    ensure_stepped_up(signin, &factors, change, enrolment)
}

/// End the user's other sessions and token families after a factor was
/// removed: a session opened with a lost or stolen factor must not outlive
/// it (L8 of the security review).
async fn end_other_sessions(tx: &Write, signin: &ActiveSignin, reason: &str) -> Result<u64, DbErr> {
    sessions::end_all_for_user(tx, &signin.user.id, reason, Some(&signin.session.id)).await
}

/// Register the passkey whose ceremony the user just completed
/// (`registered_for` is the user the ceremony was started for). Returns the
/// stored passkey and, when it is the user's first strong factor, the ten
/// recovery codes to show once. A session waiting for a new factor (after
/// a recovery) is released; an enrolment link is spent.
#[allow(clippy::too_many_arguments)]
pub async fn add_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    signin: &ActiveSignin,
    registered_for: &str,
    ceremony: &Ceremony,
    state: &PasskeyRegistration,
    credential: &RegisterPublicKeyCredential,
    name: &str,
    enrolment_link: Option<&str>,
    client: &ClientInfo,
) -> Result<(crate::entities::passkey::Model, Option<Vec<String>>), AccountError> {
    // L7: a ceremony started for one user cannot finish for another.
    if registered_for != signin.user.id {
        return Err(AccountError::RegistrationForAnotherUser);
    }
    let key: Passkey = rp.finish_registration(&app.name, credential, state)?;
    let tx = write::begin(db, actor(signin, client)).await?;
    users::lock(&tx, &signin.user.id).await?;
    let factors = factors_of(&tx, &signin.user).await?;
    let enrolment = match enrolment_link {
        Some(token) => {
            let row = valid_enrolment(&tx, signin, token)
                .await?
                .ok_or(AccountError::InvalidEnrolmentLink)?;
            if !links::consume(&tx, &row).await? {
                return Err(AccountError::InvalidEnrolmentLink);
            }
            true
        }
        None => false,
    };
    ensure_stepped_up(signin, &factors, FactorChange::AddPasskey, enrolment)?;
    ceremonies::spend(&tx, ceremony).await??;
    let stored = passkeys::store(&tx, &signin.user, name, &key).await?;
    notices::notify_in(
        &tx,
        app,
        &signin.user,
        Notice::PasskeyAdded {
            name: stored.name.clone(),
        },
    )
    .await?;
    if enrolment {
        audit::record(
            &tx,
            Event {
                app_id: &app.id,
                actor: &tx.actor,
                action: Action::EnrolmentLinkUsed,
                target: Some(Target::user(signin.user.id.as_str())),
                details: json!({ "passkey_id": stored.id }),
            },
        )
        .await?;
    }
    let codes = if recovery_codes::remaining(&tx, &signin.user.id).await? == 0 {
        Some(recovery_codes::generate(&tx, &signin.user).await?)
    } else {
        None
    };
    sessions::clear_enrolment_requirement(&tx, &signin.session.id).await?;
    tx.commit().await?;
    Ok((stored, codes))
}

pub async fn rename_passkey(
    db: &Db,
    signin: &ActiveSignin,
    passkey_id: &str,
    name: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = crate::core::write::begin(db, actor(signin, client)).await?;
    passkeys::rename(&tx, &signin.user, passkey_id, name).await?;
    tx.commit().await?;
    Ok(())
}

/// Remove a passkey (needs a recent passkey), unless it is the user's last
/// way to sign in; the user's other sessions end.
pub async fn remove_passkey(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    passkey_id: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = write::begin(db, actor(signin, client)).await?;
    users::lock(&tx, &signin.user.id).await?;
    let factors = factors_of(&tx, &signin.user).await?;
    ensure_stepped_up(signin, &factors, FactorChange::RemovePasskey, false)?;
    passkeys::remove(&tx, app, &signin.user, passkey_id).await?;
    end_other_sessions(&tx, signin, "factor_removed").await?;
    tx.commit().await?;
    Ok(())
}

/// Set or change the password. Changing needs the current one, except in a
/// session opened by a recovery (the user lost it); setting a first one is
/// a step-up operation. Other sessions end, and every known-device mark
/// with them: the browser that made the change gets a new one (returned,
/// for its cookie).
pub async fn change_password(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    current: Option<&Password>,
    new: &Password,
    client: &ClientInfo,
    device_cookie: Option<&str>,
) -> Result<Option<String>, AccountError> {
    let existing = password_credential::Entity::find_by_id(signin.user.id.as_str())
        .one(db)
        .await?;
    let verified_current = match &existing {
        Some(credential) if !signin.session.requires_enrolment => {
            let email =
                Email::for_lookup(&signin.user.email).map_err(|_| AccountError::WrongPassword)?;
            let (keys, _) = super::signin::password_keys(
                db.deployment(),
                &app.id,
                &email,
                Some(&signin.user),
                client,
                device_cookie,
            );
            let reservation = throttle::reserve(db, &keys).await?.map_err(|_| {
                super::measure::throttled("account");
                AccountError::Throttled
            })?;
            let typed = match current {
                Some(current) => match current.check(&credential.phc).await {
                    Ok(check) => Some(check),
                    Err(busy) => {
                        throttle::give_back(db, reservation).await?;
                        return Err(busy.into());
                    }
                },
                None => None,
            };
            if !matches!(typed, Some(PasswordCheck::Valid { .. })) {
                let tx = write::begin(db, actor(signin, client)).await?;
                throttle::fail(&tx, reservation).await?;
                audit::record(
                    &tx,
                    Event {
                        app_id: &app.id,
                        actor: &actor(signin, client),
                        action: Action::PasswordChangeFailed,
                        target: Some(Target::user(signin.user.id.as_str())),
                        details: json!({ "reason": "wrong_current_password" }),
                    },
                )
                .await?;
                tx.commit().await?;
                return Err(AccountError::WrongPassword);
            }
            Some(reservation)
        }
        _ => None,
    };
    // Hashed before the write transaction: argon2 takes a while.
    let phc = new.hashed().await?.0;
    let now = db.now();
    let tx = write::begin(db, actor(signin, client)).await?;
    users::lock(&tx, &signin.user.id).await?;
    let factors = factors_of(&tx, &signin.user).await?;
    ensure_stepped_up(signin, &factors, factors.password_change(), false)?;
    match password_credential::Entity::find_by_id(signin.user.id.as_str())
        .one(&tx)
        .await?
    {
        Some(credential) => {
            let mut update: password_credential::ActiveModel = credential.into();
            update.phc = Set(phc);
            update.updated_at = Set(now);
            update.update(&tx).await?;
        }
        None => {
            password_credential::ActiveModel {
                user_id: Set(signin.user.id.clone()),
                app_id: Set(signin.user.app_id.clone()),
                phc: Set(phc),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&tx)
            .await?;
        }
    }
    if let Some(reservation) = verified_current {
        throttle::succeeded(&tx, reservation).await?;
    }
    let ended = end_other_sessions(&tx, signin, "password_changed").await?;
    let device_mark = devices::mark_anew(&tx, &signin.user.id).await?;
    sessions::clear_enrolment_requirement(&tx, &signin.session.id).await?;
    audit::record(
        &tx,
        Event {
            app_id: &app.id,
            actor: &actor(signin, client),
            action: Action::PasswordChanged,
            target: Some(Target::user(signin.user.id.as_str())),
            details: json!({ "other_sessions_ended": ended, "had_password": factors.password }),
        },
    )
    .await?;
    notices::notify_in(&tx, app, &signin.user, Notice::PasswordChanged).await?;
    tx.commit().await?;
    Ok(device_mark)
}

/// Replace the recovery codes (a step-up operation: fresh codes are a way in).
pub async fn regenerate_recovery_codes(
    db: &Db,
    signin: &ActiveSignin,
    client: &ClientInfo,
) -> Result<Vec<String>, AccountError> {
    let tx = crate::core::write::begin(db, actor(signin, client)).await?;
    users::lock(&tx, &signin.user.id).await?;
    let factors = factors_of(&tx, &signin.user).await?;
    ensure_stepped_up(signin, &factors, FactorChange::NewRecoveryCodes, false)?;
    let codes = recovery_codes::generate(&tx, &signin.user).await?;
    notices::notify(&tx, &signin.user, Notice::RecoveryCodesReplaced).await?;
    tx.commit().await?;
    Ok(codes)
}

/// End one of the user's own sessions (never someone else's).
pub async fn revoke_session(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    session_id: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = write::begin(db, actor(signin, client)).await?;
    let target = signin_session::Entity::find_by_id(session_id)
        .one(&tx)
        .await?;
    match target {
        Some(session) if session.user_id == signin.user.id && session.ended_at.is_none() => {
            sessions::end(&tx, &session.id, "revoked_by_user").await?;
            audit::record(
                &tx,
                Event {
                    app_id: &app.id,
                    actor: &actor(signin, client),
                    action: Action::SessionRevoked,
                    target: Some(Target::user(signin.user.id.as_str())),
                    details: json!({
                        "session_id": session.id,
                        "current": session.id == signin.session.id,
                    }),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        _ => Err(AccountError::NoSuchSession),
    }
}

/// Deactivate one's own account: needs a fresh sign-in and the e-mail typed
/// as confirmation; the last owner of an app cannot. Every session ends and
/// every token family is revoked.
pub async fn deactivate_self(
    db: &Db,
    signin: &ActiveSignin,
    confirmation: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    if !signin.is_fresh() {
        return Err(AccountError::ReauthenticationRequired);
    }
    if confirmation.trim().to_lowercase() != signin.user.email {
        return Err(AccountError::ConfirmationMismatch);
    }
    let tx = crate::core::write::begin(db, actor(signin, client)).await?;
    users::set_active(&tx, &signin.user, false)
        .await
        .map_err(|err| match err {
            users::UserError::Policy(err) => AccountError::Policy(err),
            users::UserError::Fault(fault) => AccountError::Fault(fault),
            other => AccountError::Fault(Fault::unexpected(other)),
        })?;
    tx.commit().await?;
    Ok(())
}

/// Whether the user has a password (for the account page).
pub async fn has_password(db: &Db, user_id: &str) -> Result<bool, DbErr> {
    Ok(password_credential::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some())
}
