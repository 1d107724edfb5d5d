//! Passkeys (WebAuthn, via webauthn-rs): registration, discoverable sign-in
//! with user verification required, and the stored credentials of a user.
//!
//! The relying party id is the host of the public URL: every app shares it,
//! and the app boundary is kept by our own lookup (a credential registered in
//! app A is unknown to app B).

use crate::core::fault::Fault;
use crate::core::write::Write;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde_json::json;
use url::Url;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::audit::{self, Action, Event, Target};
use super::mail::notices;
use super::mail::templates::Notice;
use super::policy;
use super::secrets;
use crate::entities::{app, app_user, passkey};
use crate::types::AppId;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("The passkey could not be verified. Try again.")]
    Ceremony(String),
    #[error("This passkey is not registered with this app.")]
    UnknownCredential,
    #[error("This passkey is already registered.")]
    AlreadyRegistered,
    #[error("That passkey does not exist.")]
    NotFound,
    #[error("A passkey name must be 1 to 60 characters.")]
    InvalidName,
    #[error(transparent)]
    Policy(#[from] super::policy::PolicyError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(PasskeyError);

fn ceremony(err: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Ceremony(err.to_string())
}

/// The relying party: our public origin.
#[derive(Clone)]
pub struct RelyingParty {
    rp_id: String,
    origin: Url,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelyingParty({} at {})", self.rp_id, self.origin)
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "ONEAUTH_PUBLIC_URL {0} cannot be a WebAuthn origin: it needs a host name, not an IP address."
)]
pub struct RelyingPartyError(String);

impl RelyingParty {
    pub fn new(public_url: &str) -> Result<Self, RelyingPartyError> {
        let origin = Url::parse(public_url).map_err(|_| RelyingPartyError(public_url.into()))?;
        let rp_id = match origin.host() {
            Some(url::Host::Domain(host)) => host.to_owned(),
            _ => return Err(RelyingPartyError(public_url.into())),
        };
        Ok(Self { rp_id, origin })
    }

    /// A WebAuthn instance named after the app, so the browser's prompt says
    /// which app the passkey is for.
    fn webauthn(&self, app_name: &str) -> Result<Webauthn, PasskeyError> {
        WebauthnBuilder::new(&self.rp_id, &self.origin)
            .map_err(ceremony)?
            .rp_name(app_name)
            .build()
            .map_err(ceremony)
    }

    /// Begin registering a passkey for `user_id` (a UUID): the browser's
    /// creation options as JSON, and the state to keep for the second step.
    /// The credential must be discoverable (resident), so that sign-in needs
    /// no e-mail; webauthn-rs only prefers it, so the options are raised.
    pub fn start_registration(
        &self,
        app_name: &str,
        user_id: &str,
        email: &str,
        existing: &[passkey::Model],
    ) -> Result<(serde_json::Value, PasskeyRegistration), PasskeyError> {
        let uuid = Uuid::parse_str(user_id).map_err(ceremony)?;
        let exclude = existing
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .map(Into::into)
            .collect::<Vec<_>>();
        let (challenge, state): (CreationChallengeResponse, _) = self
            .webauthn(app_name)?
            .start_passkey_registration(uuid, email, email, Some(exclude))
            .map_err(ceremony)?;
        let mut options = serde_json::to_value(&challenge).map_err(ceremony)?;
        options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("required");
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(true);
        Ok((options, state))
    }

    pub fn finish_registration(
        &self,
        app_name: &str,
        credential: &RegisterPublicKeyCredential,
        state: &PasskeyRegistration,
    ) -> Result<Passkey, PasskeyError> {
        self.webauthn(app_name)?
            .finish_passkey_registration(credential, state)
            .map_err(ceremony)
    }

    /// Begin a discoverable sign-in: no user named, user verification required.
    pub fn start_authentication(
        &self,
        app_name: &str,
    ) -> Result<(RequestChallengeResponse, DiscoverableAuthentication), PasskeyError> {
        self.webauthn(app_name)?
            .start_discoverable_authentication()
            .map_err(ceremony)
    }

    /// Verify an assertion against the passkeys of `app_id`. On success the
    /// stored credential's counter and backup state are updated (in `tx`).
    pub async fn finish_authentication(
        &self,
        tx: &Write,
        app_name: &str,
        app_id: &AppId,
        credential: &PublicKeyCredential,
        state: DiscoverableAuthentication,
    ) -> Result<(app_user::Model, passkey::Model), PasskeyError> {
        let webauthn = self.webauthn(app_name)?;
        let (user_handle, credential_id) = webauthn
            .identify_discoverable_authentication(credential)
            .map_err(ceremony)?;
        let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
        let stored = passkey::Entity::find()
            .filter(passkey::Column::AppId.eq(app_id.as_str()))
            .filter(passkey::Column::CredentialId.eq(credential_id.as_str()))
            .one(tx)
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        // The user handle the authenticator returned must be this passkey's
        // owner (a credential cannot vouch for somebody else).
        if user_handle.to_string() != stored.user_id {
            return Err(PasskeyError::UnknownCredential);
        }
        let mut key: Passkey = serde_json::from_str(&stored.passkey_json).map_err(ceremony)?;
        let result = webauthn
            .finish_discoverable_authentication(credential, state, &[DiscoverableKey::from(&key)])
            .map_err(ceremony)?;
        if !result.user_verified() {
            return Err(PasskeyError::Ceremony("user verification missing".into()));
        }
        key.update_credential(&result);
        let user = app_user::Entity::find_by_id(stored.user_id.as_str())
            .one(tx)
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        let mut update: passkey::ActiveModel = stored.into();
        update.passkey_json = Set(serde_json::to_string(&key).map_err(ceremony)?);
        update.last_used_at = Set(Some(tx.now));
        update.updated_at = Set(tx.now);
        let stored = update.update(tx).await?;
        Ok((user, stored))
    }
}

fn valid_name(raw: &str) -> Result<String, PasskeyError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidName);
    }
    Ok(name.to_owned())
}

/// Save a verified passkey for `user`, recording `passkey.added`.
pub async fn store(
    tx: &Write,
    user: &app_user::Model,
    name: &str,
    key: &Passkey,
) -> Result<passkey::Model, PasskeyError> {
    let name = valid_name(name)?;
    let credential_id = URL_SAFE_NO_PAD.encode(key.cred_id());
    let now = tx.now;
    let stored = passkey::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(user.app_id.clone()),
        user_id: Set(user.id.clone()),
        credential_id: Set(credential_id),
        name: Set(name),
        passkey_json: Set(serde_json::to_string(key).map_err(ceremony)?),
        // webauthn-rs passkey ceremonies require user verification.
        user_verified: Set(true),
        last_used_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => PasskeyError::AlreadyRegistered,
        _ => PasskeyError::Fault(err.into()),
    })?;
    let app_id = user.app_id.clone();
    audit::record(
        tx,
        Event {
            app_id: &app_id,
            actor: &tx.actor,
            action: Action::PasskeyAdded,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "passkey_id": stored.id, "name": stored.name }),
        },
    )
    .await?;
    Ok(stored)
}

pub async fn list_for_user<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<passkey::Model>, DbErr> {
    passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .all(db)
        .await
}

/// A passkey of this user (never another user's, whatever id is given).
pub async fn find_for_user<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    passkey_id: &str,
) -> Result<passkey::Model, PasskeyError> {
    passkey::Entity::find_by_id(passkey_id)
        .filter(passkey::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(PasskeyError::NotFound)
}

pub async fn rename(
    tx: &Write,
    user: &app_user::Model,
    passkey_id: &str,
    name: &str,
) -> Result<passkey::Model, PasskeyError> {
    let name = valid_name(name)?;
    let existing = find_for_user(tx, &user.id, passkey_id).await?;
    let before = existing.name.clone();
    let mut update: passkey::ActiveModel = existing.into();
    update.name = Set(name);
    update.updated_at = Set(tx.now);
    let renamed = update.update(tx).await?;
    let app_id = user.app_id.clone();
    audit::record(
        tx,
        Event {
            app_id: &app_id,
            actor: &tx.actor,
            action: Action::PasskeyRenamed,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "passkey_id": renamed.id, "before": { "name": before }, "after": { "name": renamed.name } }),
        },
    )
    .await?;
    Ok(renamed)
}

/// Delete a passkey, recording `passkey.removed`. A user never removes
/// their own last way to sign in: checked here, under the user's row lock,
/// so two removals at once cannot both pass. An operator may remove a lost
/// or stolen passkey even so (the user then recovers with a link).
pub async fn remove(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    passkey_id: &str,
) -> Result<(), PasskeyError> {
    let actor = &tx.actor;
    super::users::lock(tx, &user.id).await?;
    let existing = find_for_user(tx, &user.id, passkey_id).await?;
    let by_the_user = actor.kind == crate::core::write::ActorKind::User
        && actor.id.as_deref() == Some(user.id.as_str());
    if by_the_user {
        policy::ensure_can_remove_a_sign_in_method(tx, app, &user.id).await??;
    }
    passkey::Entity::delete_by_id(existing.id.as_str())
        .exec(tx)
        .await?;
    let app_id = user.app_id.clone();
    audit::record(
        tx,
        Event {
            app_id: &app_id,
            actor,
            action: Action::PasskeyRemoved,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "passkey_id": existing.id, "name": existing.name }),
        },
    )
    .await?;
    notices::notify_in(
        tx,
        app,
        user,
        Notice::PasskeyRemoved {
            name: existing.name,
        },
    )
    .await?;
    Ok(())
}
