//! grant_type=refresh_token (RFC 6749 §6): refresh tokens rotate on every
//! use inside their family; presenting one that was already used revokes
//! the whole family and is audited as `token.reuse_detected` (RFC 9700
//! §4.14.2), except for the immediate predecessor inside the grace window.

use crate::core::write;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;

use crate::core::audit::{self, Action, Event, Target};
use crate::core::mail::notices;
use crate::core::mail::templates::Notice;
use crate::core::oidc::minting::{Authentication, Grant};
use crate::core::oidc::rotation::{Rotated, Rotation};
use crate::core::oidc::scope::Scope;
use crate::core::oidc::{ErrorCode, OAuthError};
use crate::core::orgs::claims::{self, OrgClaims};
use crate::core::sessions::{self, FactorTimes, is_live};
use crate::core::write::{Actor, Write};
use crate::core::{policy, secrets};
use crate::entities::{app_user, oauth_client, refresh_token, role, signin_session, token_family};
use crate::types::UserStatus;

use super::{Issuer, TokenResponse, issue_refresh_token, revoke_family};
use crate::core::oidc::refresh_reads::TokenRow;

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
    let held_roles: Vec<role::Model> = rows.iter().filter_map(|row| row.role.clone()).collect();
    let Some(TokenRow {
        token,
        family: Some(family),
        session,
        user,
        membership,
        ..
    }) = rows.into_iter().next()
    else {
        return Err(invalid_refresh());
    };
    // Batched reads look tokens up by hash alone: another app's token is
    // no token here.
    if token.app_id != app.id {
        return Err(invalid_refresh());
    }
    let now = issuer.db.now();
    if token.used_at.is_some() {
        return refresh_locked(issuer, client, presented, requested_scope, resource).await;
    }
    let basis = Basis {
        token: &token,
        family: &family,
        session: session.as_ref(),
        user: user.as_ref(),
        roles: &held_roles,
    };
    let minting = match judge(
        app,
        client,
        &basis,
        requested_scope,
        resource,
        now,
        Path::Fast,
    ) {
        Verdict::Mint(minting) => minting,
        Verdict::Refuse(error) => return Err(error),
        Verdict::Careful | Verdict::EndFamily => {
            return refresh_locked(issuer, client, presented, requested_scope, resource).await;
        }
    };
    let careful = || refresh_locked(issuer, client, presented, requested_scope, resource);
    // The membership came with the token: only custom organization roles'
    // policies are read here.
    let org = match (&family.organization_id, membership) {
        (Some(_), Some(read)) => claims::standing_of(
            db,
            &app.id,
            read.membership,
            read.organization,
            minting.scope.has("teams").then_some(read.teams),
        )
        .await?
        .map(|standing| standing.claims(&FactorTimes::of(&minting.session), now)),
        _ => None,
    };
    let next = secrets::random_token(32);
    let response = issuer.mint(
        &signing_keys,
        &minting.grant(issuer, client, &family, org.as_ref(), now),
        Some(next.clone()),
    )?;
    let session = minting.session.clone();

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
    // hosted pages does. N9: the rotation is committed, so this is best
    // effort: failing the request now would leave the client without its
    // new token, and its retry with the spent one would look like reuse
    // (a revoked family and a false alarm).
    if let Err(err) = crate::core::sessions::keep_alive(db, app, session).await {
        tracing::warn!(%err, "extending a sign-in session after a refresh failed");
    }
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
                    ErrorCode::InvalidScope,
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
    let tx = write::begin(db, Actor::client(&client.id, &client.name)).await?;
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
    let now = tx.now;

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
    let user = app_user::Entity::find_by_id(family.user_id.as_str())
        .one(&tx)
        .await?;
    let session = match &family.signin_session_id {
        Some(id) => {
            signin_session::Entity::find_by_id(id.as_str())
                .one(&tx)
                .await?
        }
        None => None,
    };
    let roles = match &user {
        Some(user) => policy::roles_of_user(&tx, &user.id).await?,
        None => Vec::new(),
    };
    let basis = Basis {
        token: &token,
        family: &family,
        session: session.as_ref(),
        user: user.as_ref(),
        roles: &roles,
    };
    let minting = match judge(
        app,
        client,
        &basis,
        requested_scope,
        resource,
        now,
        Path::Locked,
    ) {
        Verdict::Mint(minting) => minting,
        // Rolled back: the presented token stays as it was (a family held
        // back until its user confirms the address goes on afterwards).
        Verdict::Refuse(error) => return Err(error),
        Verdict::EndFamily | Verdict::Careful => {
            revoke_family(&tx, &family.id, "session_ended").await?;
            tx.commit().await?;
            return Err(invalid_refresh());
        }
    };
    // Using the tokens keeps the sign-in session alive, as activity on the
    // hosted pages would (the same rule as the fast path's).
    sessions::extend(&tx, now, app, minting.session.clone()).await?;
    // Created at the instant its predecessor was used: that is how the grace
    // window recognises the immediate successor.
    let next = issue_refresh_token(&tx, app, &family.id, now).await?;
    let org = org_claims(&tx, app, &family, &minting, now).await?;
    let response = issuer.mint(
        &signing_keys,
        &minting.grant(issuer, client, &family, org.as_ref(), now),
        Some(next),
    )?;
    tx.commit().await?;
    Ok(response)
}

/// What a refresh stands on, read by either path: the presented token, its
/// family, the family's sign-in session, that session's user and the
/// user's roles.
struct Basis<'a> {
    token: &'a refresh_token::Model,
    family: &'a token_family::Model,
    session: Option<&'a signin_session::Model>,
    user: Option<&'a app_user::Model>,
    roles: &'a [role::Model],
}

/// Which path asks: the optimistic one (no lock; anything in doubt goes to
/// the careful path) or the careful one (under the family's lock, after
/// the presented token was spent; it decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Fast,
    Locked,
}

/// What the refresh comes to.
enum Verdict<'a> {
    /// New tokens, made of this.
    Mint(Box<Minting<'a>>),
    /// Not decidable without the family's lock (the fast path only).
    Careful,
    /// What the family stood on is gone (the user, the session, any
    /// factor): it ends (the careful path only).
    EndFamily,
    /// Refused as `error`.
    Refuse(OAuthError),
}

/// What new tokens are made of.
struct Minting<'a> {
    user: &'a app_user::Model,
    session: signin_session::Model,
    scope: Scope,
    roles: Vec<String>,
    authentication: Authentication,
}

impl Minting<'_> {
    fn grant<'g>(
        &'g self,
        issuer: &'g Issuer<'_>,
        client: &'g oauth_client::Model,
        family: &'g token_family::Model,
        org: Option<&'g OrgClaims>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Grant<'g> {
        Grant {
            issuer: issuer.issuer,
            app: issuer.app,
            client,
            user: Some(self.user),
            authentication: Some(&self.authentication),
            scope: &self.scope,
            roles: &self.roles,
            nonce: None,
            resource: family.resource.as_deref(),
            family_id: Some(&family.id),
            issued_at: now,
            org,
        }
    }
}

/// The organization claims of a family's next tokens, from the membership
/// as it is now: a member removed, an organization deleted, a role taken
/// away since the last refresh shows here (the family goes on without).
async fn org_claims<C: sea_orm::ConnectionTrait>(
    db: &C,
    app: &crate::entities::app::Model,
    family: &token_family::Model,
    minting: &Minting<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<OrgClaims>, OAuthError> {
    let Some(org_id) = &family.organization_id else {
        return Ok(None);
    };
    let with_teams = minting.scope.has("teams");
    Ok(
        claims::standing(db, &app.id, org_id, &minting.user.id, with_teams)
            .await?
            .map(|standing| standing.claims(&FactorTimes::of(&minting.session), now)),
    )
}

/// The one refresh decision, for both paths (so a rule added to one is a
/// rule of both): the client's own live family, an unexpired token, an
/// active user (with a confirmed address where the app requires one) and a
/// live session, the resource and scope within the grant; roles are
/// re-evaluated (a role whose max auth age has passed since the sign-in
/// drops out of the token).
fn judge<'a>(
    app: &crate::entities::app::Model,
    client: &oauth_client::Model,
    basis: &Basis<'a>,
    requested_scope: Option<&str>,
    resource: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
    path: Path,
) -> Verdict<'a> {
    // What only the careful path may conclude.
    let in_doubt = |verdict: Verdict<'a>| match path {
        Path::Fast => Verdict::Careful,
        Path::Locked => verdict,
    };
    let (token, family) = (basis.token, basis.family);
    if family.client_id != client.id || family.revoked_at.is_some() {
        return Verdict::Refuse(invalid_refresh());
    }
    if token.expires_at <= now || family.absolute_expires_at <= now {
        return Verdict::Refuse(invalid_refresh());
    }
    let user = basis
        .user
        .filter(|u| u.id == family.user_id && u.status == UserStatus::Active);
    if user.is_some_and(|u| !confirmed_enough(app, u)) {
        // The app came to require a confirmed address after this family
        // was issued: no tokens until the user confirms it (the family
        // stays, to go on once they have).
        return in_doubt(Verdict::Refuse(OAuthError::new(
            ErrorCode::InvalidGrant,
            "The user must confirm their e-mail address first.",
        )));
    }
    let (Some(user), Some(session)) = (user, basis.session.filter(|s| is_live(s, now))) else {
        return in_doubt(Verdict::EndFamily);
    };
    if let Err(error) =
        crate::core::oidc::resource::within_grant(family.resource.as_deref(), resource)
    {
        return Verdict::Refuse(error);
    }
    let scope = match narrowed_scope(&family.scope, requested_scope) {
        Ok(scope) => scope,
        Err(error) => return Verdict::Refuse(error),
    };
    let factors = FactorTimes::of(session);
    let Some(event) = factors.describe(|_| true) else {
        return in_doubt(Verdict::EndFamily);
    };
    Verdict::Mint(Box::new(Minting {
        user,
        session: session.clone(),
        roles: policy::token_roles(basis.roles, &factors, now),
        scope,
        authentication: Authentication {
            sid: session.id.clone(),
            auth_time: event.at,
            amr: event.amr(),
            acr: event.factor.acr().to_owned(),
        },
    }))
}

/// An app that requires a confirmed address issues tokens only for one.
fn confirmed_enough(app: &crate::entities::app::Model, user: &app_user::Model) -> bool {
    !app.require_verified_email || user.email_verified
}

async fn reuse_detected(
    tx: Write,
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
            action: Action::TokenReuseDetected,
            target: Some(Target::user(family.user_id.as_str())),
            details: json!({ "family_id": family.id, "client_id": client.id }),
        },
    )
    .await?;
    if let Some(user) = app_user::Entity::find_by_id(family.user_id.as_str())
        .one(&tx)
        .await?
    {
        notices::notify_in(
            &tx,
            issuer.app,
            &user,
            Notice::TokenReplayed {
                client: client.name.clone(),
            },
        )
        .await?;
    }
    // The revocation and its record must stick even though the request fails.
    tx.commit().await?;
    Err(invalid_refresh())
}
