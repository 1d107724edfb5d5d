//! The UserInfo endpoint's rule (OIDC Core §5.3): the claims of the user an
//! access token of this app names, while the sign-in behind it lives and
//! the user is active, and only for a token granted `openid`.

use sea_orm::EntityTrait;
use serde_json::{Map, Value};

use super::OAuthError;
use super::introspection;
use super::minting::{self, ACCESS_TOKEN_TYP};
use super::scope::Scope;
use crate::core::db::Db;
use crate::core::orgs::claims::all_memberships;
use crate::core::sessions::FactorTimes;
use crate::entities::{app, app_user, signin_session};
use crate::types::UserStatus;

/// Why no claims are given (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    /// `invalid_token`, with what is wrong with it.
    #[error("{0}")]
    InvalidToken(String),
    /// `insufficient_scope`: the token was not granted `openid`.
    #[error("the token was not granted the openid scope")]
    InsufficientScope,
    /// Busy (`temporarily_unavailable`) or broken (`server_error`).
    #[error("userinfo failed: {0}")]
    Failed(OAuthError),
}

/// The user's claims for a presented access token.
pub async fn claims(
    db: &Db,
    app: &app::Model,
    issuer: &str,
    token: &str,
) -> Result<Map<String, Value>, UserinfoError> {
    let verified = minting::verify(db, &app.id, issuer, token, Some(ACCESS_TOKEN_TYP), false)
        .await
        .map_err(|err| match err {
            minting::TokenError::Unchecked(failed) => UserinfoError::Failed(failed),
            invalid => UserinfoError::InvalidToken(invalid.to_string()),
        })?;
    let live = introspection::access_token_live(db, app, &verified)
        .await
        .map_err(UserinfoError::Failed)?;
    if !live {
        return Err(UserinfoError::InvalidToken(
            "the sign-in behind the token has ended".into(),
        ));
    }
    let user = app_user::Entity::find_by_id(verified.str("sub").unwrap_or_default())
        .one(db)
        .await
        .map_err(|err| UserinfoError::Failed(err.into()))?
        .filter(|user| user.app_id == app.id && user.status == UserStatus::Active)
        .ok_or_else(|| {
            UserinfoError::InvalidToken("the token's user is not active in this app".into())
        })?;
    let scope = Scope::parse(verified.str("scope").unwrap_or_default()).unwrap_or_default();
    if !scope.is_openid() {
        return Err(UserinfoError::InsufficientScope);
    }
    let mut claims = minting::user_claims(&user, &scope);
    if scope.has("organizations") {
        // The roles the sign-in behind the token meets, as its tokens carry them.
        let session = match verified.str("sid") {
            Some(sid) => signin_session::Entity::find_by_id(sid)
                .one(db)
                .await
                .map_err(|err| UserinfoError::Failed(err.into()))?,
            None => None,
        };
        let factors = session.as_ref().map(FactorTimes::of).unwrap_or_default();
        let memberships = all_memberships(db, &app.id, &user.id, &factors, db.now())
            .await
            .map_err(|err| UserinfoError::Failed(err.into()))?;
        claims.insert("organizations".into(), Value::Array(memberships));
    }
    Ok(claims)
}
