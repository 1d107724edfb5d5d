//! Sign-in sessions: the server-side record of one sign-in to one app, with
//! the time each factor was last proved in it, and the app's idle and
//! absolute lifetimes. The browser cookie (tower-sessions) only points at
//! these records.
//!
//! Factors are timed one by one: "a passkey within N seconds" means a
//! passkey assertion within N seconds, never an old passkey plus a fresh
//! password. A token describes one authentication event (`auth_time`,
//! `amr`, `acr` all from it), see [`FactorTimes::describe`].

use crate::core::write::Clocked;
use crate::core::write::Write;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::db::Db;
use super::token_families::Families;
use super::{secrets, token_families};
use crate::entities::{app, app_user, signin_session};
use crate::types::UserStatus;

/// A sign-in is "fresh" for sensitive self-service actions this long.
pub const FRESH_AUTH: Duration = Duration::minutes(5);
/// `last_seen_at` is written at most this often (not on every request).
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// Where a request came from, for audit events and the sessions list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// A way of proving who you are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    /// A WebAuthn credential with user verification.
    Passkey,
    /// A one-time recovery code.
    RecoveryCode,
    /// A sign-in through an upstream identity provider of the app.
    Upstream,
}

impl Factor {
    /// RFC 8176 Authentication Method Reference values.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Factor::Password => &["pwd"],
            // Possession of a hardware-bound key plus on-device verification.
            Factor::Passkey => &["hwk", "user", "mfa"],
            Factor::RecoveryCode => &["otp"],
            // RFC 8176 "ext": the proof was made elsewhere. The upstream's
            // own amr is recorded in the audit event, not repeated here.
            Factor::Upstream => &["ext"],
        }
    }

    /// Name used in audit events.
    pub fn method(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Passkey => "passkey",
            Factor::RecoveryCode => "recovery_code",
            Factor::Upstream => "upstream",
        }
    }

    /// `acr` of an authentication with this factor: "phr" (phishing
    /// resistant, OpenID EAP ACR Values 1.0) for a passkey.
    pub fn acr(self) -> &'static str {
        match self {
            Factor::Passkey => "phr",
            Factor::Password => "pwd",
            Factor::RecoveryCode => "otp",
            Factor::Upstream => "ext",
        }
    }
}

/// One proof of identity: which factor, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthEvent {
    pub factor: Factor,
    pub at: DateTime<Utc>,
}

impl AuthEvent {
    pub fn amr(&self) -> Vec<String> {
        self.factor.amr().iter().map(|m| (*m).to_owned()).collect()
    }

    pub fn age(&self, now: DateTime<Utc>) -> Duration {
        now - self.at
    }
}

/// When each factor was last proved in a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactorTimes {
    pub password: Option<DateTime<Utc>>,
    pub passkey: Option<DateTime<Utc>>,
    pub recovery: Option<DateTime<Utc>>,
    pub upstream: Option<DateTime<Utc>>,
}

impl FactorTimes {
    pub fn of(session: &signin_session::Model) -> Self {
        Self {
            password: session.password_at,
            passkey: session.passkey_at,
            recovery: session.recovery_at,
            upstream: session.upstream_at,
        }
    }

    fn events(&self) -> impl Iterator<Item = AuthEvent> {
        [
            (Factor::Passkey, self.passkey),
            (Factor::Password, self.password),
            (Factor::RecoveryCode, self.recovery),
            (Factor::Upstream, self.upstream),
        ]
        .into_iter()
        .filter_map(|(factor, at)| at.map(|at| AuthEvent { factor, at }))
    }

    /// The last proof with `factor`.
    pub fn last(&self, factor: Factor) -> Option<AuthEvent> {
        self.events().find(|e| e.factor == factor)
    }

    /// The most recent proof of any factor.
    pub fn newest(&self) -> Option<AuthEvent> {
        self.events().max_by_key(|e| e.at)
    }

    /// The authentication a token describes, among those `acceptable` to
    /// the request (max_age, prompt=login, acr_values): the passkey
    /// assertion when there is an acceptable one, so `acr` says "phr"
    /// whenever that is true, else the newest acceptable one.
    pub fn describe(&self, acceptable: impl Fn(&AuthEvent) -> bool) -> Option<AuthEvent> {
        self.last(Factor::Passkey)
            .filter(&acceptable)
            .or_else(|| self.events().filter(&acceptable).max_by_key(|e| e.at))
    }
}

/// `acr` of the session as a whole, for display: "phr" once a passkey was
/// used in it, else "pwd" or "otp".
fn acr_for(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "hwk") {
        "phr"
    } else if amr.iter().any(|m| m == "pwd") {
        "pwd"
    } else if amr.iter().any(|m| m == "ext") {
        "ext"
    } else {
        "otp"
    }
}

fn encode_amr(amr: &[String]) -> String {
    serde_json::to_string(amr).expect("a list of strings serialises")
}

pub fn decode_amr(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

/// The sign-in session `user` opens in `app` after `factor` succeeded, to
/// be stored by the caller in the transaction of the sign-in.
pub fn opened(
    app: &app::Model,
    user: &app_user::Model,
    factor: Factor,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> signin_session::Model {
    let amr: Vec<String> = factor.amr().iter().map(|m| (*m).to_owned()).collect();
    let at = |f: Factor| (f == factor).then_some(now);
    signin_session::Model {
        id: secrets::new_id(),
        app_id: app.id.clone(),
        user_id: user.id.clone(),
        acr: acr_for(&amr).to_owned(),
        amr: encode_amr(&amr),
        auth_time: now,
        password_at: at(Factor::Password),
        passkey_at: at(Factor::Passkey),
        recovery_at: at(Factor::RecoveryCode),
        upstream_at: at(Factor::Upstream),
        upstream_identity_id: None,
        upstream_sid: None,
        last_seen_at: now,
        idle_expires_at: now + Duration::seconds(app.session_idle_secs),
        absolute_expires_at: now + Duration::seconds(app.session_absolute_secs),
        requires_enrolment: factor == Factor::RecoveryCode,
        opened_by_link: false,
        ended_at: None,
        end_reason: None,
        client_address: client.address.clone(),
        user_agent: client
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(300).collect()),
        created_at: now,
    }
}

/// A live sign-in session and its (active) user.
#[derive(Debug, Clone)]
pub struct ActiveSignin {
    pub session: signin_session::Model,
    pub user: app_user::Model,
    /// When it was found live: the time the request it serves judges
    /// freshness by.
    pub checked_at: DateTime<Utc>,
}

impl ActiveSignin {
    pub fn amr(&self) -> Vec<String> {
        decode_amr(&self.session.amr)
    }

    pub fn factors(&self) -> FactorTimes {
        FactorTimes::of(&self.session)
    }

    /// Authenticated (with any factor) recently enough for a sensitive change.
    pub fn is_fresh(&self) -> bool {
        self.factors()
            .newest()
            .is_some_and(|e| e.age(self.checked_at) <= FRESH_AUTH)
    }

    /// Proved `factor` itself within the last [`FRESH_AUTH`].
    pub fn is_fresh_with(&self, factor: Factor) -> bool {
        self.factors()
            .last(factor)
            .is_some_and(|e| e.age(self.checked_at) <= FRESH_AUTH)
    }

    pub fn used_passkey(&self) -> bool {
        self.session.passkey_at.is_some()
    }
}

/// Not ended, and neither its idle nor its absolute deadline passed.
pub fn is_live(session: &signin_session::Model, now: DateTime<Utc>) -> bool {
    session.ended_at.is_none() && session.idle_expires_at > now && session.absolute_expires_at > now
}

/// The sign-in session `id` of `app`, if it is still live and its user still
/// active; extends its idle deadline.
pub async fn resume(db: &Db, app: &app::Model, id: &str) -> Result<Option<ActiveSignin>, DbErr> {
    let now = db.now();
    // The session and its user in one read (every page and authorization
    // request of a signed-in browser comes through here).
    let Some((session, Some(user))) = signin_session::Entity::find_by_id(id)
        .filter(signin_session::Column::AppId.eq(app.id.as_str()))
        .find_also_related(app_user::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if !is_live(&session, now) {
        return Ok(None);
    }
    if user.status != UserStatus::Active {
        return Ok(None);
    }
    let session = keep_alive(db, app, session).await?;
    Ok(Some(ActiveSignin {
        session,
        user,
        checked_at: now,
    }))
}

/// Activity keeps a session alive: its idle deadline moves on, written at
/// most once a minute (every page and every token refresh is activity).
pub async fn keep_alive(
    db: &Db,
    app: &app::Model,
    session: signin_session::Model,
) -> Result<signin_session::Model, DbErr> {
    extend(db.writer(), db.now(), app, session).await
}

/// [`keep_alive`] on `conn` (a write that extends the session together
/// with other changes, such as the refresh grant's careful path) at `now`.
pub async fn extend<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    app: &app::Model,
    session: signin_session::Model,
) -> Result<signin_session::Model, DbErr> {
    if now - session.last_seen_at < TOUCH_INTERVAL {
        return Ok(session);
    }
    let idle = (now + Duration::seconds(app.session_idle_secs)).min(session.absolute_expires_at);
    signin_session::Entity::update_many()
        .col_expr(signin_session::Column::LastSeenAt, Expr::value(now))
        .col_expr(signin_session::Column::IdleExpiresAt, Expr::value(idle))
        .filter(signin_session::Column::Id.eq(session.id.as_str()))
        .filter(signin_session::Column::EndedAt.is_null())
        .exec(conn)
        .await?;
    Ok(signin_session::Model {
        last_seen_at: now,
        idle_expires_at: idle,
        ..session
    })
}

/// Record that the user proved themselves again in this session (re-auth or
/// step-up): that factor's time restarts (and no other's), and the factor
/// joins the session's `amr`.
pub async fn record_reauthentication(
    tx: &Write,
    session: &signin_session::Model,
    factor: Factor,
) -> Result<signin_session::Model, DbErr> {
    let mut amr = decode_amr(&session.amr);
    for method in factor.amr() {
        if !amr.iter().any(|m| m == method) {
            amr.push((*method).to_owned());
        }
    }
    let now = tx.now;
    let mut update: signin_session::ActiveModel = session.clone().into();
    update.auth_time = Set(now);
    match factor {
        Factor::Password => update.password_at = Set(Some(now)),
        Factor::Passkey => update.passkey_at = Set(Some(now)),
        Factor::RecoveryCode => update.recovery_at = Set(Some(now)),
        Factor::Upstream => update.upstream_at = Set(Some(now)),
    }
    update.acr = Set(acr_for(&amr).to_owned());
    update.amr = Set(encode_amr(&amr));
    update.update(tx).await
}

/// Mark a session as opened through an operator's recovery link.
pub async fn mark_opened_by_link(
    tx: &Write,
    session: signin_session::Model,
) -> Result<signin_session::Model, DbErr> {
    let mut update: signin_session::ActiveModel = session.into();
    update.opened_by_link = Set(true);
    update.update(tx).await
}

/// Clear the "must enrol a new factor" mark of the session that enrolled
/// one, and of no other: a session opened elsewhere with a (phished)
/// recovery code stays held until it enrols a factor of its own.
pub async fn clear_enrolment_requirement(tx: &Write, session_id: &str) -> Result<(), DbErr> {
    signin_session::Entity::update_many()
        .col_expr(
            signin_session::Column::RequiresEnrolment,
            Expr::value(false),
        )
        .filter(signin_session::Column::Id.eq(session_id))
        .filter(signin_session::Column::RequiresEnrolment.eq(true))
        .exec(tx)
        .await?;
    Ok(())
}

/// End one session and the token families minted from it.
pub async fn end(tx: &Write, session_id: &str, reason: &str) -> Result<bool, DbErr> {
    let ended = signin_session::Entity::update_many()
        .col_expr(signin_session::Column::EndedAt, Expr::value(tx.now))
        .col_expr(signin_session::Column::EndReason, Expr::value(reason))
        .filter(signin_session::Column::Id.eq(session_id))
        .filter(signin_session::Column::EndedAt.is_null())
        .exec(tx)
        .await?;
    token_families::revoke(tx, Families::OfSession(session_id), reason).await?;
    Ok(ended.rows_affected > 0)
}

/// End every live session of a user (but `keep`, if given) and revoke their
/// token families. Returns how many sessions ended.
pub async fn end_all_for_user(
    tx: &Write,
    user_id: &str,
    reason: &str,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    // N3: whatever ends every other session (a password change, a
    // recovery, a deactivation, a sign-out everywhere) also ends every
    // browser's standing as a known device.
    super::devices::forget_all(tx, user_id).await?;
    let mut query = signin_session::Entity::update_many()
        .col_expr(signin_session::Column::EndedAt, Expr::value(tx.now))
        .col_expr(signin_session::Column::EndReason, Expr::value(reason))
        .filter(signin_session::Column::UserId.eq(user_id))
        .filter(signin_session::Column::EndedAt.is_null());
    if let Some(keep) = keep {
        query = query.filter(signin_session::Column::Id.ne(keep));
        let others = signin_session::Entity::find()
            .filter(signin_session::Column::UserId.eq(user_id))
            .filter(signin_session::Column::Id.ne(keep))
            .all(tx)
            .await?;
        for other in others {
            token_families::revoke(tx, Families::OfSession(&other.id), reason).await?;
        }
    } else {
        token_families::revoke(tx, Families::OfUser(user_id), reason).await?;
    }
    Ok(query.exec(tx).await?.rows_affected)
}

/// The user's live sessions, most recently used first.
pub async fn list_live_for_user<C: Clocked>(
    db: &C,
    user_id: &str,
) -> Result<Vec<signin_session::Model>, DbErr> {
    let now = db.now();
    let sessions = signin_session::Entity::find()
        .filter(signin_session::Column::UserId.eq(user_id))
        .filter(signin_session::Column::EndedAt.is_null())
        .filter(signin_session::Column::IdleExpiresAt.gt(now))
        .filter(signin_session::Column::AbsoluteExpiresAt.gt(now))
        .order_by_desc(signin_session::Column::LastSeenAt)
        .all(db)
        .await?;
    Ok(sessions)
}
