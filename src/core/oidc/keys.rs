//! Per-app signing keys: an ES256 key (access tokens, ID tokens by default)
//! and an RS256 key (ID tokens for clients that ask for it, as OIDC requires
//! it be available). Private keys are sealed with the master key.
//!
//! Rotation makes new keys active and keeps the old ones published until the
//! tokens they signed have expired.

use chrono::Duration;
use josekit::jwk::Jwk;
use josekit::jwk::KeyPair;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{ES256, JwsSigner, JwsVerifier, RS256};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};

use super::super::audit::{self, Actor, Event, Target};
use super::super::db::begin_write;
use super::super::types::AppId;
use super::super::vault::Vault;
use super::super::{clock, secrets};
use super::OAuthError;
use crate::entities::{app, signing_key};

/// A JWS algorithm 1Auth signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Rs256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::Es256, Alg::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ES256" => Some(Alg::Es256),
            "RS256" => Some(Alg::Rs256),
            _ => None,
        }
    }
}

/// A key ready to sign with.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    signer: Box<dyn JwsSigner>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {})", self.kid, self.alg.as_str())
    }
}

impl SigningKey {
    pub fn signer(&self) -> &dyn JwsSigner {
        self.signer.as_ref()
    }
}

fn context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

/// Generate a key pair; the private JWK sealed, the public JWK as text.
fn generate(alg: Alg, kid: &str) -> Result<(Jwk, Jwk), OAuthError> {
    let (mut private, mut public) = match alg {
        Alg::Es256 => {
            let pair = EcKeyPair::generate(EcCurve::P256)?;
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
        Alg::Rs256 => {
            let pair = RsaKeyPair::generate(2048)?;
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
    };
    for jwk in [&mut private, &mut public] {
        jwk.set_key_id(kid);
        jwk.set_algorithm(alg.as_str());
        jwk.set_key_use("sig");
    }
    Ok((private, public))
}

async fn insert_key(
    tx: &DatabaseTransaction,
    vault: &Vault,
    app_id: &str,
    alg: Alg,
) -> Result<signing_key::Model, OAuthError> {
    let kid = secrets::random_token(12);
    let (private, public) = generate(alg, &kid)?;
    let sealed = vault.seal(&context(&kid), private.to_string().as_bytes());
    Ok(signing_key::ActiveModel {
        id: Set(kid),
        app_id: Set(app_id.to_owned()),
        alg: Set(alg.as_str().to_owned()),
        private_key_encrypted: Set(sealed),
        public_jwk: Set(public.to_string()),
        retired_at: Set(None),
        publish_until: Set(None),
        created_at: Set(clock::now()),
    }
    .insert(tx)
    .await?)
}

async fn active_rows<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
) -> Result<Vec<signing_key::Model>, OAuthError> {
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::AppId.eq(app_id))
        .filter(signing_key::Column::RetiredAt.is_null())
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Make sure the app has an active key of every algorithm (created on first
/// use, so apps made before keys existed, and the console, get theirs).
pub async fn ensure(
    db: &DatabaseConnection,
    vault: &Vault,
    app_id: &str,
) -> Result<(), OAuthError> {
    let have = active_rows(db, app_id).await?;
    if Alg::ALL
        .iter()
        .all(|alg| have.iter().any(|k| k.alg == alg.as_str()))
    {
        return Ok(());
    }
    let tx = begin_write(db).await?;
    // Lock the app row so two processes do not both create keys.
    app::Entity::find_by_id(app_id)
        .lock_exclusive()
        .one(&tx)
        .await?;
    let have = active_rows(&tx, app_id).await?;
    for alg in Alg::ALL {
        if !have.iter().any(|k| k.alg == alg.as_str()) {
            insert_key(&tx, vault, app_id, alg).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The newest active key of `alg`, unsealed.
pub async fn signing_key(
    db: &DatabaseConnection,
    vault: &Vault,
    app_id: &str,
    alg: Alg,
) -> Result<SigningKey, OAuthError> {
    ensure(db, vault, app_id).await?;
    let row = active_rows(db, app_id)
        .await?
        .into_iter()
        .find(|k| k.alg == alg.as_str())
        .ok_or_else(OAuthError::server_error)?;
    let private = vault.open(&context(&row.id), &row.private_key_encrypted)?;
    let jwk = Jwk::from_bytes(&private)?;
    let signer: Box<dyn JwsSigner> = match alg {
        Alg::Es256 => Box::new(ES256.signer_from_jwk(&jwk)?),
        Alg::Rs256 => Box::new(RS256.signer_from_jwk(&jwk)?),
    };
    Ok(SigningKey {
        kid: row.id,
        alg,
        signer,
    })
}

/// Keys a verifier must accept now: active ones and retired ones still
/// within their publication period.
async fn published_rows<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
) -> Result<Vec<signing_key::Model>, OAuthError> {
    let now = clock::now();
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::AppId.eq(app_id))
        .filter(
            signing_key::Column::RetiredAt
                .is_null()
                .or(signing_key::Column::PublishUntil.gt(now)),
        )
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The app's JWK Set (RFC 7517 §5), public halves only.
pub async fn jwks(
    db: &DatabaseConnection,
    vault: &Vault,
    app_id: &str,
) -> Result<Value, OAuthError> {
    ensure(db, vault, app_id).await?;
    let keys: Vec<Value> = published_rows(db, app_id)
        .await?
        .into_iter()
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    Ok(json!({ "keys": keys }))
}

/// A verifier for the published key `kid` of this app, if there is one.
pub async fn verifier<C: ConnectionTrait>(
    db: &C,
    app_id: &str,
    kid: &str,
) -> Result<Option<Box<dyn JwsVerifier>>, OAuthError> {
    let Some(row) = published_rows(db, app_id)
        .await?
        .into_iter()
        .find(|k| k.id == kid)
    else {
        return Ok(None);
    };
    let jwk = Jwk::from_bytes(row.public_jwk.as_bytes())?;
    Ok(match Alg::parse(&row.alg) {
        Some(Alg::Es256) => Some(Box::new(ES256.verifier_from_jwk(&jwk)?)),
        Some(Alg::Rs256) => Some(Box::new(RS256.verifier_from_jwk(&jwk)?)),
        None => None,
    })
}

/// Replace the app's active keys with new ones; the old stay published for
/// `keep_published` (the lifetime of the tokens they signed, plus leeway).
/// Records `key.rotated`.
pub async fn rotate(
    tx: &DatabaseTransaction,
    vault: &Vault,
    actor: &Actor,
    app_id: &AppId,
    keep_published: Duration,
) -> Result<Vec<String>, OAuthError> {
    let now = clock::now();
    let retired: Vec<String> = active_rows(tx, app_id.as_str())
        .await?
        .into_iter()
        .map(|k| k.id)
        .collect();
    signing_key::Entity::update_many()
        .col_expr(signing_key::Column::RetiredAt, Expr::value(now))
        .col_expr(
            signing_key::Column::PublishUntil,
            Expr::value(now + keep_published),
        )
        .filter(signing_key::Column::AppId.eq(app_id.as_str()))
        .filter(signing_key::Column::RetiredAt.is_null())
        .exec(tx)
        .await?;
    let mut created = Vec::new();
    for alg in Alg::ALL {
        created.push(insert_key(tx, vault, app_id.as_str(), alg).await?.id);
    }
    audit::record(
        tx,
        Event {
            app_id,
            actor,
            action: "key.rotated",
            target: Some(Target::new("app", app_id.as_str())),
            details: json!({
                "retired": retired,
                "created": created,
                "published_until": (now + keep_published).to_rfc3339(),
            }),
        },
    )
    .await?;
    Ok(created)
}
