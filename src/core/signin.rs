//! Signing in to an app: with a password, a passkey or a recovery code, and
//! proving it again (re-authentication, step-up) within a session.
//!
//! Every outcome is audited (`signin.succeeded`, `signin.failed`). Failures
//! are throttled per account and per client address and answered with one
//! generic error: an unknown e-mail, a wrong password and a deactivated
//! account look the same, and take the same time (one argon2 verification).

use crate::core::fault::Fault;
use crate::core::write;
use crate::core::write::Write;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait, Set,
};
use serde_json::json;
use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential};

use super::audit::{self, Action, AuditError, Event, Target};
use super::ceremonies::{self, Taken};
use super::db::Db;
use super::db::write_together;
use super::deployment::Deployment;
use super::mail::notices;
use super::mail::templates::Notice;
use super::passkeys::{PasskeyError, RelyingParty};
use super::passwords::{self, Password, PasswordCheck};
use super::sessions::{self, ActiveSignin, ClientInfo, Factor};
use super::{devices, recovery_codes, throttle, users};
use crate::core::write::Actor;
use crate::entities::{app, app_user, password_credential, signin_session};
use crate::types::UserStatus;
use crate::types::{AppId, Email};

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Deliberately vague (no user enumeration).
    #[error("The e-mail address or the credentials are not right.")]
    Failed,
    /// The form of what was typed, not whether such an account exists.
    #[error("Enter a valid e-mail address.")]
    InvalidEmail,
    #[error("Too many failed attempts. Try again after {}.", .until.format("%H:%M:%S UTC"))]
    Throttled { until: DateTime<Utc> },
    #[error("{0} sign-in is turned off for this app.")]
    MethodDisabled(&'static str),
    #[error("That passkey belongs to another account than the one signed in.")]
    WrongUser,
    /// The app (or a role of the user) admits only an upstream provider.
    #[error("Sign in to this app through {provider}.")]
    ProviderRequired { provider: String },
    #[error(transparent)]
    Busy(#[from] passwords::Busy),
    #[error(transparent)]
    Passkey(PasskeyError),
    #[error(transparent)]
    Ceremony(#[from] ceremonies::Spent),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(SignInError);

/// A completed sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: app_user::Model,
    pub session: signin_session::Model,
    /// A new known-device mark for this browser, when it had no live one
    /// for the account (see `core::devices`).
    pub device_mark: Option<String>,
}

/// Whether the browser signing in already carries a live known-device
/// mark of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Known,
    New,
}

impl Browser {
    /// Known when it carries a live mark of the account.
    fn of(live_mark: Option<&devices::Mark>) -> Self {
        match live_mark {
            Some(_) => Browser::Known,
            None => Browser::New,
        }
    }
}

/// Whether the browser that sent `cookie` carries a live mark of `user`.
pub(crate) fn browser_of(
    deployment: &Deployment,
    user: &app_user::Model,
    cookie: Option<&str>,
) -> Browser {
    Browser::of(live_mark(deployment, user, cookie).as_ref())
}

/// The live known-device mark in `cookie` for `user`, if there is one.
fn live_mark(
    deployment: &Deployment,
    user: &app_user::Model,
    cookie: Option<&str>,
) -> Option<devices::Mark> {
    devices::read(&deployment.device_key, user, cookie?).filter(|mark| mark.is_live_for(user))
}

/// The counters a password attempt on `email` touches, and whether the
/// browser is known to `user` (the account, when there is one): a live
/// mark counts the attempt on the device's own key (N3).
pub(crate) fn password_keys(
    deployment: &Deployment,
    app_id: &AppId,
    email: &Email,
    user: Option<&app_user::Model>,
    client: &ClientInfo,
    device_cookie: Option<&str>,
) -> (throttle::Keys, Browser) {
    let mark = user.and_then(|user| live_mark(deployment, user, device_cookie));
    let keys = throttle::Keys::new(
        app_id,
        email.as_str(),
        client.address.as_deref(),
        mark.as_ref().map(|m| m.device_id.as_str()),
    );
    (keys, Browser::of(mark.as_ref()))
}

/// What was typed as an e-mail, parsed before it reaches the database or
/// the audit log: anything else (a password typed in the wrong field, a
/// megabyte of junk) is refused as a form error and recorded nowhere.
fn typed_email(raw: &str) -> Result<Email, SignInError> {
    Email::for_lookup(raw).map_err(|_| SignInError::InvalidEmail)
}

/// Why an attempt failed, for operators reading the audit log only.
#[derive(Debug, Clone, Copy)]
enum FailureReason {
    UnknownUser,
    WrongSecret,
    Deactivated,
    NoSuchCredential,
    /// A passkey ceremony presented again (N5).
    ReplayedCeremony,
}

impl FailureReason {
    fn as_str(self) -> &'static str {
        match self {
            FailureReason::UnknownUser => "unknown_user",
            FailureReason::WrongSecret => "wrong_secret",
            FailureReason::Deactivated => "deactivated",
            FailureReason::NoSuchCredential => "no_such_credential",
            FailureReason::ReplayedCeremony => "replayed_ceremony",
        }
    }
}

struct Failure<'a> {
    app: &'a app::Model,
    factor: Factor,
    attempted: Option<&'a Email>,
    user: Option<&'a app_user::Model>,
    reason: FailureReason,
    client: &'a ClientInfo,
}

/// Keep the reservation as a failure and record it, in its own transaction
/// (the attempt itself changed nothing). A key that locks now is recorded
/// once (`signin.locked`): later refused attempts write nothing.
async fn record_failure(
    db: &Db,
    reservation: throttle::Reservation,
    failure: Failure<'_>,
) -> Result<(), SignInError> {
    let app_id = failure.app.id.clone();
    let actor = Actor::anonymous(failure.client.address.clone());
    let target = match failure.user {
        Some(user) => Some(Target::user(user.id.as_str())),
        None => failure.attempted.map(|email| Target::email(email.as_str())),
    };
    let tx = write::begin(db, actor.clone()).await?;
    let locks = throttle::fail(&tx, reservation).await?;
    audit::record(
        &tx,
        Event {
            app_id: &app_id,
            actor: &actor,
            action: Action::SigninFailed,
            target: target.clone(),
            details: json!({
                "method": failure.factor.method(),
                "reason": failure.reason.as_str(),
                "email": failure.attempted.map(Email::as_str),
                "user_agent": failure.client.user_agent,
            }),
        },
    )
    .await?;
    record_locks(&tx, &app_id, &actor, target.as_ref(), locks).await?;
    tx.commit().await?;
    Ok(())
}

/// Record each key that locked now (`signin.locked`), once: an account's
/// or device's against `target`, an address's against nobody.
async fn record_locks(
    tx: &Write,
    app_id: &AppId,
    actor: &Actor,
    target: Option<&Target>,
    locks: Vec<throttle::Lock>,
) -> Result<(), AuditError> {
    for lock in locks {
        audit::record(
            tx,
            Event {
                app_id,
                actor,
                action: Action::SigninLocked,
                target: match lock.kind {
                    throttle::KeyKind::Address => None,
                    _ => target.cloned(),
                },
                details: json!({
                    "key": lock.kind.as_str(),
                    "until": lock.until.to_rfc3339(),
                    "lockouts_in_a_row": lock.lockouts,
                }),
            },
        )
        .await?;
    }
    Ok(())
}

/// The hasher was full: the attempt was not made, so its reservation is
/// given back, and the answer is "busy, try again".
async fn give_back(
    db: &Db,
    reservation: throttle::Reservation,
    busy: passwords::Busy,
) -> SignInError {
    match throttle::give_back(db, reservation).await {
        Ok(()) => SignInError::Busy(busy),
        Err(err) => SignInError::Fault(err.into()),
    }
}

/// Count the attempt before any secret is checked, or refuse it.
async fn reserve(db: &Db, keys: &throttle::Keys) -> Result<throttle::Reservation, SignInError> {
    throttle::reserve(db, keys).await?.map_err(|until| {
        super::measure::throttled("signin");
        SignInError::Throttled { until }
    })
}

/// Open the session and record the success (in `tx`); also used right after
/// a sign-up and when a link is redeemed. A browser that is new to the
/// account gets a known-device mark (and, if the app asks, the user a
/// notice).
pub(crate) async fn succeed(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    factor: Factor,
    keys: &throttle::Keys,
    client: &ClientInfo,
    browser: Browser,
) -> Result<SignedIn, SignInError> {
    succeed_with(tx, app, user, factor, keys, client, browser, json!({})).await
}

/// [`succeed`], with `extra` details for the `signin.succeeded` event (an
/// upstream sign-in names its provider and the upstream's `amr`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn succeed_with(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    factor: Factor,
    keys: &throttle::Keys,
    client: &ClientInfo,
    browser: Browser,
    extra: serde_json::Value,
) -> Result<SignedIn, SignInError> {
    // Every way of opening a session (sign-up, invitations, links too)
    // honours "staff only through our directory"; the sign-in forms record
    // the refusal ([`open_session`]).
    let mut extra = extra;
    if factor != Factor::Upstream {
        match directory_path(tx, app, user, factor).await? {
            Err(provider) => return Err(SignInError::ProviderRequired { provider }),
            Ok(serde_json::Value::Object(break_glass)) => {
                if let serde_json::Value::Object(extra) = &mut extra {
                    extra.extend(break_glass);
                }
            }
            Ok(_) => {}
        }
    }
    // N10: "new" is the absence of our mark, which cannot be copied the
    // way a user agent can; a first sign-in is no news.
    if app.notify_new_device && browser == Browser::New && user.last_sign_in_at.is_some() {
        let notice = Notice::NewDevice {
            browser: client
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().take(160).collect())
                .unwrap_or_else(|| "an unnamed browser".to_owned()),
            address: client
                .address
                .clone()
                .unwrap_or_else(|| "an unknown address".to_owned()),
        };
        notices::notify_in(tx, app, user, notice).await?;
    }
    let session = sessions::opened(app, user, factor, client, tx.now);
    let device_mark = match browser {
        Browser::New => devices::issue(&tx.deployment().device_key, user),
        Browser::Known => None,
    };
    let mut user = user.clone();
    user.last_sign_in_at = Some(session.auth_time);
    let mut user_update = app_user::Entity::update_many().col_expr(
        app_user::Column::LastSignInAt,
        Expr::value(user.last_sign_in_at),
    );
    if device_mark.is_some() {
        user.device_marks += 1;
        user_update = user_update.col_expr(
            app_user::Column::DeviceMarks,
            Expr::col(app_user::Column::DeviceMarks).add(1),
        );
    }
    // The counter's clear, the user's sign-in time and the new session in
    // one round trip on PostgreSQL (other sign-ins of the app wait on the
    // audit head's lock this transaction takes next).
    let writes = [
        throttle::clearing_account(keys).map(Into::into),
        Some(
            user_update
                .filter(app_user::Column::Id.eq(user.id.as_str()))
                .into_query()
                .into(),
        ),
    ];
    write_together(
        tx,
        writes.into_iter().flatten().collect(),
        signin_session::Entity::insert(session.clone().into_active_model().reset_all())
            .into_query(),
    )
    .await?;
    audit::record(
        tx,
        Event {
            app_id: &app.id,
            actor: &Actor::user(&user.id, &user.email, client.address.clone()),
            action: Action::SigninSucceeded,
            target: Some(Target::user(user.id.as_str())),
            details: {
                let mut details = json!({
                    "method": factor.method(),
                    "session_id": session.id,
                    "amr": sessions::decode_amr(&session.amr),
                    "user_agent": client.user_agent,
                });
                if let (Some(details), serde_json::Value::Object(extra)) =
                    (details.as_object_mut(), extra)
                {
                    details.extend(extra);
                }
                details
            },
        },
    )
    .await?;
    Ok(SignedIn {
        user,
        session,
        device_mark,
    })
}

/// "Staff only through our directory": a password, a passkey or a recovery
/// code opens no session for a user who must sign in through an upstream
/// provider; the extra details of the sign-in's event when it may. The one
/// exception is a console owner's passkey (break-glass: an outage of the
/// directory must not lock every operator out), recorded as such.
async fn directory_path(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    factor: Factor,
) -> Result<Result<serde_json::Value, String>, Fault> {
    let Some(provider) = super::policy::required_provider(tx, app, &user.id).await? else {
        return Ok(Ok(json!({})));
    };
    let break_glass = app.id.is_console()
        && factor == Factor::Passkey
        && super::policy::is_owner(tx, &user.id).await?;
    Ok(if break_glass {
        Ok(json!({ "break_glass": true, "required_provider": provider.slug }))
    } else {
        Err(provider.display_name)
    })
}

/// Refuse a sign-in that had to go through `provider` (recorded in a write
/// of its own: the sign-in's was rolled back).
async fn refuse_for_provider(
    db: &Db,
    app: &app::Model,
    user: &app_user::Model,
    factor: Factor,
    client: &ClientInfo,
    provider: String,
) -> SignInError {
    let recorded = async {
        let tx = write::begin(
            db,
            Actor::user(&user.id, &user.email, client.address.clone()),
        )
        .await?;
        audit::record(
            &tx,
            Event {
                app_id: &app.id,
                actor: &tx.actor,
                action: Action::SigninFailed,
                target: Some(Target::user(user.id.as_str())),
                details: json!({
                    "method": factor.method(),
                    "reason": "provider_required",
                    "provider": provider,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AuditError>(())
    };
    match recorded.await {
        Ok(()) => SignInError::ProviderRequired { provider },
        Err(err) => SignInError::Fault(err.into()),
    }
}

/// Open the session of a sign-in form's user in `tx` and commit it; a
/// refusal by "required for" is recorded in a write of its own (the
/// sign-in's is rolled back first: SQLite has one writer).
#[allow(clippy::too_many_arguments)]
async fn open_session(
    db: &Db,
    tx: Write,
    app: &app::Model,
    user: &app_user::Model,
    factor: Factor,
    keys: &throttle::Keys,
    client: &ClientInfo,
    browser: Browser,
) -> Result<SignedIn, SignInError> {
    match succeed(&tx, app, user, factor, keys, client, browser).await {
        Ok(signed_in) => {
            tx.commit().await?;
            Ok(signed_in)
        }
        Err(SignInError::ProviderRequired { provider }) => {
            drop(tx);
            Err(refuse_for_provider(db, app, user, factor, client, provider).await)
        }
        Err(err) => Err(err),
    }
}

/// Sign in with e-mail and password. `device_cookie` is the browser's
/// known-device mark for this app, if it has one: a live mark of this
/// account counts the attempt on the device's own key (N3).
pub async fn with_password(
    db: &Db,
    app: &app::Model,
    raw_email: &str,
    password: &Password,
    client: &ClientInfo,
    device_cookie: Option<&str>,
) -> Result<SignedIn, SignInError> {
    if !app.password_enabled {
        return Err(SignInError::MethodDisabled("Password"));
    }
    let email = typed_email(raw_email)?;
    // The account first: whether a mark is live depends on its epoch.
    let (user, credential) = users::find_with_password_by_email(db, &app.id, &email).await?;
    let (keys, browser) = password_keys(
        db.deployment(),
        &app.id,
        &email,
        user.as_ref(),
        client,
        device_cookie,
    );
    let reservation = reserve(db, &keys).await?;

    // Exactly one argon2 verification on every path.
    let check = match &credential {
        Some(credential) => password.check(&credential.phc).await,
        None => password.check_nothing().await,
    };
    let check = match check {
        Ok(check) => check,
        Err(busy) => return Err(give_back(db, reservation, busy).await),
    };
    let reason = match (&user, check) {
        (None, _) => Some(FailureReason::UnknownUser),
        (Some(_), PasswordCheck::Invalid) => Some(FailureReason::WrongSecret),
        (Some(user), PasswordCheck::Valid { .. }) if user.status != UserStatus::Active => {
            Some(FailureReason::Deactivated)
        }
        _ => None,
    };
    if let Some(reason) = reason {
        record_failure(
            db,
            reservation,
            Failure {
                app,
                factor: Factor::Password,
                attempted: Some(&email),
                user: user.as_ref(),
                reason,
                client,
            },
        )
        .await?;
        return Err(SignInError::Failed);
    }
    let user = user.expect("a valid password has a user");
    let credential = credential.expect("a valid password has a credential");

    // A rehash (new parameters) is worth a second hash only when the
    // hasher has room; otherwise the next sign-in does it.
    let rehashed = match check {
        PasswordCheck::Valid { needs_rehash: true } => password.hashed().await.ok(),
        _ => None,
    };
    let tx = write::begin(
        db,
        Actor::user(&user.id, &user.email, client.address.clone()),
    )
    .await?;
    if let Some(rehashed) = rehashed {
        let mut update: password_credential::ActiveModel = credential.into();
        update.phc = Set(rehashed.0);
        update.updated_at = Set(tx.now);
        update.update(&tx).await?;
    }
    reservation.cleared_with_account(&tx).await?;
    open_session(db, tx, app, &user, Factor::Password, &keys, client, browser).await
}

/// Sign in with e-mail and a one-time recovery code. The session must then
/// enrol a new factor before anything else, and every other session (and
/// token family) of the user ends: whoever lost the factor may have lost it
/// to someone.
pub async fn with_recovery_code(
    db: &Db,
    app: &app::Model,
    raw_email: &str,
    code: &str,
    client: &ClientInfo,
) -> Result<SignedIn, SignInError> {
    let email = typed_email(raw_email)?;
    let keys = throttle::Keys::new(&app.id, email.as_str(), client.address.as_deref(), None);
    let reservation = reserve(db, &keys).await?;
    let failure = |reason, user| Failure {
        app,
        factor: Factor::RecoveryCode,
        attempted: Some(&email),
        user,
        reason,
        client,
    };

    let Some(user) = users::find_by_email(db, &app.id, &email).await? else {
        record_failure(db, reservation, failure(FailureReason::UnknownUser, None)).await?;
        return Err(SignInError::Failed);
    };
    let tx = write::begin(
        db,
        Actor::user(&user.id, &user.email, client.address.clone()),
    )
    .await?;
    let spent = recovery_codes::consume(&tx, &user.id, code).await?;
    if !spent || user.status != UserStatus::Active {
        tx.rollback().await?;
        let reason = if spent {
            FailureReason::Deactivated
        } else {
            FailureReason::WrongSecret
        };
        record_failure(db, reservation, failure(reason, Some(&user))).await?;
        return Err(SignInError::Failed);
    }
    audit::record(
        &tx,
        Event {
            app_id: &app.id,
            actor: &Actor::user(&user.id, &user.email, client.address.clone()),
            action: Action::RecoveryCodeUsed,
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "remaining": recovery_codes::remaining(&tx, &user.id).await?,
            }),
        },
    )
    .await?;
    reservation.cleared_with_account(&tx).await?;
    // Every other session ends (and every known-device mark dies) before
    // the new one opens.
    sessions::end_all_for_user(&tx, &user.id, "recovered", None).await?;
    let user = users::find(&tx, &app.id, &user.id)
        .await?
        .ok_or(SignInError::Failed)?;
    open_session(
        db,
        tx,
        app,
        &user,
        Factor::RecoveryCode,
        &keys,
        client,
        Browser::New,
    )
    .await
}

/// Verify a discoverable passkey assertion against this app's passkeys.
/// A passkey is never refused by a lock (a stranger's failures must not
/// keep its owner out, and an assertion cannot be guessed); a failed one
/// counts against the client address, and is recorded until that address
/// locks, so junk assertions cannot flood the audit log.
async fn verify_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    assertion: Taken<DiscoverableAuthentication>,
    credential: &PublicKeyCredential,
    client: &ClientInfo,
) -> Result<(Write, app_user::Model), SignInError> {
    let Taken { ceremony, state } = assertion;
    let tx = write::begin(db, Actor::anonymous(client.address.clone())).await?;
    let verified = match rp
        .finish_authentication(&tx, &app.name, &app.id, credential, state)
        .await
    {
        Ok((user, _)) if user.status == UserStatus::Active => Ok(user),
        Ok((user, _)) => Err((FailureReason::Deactivated, Some(user), SignInError::Failed)),
        Err(err @ PasskeyError::UnknownCredential) => Err((
            FailureReason::NoSuchCredential,
            None,
            SignInError::Passkey(err),
        )),
        Err(_) => Err((FailureReason::WrongSecret, None, SignInError::Failed)),
    };
    let (reason, user, error) = match verified {
        // N5: a verified assertion spends its ceremony in the write that
        // signs in; the same cookie and assertion presented again are
        // refused (a synced passkey's counter stays 0, so webauthn-rs alone
        // would accept it).
        Ok(user) => {
            if ceremonies::spend_once(&tx, &ceremony).await? {
                return Ok((tx, user));
            }
            (
                FailureReason::ReplayedCeremony,
                Some(user),
                SignInError::Ceremony(ceremonies::Spent),
            )
        }
        Err(refused) => refused,
    };
    tx.rollback().await?;
    let keys = throttle::Keys::address_only(&app.id, client.address.as_deref());
    if throttle::locked_until(db, &keys).await?.is_none() {
        let actor = Actor::anonymous(client.address.clone());
        let tx = write::begin(db, actor.clone()).await?;
        let locks = throttle::count_failure(&tx, &keys).await?;
        audit::record(
            &tx,
            Event {
                app_id: &app.id,
                actor: &actor,
                action: Action::SigninFailed,
                target: user.map(|u| Target::user(u.id.as_str())),
                details: json!({
                    "method": Factor::Passkey.method(),
                    "reason": reason.as_str(),
                    "user_agent": client.user_agent,
                }),
            },
        )
        .await?;
        // M2 (residue): from here on this address's failed assertions are
        // neither checked against the throttle's counters nor recorded,
        // until the lock ends; the lock itself is recorded once.
        record_locks(&tx, &app.id, &actor, None, locks).await?;
        tx.commit().await?;
    }
    Err(error)
}

/// Sign in with a passkey (no e-mail needed: the credential is discoverable).
pub async fn with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    assertion: Taken<DiscoverableAuthentication>,
    credential: &PublicKeyCredential,
    client: &ClientInfo,
    device_cookie: Option<&str>,
) -> Result<SignedIn, SignInError> {
    if !app.passkey_enabled {
        return Err(SignInError::MethodDisabled("Passkey"));
    }
    let (tx, user) = verify_passkey(db, rp, app, assertion, credential, client).await?;
    let keys = throttle::Keys::address_only(&app.id, client.address.as_deref());
    let browser = Browser::of(live_mark(db.deployment(), &user, device_cookie).as_ref());
    open_session(db, tx, app, &user, Factor::Passkey, &keys, client, browser).await
}

/// Record a re-authentication (or step-up) in the current session.
async fn reauthenticated(
    tx: &Write,
    app: &app::Model,
    signin: &ActiveSignin,
    factor: Factor,
    client: &ClientInfo,
) -> Result<signin_session::Model, SignInError> {
    let session = sessions::record_reauthentication(tx, &signin.session, factor).await?;
    audit::record(
        tx,
        Event {
            app_id: &app.id,
            actor: &Actor::user(&signin.user.id, &signin.user.email, client.address.clone()),
            action: Action::SigninReauthenticated,
            target: Some(Target::user(signin.user.id.as_str())),
            details: json!({
                "method": factor.method(),
                "session_id": session.id,
                "amr": sessions::decode_amr(&session.amr),
            }),
        },
    )
    .await?;
    Ok(session)
}

/// Prove again, with the password, that the signed-in user is at the keyboard.
pub async fn reauthenticate_with_password(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    password: &Password,
    client: &ClientInfo,
    device_cookie: Option<&str>,
) -> Result<signin_session::Model, SignInError> {
    let email = Email::for_lookup(&signin.user.email).map_err(|_| SignInError::Failed)?;
    let (keys, _) = password_keys(
        db.deployment(),
        &app.id,
        &email,
        Some(&signin.user),
        client,
        device_cookie,
    );
    let reservation = reserve(db, &keys).await?;
    let credential = password_credential::Entity::find_by_id(signin.user.id.as_str())
        .one(db)
        .await?;
    let check = match &credential {
        Some(credential) => password.check(&credential.phc).await,
        None => password.check_nothing().await,
    };
    let check = match check {
        Ok(check) => check,
        Err(busy) => return Err(give_back(db, reservation, busy).await),
    };
    if check == PasswordCheck::Invalid {
        record_failure(
            db,
            reservation,
            Failure {
                app,
                factor: Factor::Password,
                attempted: Some(&email),
                user: Some(&signin.user),
                reason: FailureReason::WrongSecret,
                client,
            },
        )
        .await?;
        return Err(SignInError::Failed);
    }
    let tx = write::begin(db, signed_in_actor(signin, client)).await?;
    throttle::succeeded(&tx, reservation).await?;
    let session = reauthenticated(&tx, app, signin, Factor::Password, client).await?;
    tx.commit().await?;
    Ok(session)
}

/// Prove again (or step up) with a passkey of the signed-in user.
pub async fn reauthenticate_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    signin: &ActiveSignin,
    assertion: Taken<DiscoverableAuthentication>,
    credential: &PublicKeyCredential,
    client: &ClientInfo,
) -> Result<signin_session::Model, SignInError> {
    let (tx, user) = verify_passkey(db, rp, app, assertion, credential, client).await?;
    if user.id != signin.user.id {
        tx.rollback().await?;
        return Err(SignInError::WrongUser);
    }
    let session = reauthenticated(&tx, app, signin, Factor::Passkey, client).await?;
    tx.commit().await?;
    Ok(session)
}

/// End the current sign-in (sign-out), recording `signin.signed_out`.
pub async fn sign_out(
    db: &Db,
    app: &app::Model,
    signin: &ActiveSignin,
    client: &ClientInfo,
) -> Result<(), SignInError> {
    let tx = write::begin(db, signed_in_actor(signin, client)).await?;
    sessions::end(&tx, &signin.session.id, "signed_out").await?;
    audit::record(
        &tx,
        Event {
            app_id: &app.id,
            actor: &Actor::user(&signin.user.id, &signin.user.email, client.address.clone()),
            action: Action::SigninSignedOut,
            target: Some(Target::user(signin.user.id.as_str())),
            details: json!({ "session_id": signin.session.id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The signed-in user, acting from this client.
fn signed_in_actor(signin: &ActiveSignin, client: &ClientInfo) -> Actor {
    Actor::user(&signin.user.id, &signin.user.email, client.address.clone())
}
