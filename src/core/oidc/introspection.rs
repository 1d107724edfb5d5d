//! Token revocation (RFC 7009) and introspection (RFC 7662).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use super::OAuthError;
use super::tokens::{self, ACCESS_TOKEN_TYP};
use crate::core::audit::{self, Actor, Event, Target};
use crate::core::db::Db;
use crate::core::db::begin_write;
use crate::core::types::{AppId, ClientType};
use crate::core::{clock, secrets, users};
use crate::entities::{app, app_user, oauth_client, refresh_token, signin_session, token_family};

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
    let tx = begin_write(db).await?;
    crate::core::tokens::revoke_family(&tx, &family.id, "revoked").await?;
    audit::record(
        &tx,
        Event {
            app_id: &AppId::parse(&app.id).expect("stored app ids are valid"),
            actor: &Actor::client(&client.id, &client.name),
            action: "token.revoked",
            target: Some(Target::new("user", family.user_id.as_str())),
            details: json!({ "family_id": family.id, "client_id": client.id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
    if client.client_type != ClientType::Confidential.as_str() {
        return Err(OAuthError::new(
            "unauthorized_client",
            "Only confidential clients may introspect tokens.",
        ));
    }
    if let Some((row, family)) = find_refresh(db, app, token).await? {
        let now = clock::now();
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
    let Ok(verified) =
        tokens::verify(db, &app.id, issuer, token, Some(ACCESS_TOKEN_TYP), false).await
    else {
        return Ok(inactive());
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
/// the user is active, the sign-in session (`sid`) is live and the token
/// family (`fid`) not revoked; for a client's own token, the client is
/// enabled.
pub async fn access_token_live(
    db: &Db,
    app: &app::Model,
    verified: &tokens::Verified,
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
    let now = clock::now();
    let session_live = match verified.str("sid") {
        Some(sid) => signin_session::Entity::find_by_id(sid)
            .filter(signin_session::Column::AppId.eq(app.id.as_str()))
            .one(db)
            .await?
            .is_some_and(|s| {
                s.user_id == subject
                    && s.ended_at.is_none()
                    && s.idle_expires_at > now
                    && s.absolute_expires_at > now
            }),
        None => false,
    };
    let family_live = match verified.str(tokens::FAMILY_CLAIM) {
        Some(fid) => token_family::Entity::find_by_id(fid)
            .one(db)
            .await?
            .is_some_and(|f| f.revoked_at.is_none() && f.app_id == app.id),
        None => true,
    };
    Ok(session_live && family_live && user_is_active(db, subject).await?)
}

async fn user_is_active(db: &Db, user_id: &str) -> Result<bool, OAuthError> {
    Ok(app_user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some_and(|u| u.status == users::STATUS_ACTIVE))
}
