//! Self-service on the account page: passkeys, password, recovery codes,
//! sessions and deactivation, each checked against the guardrails and
//! audited in the same transaction as the change.

use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, Set};
use serde_json::json;
use webauthn_rs::prelude::{Passkey, PasskeyRegistration, RegisterPublicKeyCredential};

use super::audit::{self, Actor, AuditError, Event, Target};
use super::db::begin_write;
use super::passkeys::{self, PasskeyError, RelyingParty};
use super::passwords::{self, Password, PasswordCheck};
use super::policy::{self, PolicyError};
use super::sessions::{self, ActiveSignin, ClientInfo};
use super::types::AppId;
use super::{clock, recovery_codes, throttle, users};
use crate::entities::{app, app_user, password_credential, signin_session};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("The current password is not right.")]
    WrongPassword,
    #[error("Confirm it's you first: sign in again to continue.")]
    ReauthenticationRequired,
    #[error("Type your e-mail address exactly to confirm.")]
    ConfirmationMismatch,
    #[error("That session does not exist or has already ended.")]
    NoSuchSession,
    #[error("Too many failed attempts. Try again later.")]
    Throttled,
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

fn actor(signin: &ActiveSignin, client: &ClientInfo) -> Actor {
    Actor::user(&signin.user.id, &signin.user.email, client.address.clone())
}

fn app_id_of(app: &app::Model) -> AppId {
    AppId::parse(&app.id).expect("stored app ids are valid")
}

/// Register the passkey whose ceremony the user just completed. Returns the
/// stored passkey and, when it is the user's first strong factor, the ten
/// recovery codes to show once. A session waiting for a new factor (after a
/// recovery code) is released.
pub async fn add_passkey(
    db: &DatabaseConnection,
    rp: &RelyingParty,
    app: &app::Model,
    signin: &ActiveSignin,
    state: &PasskeyRegistration,
    credential: &RegisterPublicKeyCredential,
    name: &str,
    client: &ClientInfo,
) -> Result<(crate::entities::passkey::Model, Option<Vec<String>>), AccountError> {
    let key: Passkey = rp.finish_registration(&app.name, credential, state)?;
    let tx = begin_write(db).await?;
    let actor = actor(signin, client);
    let stored = passkeys::store(&tx, &actor, &signin.user, name, &key).await?;
    let codes = if recovery_codes::remaining(&tx, &signin.user.id).await? == 0 {
        Some(recovery_codes::generate(&tx, &actor, &signin.user).await?)
    } else {
        None
    };
    sessions::clear_enrolment_requirement(&tx, &signin.user.id).await?;
    tx.commit().await?;
    Ok((stored, codes))
}

pub async fn rename_passkey(
    db: &DatabaseConnection,
    signin: &ActiveSignin,
    passkey_id: &str,
    name: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = begin_write(db).await?;
    passkeys::rename(&tx, &actor(signin, client), &signin.user, passkey_id, name).await?;
    tx.commit().await?;
    Ok(())
}

/// Remove a passkey, unless it is the user's last way to sign in.
pub async fn remove_passkey(
    db: &DatabaseConnection,
    app: &app::Model,
    signin: &ActiveSignin,
    passkey_id: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = begin_write(db).await?;
    passkeys::find_for_user(&tx, &signin.user.id, passkey_id).await?;
    policy::ensure_can_remove_a_sign_in_method(&tx, app, &signin.user.id).await??;
    passkeys::remove(&tx, &actor(signin, client), &signin.user, passkey_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Set or change the password. Changing needs the current one, except in a
/// session opened with a recovery code (the user lost it). Other sessions end.
pub async fn change_password(
    db: &DatabaseConnection,
    app: &app::Model,
    signin: &ActiveSignin,
    current: Option<&Password>,
    new: &Password,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let existing = password_credential::Entity::find_by_id(signin.user.id.as_str())
        .one(db)
        .await?;
    let keys = throttle::Keys::new(&app.id, &signin.user.email, client.address.as_deref());
    if let Some(credential) = &existing
        && !signin.session.requires_enrolment
    {
        if throttle::locked_until(db, &keys).await?.is_some() {
            return Err(AccountError::Throttled);
        }
        let typed = current.map(|p| passwords::verify(&credential.phc, p));
        if !matches!(typed, Some(PasswordCheck::Valid { .. })) {
            let tx = begin_write(db).await?;
            throttle::record_failure(&tx, &keys).await?;
            audit::record(
                &tx,
                Event {
                    app_id: &app_id_of(app),
                    actor: &actor(signin, client),
                    action: "password.change_failed",
                    target: Some(Target::new("user", signin.user.id.as_str())),
                    details: json!({ "reason": "wrong_current_password" }),
                },
            )
            .await?;
            tx.commit().await?;
            return Err(AccountError::WrongPassword);
        }
    }
    let now = clock::now();
    let tx = begin_write(db).await?;
    match existing {
        Some(credential) => {
            let mut update: password_credential::ActiveModel = credential.into();
            update.phc = Set(passwords::hash(new));
            update.updated_at = Set(now);
            update.update(&tx).await?;
        }
        None => {
            password_credential::ActiveModel {
                user_id: Set(signin.user.id.clone()),
                app_id: Set(signin.user.app_id.clone()),
                phc: Set(passwords::hash(new)),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&tx)
            .await?;
        }
    }
    throttle::record_success(&tx, &keys).await?;
    let ended = sessions::end_all_for_user(
        &tx,
        &signin.user.id,
        "password_changed",
        Some(&signin.session.id),
    )
    .await?;
    sessions::clear_enrolment_requirement(&tx, &signin.user.id).await?;
    audit::record(
        &tx,
        Event {
            app_id: &app_id_of(app),
            actor: &actor(signin, client),
            action: "password.changed",
            target: Some(Target::new("user", signin.user.id.as_str())),
            details: json!({ "other_sessions_ended": ended, "had_password": current.is_some() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replace the recovery codes (needs a fresh sign-in: fresh codes are a way in).
pub async fn regenerate_recovery_codes(
    db: &DatabaseConnection,
    signin: &ActiveSignin,
    client: &ClientInfo,
) -> Result<Vec<String>, AccountError> {
    if !signin.is_fresh() {
        return Err(AccountError::ReauthenticationRequired);
    }
    let tx = begin_write(db).await?;
    let codes = recovery_codes::generate(&tx, &actor(signin, client), &signin.user).await?;
    tx.commit().await?;
    Ok(codes)
}

/// End one of the user's own sessions (never someone else's).
pub async fn revoke_session(
    db: &DatabaseConnection,
    app: &app::Model,
    signin: &ActiveSignin,
    session_id: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let tx = begin_write(db).await?;
    let target = signin_session::Entity::find_by_id(session_id)
        .one(&tx)
        .await?;
    match target {
        Some(session) if session.user_id == signin.user.id && session.ended_at.is_none() => {
            sessions::end(&tx, &session.id, "revoked_by_user").await?;
            audit::record(
                &tx,
                Event {
                    app_id: &app_id_of(app),
                    actor: &actor(signin, client),
                    action: "session.revoked",
                    target: Some(Target::new("user", signin.user.id.as_str())),
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
    db: &DatabaseConnection,
    app: &app::Model,
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
    let tx = begin_write(db).await?;
    policy::ensure_not_last_owner(&tx, &signin.user).await??;
    let now = clock::now();
    let mut update: app_user::ActiveModel = signin.user.clone().into();
    update.status = Set(users::STATUS_DEACTIVATED.to_owned());
    update.deactivated_at = Set(Some(now));
    update.updated_at = Set(now);
    update.update(&tx).await?;
    let ended = sessions::end_all_for_user(&tx, &signin.user.id, "deactivated", None).await?;
    audit::record(
        &tx,
        Event {
            app_id: &app_id_of(app),
            actor: &actor(signin, client),
            action: "user.deactivated",
            target: Some(Target::new("user", signin.user.id.as_str())),
            details: json!({
                "self": true,
                "before": { "status": signin.user.status },
                "after": { "status": users::STATUS_DEACTIVATED },
                "sessions_ended": ended,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the user has a password (for the account page).
pub async fn has_password(db: &DatabaseConnection, user_id: &str) -> Result<bool, DbErr> {
    Ok(password_credential::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some())
}
