//! Token revocation (RFC 7009) and introspection (RFC 7662).

use crate::core::write;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};
use serde_json::{Value, json};

use super::minting::{self, ACCESS_TOKEN_TYP};
use super::{ErrorCode, OAuthError};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::db::Db;
use crate::core::secrets;
use crate::core::write::Actor;
use crate::entities::{app, app_user, oauth_client, refresh_token, signin_session, token_family};
use crate::types::ClientType;
use crate::types::UserStatus;

/// A refresh token of this app, with its family.
async fn find_refresh(
    db: &Db,
    app: &app::Model,
    token: &str,
) -> Result<Option<(refresh_token::Model, token_family::Model)>, OAuthError> {
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secrets::sha256_hex(token)))
        .filter(refresh_token::Column::AppId.eq(app.id.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let family = token_family::Entity::find_by_id(row.family_id.as_str())
        .one(db)
        .await?;
    Ok(family.map(|f| (row, f)))
}

/// Revoke a token presented by `client`. A refresh token takes its whole
/// family with it. Unknown tokens, and tokens of other clients or other
/// apps, change nothing and get the same answer (RFC 7009 §2.2).
pub async fn revoke(
    db: &Db,
    app: &app::Model,
    client: &oauth_client::Model,
    token: &str,
) -> Result<(), OAuthError> {
    let Some((_, family)) = find_refresh(db, app, token).await? else {
        // Access tokens are short-lived JWTs and are not tracked.
        return Ok(());
    };
    if family.client_id != client.id || family.revoked_at.is_some() {
        return Ok(());
    }
    let tx = write::begin(db, Actor::client(&client.id, &client.name)).await?;
    crate::core::token_families::revoke(
        &tx,
        crate::core::token_families::Families::One(&family.id),
        "revoked",
    )
    .await?;
    audit::record(
        &tx,
        Event {
            app_id: &app.id,
            actor: &Actor::client(&client.id, &client.name),
            action: Action::TokenRevoked,
            target: Some(Target::user(family.user_id.as_str())),
            details: json!({ "family_id": family.id, "client_id": client.id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn is_jwt_shaped(token: &str) -> bool {
    token.split('.').count() == 3
}

fn inactive() -> Value {
    json!({ "active": false })
}

/// RFC 7662 §2.2. Only confidential clients may ask (resource servers
/// authenticate); a refresh token is described only to its own client.
pub async fn introspect(
    db: &Db,
    issuer: &str,
    app: &app::Model,
    client: &oauth_client::Model,
    token: &str,
) -> Result<Value, OAuthError> {
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Only confidential clients may introspect tokens.",
        ));
    }
    // Refresh tokens are opaque (no dots); a JWT is never one, so it does
    // not cost a lookup by hash.
    let refresh = match is_jwt_shaped(token) {
        true => None,
        false => find_refresh(db, app, token).await?,
    };
    if let Some((row, family)) = refresh {
        let now = db.now();
        let active = family.client_id == client.id
            && family.revoked_at.is_none()
            && row.used_at.is_none()
            && row.expires_at > now
            && family.absolute_expires_at > now
            && user_is_active(db, &family.user_id).await?;
        if !active {
            return Ok(inactive());
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": family.client_id,
            "sub": family.user_id,
            "scope": family.scope,
            "iss": issuer,
            "exp": row.expires_at.min(family.absolute_expires_at).timestamp(),
            "iat": row.created_at.timestamp(),
        }));
    }
    let verified =
        match minting::verify(db, &app.id, issuer, token, Some(ACCESS_TOKEN_TYP), false).await {
            Ok(verified) => verified,
            Err(minting::TokenError::Unchecked(failed)) => return Err(failed),
            Err(_) => return Ok(inactive()),
        };
    // RFC 7662 §2.2: a token whose grant ended (sign-out, revocation,
    // "sign out everywhere", deactivation) is inactive, although its
    // signature and expiry are still good.
    if !access_token_live(db, app, &verified).await? {
        return Ok(inactive());
    }
    let mut body = verified.claims;
    body.insert("active".into(), json!(true));
    body.insert("token_type".into(), json!("Bearer"));
    Ok(Value::Object(body))
}

/// Whether what an access token stands on still stands: for a user's token,
/// the user is active, the sign-in session (`sid`) is live, the token
/// family (`fid`) not revoked and the client it was issued to enabled (N7);
/// for a client's own token, the client is enabled.
pub async fn access_token_live(
    db: &Db,
    app: &app::Model,
    verified: &minting::Verified,
) -> Result<bool, OAuthError> {
    let subject = verified.str("sub").unwrap_or_default();
    let client_id = verified.str("client_id").unwrap_or_default();
    if verified.str("sid").is_none() {
        // client_credentials: the client is the subject.
        let client = oauth_client::Entity::find_by_id(client_id)
            .filter(oauth_client::Column::AppId.eq(app.id.as_str()))
            .one(db)
            .await?;
        return Ok(subject == client_id && client.is_some_and(|c| c.disabled_at.is_none()));
    }
    let Some(sid) = verified.str("sid") else {
        return Ok(false);
    };
    let Some(standing) = user_token_standing(
        db,
        &app.id,
        sid,
        client_id,
        verified.str(minting::FAMILY_CLAIM),
    )
    .await?
    else {
        return Ok(false);
    };
    let client_enabled = standing.client_id.is_some() && standing.client_disabled_at.is_none();
    let now = db.now();
    let session_live = standing.session_user_id == subject
        && standing.session_ended_at.is_none()
        && standing.session_idle_expires_at > now
        && standing.session_absolute_expires_at > now;
    let family_live = match verified.str(minting::FAMILY_CLAIM) {
        Some(_) => {
            standing.family_app_id.as_deref() == Some(app.id.as_str())
                && standing.family_revoked_at.is_none()
        }
        None => true,
    };
    Ok(session_live && family_live && client_enabled && standing.user_status == UserStatus::Active)
}

/// What a user's access token stands on, read in one round trip (this runs
/// for every introspection and userinfo request): its sign-in session, the
/// session's user and, when the token names one, its token family.
#[derive(Debug, FromQueryResult)]
struct Standing {
    session_user_id: String,
    session_ended_at: Option<DateTime<Utc>>,
    session_idle_expires_at: DateTime<Utc>,
    session_absolute_expires_at: DateTime<Utc>,
    user_status: UserStatus,
    family_app_id: Option<String>,
    family_revoked_at: Option<DateTime<Utc>>,
    client_id: Option<String>,
    client_disabled_at: Option<DateTime<Utc>>,
}

async fn user_token_standing(
    db: &Db,
    app_id: &str,
    sid: &str,
    client_id: &str,
    family_id: Option<&str>,
) -> Result<Option<Standing>, OAuthError> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};
    let (s, u, f, c) = (
        Alias::new("s"),
        Alias::new("u"),
        Alias::new("f"),
        Alias::new("c"),
    );
    let query = Query::select()
        .expr_as(
            Expr::col((s.clone(), signin_session::Column::UserId)),
            Alias::new("session_user_id"),
        )
        .expr_as(
            Expr::col((s.clone(), signin_session::Column::EndedAt)),
            Alias::new("session_ended_at"),
        )
        .expr_as(
            Expr::col((s.clone(), signin_session::Column::IdleExpiresAt)),
            Alias::new("session_idle_expires_at"),
        )
        .expr_as(
            Expr::col((s.clone(), signin_session::Column::AbsoluteExpiresAt)),
            Alias::new("session_absolute_expires_at"),
        )
        .expr_as(
            Expr::col((u.clone(), app_user::Column::Status)),
            Alias::new("user_status"),
        )
        .expr_as(
            Expr::col((f.clone(), token_family::Column::AppId)),
            Alias::new("family_app_id"),
        )
        .expr_as(
            Expr::col((f.clone(), token_family::Column::RevokedAt)),
            Alias::new("family_revoked_at"),
        )
        .expr_as(
            Expr::col((c.clone(), oauth_client::Column::Id)),
            Alias::new("client_id"),
        )
        .expr_as(
            Expr::col((c.clone(), oauth_client::Column::DisabledAt)),
            Alias::new("client_disabled_at"),
        )
        .from_as(signin_session::Entity, s.clone())
        .join_as(
            JoinType::InnerJoin,
            app_user::Entity,
            u.clone(),
            Expr::col((u.clone(), app_user::Column::Id))
                .equals((s.clone(), signin_session::Column::UserId)),
        )
        .join_as(
            JoinType::LeftJoin,
            token_family::Entity,
            f.clone(),
            Expr::col((f.clone(), token_family::Column::Id)).eq(family_id.unwrap_or_default()),
        )
        .join_as(
            JoinType::LeftJoin,
            oauth_client::Entity,
            c.clone(),
            Expr::col((c.clone(), oauth_client::Column::Id))
                .eq(client_id)
                .and(Expr::col((c.clone(), oauth_client::Column::AppId)).eq(app_id)),
        )
        .and_where(Expr::col((s.clone(), signin_session::Column::Id)).eq(sid))
        .and_where(Expr::col((s, signin_session::Column::AppId)).eq(app_id))
        .to_owned();
    let statement = db.get_database_backend().build(&query);
    Ok(Standing::find_by_statement(statement).one(db).await?)
}

async fn user_is_active(db: &Db, user_id: &str) -> Result<bool, OAuthError> {
    Ok(app_user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some_and(|u| u.status == UserStatus::Active))
}
