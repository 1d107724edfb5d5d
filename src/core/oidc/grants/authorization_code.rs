//! grant_type=authorization_code (RFC 6749 §4.1.3): a code spent once, bound
//! to its client, redirect URI and PKCE challenge (RFC 7636 §4.6); a code
//! presented twice revokes the family it started.

use crate::core::token_families;
use crate::core::write;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::core::audit::{self, Action, Event, Target};
use crate::core::db::write_together;
use crate::core::oidc::OAuthError;
use crate::core::oidc::minting::{Authentication, Grant};
use crate::core::oidc::scope::Scope;
use crate::core::orgs::claims;
use crate::core::secrets;
use crate::core::sessions::{FactorTimes, decode_amr};
use crate::core::write::{Actor, Write};
use crate::entities::{
    app_user, authorization_code, oauth_client, refresh_token, signin_session, token_family,
};
use crate::types::UserStatus;

use super::{Issuer, TokenResponse, revoke_family};

/// RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    secrets::constant_time_eq(&computed, challenge)
}

fn invalid_code() -> OAuthError {
    OAuthError::invalid_grant("The authorization code is invalid, expired or already used.")
}

/// RFC 6749 §4.1.2: a code used twice revokes what it already gave, and
/// the reuse is recorded (`token.code_reuse_detected`).
async fn code_reused(
    tx: Write,
    issuer: &Issuer<'_>,
    client: &oauth_client::Model,
    stored: &authorization_code::Model,
) -> Result<TokenResponse, OAuthError> {
    if let Some(family) = &stored.token_family_id {
        revoke_family(&tx, family, "code_reuse").await?;
    }
    audit::record(
        &tx,
        Event {
            app_id: &issuer.app_id(),
            actor: &Actor::anonymous(None),
            action: Action::TokenCodeReuseDetected,
            target: Some(Target::user(stored.user_id.as_str())),
            details: json!({ "client_id": client.id, "family_id": stored.token_family_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Err(invalid_code())
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
    let tx = write::begin(db, Actor::client(&client.id, &client.name)).await?;
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
        return code_reused(tx, issuer, client, &stored).await;
    }
    if stored.expires_at <= tx.now {
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
    crate::core::oidc::resource::within_grant(stored.resource.as_deref(), resource)?;
    let (Some(session), Some(user)) = (session, user) else {
        return Err(invalid_code());
    };
    if session.ended_at.is_some() || user.id != stored.user_id || user.status != UserStatus::Active
    {
        return Err(invalid_code());
    }

    let now = tx.now;
    let token_families::Opened {
        family,
        family_id,
        first_token: refresh,
        first_row: refresh_row,
    } = token_families::open(app, &stored, &session, now);
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
        // Another exchange of this code won the race (PostgreSQL lets both
        // read it unused): it is a second use all the same (N11), so what
        // the first one got is revoked, now that it has committed.
        tx.rollback().await?;
        let tx = write::begin(db, Actor::client(&client.id, &client.name)).await?;
        let stored = authorization_code::Entity::find_by_id(stored.code_hash.as_str())
            .one(&tx)
            .await?
            .ok_or_else(invalid_code)?;
        return code_reused(tx, issuer, client, &stored).await;
    }

    let scope = Scope::parse(&stored.scope)?;
    let roles: Vec<String> = serde_json::from_str(&stored.roles).unwrap_or_default();
    // The membership as it is now (it may have changed since the code was
    // issued), with the roles the session's factors meet.
    let org = match &stored.organization_id {
        Some(org_id) => claims::standing(&tx, &app.id, org_id, &user.id, scope.has("teams"))
            .await?
            .map(|standing| standing.claims(&FactorTimes::of(&session), now)),
        None => None,
    };
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
        issued_at: now,
        org: org.as_ref(),
    };
    let response = issuer.mint(&signing_keys, &grant, Some(refresh))?;
    audit::record(
        &tx,
        Event {
            app_id: &issuer.app_id(),
            actor: &Actor::user(&user.id, &user.email, None),
            action: Action::TokenGranted,
            target: Some(Target::user(user.id.as_str())),
            details: json!({
                "grant_type": "authorization_code",
                "client_id": client.id,
                "scope": response.scope,
                "roles": roles,
                "org": org,
                "family_id": family_id,
                "session_id": session.id,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(response)
}
