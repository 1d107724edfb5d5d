//! One-time links sent to a person: an invitation (set up an account, also
//! the console's first-owner setup), an operator-issued recovery link, and
//! an enrolment link (add a first passkey where a role demands one).
//! Only the SHA-256 of a link's token is stored; a link works once, until
//! it expires, and issuing a new one voids the previous one.

pub mod invitations;

use crate::core::fault::Fault;
use crate::core::write;
use crate::core::write::Clocked;
use crate::core::write::Write;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use super::audit::{self, Action, Event, Target};
use super::ceremonies::{self, Ceremony};
use super::db::Db;
use super::mail::{self, templates::Content};
use super::passkeys::{self, PasskeyError, RelyingParty};
use super::passwords::{Hashed, Password};
use super::sessions::{self, ClientInfo, Factor};
use super::signin::{self, SignInError, SignedIn};
use super::{orgs, policy, recovery_codes, secrets, throttle, users};
use crate::core::write::Actor;
use crate::entities::{action_token, app, app_user, password_credential};
use crate::types::{Email, UserStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Set up an invited account (and the console's first owner).
    Invite,
    /// Sign in once, then enrol a new factor (an operator's link: it
    /// vouches for a first passkey where a role demands one).
    Recovery,
    /// The same, asked for by the user on the recovery page. Control of the
    /// mailbox is all it proves, so it never vouches for a passkey a role
    /// demands: e-mail is no way around a passkey.
    RequestedRecovery,
    /// Signed in with their password, add a first passkey: for a user whose
    /// role requires one, the only way to get it (never from a password
    /// session alone).
    Enrol,
    /// Confirm that the e-mail address is the user's.
    Verify,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invite => "invite",
            Purpose::Recovery => "recovery",
            Purpose::RequestedRecovery => "recovery_requested",
            Purpose::Enrol => "enrol",
            Purpose::Verify => "verify",
        }
    }

    /// How long a link stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Invite => Duration::days(7),
            Purpose::Recovery | Purpose::RequestedRecovery => Duration::hours(1),
            Purpose::Enrol => Duration::hours(24),
            Purpose::Verify => Duration::hours(24),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("This link is invalid, was already used, or has expired. Ask for a new one.")]
    Invalid,
    #[error("This account needs a passkey: create one to finish setting it up.")]
    PasskeyRequired,
    #[error("Password sign-in is turned off for this app: create a passkey instead.")]
    PasswordDisabled,
    #[error("This account is already set up: sign in, or ask for a recovery link if you cannot.")]
    AlreadySetUp,
    #[error(
        "This account is protected by a passkey, so an e-mail link cannot recover it: sign in with your passkey or a recovery code, or ask an operator for help."
    )]
    PasskeyAccount,
    #[error(
        "Sign in to this account first, then open the link again: confirming an address takes both the mailbox and a way into the account."
    )]
    SignInToConfirm,
    #[error("This account cannot be closed this way: {0}")]
    CannotDisown(String),
    #[error(
        "You signed in with a recovery code or link: add a passkey or set a new password first, then confirm your address."
    )]
    EnrolBeforeConfirming,
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

crate::core::fault::faults_into!(LinkError);

/// The page a link opens, from the root of the public URL.
fn path(app_id: &str, purpose: Purpose, token: &str) -> String {
    match purpose {
        Purpose::Invite => format!("/a/{app_id}/invite/{token}"),
        Purpose::Recovery | Purpose::RequestedRecovery => {
            format!("/a/{app_id}/recover?token={token}")
        }
        Purpose::Enrol => format!("/a/{app_id}/account?enrol={token}"),
        Purpose::Verify => format!("/a/{app_id}/verify?token={token}"),
    }
}

/// The page a link opens.
pub fn url(public_url: &str, app_id: &str, purpose: Purpose, token: &str) -> String {
    format!("{public_url}{}", path(app_id, purpose, token))
}

/// Who asked for a link to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedBy {
    /// An operator (or the CLI): the link is also shown to them, once.
    Operator,
    /// The user themselves, signed in on a hosted page: only the e-mail
    /// has it.
    User,
    /// Someone on the recovery page who typed the address (N11: anyone can,
    /// so the audit log does not name the account's owner as the actor).
    Anonymous,
}

/// Issue a link for `user`, voiding earlier unused ones of the same purpose,
/// and e-mail it to them. Records `invitation.issued`,
/// `recovery_link.issued`, `enrolment_link.issued` or
/// `email.verification_sent`. Returns the token.
pub async fn issue(
    tx: &Write,
    user: &app_user::Model,
    purpose: Purpose,
) -> Result<String, LinkError> {
    issue_for(tx, user, purpose, purpose.lifetime()).await
}

/// `issue`, with a lifetime of its own (the console's first-owner setup
/// link lives a day).
pub async fn issue_for(
    tx: &Write,
    user: &app_user::Model,
    purpose: Purpose,
    lifetime: Duration,
) -> Result<String, LinkError> {
    issue_and_send(tx, user, purpose, lifetime, RequestedBy::Operator).await
}

async fn issue_and_send(
    tx: &Write,
    user: &app_user::Model,
    purpose: Purpose,
    lifetime: Duration,
    requested_by: RequestedBy,
) -> Result<String, LinkError> {
    let actor = &tx.actor;
    let now = tx.now;
    void_unused(tx, &user.id, purpose).await?;
    let token = secrets::random_token(32);
    action_token::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(user.app_id.clone()),
        user_id: Set(Some(user.id.clone())),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(secrets::sha256_hex(&token)),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
        created_by: Set(actor.id.clone().or(Some(actor.label.clone()))),
        created_at: Set(now),
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        Event {
            app_id: &user.app_id,
            actor,
            action: match purpose {
                Purpose::Invite => Action::InvitationIssued,
                Purpose::Recovery | Purpose::RequestedRecovery => Action::RecoveryLinkIssued,
                Purpose::Enrol => Action::EnrolmentLinkIssued,
                Purpose::Verify => Action::EmailVerificationSent,
            },
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "email": user.email,
                "expires_at": (now + lifetime).to_rfc3339(),
                "requested_by": match requested_by {
                    RequestedBy::Operator => "operator",
                    RequestedBy::User => "user",
                    RequestedBy::Anonymous => "anonymous",
                },
            }),
        },
    )
    .await?;
    let link = mail::public_link(tx, &path(&user.app_id, purpose, &token));
    let content = match purpose {
        Purpose::Invite => Content::Invitation { link },
        Purpose::Recovery | Purpose::RequestedRecovery => Content::Recovery {
            link,
            requested: requested_by != RequestedBy::Operator,
        },
        Purpose::Enrol => Content::Enrolment { link },
        Purpose::Verify => Content::Verification { link },
    };
    let app = mail::app_of(tx, &user.app_id).await?;
    mail::outbox::enqueue(
        tx,
        &app,
        &user.email,
        Some(&user.id),
        &content,
        now + lifetime,
    )
    .await?;
    Ok(token)
}

/// The recovery page's "e-mail me a link": when `email` names an active
/// account of `app`, a one-time recovery link goes to it. The answer is
/// the same whether or not it does, and requests are throttled per address
/// and per client whether or not it does, so neither tells who has an
/// account (the caller shows one sentence either way).
pub async fn request_recovery(
    db: &Db,
    app: &app::Model,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), LinkError> {
    // Every answer takes the same time, whatever was done for it.
    let answer_at = tokio::time::Instant::now() + RECOVERY_ANSWER_TIME;
    let result = request_recovery_now(db, app, email, client).await;
    tokio::time::sleep_until(answer_at).await;
    result
}

/// How long a recovery request takes to answer, at least: longer than the
/// work for an address with an account, so the time tells nothing.
const RECOVERY_ANSWER_TIME: std::time::Duration = std::time::Duration::from_millis(400);

async fn request_recovery_now(
    db: &Db,
    app: &app::Model,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), LinkError> {
    let tx = write::begin(db, Actor::anonymous(client.address.clone())).await?;
    if !throttle::take_mail_request(&tx, &app.id, email.as_str(), client.address.as_deref()).await?
    {
        // Counted already; nothing is sent, and nothing says so.
        tx.commit().await?;
        return Ok(());
    }
    let user = users::find_by_email(&tx, &app.id, email)
        .await?
        .filter(|user| user.status == UserStatus::Active);
    if let Some(user) = user {
        // A mailbox is weaker than a passkey: an account that has one, or
        // whose role demands one, is not recovered by e-mail (its owner is
        // told how it is, instead).
        if protected_by_passkey(&tx, &user).await? {
            // The notice is sealed without an audit event to check the key.
            audit::ensure_key_current(&tx).await?;
            let recover = mail::public_link(&tx, &format!("/a/{}/recover", app.id));
            mail::outbox::enqueue(
                &tx,
                app,
                &user.email,
                Some(&user.id),
                &Content::RecoveryByEmailUnavailable { recover },
                tx.now + Purpose::RequestedRecovery.lifetime(),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        issue_and_send(
            &tx,
            &user,
            Purpose::RequestedRecovery,
            Purpose::RequestedRecovery.lifetime(),
            RequestedBy::Anonymous,
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    tx.commit().await?;
    Ok(())
}

/// Send the signed-in `user` a link to confirm their address (after sign-up,
/// or when they ask again), throttled like recovery requests. False when
/// the throttle held it back.
pub async fn send_verification(
    db: &Db,
    user: &app_user::Model,
    client: &ClientInfo,
) -> Result<bool, LinkError> {
    let tx = write::begin(db, actor_for(user, client)).await?;
    if !throttle::take_mail_request(&tx, &user.app_id, &user.email, client.address.as_deref())
        .await?
    {
        tx.commit().await?;
        return Ok(false);
    }
    send_verification_in(&tx, user).await?;
    tx.commit().await?;
    Ok(true)
}

/// Send a new user a link to confirm their address, in the write that
/// creates them.
pub async fn send_verification_in(tx: &Write, user: &app_user::Model) -> Result<(), LinkError> {
    issue_and_send(
        tx,
        user,
        Purpose::Verify,
        Purpose::Verify.lifetime(),
        RequestedBy::User,
    )
    .await?;
    Ok(())
}

/// What the confirmation page says of the account an address is being
/// confirmed for (N6 of the second security review): whoever opens the
/// link learns when and how the account was made before confirming it.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub user: app_user::Model,
    /// Someone signed up for it on the app's page (anyone can type any
    /// address there); else an operator or the CLI made it.
    pub self_registered: bool,
    /// How it was made: "password" or "passkey" for a sign-up, else who
    /// made it.
    pub how: String,
}

/// The account behind an unspent verification link, and how it was made.
pub async fn confirmation(
    db: &Db,
    app: &app::Model,
    token: &str,
) -> Result<Confirmation, LinkError> {
    Ok(find_confirmation(db, app, token).await?.1)
}

/// The unspent verification link `token` and what [`confirmation`] says.
async fn find_confirmation(
    db: &Db,
    app: &app::Model,
    token: &str,
) -> Result<(action_token::Model, Confirmation), LinkError> {
    let (row, user) = find_valid(db, &app.id, token, Purpose::Verify)
        .await?
        .ok_or(LinkError::Invalid)?;
    let (self_registered, how) = origin(db, &user).await?;
    Ok((
        row,
        Confirmation {
            user,
            self_registered,
            how,
        },
    ))
}

/// Whether `user` signed up on the app's page (anyone can type any address
/// there), and how the account was made: "password" or "passkey" for a
/// sign-up, else who made it. Read from the audit events of its creation.
async fn origin<C: ConnectionTrait>(
    db: &C,
    user: &app_user::Model,
) -> Result<(bool, String), DbErr> {
    let created = crate::entities::audit_event::Entity::find()
        .filter(crate::entities::audit_event::Column::AppId.eq(user.app_id.as_str()))
        .filter(crate::entities::audit_event::Column::TargetId.eq(user.id.as_str()))
        .filter(crate::entities::audit_event::Column::Action.is_in([
            Action::UserRegistered.as_str(),
            Action::UserCreated.as_str(),
        ]))
        .all(db)
        .await?;
    let registered = created
        .iter()
        .find(|e| e.action == Action::UserRegistered.as_str());
    Ok(match registered {
        Some(event) => (
            true,
            serde_json::from_str::<serde_json::Value>(&event.details)
                .ok()
                .and_then(|d| d["method"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "password".to_owned()),
        ),
        None => (
            false,
            created
                .first()
                .map(|e| e.actor_label.clone())
                .unwrap_or_else(|| "an administrator".to_owned()),
        ),
    })
}

/// Follow a verification link, signed in to its account in this browser:
/// the address is confirmed (`email.verified`). N6: the link alone is not
/// enough, since anyone may sign up with someone else's address and wait
/// for its owner to press the button; confirming takes both the mailbox
/// and a way into the account. For a self-registered account, whoever held
/// it before its address was confirmed may not have been its owner: its
/// other sessions (and token families) end, and the factors set up before
/// this sign-in that it did not prove (a password not typed here, a
/// passkey not used here, earlier recovery codes) are dropped.
pub async fn verify_email(
    db: &Db,
    app: &app::Model,
    token: &str,
    signin: Option<&sessions::ActiveSignin>,
    client: &ClientInfo,
) -> Result<app_user::Model, LinkError> {
    let (row, confirmation) = find_confirmation(db, app, token).await?;
    let user = confirmation.user;
    let Some(signin) = signin.filter(|s| s.user.id == user.id) else {
        return Err(LinkError::SignInToConfirm);
    };
    if confirmation.self_registered && signin.session.requires_enrolment {
        // A recovery's session proved only a code or a mailbox: its own
        // factor first, or confirming could leave the account none.
        return Err(LinkError::EnrolBeforeConfirming);
    }
    let tx = write::begin(db, actor_for(&user, client)).await?;
    if !consume(&tx, &row).await? {
        return Err(LinkError::Invalid);
    }
    let mut update: app_user::ActiveModel = user.clone().into();
    update.email_verified = Set(true);
    update.updated_at = Set(tx.now);
    let user = update.update(&tx).await?;
    let joined = orgs::domains::address_confirmed(&tx, &user).await?;
    let (sessions_ended, dropped) = if confirmation.self_registered {
        let ended = sessions::end_all_for_user(
            &tx,
            &user.id,
            "address_confirmed",
            Some(&signin.session.id),
        )
        .await?;
        (
            ended,
            drop_unproved_factors(&tx, &user, &signin.session).await?,
        )
    } else {
        (0, json!({}))
    };
    audit::record(
        &tx,
        Event {
            app_id: &user.app_id,
            actor: &tx.actor,
            action: Action::EmailVerified,
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "email": user.email,
                "self_registered": confirmation.self_registered,
                "other_sessions_ended": sessions_ended,
                "factors_dropped": dropped,
                "orgs_joined": joined,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// The factors of `user` set up before `session` opened that it did not
/// prove, dropped; what was dropped, for the audit event.
async fn drop_unproved_factors(
    tx: &Write,
    user: &app_user::Model,
    session: &crate::entities::signin_session::Model,
) -> Result<serde_json::Value, DbErr> {
    use crate::entities::passkey;
    let since = session.created_at;
    let password = password_credential::Entity::find_by_id(user.id.as_str())
        .one(tx)
        .await?
        .filter(|p| p.updated_at < since && session.password_at.is_none());
    if password.is_some() {
        password_credential::Entity::delete_by_id(user.id.as_str())
            .exec(tx)
            .await?;
    }
    let stale_passkeys: Vec<String> = passkeys::list_for_user(tx, &user.id)
        .await?
        .into_iter()
        .filter(|p| p.created_at < since && p.last_used_at.is_none_or(|used| used < since))
        .map(|p| p.id)
        .collect();
    if !stale_passkeys.is_empty() {
        passkey::Entity::delete_many()
            .filter(passkey::Column::Id.is_in(stale_passkeys.iter().map(String::as_str)))
            .exec(tx)
            .await?;
    }
    let codes = recovery_codes::delete(tx, &user.id, Some(since)).await?;
    Ok(json!({
        "password": password.is_some(),
        "passkeys": stale_passkeys,
        "recovery_codes": codes,
    }))
}

/// "This wasn't me" on the confirmation page (N6): whoever holds the
/// mailbox says they did not make the account, which is deactivated (its
/// sessions end) and recorded (`email.disowned`, `user.deactivated`); the
/// address gets the deactivation notice. Only while the address is
/// unconfirmed.
pub async fn disown(
    db: &Db,
    app: &app::Model,
    token: &str,
    client: &ClientInfo,
) -> Result<(), LinkError> {
    let (row, user) = find_valid(db, &app.id, token, Purpose::Verify)
        .await?
        .ok_or(LinkError::Invalid)?;
    if user.email_verified {
        return Err(LinkError::Invalid);
    }
    let tx = write::begin(db, Actor::anonymous(client.address.clone())).await?;
    let user = users::lock(&tx, &user.id)
        .await?
        .ok_or(LinkError::Invalid)?;
    if !consume(&tx, &row).await? || user.email_verified {
        return Err(LinkError::Invalid);
    }
    audit::record(
        &tx,
        Event {
            app_id: &user.app_id,
            actor: &tx.actor,
            action: Action::EmailDisowned,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "email": user.email }),
        },
    )
    .await?;
    users::set_active(&tx, &user, false)
        .await
        .map_err(|err| match err {
            users::UserError::Fault(fault) => LinkError::Fault(fault),
            other => LinkError::CannotDisown(other.to_string()),
        })?;
    tx.commit().await?;
    Ok(())
}

/// Void the user's unused links of `purpose` (marked used, so they stop working).
pub async fn void_unused(tx: &Write, user_id: &str, purpose: Purpose) -> Result<(), DbErr> {
    action_token::Entity::update_many()
        .col_expr(action_token::Column::UsedAt, Expr::value(tx.now))
        .filter(action_token::Column::UserId.eq(user_id))
        .filter(action_token::Column::Purpose.eq(purpose.as_str()))
        .filter(action_token::Column::UsedAt.is_null())
        .exec(tx)
        .await?;
    Ok(())
}

/// The valid (unused, unexpired) link `token` of `app`, and its user.
pub async fn find_valid<C: Clocked>(
    db: &C,
    app_id: &str,
    token: &str,
    purpose: Purpose,
) -> Result<Option<(action_token::Model, app_user::Model)>, DbErr> {
    let Some(row) = action_token::Entity::find()
        .filter(action_token::Column::TokenHash.eq(secrets::sha256_hex(token)))
        .filter(action_token::Column::AppId.eq(app_id))
        .filter(action_token::Column::Purpose.eq(purpose.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.used_at.is_some() || row.expires_at <= db.now() {
        return Ok(None);
    }
    let Some(user_id) = row.user_id.clone() else {
        return Ok(None);
    };
    let user = app_user::Entity::find_by_id(user_id.as_str())
        .one(db)
        .await?
        .filter(|u| u.status == UserStatus::Active);
    Ok(user.map(|u| (row, u)))
}

/// Spend a link; false when someone else spent it first.
pub(crate) async fn consume(tx: &Write, row: &action_token::Model) -> Result<bool, DbErr> {
    let spent = action_token::Entity::update_many()
        .col_expr(action_token::Column::UsedAt, Expr::value(tx.now))
        .filter(action_token::Column::Id.eq(row.id.as_str()))
        .filter(action_token::Column::UsedAt.is_null())
        .exec(tx)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Whether an invited user must set up a passkey (a role of theirs demands
/// one, as every console role does by default).
pub async fn needs_passkey<C: ConnectionTrait>(
    db: &C,
    user: &app_user::Model,
) -> Result<bool, DbErr> {
    Ok(policy::roles_of_user(db, &user.id)
        .await?
        .iter()
        .any(|r| r.require_passkey))
}

/// Whether a mailbox is too weak a key to `user`'s account: it has a
/// passkey, or a role of theirs demands one.
async fn protected_by_passkey<C: ConnectionTrait>(
    db: &C,
    user: &app_user::Model,
) -> Result<bool, DbErr> {
    Ok(!passkeys::list_for_user(db, &user.id).await?.is_empty() || needs_passkey(db, user).await?)
}

fn actor_for(user: &app_user::Model, client: &ClientInfo) -> Actor {
    Actor::user(&user.id, &user.email, client.address.clone())
}

async fn accepted(
    tx: &Write,
    user: &app_user::Model,
    method: &str,
    client: &ClientInfo,
) -> Result<app_user::Model, LinkError> {
    let mut update: app_user::ActiveModel = user.clone().into();
    // Following the link proved control of the address.
    update.email_verified = Set(true);
    update.updated_at = Set(tx.now);
    let user = update.update(tx).await?;
    orgs::domains::address_confirmed(tx, &user).await?;
    audit::record(
        tx,
        Event {
            app_id: &user.app_id,
            actor: &actor_for(&user, client),
            action: Action::InvitationAccepted,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "method": method }),
        },
    )
    .await?;
    Ok(user)
}

/// H3: an invitation sets up an account that has no way in yet; it never
/// replaces the factors of one that has (that is what recovery is for, and
/// recovery leaves a trail the user notices). Checked under the user's row
/// lock, in the accepting transaction.
async fn ensure_not_set_up(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
) -> Result<(), LinkError> {
    users::lock(tx, &user.id).await?;
    if policy::sign_in_methods(tx, app, &user.id).await? > 0 {
        return Err(LinkError::AlreadySetUp);
    }
    Ok(())
}

/// Store `password` as the user's (replacing any earlier one).
async fn set_password(tx: &Write, user: &app_user::Model, password: &Hashed) -> Result<(), DbErr> {
    let now = tx.now;
    password_credential::Entity::delete_by_id(user.id.as_str())
        .exec(tx)
        .await?;
    password_credential::ActiveModel {
        user_id: Set(user.id.clone()),
        app_id: Set(user.app_id.clone()),
        phc: Set(password.0.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// Accept an invitation by choosing a password, and sign in.
pub async fn accept_with_password(
    db: &Db,
    app: &app::Model,
    token: &str,
    password: &Password,
    client: &ClientInfo,
) -> Result<SignedIn, LinkError> {
    if !app.password_enabled {
        return Err(LinkError::PasswordDisabled);
    }
    let (row, user) = find_valid(db, &app.id, token, Purpose::Invite)
        .await?
        .ok_or(LinkError::Invalid)?;
    if policy::sign_in_methods(db, app, &user.id).await? > 0 {
        return Err(LinkError::AlreadySetUp);
    }
    if needs_passkey(db, &user).await? {
        return Err(LinkError::PasskeyRequired);
    }
    let password = password.hashed().await?;
    let tx = write::begin(
        db,
        Actor::user(&user.id, &user.email, client.address.clone()),
    )
    .await?;
    ensure_not_set_up(&tx, app, &user).await?;
    if !consume(&tx, &row).await? {
        return Err(LinkError::Invalid);
    }
    set_password(&tx, &user, &password).await?;
    let user = accepted(&tx, &user, "password", client).await?;
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

/// First step of accepting with a passkey: creation options for the
/// invited user (their id is the WebAuthn user handle).
pub async fn start_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    token: &str,
) -> Result<(serde_json::Value, PasskeyRegistration), LinkError> {
    let (_, user) = find_valid(db, &app.id, token, Purpose::Invite)
        .await?
        .ok_or(LinkError::Invalid)?;
    if policy::sign_in_methods(db, app, &user.id).await? > 0 {
        return Err(LinkError::AlreadySetUp);
    }
    let existing = passkeys::list_for_user(db, &user.id).await?;
    Ok(rp.start_registration(&app.name, &user.id, &user.email, &existing)?)
}

/// Second step: store the passkey (and the password chosen beside it, if
/// any), spend the link, sign in, and hand back the first recovery codes.
#[allow(clippy::too_many_arguments)]
pub async fn finish_with_passkey(
    db: &Db,
    rp: &RelyingParty,
    app: &app::Model,
    token: &str,
    ceremony: &Ceremony,
    state: &PasskeyRegistration,
    credential: &RegisterPublicKeyCredential,
    password: Option<&Password>,
    client: &ClientInfo,
) -> Result<(SignedIn, Vec<String>), LinkError> {
    if password.is_some() && !app.password_enabled {
        return Err(LinkError::PasswordDisabled);
    }
    let (row, user) = find_valid(db, &app.id, token, Purpose::Invite)
        .await?
        .ok_or(LinkError::Invalid)?;
    let key = rp.finish_registration(&app.name, credential, state)?;
    let password = match password {
        Some(password) => Some(password.hashed().await?),
        None => None,
    };
    let tx = write::begin(db, actor_for(&user, client)).await?;
    ensure_not_set_up(&tx, app, &user).await?;
    if !consume(&tx, &row).await? {
        return Err(LinkError::Invalid);
    }
    ceremonies::spend(&tx, ceremony).await??;
    passkeys::store(&tx, &user, "Passkey", &key).await?;
    let codes = recovery_codes::generate(&tx, &user).await?;
    let method = match &password {
        Some(password) => {
            set_password(&tx, &user, password).await?;
            "passkey and password"
        }
        None => "passkey",
    };
    let user = accepted(&tx, &user, method, client).await?;
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

/// Sign in once with a recovery link (an operator's, or one the user asked
/// for); the session must enrol a new factor first, and every other
/// session (and token family) of the user ends. Records
/// `recovery_link.used`.
pub async fn redeem_recovery(
    db: &Db,
    app: &app::Model,
    token: &str,
    client: &ClientInfo,
) -> Result<SignedIn, LinkError> {
    let (row, user, by_operator) = match find_valid(db, &app.id, token, Purpose::Recovery).await? {
        Some((row, user)) => (row, user, true),
        None => {
            let (row, user) = find_valid(db, &app.id, token, Purpose::RequestedRecovery)
                .await?
                .ok_or(LinkError::Invalid)?;
            (row, user, false)
        }
    };
    let tx = write::begin(
        db,
        Actor::user(&user.id, &user.email, client.address.clone()),
    )
    .await?;
    // N2: what made a requested link acceptable when it was asked for must
    // still hold now (no passkey since, and no role that demands one).
    if !by_operator {
        users::lock(&tx, &user.id).await?;
        if protected_by_passkey(&tx, &user).await? {
            return Err(LinkError::PasskeyAccount);
        }
    }
    if !consume(&tx, &row).await? {
        return Err(LinkError::Invalid);
    }
    // N6: an unconfirmed, self-registered account recovered through its
    // mailbox is taken over by the mailbox's owner: whatever sign-in methods
    // whoever signed up set (a password, codes) go, so they cannot add
    // their own while the owner enrols (no passkey can be there: above).
    let dropped = if !by_operator && !user.email_verified && origin(&tx, &user).await?.0 {
        let password = password_credential::Entity::delete_by_id(user.id.as_str())
            .exec(&tx)
            .await?
            .rows_affected
            > 0;
        let codes = recovery_codes::delete(&tx, &user.id, None).await?;
        json!({ "password": password, "recovery_codes": codes })
    } else {
        json!({})
    };
    audit::record(
        &tx,
        Event {
            app_id: &user.app_id,
            actor: &actor_for(&user, client),
            action: Action::RecoveryLinkUsed,
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "requested_by": if by_operator { "operator" } else { "user" },
                "factors_dropped": dropped,
            }),
        },
    )
    .await?;
    // Every other session ends (and every known-device mark dies) before
    // the new one opens.
    sessions::end_all_for_user(&tx, &user.id, "recovered", None).await?;
    let user = users::find(&tx, &app.id, &user.id)
        .await?
        .ok_or(LinkError::Invalid)?;
    let keys = throttle::Keys::new(&app.id, &user.email, client.address.as_deref(), None);
    let signed_in = signin::succeed(
        &tx,
        app,
        &user,
        Factor::RecoveryCode,
        &keys,
        client,
        signin::Browser::New,
    )
    .await?;
    // Only an operator's link vouches for a first passkey a role demands.
    let session = if by_operator {
        sessions::mark_opened_by_link(&tx, signed_in.session).await?
    } else {
        signed_in.session
    };
    tx.commit().await?;
    Ok(SignedIn {
        session,
        ..signed_in
    })
}
