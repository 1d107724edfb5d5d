//! Self-registration on an app's hosted pages, when the app allows it (off
//! by default: admin apps are invite-only).

use crate::core::fault::Fault;
use crate::core::write;
use chrono::{DateTime, Utc};
use serde_json::json;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use super::audit::{self, Action, Event, Target};
use super::ceremonies::{self, Ceremony, Taken};
use super::db::Db;
use super::passkeys::{self, PasskeyError, RelyingParty};
use super::passwords::Password;
use super::sessions::{ClientInfo, Factor};
use super::signin::{self, SignInError, SignedIn};
use super::users::{self, NewUser, UserError};
use super::{links, recovery_codes, secrets, throttle};
use crate::core::write::Actor;
use crate::entities::app;
use crate::types::Email;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("Accounts for this app are created by invitation only.")]
    Closed,
    #[error("An account with this e-mail address already exists. Sign in instead.")]
    EmailTaken,
    #[error("Too many attempts from your network. Try again after {}.", .until.format("%H:%M UTC"))]
    Throttled { until: DateTime<Utc> },
    #[error(transparent)]
    Busy(#[from] super::passwords::Busy),
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    #[error(transparent)]
    Ceremony(#[from] ceremonies::Spent),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(RegistrationError);

impl From<links::LinkError> for RegistrationError {
    fn from(err: links::LinkError) -> Self {
        match err {
            links::LinkError::Fault(fault) => RegistrationError::Fault(fault),
            // Sending the first verification link refuses nothing else.
            other => RegistrationError::Fault(Fault::unexpected(other)),
        }
    }
}

impl From<UserError> for RegistrationError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::EmailTaken { .. } => RegistrationError::EmailTaken,
            UserError::Fault(fault) => RegistrationError::Fault(fault),
            // A sign-up grants no role and names no other user.
            other => RegistrationError::Fault(Fault::unexpected(other)),
        }
    }
}

/// A passkey sign-up between its two steps: the id the new user will get
/// (it is the WebAuthn user handle) and the e-mail they gave.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingSignup {
    pub user_id: String,
    pub email: String,
}

async fn ensure_open(
    db: &Db,
    app: &app::Model,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), RegistrationError> {
    if !app.self_registration {
        return Err(RegistrationError::Closed);
    }
    let keys = throttle::Keys::address_only(&app.id, client.address.as_deref());
    let locked = [
        throttle::locked_until(db, &keys).await?,
        throttle::signup_locked_until(db, &app.id, client.address.as_deref()).await?,
    ];
    if let Some(until) = locked.into_iter().flatten().max() {
        super::measure::throttled("signup");
        return Err(RegistrationError::Throttled { until });
    }
    if users::find_by_email(db, &app.id, email).await?.is_some() {
        // A refused duplicate counts against the address, which slows down
        // anyone probing which addresses are registered.
        let tx = write::begin(db, Actor::anonymous(client.address.clone())).await?;
        throttle::count_failure(&tx, &keys).await?;
        tx.commit().await?;
        return Err(RegistrationError::EmailTaken);
    }
    Ok(())
}

async fn create_user_and_sign_in(
    db: &Db,
    app: &app::Model,
    new: NewUser,
    factor: Factor,
    client: &ClientInfo,
    passkey: Option<(&webauthn_rs::prelude::Passkey, &str, &Ceremony)>,
) -> Result<(SignedIn, Option<Vec<String>>), RegistrationError> {
    let email = new.email.clone();
    let user_id = new.id.clone().unwrap_or_else(secrets::new_id);
    let actor = Actor::user(&user_id, email.as_str(), client.address.clone());
    let app_id = app.id.clone();
    let tx = crate::core::write::begin(db, actor.clone()).await?;
    // N4: every sign-up counts against the client's address.
    match throttle::take_signup(&tx, &app_id, client.address.as_deref()).await? {
        throttle::Signup::Refused { until } => {
            tx.rollback().await?;
            super::measure::throttled("signup");
            return Err(RegistrationError::Throttled { until });
        }
        throttle::Signup::Allowed { locked: Some(lock) } => {
            audit::record(
                &tx,
                Event {
                    app_id: &app_id,
                    actor: &Actor::anonymous(client.address.clone()),
                    action: Action::SignupLocked,
                    target: None,
                    details: json!({
                        "until": lock.until.to_rfc3339(),
                        "lockouts_in_a_row": lock.lockouts,
                    }),
                },
            )
            .await?;
        }
        throttle::Signup::Allowed { locked: None } => {}
    }
    let user = users::create(
        &tx,
        &app_id,
        NewUser {
            id: Some(user_id),
            ..new
        },
    )
    .await?;
    audit::record(
        &tx,
        Event {
            app_id: &app_id,
            actor: &actor,
            action: Action::UserRegistered,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "method": factor.method(), "email": user.email }),
        },
    )
    .await?;
    let codes = match passkey {
        Some((key, name, ceremony)) => {
            if let Err(spent) = ceremonies::spend(&tx, ceremony).await? {
                tx.rollback().await?;
                return Err(spent.into());
            }
            passkeys::store(&tx, &user, name, key).await?;
            Some(recovery_codes::generate(&tx, &user).await?)
        }
        None => None,
    };
    // Whether the app requires it or not, the new address is asked to
    // confirm itself (an app may turn the requirement on later), within the
    // mail throttle like any mail a stranger can cause (N4); held back, the
    // user asks again from the verification page.
    if throttle::take_mail_request(&tx, &app_id, user.email.as_str(), client.address.as_deref())
        .await?
    {
        links::send_verification_in(&tx, &user).await?;
    }
    let keys = throttle::Keys::new(&app.id, email.as_str(), client.address.as_deref(), None);
    let signed_in =
        signin::succeed(&tx, app, &user, factor, &keys, client, signin::Browser::New).await?;
    tx.commit().await?;
    Ok((signed_in, codes))
}

/// Sign up with e-mail and password, and sign in.
pub async fn with_password(
    db: &Db,
    app: &app::Model,
    email: Email,
    password: Password,
    client: &ClientInfo,
) -> Result<SignedIn, RegistrationError> {
    ensure_open(db, app, &email, client).await?;
    let new = NewUser {
        id: None,
        email,
        password: Some(password.hashed().await?),
        roles: Vec::new(),
    };
    let (signed_in, _) =
        create_user_and_sign_in(db, app, new, Factor::Password, client, None).await?;
    Ok(signed_in)
}

/// First step of a passkey sign-up: the browser's creation options.
pub async fn start_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    email: Email,
    client: &ClientInfo,
) -> Result<(serde_json::Value, PasskeyRegistration, PendingSignup), RegistrationError> {
    ensure_open(db, app, &email, client).await?;
    let pending = PendingSignup {
        user_id: secrets::new_id(),
        email: email.to_string(),
    };
    let (challenge, state) =
        rp.start_registration(&app.name, &pending.user_id, &pending.email, &[])?;
    Ok((challenge, state, pending))
}

/// Second step: verify the new passkey, create the user with it (no
/// password), sign in, and hand back the first recovery codes.
pub async fn finish_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    pending: PendingSignup,
    registration: Taken<&PasskeyRegistration>,
    credential: &RegisterPublicKeyCredential,
    client: &ClientInfo,
) -> Result<(SignedIn, Vec<String>), RegistrationError> {
    let email = Email::parse(&pending.email)
        // The address was checked before the sealed ceremony was made.
        .map_err(|e| RegistrationError::Fault(Fault::unexpected(e)))?;
    ensure_open(db, app, &email, client).await?;
    let Taken { ceremony, state } = registration;
    let key = rp.finish_registration(&app.name, credential, state)?;
    let new = NewUser {
        id: Some(pending.user_id),
        email,
        password: None,
        roles: Vec::new(),
    };
    let (signed_in, codes) = create_user_and_sign_in(
        db,
        app,
        new,
        Factor::Passkey,
        client,
        Some((&key, "Passkey", &ceremony)),
    )
    .await?;
    Ok((signed_in, codes.unwrap_or_default()))
}
