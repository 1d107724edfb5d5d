//! The token endpoint (RFC 6749 §3.2): client authentication and the
//! authorization_code, refresh_token and client_credentials grants.
//!
//! Refresh tokens rotate on every use inside their family; presenting one
//! that was already used revokes the whole family and is audited as
//! `token.reuse_detected` (RFC 9700 §4.14.2).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::OAuthError;
use super::keys::{self, ActiveKeys};
use super::refresh_reads::RefreshReads;
use super::rotation::{Rotated, Rotation, Rotations};
use super::scope::Scope;
use super::tokens::{self, Authentication, Grant};
use crate::core::audit::{self, Actor, Event, Target};
use crate::core::clients::secret_matches;
use crate::core::db::Db;
use crate::core::db::{begin_write, write_together};
use crate::core::sessions::{FactorTimes, decode_amr, is_live};
use crate::core::vault::Vault;
use crate::core::{clock, policy, secrets};
use crate::entities::{
    app, app_user, authorization_code, oauth_client, refresh_token, role, signin_session,
    token_family,
};
use crate::types::UserStatus;
use crate::types::{AppId, ClientType};

/// How the client presented itself (RFC 6749 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (client_secret_basic).
    Basic {
        client_id: String,
        secret: String,
    },
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post {
        client_id: String,
        secret: String,
    },
    /// Only `client_id` (a public client).
    Public {
        client_id: String,
    },
    None,
}

impl ClientCredentials {
    pub fn used_basic(&self) -> bool {
        matches!(self, ClientCredentials::Basic { .. })
    }
}

/// Find and authenticate the client. A confidential client must prove its
/// secret; a public one has none to prove.
pub async fn authenticate_client(
    db: &Db,
    app: &app::Model,
    credentials: &ClientCredentials,
) -> Result<oauth_client::Model, OAuthError> {
    let (client_id, secret) = match credentials {
        ClientCredentials::Basic { client_id, secret }
        | ClientCredentials::Post { client_id, secret } => {
            (client_id.as_str(), Some(secret.as_str()))
        }
        ClientCredentials::Public { client_id } => (client_id.as_str(), None),
        ClientCredentials::None => {
            return Err(OAuthError::invalid_client(
                "Client authentication is missing.",
            ));
        }
    };
    let unknown = || OAuthError::invalid_client("Client authentication failed.");
    let client = crate::core::clients::find_cached(db, &app.id, client_id)
        .await?
        .filter(|c| c.disabled_at.is_none())
        .ok_or_else(unknown)?;
    match (client.client_type == ClientType::Confidential, secret) {
        (true, Some(secret)) if secret_matches(&client, secret) => Ok(client),
        (false, None) => Ok(client),
        _ => Err(unknown()),
    }
}

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Where tokens are minted from.
pub struct Issuer<'a> {
    pub db: &'a Db,
    pub vault: &'a Vault,
    pub issuer: &'a str,
    pub app: &'a app::Model,
    /// Where machine tokens are counted (see [`super::grant_tally`]).
    pub tally: &'a super::grant_tally::GrantTally,
    /// Where refresh tokens are read (see [`super::refresh_reads`]).
    pub refresh_reads: &'a RefreshReads,
    /// Where refresh rotations are committed (see [`super::rotation`]).
    pub rotations: &'a Rotations,
}

impl Issuer<'_> {
    fn app_id(&self) -> AppId {
        AppId::parse(&self.app.id).expect("stored app ids are valid")
    }

    /// The app's signing keys: fetched (from this process's cache, or the
    /// database) before any write transaction opens, so minting never needs
    /// a second connection while the transaction holds one.
    async fn signing_keys(&self) -> Result<Arc<ActiveKeys>, OAuthError> {
        keys::active(self.db, self.vault, &self.app.id).await
    }

    fn mint(
        &self,
        keys: &ActiveKeys,
        grant: &Grant<'_>,
        refresh_token: Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let (access_token, expires_in) = tokens::mint_access_token(keys, grant)?;
        let id_token = if grant.scope.is_openid() && grant.user.is_some() {
            Some(tokens::mint_id_token(keys, grant, &access_token)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope: grant.scope.to_string(),
            id_token,
            refresh_token,
        })
    }
}

/// RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    secrets::constant_time_eq(&computed, challenge)
}

/// A new refresh token in `family`, returned in clear once.
async fn issue_refresh_token(
    tx: &DatabaseTransaction,
    app: &app::Model,
    family_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, OAuthError> {
    let (token, row) = new_refresh_token(app, family_id, now);
    row.insert(tx).await?;
    Ok(token)
}

/// A new refresh token in `family`: the token in clear, and its row (which
/// holds only its hash) for the caller to store.
fn new_refresh_token(
    app: &app::Model,
    family_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> (String, refresh_token::ActiveModel) {
    let token = secrets::random_token(32);
    let row = refresh_token::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(app.id.clone()),
        family_id: Set(family_id.to_owned()),
        token_hash: Set(secrets::sha256_hex(&token)),
        expires_at: Set(now + Duration::seconds(app.refresh_idle_secs)),
        used_at: Set(None),
        created_at: Set(now),
    };
    (token, row)
}

async fn revoke_family(
    tx: &DatabaseTransaction,
    family_id: &str,
    reason: &str,
) -> Result<(), OAuthError> {
    Ok(crate::core::tokens::revoke_family(tx, family_id, reason).await?)
}

fn invalid_code() -> OAuthError {
    OAuthError::invalid_grant("The authorization code is invalid, expired or already used.")
}

/// grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub async fn exchange_code(
    issuer: &Issuer<'_>,
    client: &oauth_client::Model,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let db = issuer.db;
    let app = issuer.app;
    let signing_keys = issuer.signing_keys().await?;
    let tx = begin_write(db).await?;
    // The code, its session and the session's user in one read.
    let Some((stored, session, user)) =
        authorization_code::Entity::find_by_id(secrets::sha256_hex(code))
            .filter(authorization_code::Column::AppId.eq(app.id.as_str()))
            .find_also_related(signin_session::Entity)
            .and_also_related(app_user::Entity)
            .one(&tx)
            .await?
    else {
        return Err(invalid_code());
    };
    if stored.client_id != client.id {
        return Err(invalid_code());
    }
    if stored.used_at.is_some() {
        // RFC 6749 §4.1.2: a code used twice revokes what it already gave.
        if let Some(family) = &stored.token_family_id {
            revoke_family(&tx, family, "code_reuse").await?;
        }
        audit::record(
            &tx,
            Event {
                app_id: &issuer.app_id(),
                actor: &Actor::anonymous(None),
                action: "token.code_reuse_detected",
                target: Some(Target::new("user", stored.user_id.as_str())),
                details: json!({ "client_id": client.id, "family_id": stored.token_family_id }),
            },
        )
        .await?;
        tx.commit().await?;
        return Err(invalid_code());
    }
    if stored.expires_at <= clock::now() {
        return Err(invalid_code());
    }
    if redirect_uri != Some(stored.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request.",
        ));
    }
    match (&stored.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (None, None) => {}
        _ => {
            return Err(OAuthError::invalid_grant(
                "The PKCE code_verifier does not match.",
            ));
        }
    }
    super::resource::within_grant(stored.resource.as_deref(), resource)?;
    let (Some(session), Some(user)) = (session, user) else {
        return Err(invalid_code());
    };
    if session.ended_at.is_some() || user.id != stored.user_id || user.status != UserStatus::Active
    {
        return Err(invalid_code());
    }

    let now = clock::now();
    let family_id = secrets::new_id();
    let absolute =
        (now + Duration::seconds(app.refresh_absolute_secs)).min(session.absolute_expires_at);
    let family = token_family::ActiveModel {
        id: Set(family_id.clone()),
        app_id: Set(app.id.clone()),
        client_id: Set(client.id.clone()),
        user_id: Set(user.id.clone()),
        signin_session_id: Set(Some(session.id.clone())),
        scope: Set(stored.scope.clone()),
        resource: Set(stored.resource.clone()),
        absolute_expires_at: Set(absolute),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        created_at: Set(now),
    };
    let (refresh, refresh_row) = new_refresh_token(app, &family_id, now);
    // The family and its first token are stored, and the code spent only if
    // still unused, together (one statement on PostgreSQL): of two
    // exchanges of one code at once, the second finds it used and rolls
    // back what it wrote.
    let spent = write_together(
        &tx,
        vec![
            token_family::Entity::insert(family).into_query().into(),
            refresh_token::Entity::insert(refresh_row)
                .into_query()
                .into(),
        ],
        authorization_code::Entity::update_many()
            .col_expr(authorization_code::Column::UsedAt, Expr::value(now))
            .col_expr(
                authorization_code::Column::TokenFamilyId,
                Expr::value(family_id.as_str()),
            )
            .filter(authorization_code::Column::CodeHash.eq(stored.code_hash.as_str()))
            .filter(authorization_code::Column::UsedAt.is_null())
            .into_query(),
    )
    .await?;
    if spent != 1 {
        return Err(invalid_code());
    }

    let scope = Scope::parse(&stored.scope)?;
    let roles: Vec<String> = serde_json::from_str(&stored.roles).unwrap_or_default();
    let authentication = Authentication {
        sid: session.id.clone(),
        auth_time: stored.auth_time,
        amr: decode_amr(&stored.amr),
        acr: stored.acr.clone(),
    };
    let grant = Grant {
        issuer: issuer.issuer,
        app,
        client,
        user: Some(&user),
        authentication: Some(&authentication),
        scope: &scope,
        roles: &roles,
        nonce: stored.nonce.as_deref(),
        resource: stored.resource.as_deref(),
        family_id: Some(&family_id),
    };
    let response = issuer.mint(&signing_keys, &grant, Some(refresh))?;
    audit::record(
        &tx,
        Event {
            app_id: &issuer.app_id(),
            actor: &Actor::user(&user.id, &user.email, None),
            action: "token.granted",
            target: Some(Target::new("user", user.id.as_str())),
            details: json!({
                "grant_type": "authorization_code",
                "client_id": client.id,
                "scope": response.scope,
                "roles": roles,
                "family_id": family_id,
                "session_id": session.id,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(response)
}

fn invalid_refresh() -> OAuthError {
    OAuthError::invalid_grant("The refresh token is invalid, expired or revoked.")
}

/// grant_type=refresh_token (RFC 6749 §6) with rotation and reuse detection.
///
/// The common case (an unused token of a live family and session) is
/// optimistic: everything the new tokens are made of is read and the tokens
/// signed before the write lock is taken, and the write transaction only
/// spends the presented token (if it is still unused and its family
/// unrevoked), extends the session (if it has not ended) and stores the
/// successor: three statements, so the one SQLite writer is held briefly.
/// The token is spent only in the transaction that stores its successor: a
/// failure leaves the chain usable. Anything else (reuse, the grace window,
/// an ended session, a race lost to another request) takes the careful path,
/// [`refresh_locked`], which decides under the family's lock.
pub async fn refresh(
    issuer: &Issuer<'_>,
    client: &oauth_client::Model,
    presented: &str,
    requested_scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let db = issuer.db;
    let app = issuer.app;
    let signing_keys = issuer.signing_keys().await?;
    // The token, its family, the family's session, that session's user and
    // the user's roles: a row per role (at least one), read in one
    // statement with the other refreshes in flight.
    let rows = issuer
        .refresh_reads
        .read(secrets::sha256_hex(presented))
        .await?;
    let held_roles: Vec<role::Model> = rows.iter().filter_map(|(.., role)| role.clone()).collect();
    let Some((token, Some(family), session, user, _, _)) = rows.into_iter().next() else {
        return Err(invalid_refresh());
    };
    // Batched reads look tokens up by hash alone: another app's token is
    // no token here.
    if token.app_id != app.id {
        return Err(invalid_refresh());
    }
    let now = clock::now();
    if family.client_id != client.id || family.revoked_at.is_some() {
        return Err(invalid_refresh());
    }
    let careful = || refresh_locked(issuer, client, presented, requested_scope, resource);
    if token.used_at.is_some() {
        return careful().await;
    }
    if token.expires_at <= now || family.absolute_expires_at <= now {
        return Err(invalid_refresh());
    }
    let live = |s: &signin_session::Model| is_live(s, now);
    let user = user.filter(|u| u.id == family.user_id && u.status == UserStatus::Active);
    let (Some(user), Some(session)) = (user, session.filter(live)) else {
        return careful().await;
    };
    super::resource::within_grant(family.resource.as_deref(), resource)?;
    let scope = narrowed_scope(&family.scope, requested_scope)?;
    let factors = FactorTimes::of(&session);
    let roles = policy::token_roles(&held_roles, &factors, now);
    let Some(event) = factors.describe(|_| true) else {
        return careful().await;
    };
    let next = secrets::random_token(32);
    let authentication = Authentication {
        sid: session.id.clone(),
        auth_time: event.at,
        amr: event.amr(),
        acr: event.factor.acr().to_owned(),
    };
    let grant = Grant {
        issuer: issuer.issuer,
        app,
        client,
        user: Some(&user),
        authentication: Some(&authentication),
        scope: &scope,
        roles: &roles,
        nonce: None,
        resource: family.resource.as_deref(),
        family_id: Some(&family.id),
    };
    let response = issuer.mint(&signing_keys, &grant, Some(next.clone()))?;

    let rotation = Rotation {
        app_id: app.id.clone(),
        token_id: token.id.clone(),
        family_id: family.id.clone(),
        successor: next,
        idle: Duration::seconds(app.refresh_idle_secs),
    };
    match issuer.rotations.rotate(rotation).await {
        Ok(Rotated::Replaced) => {}
        // Used, revoked or signed out since it was read: decide carefully.
        Ok(Rotated::Lost) => return careful().await,
        Err(err) => {
            tracing::warn!(%err, "a group of refresh rotations failed; retrying this one alone");
            return careful().await;
        }
    }
    // Using the tokens keeps the sign-in session alive, as activity on the
    // hosted pages does.
    crate::core::sessions::keep_alive(db, app, session).await?;
    Ok(response)
}

/// The granted scope, or the narrower one the client asks for now.
fn narrowed_scope(granted: &str, requested: Option<&str>) -> Result<Scope, OAuthError> {
    let granted = Scope::parse(granted)?;
    match requested {
        Some(raw) if !raw.is_empty() => {
            let narrowed = Scope::parse(raw)?;
            if !narrowed.is_within(&granted) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "A refresh cannot widen the granted scope.",
                ));
            }
            Ok(narrowed)
        }
        _ => Ok(granted),
    }
}

/// The refresh grant decided entirely under the family's lock: reuse
/// detection, the grace window, sessions that ended.
async fn refresh_locked(
    issuer: &Issuer<'_>,
    client: &oauth_client::Model,
    presented: &str,
    requested_scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let db = issuer.db;
    let app = issuer.app;
    let signing_keys = issuer.signing_keys().await?;
    let tx = begin_write(db).await?;
    let Some(token) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secrets::sha256_hex(presented)))
        .filter(refresh_token::Column::AppId.eq(app.id.as_str()))
        .one(&tx)
        .await?
    else {
        return Err(invalid_refresh());
    };
    // The family row is locked for the rest of the grant (FOR UPDATE on
    // PostgreSQL; SQLite's write transaction already excludes others), so
    // two refreshes of one family, a replay within the grace window among
    // them, run one after the other and the second sees the first's change.
    let family = token_family::Entity::find_by_id(token.family_id.as_str())
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(invalid_refresh)?;
    // Re-read under the lock: a concurrent refresh may have used it.
    let token = refresh_token::Entity::find_by_id(token.id.as_str())
        .one(&tx)
        .await?
        .ok_or_else(invalid_refresh)?;
    if family.client_id != client.id || family.revoked_at.is_some() {
        return Err(invalid_refresh());
    }
    let now = clock::now();

    if let Some(used_at) = token.used_at {
        // The only allowed second use: within the app's grace window, of the
        // immediate predecessor of a successor nobody has used yet (a client
        // that lost the response).
        let newest = refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(family.id.as_str()))
            .order_by_desc(refresh_token::Column::CreatedAt)
            .one(&tx)
            .await?;
        let within_grace = app.refresh_grace_secs > 0
            && used_at + Duration::seconds(app.refresh_grace_secs) >= now
            && token.expires_at > now
            && newest.as_ref().is_some_and(|n| {
                n.id != token.id && n.used_at.is_none() && n.created_at == used_at
            });
        if within_grace {
            // The lost successor is superseded: used and expired at once, so
            // presenting it later is reuse, never another grace.
            let lost = newest.expect("checked above");
            let superseded = refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
                .col_expr(refresh_token::Column::ExpiresAt, Expr::value(now))
                .filter(refresh_token::Column::Id.eq(lost.id.as_str()))
                .filter(refresh_token::Column::UsedAt.is_null())
                .exec(&tx)
                .await?;
            if superseded.rows_affected != 1 {
                // Another replay took the grace first: this one is reuse.
                return reuse_detected(tx, issuer, &family, client).await;
            }
        } else {
            // RFC 9700 §4.14.2: reuse revokes the family.
            return reuse_detected(tx, issuer, &family, client).await;
        }
    } else {
        let spent = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(token.id.as_str()))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&tx)
            .await?;
        if spent.rows_affected != 1 {
            return reuse_detected(tx, issuer, &family, client).await;
        }
    }
    if token.expires_at <= now || family.absolute_expires_at <= now {
        return Err(invalid_refresh());
    }
    let user = app_user::Entity::find_by_id(family.user_id.as_str())
        .one(&tx)
        .await?
        .filter(|u| u.status == UserStatus::Active);
    let session = match &family.signin_session_id {
        Some(id) => {
            signin_session::Entity::find_by_id(id.as_str())
                .one(&tx)
                .await?
        }
        None => None,
    };
    let live = |s: &signin_session::Model| is_live(s, now);
    let (Some(user), Some(session)) = (user, session.filter(live)) else {
        revoke_family(&tx, &family.id, "session_ended").await?;
        tx.commit().await?;
        return Err(invalid_refresh());
    };
    super::resource::within_grant(family.resource.as_deref(), resource)?;
    let scope = narrowed_scope(&family.scope, requested_scope)?;
    // Using the tokens keeps the sign-in session alive, as activity on the
    // hosted pages would.
    let idle = (now + Duration::seconds(app.session_idle_secs)).min(session.absolute_expires_at);
    signin_session::Entity::update_many()
        .col_expr(signin_session::Column::LastSeenAt, Expr::value(now))
        .col_expr(signin_session::Column::IdleExpiresAt, Expr::value(idle))
        .filter(signin_session::Column::Id.eq(session.id.as_str()))
        .exec(&tx)
        .await?;

    // Roles are re-evaluated: a role whose max auth age has passed since
    // the sign-in drops out of the token.
    let factors = FactorTimes::of(&session);
    let roles = policy::token_roles(&policy::roles_of_user(&tx, &user.id).await?, &factors, now);
    let Some(event) = factors.describe(|_| true) else {
        revoke_family(&tx, &family.id, "session_ended").await?;
        tx.commit().await?;
        return Err(invalid_refresh());
    };
    // Created at the instant its predecessor was used: that is how the grace
    // window recognises the immediate successor.
    let next = issue_refresh_token(&tx, app, &family.id, now).await?;
    let authentication = Authentication {
        sid: session.id.clone(),
        auth_time: event.at,
        amr: event.amr(),
        acr: event.factor.acr().to_owned(),
    };
    let grant = Grant {
        issuer: issuer.issuer,
        app,
        client,
        user: Some(&user),
        authentication: Some(&authentication),
        scope: &scope,
        roles: &roles,
        nonce: None,
        resource: family.resource.as_deref(),
        family_id: Some(&family.id),
    };
    let response = issuer.mint(&signing_keys, &grant, Some(next))?;
    tx.commit().await?;
    Ok(response)
}

async fn reuse_detected(
    tx: DatabaseTransaction,
    issuer: &Issuer<'_>,
    family: &token_family::Model,
    client: &oauth_client::Model,
) -> Result<TokenResponse, OAuthError> {
    revoke_family(&tx, &family.id, "reuse_detected").await?;
    audit::record(
        &tx,
        Event {
            app_id: &issuer.app_id(),
            actor: &Actor::anonymous(None),
            action: "token.reuse_detected",
            target: Some(Target::new("user", family.user_id.as_str())),
            details: json!({ "family_id": family.id, "client_id": client.id }),
        },
    )
    .await?;
    // The revocation and its record must stick even though the request fails.
    tx.commit().await?;
    Err(invalid_refresh())
}

/// grant_type=client_credentials (RFC 6749 §4.4): confidential clients only;
/// the client is the subject, there is no user, no ID token, no refresh.
pub async fn client_credentials(
    issuer: &Issuer<'_>,
    client: &oauth_client::Model,
    requested_scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::new(
            "unauthorized_client",
            "Only confidential clients may use client_credentials.",
        ));
    }
    let scope = Scope::parse(requested_scope.unwrap_or(""))?;
    if scope.is_openid() || scope.has("offline_access") {
        return Err(OAuthError::new(
            "invalid_scope",
            "openid and offline_access need a user; client_credentials has none.",
        ));
    }
    let resource = super::resource::requested(issuer.app, resource)?;
    let signing_keys = issuer.signing_keys().await?;
    let grant = Grant {
        issuer: issuer.issuer,
        app: issuer.app,
        client,
        user: None,
        authentication: None,
        scope: &scope,
        roles: &[],
        nonce: None,
        resource: resource.as_deref(),
        family_id: None,
    };
    let response = issuer.mint(&signing_keys, &grant, None)?;
    // Routine: counted, and summarised in the audit chain every few seconds.
    issuer
        .tally
        .count(&issuer.app.id, &client.id, &client.name, &response.scope);
    Ok(response)
}
