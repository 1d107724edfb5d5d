//! OpenID Connect Back-Channel Logout 1.0: a provider tells us one of its
//! sessions (or a whole account) ended, and the 1Auth sessions opened
//! through it end at once, with their refresh-token families. That is how
//! offboarding at the directory reaches the admin panel.
//!
//! The logout token is checked as §2.6 says: signed with one of the
//! provider's keys, our client as audience, the provider as issuer,
//! recent, with `sub` or `sid`, the back-channel event, no `nonce`; and its
//! `jti` is spent, so a captured token replays nothing.

use chrono::{DateTime, Duration, Utc};
use josekit::jwk::Jwk;
use josekit::jws::{ES256, ES384, EdDSA, JwsVerifier, PS256, RS256, RS384, RS512};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::flow::Endpoints;
use crate::core::audit::{self, Action, Event, Target};
use crate::core::ceremonies::{self, Ceremony};
use crate::core::db::Db;
use crate::core::fault::Fault;
use crate::core::sessions;
use crate::core::write::{self, Actor};
use crate::entities::{app, external_identity, identity_provider, signin_session};

/// §2.4: the member of `events` that names a back-channel logout.
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token older than this is refused (its `jti` is kept as long).
const MAX_AGE: Duration = Duration::minutes(10);
const CLOCK_SKEW: Duration = Duration::minutes(2);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutRefusal {
    #[error("The logout token is not signed with one of the provider's keys.")]
    Signature,
    #[error("The logout token is not valid: {0}.")]
    Claims(&'static str),
    #[error("The logout token was already used.")]
    Replayed,
}

/// The claims of a verified logout token that say what ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutClaims {
    pub issuer: String,
    pub subject: Option<String>,
    pub session_id: Option<String>,
    pub jti: String,
    pub issued_at: DateTime<Utc>,
}

/// Verify `token` against `provider`'s keys and client id (pure).
pub fn verify(
    provider: &identity_provider::Model,
    endpoints: &Endpoints,
    token: &str,
    now: DateTime<Utc>,
) -> Result<LogoutClaims, LogoutRefusal> {
    let Endpoints::Oidc(discovered) = endpoints else {
        return Err(LogoutRefusal::Claims(
            "this provider sends no logout tokens",
        ));
    };
    let keys = serde_json::to_value(discovered.metadata.jwks()).unwrap_or_default();
    let keys: Vec<Jwk> = keys
        .get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_object().cloned())
                .filter_map(|k| Jwk::from_map(k).ok())
                .collect()
        })
        .unwrap_or_default();
    let header = josekit::jwt::decode_header(token).map_err(|_| LogoutRefusal::Signature)?;
    let alg = header
        .claim("alg")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let kid = header.claim("kid").and_then(|v| v.as_str());
    let verifier = select_verifier(&keys, alg, kid).ok_or(LogoutRefusal::Signature)?;
    let (payload, header) = josekit::jwt::decode_with_verifier(token, verifier.as_ref())
        .map_err(|_| LogoutRefusal::Signature)?;
    // §2.4: typ "logout+jwt" is recommended; a token typed as something
    // else (an ID token, an access token) is not a logout token.
    if let Some(typ) = header.token_type()
        && !typ.eq_ignore_ascii_case("logout+jwt")
        && !typ.eq_ignore_ascii_case("JWT")
    {
        return Err(LogoutRefusal::Claims("it is not a logout token"));
    }
    let claims = payload.claims_set();
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let issuer = text("iss").ok_or(LogoutRefusal::Claims("no issuer"))?;
    let published = discovered.metadata.issuer().as_str();
    let tenant_issuer = text("tid").map(|tid| published.replace("{tenantid}", &tid));
    if issuer != published && tenant_issuer.as_deref() != Some(issuer.as_str()) {
        return Err(LogoutRefusal::Claims("another issuer"));
    }
    let audience_ok = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => *aud == provider.client_id,
        Some(serde_json::Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str() == Some(provider.client_id.as_str())),
        _ => false,
    };
    if !audience_ok {
        return Err(LogoutRefusal::Claims("another audience"));
    }
    let issued_at = claims
        .get("iat")
        .and_then(|v| v.as_i64())
        .and_then(|iat| DateTime::from_timestamp(iat, 0))
        .ok_or(LogoutRefusal::Claims("no issue time"))?;
    if issued_at > now + CLOCK_SKEW || now - issued_at > MAX_AGE {
        return Err(LogoutRefusal::Claims("not recent"));
    }
    if let Some(exp) = claims.get("exp").and_then(|v| v.as_i64())
        && exp < now.timestamp()
    {
        return Err(LogoutRefusal::Claims("expired"));
    }
    let event = claims
        .get("events")
        .and_then(|e| e.as_object())
        .and_then(|e| e.get(LOGOUT_EVENT));
    if !event.is_some_and(|e| e.is_object()) {
        return Err(LogoutRefusal::Claims("no back-channel logout event"));
    }
    if claims.contains_key("nonce") {
        return Err(LogoutRefusal::Claims("it carries a nonce"));
    }
    let jti = text("jti").ok_or(LogoutRefusal::Claims("no jti"))?;
    let (subject, session_id) = (text("sub"), text("sid"));
    if subject.is_none() && session_id.is_none() {
        return Err(LogoutRefusal::Claims("neither sub nor sid"));
    }
    Ok(LogoutClaims {
        issuer,
        subject,
        session_id,
        jti,
        issued_at,
    })
}

/// The verifier for the key the header names (by `kid`, else the only
/// key that suits the algorithm).
fn select_verifier(keys: &[Jwk], alg: &str, kid: Option<&str>) -> Option<Box<dyn JwsVerifier>> {
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(|k| match kid {
            Some(kid) => k.key_id() == Some(kid),
            None => true,
        })
        .filter(|k| k.key_use().is_none_or(|u| u == "sig"))
        .collect();
    let [key] = candidates.as_slice() else {
        return None;
    };
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(key).ok()?),
        "RS384" => Box::new(RS384.verifier_from_jwk(key).ok()?),
        "RS512" => Box::new(RS512.verifier_from_jwk(key).ok()?),
        "PS256" => Box::new(PS256.verifier_from_jwk(key).ok()?),
        "ES256" => Box::new(ES256.verifier_from_jwk(key).ok()?),
        "ES384" => Box::new(ES384.verifier_from_jwk(key).ok()?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(key).ok()?),
        // "none" and HMAC: a logout token must be signed with a key of
        // the provider's own.
        _ => return None,
    };
    Some(verifier)
}

/// Receive a logout token: verify it, spend its `jti`, end the sessions it
/// names (and their token families) and record `upstream.logged_out`.
/// Answers how many sessions ended.
pub async fn receive(
    db: &Db,
    app: &app::Model,
    provider: &identity_provider::Model,
    endpoints: &Endpoints,
    token: &str,
) -> Result<Result<u64, LogoutRefusal>, Fault> {
    let claims = match verify(provider, endpoints, token, db.now()) {
        Ok(claims) => claims,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // The provider's identities of this issuer (and subject, when the
    // token names no session), as a subquery: no list of ids is bound.
    let mut identities = sea_orm::sea_query::Query::select()
        .column(external_identity::Column::Id)
        .from(external_identity::Entity)
        .and_where(external_identity::Column::ProviderId.eq(provider.id.as_str()))
        .and_where(external_identity::Column::Issuer.eq(claims.issuer.as_str()))
        .to_owned();
    let mut sessions_query =
        signin_session::Entity::find().filter(signin_session::Column::EndedAt.is_null());
    match (&claims.session_id, &claims.subject) {
        // §2.4: a `sid` names one upstream session. (Entra ID keys its
        // identities by `tid:oid` while its tokens carry a pairwise `sub`:
        // the session id is what finds them.)
        (Some(sid), _) => {
            sessions_query =
                sessions_query.filter(signin_session::Column::UpstreamSid.eq(sid.as_str()));
        }
        (None, Some(subject)) => {
            identities.and_where(external_identity::Column::Subject.eq(subject.as_str()));
        }
        (None, None) => return Ok(Err(LogoutRefusal::Claims("neither sub nor sid"))),
    }
    let sessions_query =
        sessions_query.filter(signin_session::Column::UpstreamIdentityId.in_subquery(identities));
    let found = sessions_query.all(db).await?;
    let tx = write::begin(db, Actor::system()).await?;
    let jti = Ceremony {
        id: format!("logout:{}:{}", provider.id, claims.jti),
        expires_at: claims.issued_at + MAX_AGE + CLOCK_SKEW,
    };
    if !ceremonies::spend_once(&tx, &jti).await? {
        return Ok(Err(LogoutRefusal::Replayed));
    }
    let mut ended = 0;
    for session in &found {
        if sessions::end(&tx, &session.id, "upstream_logout").await? {
            ended += 1;
        }
    }
    audit::record(
        &tx,
        Event {
            app_id: &app.id,
            actor: &tx.actor,
            action: Action::UpstreamLoggedOut,
            target: Some(Target::provider(provider.slug.as_str())),
            details: json!({
                "issuer": claims.issuer,
                "subject": claims.subject,
                "sid": claims.session_id,
                "sessions_ended": ended,
                "users": found.iter().map(|s| s.user_id.as_str()).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(ended))
}
