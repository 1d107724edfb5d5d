//! Minting and verifying the JWTs of an app: access tokens (RFC 9068,
//! `typ: at+jwt`, ES256) and ID tokens (OIDC Core §2, ES256 or RS256 as the
//! client registered).

use std::time::{Duration as StdDuration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use josekit::jws::JwsHeader;
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::OAuthError;
use super::keys::{self, ActiveKeys};
use super::scope::Scope;
use crate::core::cache::TtlMap;
use crate::core::db::Db;
use crate::core::orgs::claims::OrgClaims;
use crate::core::secrets;
use crate::entities::{app, app_user, oauth_client};
use crate::types::{Alg, AppId};

/// `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";
/// Private claim of an access token: the id of its refresh-token family.
pub const FAMILY_CLAIM: &str = "fid";

/// Facts of the sign-in behind a token.
#[derive(Debug, Clone)]
pub struct Authentication {
    pub sid: String,
    pub auth_time: DateTime<Utc>,
    pub amr: Vec<String>,
    pub acr: String,
}

/// Everything a token says.
pub struct Grant<'a> {
    pub issuer: &'a str,
    pub app: &'a app::Model,
    pub client: &'a oauth_client::Model,
    /// The user; `None` for client_credentials (the client is the subject).
    pub user: Option<&'a app_user::Model>,
    pub authentication: Option<&'a Authentication>,
    pub scope: &'a Scope,
    /// Roles whose factor policy the session meets.
    pub roles: &'a [String],
    pub nonce: Option<&'a str>,
    /// RFC 8707: the resource server the access token is for (its `aud`).
    pub resource: Option<&'a str>,
    /// When the tokens are issued (their `iat`; `exp` counts from it).
    pub issued_at: DateTime<Utc>,
    /// The refresh-token family the grant belongs to, so a resource server
    /// asking 1Auth (introspection, userinfo) learns when it was revoked.
    pub family_id: Option<&'a str>,
    /// The organization the tokens speak for, if one was selected.
    pub org: Option<&'a OrgClaims>,
}

impl Grant<'_> {
    fn subject(&self) -> String {
        self.user
            .map(|u| u.id.clone())
            .unwrap_or_else(|| self.client.id.clone())
    }

    fn authentication_claims(&self, payload: &mut JwtPayload) -> Result<(), OAuthError> {
        if let Some(auth) = self.authentication {
            payload.set_claim("sid", Some(json!(auth.sid)))?;
            payload.set_claim("auth_time", Some(json!(auth.auth_time.timestamp())))?;
            payload.set_claim("amr", Some(json!(auth.amr)))?;
            payload.set_claim("acr", Some(json!(auth.acr)))?;
        }
        Ok(())
    }

    /// `org_id`, `org_slug`, `org_roles` (and `teams`), in both tokens.
    fn org_claims(&self, payload: &mut JwtPayload) -> Result<(), OAuthError> {
        if let Some(org) = self.org {
            payload.set_claim("org_id", Some(json!(org.org_id)))?;
            payload.set_claim("org_slug", Some(json!(org.org_slug)))?;
            payload.set_claim("org_roles", Some(json!(org.org_roles)))?;
            if let Some(teams) = &org.teams {
                payload.set_claim("teams", Some(json!(teams)))?;
            }
        }
        Ok(())
    }
}

/// `seconds_from_now` after `now`, as the JWT library takes times.
fn system_time(now: DateTime<Utc>, seconds_from_now: i64) -> SystemTime {
    let now = SystemTime::from(now);
    if seconds_from_now >= 0 {
        now + StdDuration::from_secs(seconds_from_now as u64)
    } else {
        now - StdDuration::from_secs(seconds_from_now.unsigned_abs())
    }
}

fn sign(key: &keys::SigningKey, typ: &str, payload: &JwtPayload) -> Result<String, OAuthError> {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(key.kid.clone());
    Ok(jwt::encode_with_signer(payload, &header, key.signer())?)
}

/// An access token and its lifetime in seconds.
pub fn mint_access_token(
    keys: &ActiveKeys,
    grant: &Grant<'_>,
) -> Result<(String, i64), OAuthError> {
    let ttl = grant.app.access_token_ttl_secs;
    let mut payload = JwtPayload::new();
    payload.set_issuer(grant.issuer);
    payload.set_subject(grant.subject());
    // RFC 9068 §3: `aud` names the resource server; without a resource
    // indicator the token is for the client's own use.
    payload.set_audience(vec![
        grant
            .resource
            .map(str::to_owned)
            .unwrap_or_else(|| grant.client.id.clone()),
    ]);
    payload.set_issued_at(&SystemTime::from(grant.issued_at));
    payload.set_expires_at(&system_time(grant.issued_at, ttl));
    payload.set_jwt_id(secrets::random_token(16));
    payload.set_claim("client_id", Some(json!(grant.client.id)))?;
    if let Some(family_id) = grant.family_id {
        payload.set_claim(FAMILY_CLAIM, Some(json!(family_id)))?;
    }
    payload.set_claim("scope", Some(json!(grant.scope.to_string())))?;
    payload.set_claim("roles", Some(json!(grant.roles)))?;
    grant.authentication_claims(&mut payload)?;
    grant.org_claims(&mut payload)?;
    Ok((
        sign(keys.get(Alg::Es256)?, ACCESS_TOKEN_TYP, &payload)?,
        ttl,
    ))
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token.
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The user's claims for `scope` (ID token and userinfo).
pub fn user_claims(user: &app_user::Model, scope: &Scope) -> serde_json::Map<String, Value> {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scope.has("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if scope.has("profile") {
        claims.insert(
            "name".into(),
            json!(
                user.display_name
                    .clone()
                    .unwrap_or_else(|| user.email.clone())
            ),
        );
        claims.insert("preferred_username".into(), json!(user.email));
    }
    claims
}

/// An ID token for the client, signed with the algorithm it registered.
pub fn mint_id_token(
    keys: &ActiveKeys,
    grant: &Grant<'_>,
    access_token: &str,
) -> Result<String, OAuthError> {
    let user = grant.user.ok_or_else(OAuthError::server_error)?;
    let mut payload = JwtPayload::from_map(user_claims(user, grant.scope))?;
    payload.set_issuer(grant.issuer);
    payload.set_audience(vec![grant.client.id.clone()]);
    payload.set_issued_at(&SystemTime::from(grant.issued_at));
    payload.set_expires_at(&system_time(
        grant.issued_at,
        grant.app.access_token_ttl_secs,
    ));
    payload.set_claim("azp", Some(json!(grant.client.id)))?;
    payload.set_claim("at_hash", Some(json!(at_hash(access_token))))?;
    if let Some(nonce) = grant.nonce {
        payload.set_claim("nonce", Some(json!(nonce)))?;
    }
    grant.authentication_claims(&mut payload)?;
    grant.org_claims(&mut payload)?;
    let alg = grant.client.id_token_alg;
    sign(keys.get(alg)?, ID_TOKEN_TYP, &payload)
}

/// Why a presented JWT was not accepted (never shown in detail to callers).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token was not signed by this app")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token is of the wrong type")]
    WrongType,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token has expired")]
    Expired,
    /// The token could not be checked (the database did not answer): no
    /// verdict on the token, so the caller answers busy or broken.
    #[error("the token could not be checked: {0}")]
    Unchecked(super::OAuthError),
}

/// A verified JWT's claims.
#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: serde_json::Map<String, Value>,
}

impl Verified {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn exp(&self) -> Option<i64> {
        self.claims.get("exp").and_then(Value::as_i64)
    }

    pub fn audience(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(aud)) => vec![aud.clone()],
            Some(Value::Array(values)) => values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Verify a JWT against the app's published keys and issuer; `typ` when
/// given must match; expiry is checked unless `allow_expired` (an
/// id_token_hint may have expired: OIDC RP-Initiated Logout §2).
pub async fn verify(
    db: &Db,
    app_id: &AppId,
    issuer: &str,
    token: &str,
    typ: Option<&str>,
    allow_expired: bool,
) -> Result<Verified, TokenError> {
    let cache = db.cached::<VerifiedCache>();
    let cache_key = verified_cache_key(app_id, issuer, typ, token);
    let (verified, expires_at) = match cache.0.get(&cache_key) {
        Some(hit) => hit,
        None => {
            let checked = verify_signature(db, app_id, issuer, token, typ).await?;
            cache.0.put(cache_key, checked.clone());
            checked
        }
    };
    if !allow_expired {
        let exp = expires_at.ok_or(TokenError::Malformed)?;
        if exp <= SystemTime::from(db.now()) {
            return Err(TokenError::Expired);
        }
    }
    Ok(verified)
}

/// Tokens whose signature, type and issuer this process checked within the
/// last second (`cache::FRESH_FOR`): a resource server that introspects the
/// same token on every request costs one ECDSA verification a second, not
/// one per request (it was a quarter of the CPU of an introspection).
/// Expiry is checked on every use, and what a token stands on (session,
/// family, user, client) by the callers every time; a key retired by this
/// process empties the cache at once (`Db::forget_cached`).
struct VerifiedCache(TtlMap<[u8; 32], (Verified, Option<SystemTime>)>);

impl Default for VerifiedCache {
    fn default() -> Self {
        Self(TtlMap::named("verified_tokens"))
    }
}

/// The cache key: everything the check depended on, hashed (a token is
/// only as valid as the app, issuer and type it was checked for).
fn verified_cache_key(app_id: &str, issuer: &str, typ: Option<&str>, token: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([u8::from(typ.is_some())]);
    for part in [app_id, issuer, typ.unwrap_or(""), token] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// The signature (against the app's published key named by `kid`), the
/// type and the issuer; not the expiry, which comes back beside the claims.
async fn verify_signature(
    db: &Db,
    app_id: &AppId,
    issuer: &str,
    token: &str,
    typ: Option<&str>,
) -> Result<(Verified, Option<SystemTime>), TokenError> {
    let header = jwt::decode_header(token).map_err(|_| TokenError::Malformed)?;
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed)?
        .to_owned();
    let verifier = keys::verifier(db, app_id, &kid)
        .await
        .map_err(TokenError::Unchecked)?
        .ok_or(TokenError::UnknownKey)?;
    let (payload, header) = jwt::decode_with_verifier(token, verifier.as_ref())
        .map_err(|_| TokenError::BadSignature)?;
    if let Some(typ) = typ
        && !header
            .token_type()
            .is_some_and(|t| t.eq_ignore_ascii_case(typ))
    {
        return Err(TokenError::WrongType);
    }
    if payload.issuer() != Some(issuer) {
        return Err(TokenError::WrongIssuer);
    }
    let verified = Verified {
        claims: payload.claims_set().clone(),
    };
    Ok((verified, payload.expires_at()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_covers_app_issuer_type_and_token() {
        let key = verified_cache_key("a", "https://i/a", Some("at+jwt"), "t");
        assert_eq!(
            key,
            verified_cache_key("a", "https://i/a", Some("at+jwt"), "t")
        );
        for other in [
            verified_cache_key("b", "https://i/a", Some("at+jwt"), "t"),
            verified_cache_key("a", "https://i/b", Some("at+jwt"), "t"),
            verified_cache_key("a", "https://i/a", Some("JWT"), "t"),
            verified_cache_key("a", "https://i/a", None, "t"),
            verified_cache_key("a", "https://i/a", Some(""), "t"),
            verified_cache_key("a", "https://i/a", Some("at+jwt"), "u"),
            // Lengths are hashed too: parts cannot slide into each other.
            verified_cache_key("ah", "ttps://i/a", Some("at+jwt"), "t"),
        ] {
            assert_ne!(key, other);
        }
    }

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OIDC Core §3.1.3.6 example-style check: 16 bytes, base64url.
        assert_eq!(at_hash("dNZX1hEZ9wBCzNL40Upu646bdzQA").len(), 22);
        assert_ne!(at_hash("a"), at_hash("b"));
    }
}
