//! Per-app signing keys: an ES256 key (access tokens, ID tokens by default)
//! and an RS256 key (ID tokens for clients that ask for it, as OIDC requires
//! it be available). Private keys are sealed with the master key.
//!
//! Rotation makes new keys active and keeps the old ones published until the
//! tokens they signed have expired.
//!
//! Unsealing and parsing a key costs far more than a signature (OpenSSL's
//! decoder), so this process keeps the parsed keys: the active ones for a
//! second at a time (a rotation elsewhere shows within that), the published
//! ones with their JWK Set, reloaded at once when a token names a key id not
//! seen yet (another node may have rotated first).

use crate::core::write;
use crate::core::write::Clocked;
use crate::core::write::Write;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use josekit::jwk::Jwk;
use josekit::jwk::KeyPair;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{ES256, JwsSigner, JwsVerifier, RS256};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};

use super::super::audit::{self, Action, Event, Target};
use super::super::cache::{KeptMap, TtlMap};
use super::super::secrets;
use super::OAuthError;
use crate::core::db::Db;
use crate::core::write::Actor;
use crate::entities::{app, signing_key};
use crate::types::{Alg, AppId};

/// A key ready to sign with.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    signer: Arc<dyn JwsSigner>,
}

/// The keys an app signs with now, one per algorithm.
#[derive(Debug)]
pub struct ActiveKeys {
    keys: Vec<SigningKey>,
}

impl ActiveKeys {
    /// The active key of `alg` (an app always has one of each).
    pub fn get(&self, alg: Alg) -> Result<&SigningKey, OAuthError> {
        self.keys
            .iter()
            .find(|k| k.alg == alg)
            .ok_or_else(OAuthError::server_error)
    }
}

/// The keys a verifier accepts now, parsed, and the JWK Set that lists them.
pub struct PublishedKeys {
    verifiers: HashMap<String, Arc<dyn JwsVerifier>>,
    /// `{"keys": [...]}`, serialised once.
    pub jwks: Arc<str>,
    loaded_at: Instant,
}

struct ActiveCache(TtlMap<AppId, Arc<ActiveKeys>>);

impl Default for ActiveCache {
    fn default() -> Self {
        Self(TtlMap::named("signing_keys"))
    }
}

struct PublishedCache(TtlMap<AppId, Arc<PublishedKeys>>);

impl Default for PublishedCache {
    fn default() -> Self {
        Self(TtlMap::named("published_keys"))
    }
}

/// Which keys are active or published is read again every second; a key
/// id's material never changes, so it is unsealed and parsed once per
/// process (an RSA key's parse costs more than the token it signs, and on
/// each expiry every request in flight would redo it).
#[derive(Default)]
struct ParsedSigners(KeptMap<String, Arc<dyn JwsSigner>>);

#[derive(Default)]
struct ParsedVerifiers(KeptMap<String, Arc<dyn JwsVerifier>>);

/// An unknown key id reloads the published keys at most this often per app
/// (tokens with made-up key ids must not turn into a query each).
const RELOAD_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

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

/// What a signing key's private half is sealed under (a rotation of the
/// master key seals it again under the same).
pub(crate) fn sealed_context(kid: &str) -> String {
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
    tx: &Write,
    app_id: &AppId,
    alg: Alg,
) -> Result<signing_key::Model, OAuthError> {
    let kid = secrets::random_token(12);
    let (private, public) = generate(alg, &kid)?;
    let sealed = tx
        .deployment()
        .vault
        .seal(&sealed_context(&kid), private.to_string().as_bytes());
    Ok(signing_key::ActiveModel {
        id: Set(kid),
        app_id: Set(app_id.clone()),
        alg: Set(alg),
        private_key_encrypted: Set(sealed),
        public_jwk: Set(public.to_string()),
        retired_at: Set(None),
        publish_until: Set(None),
        created_at: Set(tx.now),
    }
    .insert(tx)
    .await?)
}

async fn active_rows<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
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
/// Returns the active key rows, newest first.
pub async fn ensure(db: &Db, app_id: &AppId) -> Result<Vec<signing_key::Model>, OAuthError> {
    let have = active_rows(db, app_id).await?;
    if Alg::ALL
        .iter()
        .all(|alg| have.iter().any(|k| k.alg == *alg))
    {
        return Ok(have);
    }
    let tx = write::begin(db, Actor::system()).await?;
    // Lock the app row so two processes do not both create keys: FOR NO KEY
    // UPDATE, which the foreign-key checks of other writes (FOR KEY SHARE of
    // the app row, taken by every insert of the app's rows) do not wait
    // for. FOR UPDATE made them wait while this write waited for the audit
    // chain's head that one of them held: a deadlock under load.
    app::Entity::find_by_id(app_id.clone())
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(&tx)
        .await?;
    // Sealed below with this process's key: refused if it is no longer the
    // deployment's (a rotation committed since this process started).
    crate::core::audit::ensure_key_current(&tx).await?;
    let have = active_rows(&tx, app_id).await?;
    for alg in Alg::ALL {
        if !have.iter().any(|k| k.alg == alg) {
            insert_key(&tx, app_id, alg).await?;
        }
    }
    tx.commit().await?;
    active_rows(db, app_id).await
}

/// The app's active keys, unsealed and parsed (created on first use).
pub async fn active(db: &Db, app_id: &AppId) -> Result<Arc<ActiveKeys>, OAuthError> {
    let cache = db.cached::<ActiveCache>();
    if let Some(keys) = cache.0.get(app_id) {
        return Ok(keys);
    }
    let parsed = db.cached::<ParsedSigners>();
    let mut keys = Vec::new();
    for row in ensure(db, app_id).await? {
        let alg = row.alg;
        // The newest of each algorithm (rows come newest first).
        if keys.iter().any(|k: &SigningKey| k.alg == alg) {
            continue;
        }
        let signer = parsed.0.get_or_make(&row.id, || -> Result<_, OAuthError> {
            let private = db
                .deployment()
                .vault
                .open(&sealed_context(&row.id), &row.private_key_encrypted)?;
            let jwk = Jwk::from_bytes(&private)?;
            let signer: Arc<dyn JwsSigner> = match alg {
                Alg::Es256 => Arc::new(ES256.signer_from_jwk(&jwk)?),
                Alg::Rs256 => Arc::new(RS256.signer_from_jwk(&jwk)?),
            };
            Ok(signer)
        })?;
        keys.push(SigningKey {
            kid: row.id,
            alg,
            signer,
        });
    }
    let keys = Arc::new(ActiveKeys { keys });
    cache.0.put(app_id.clone(), Arc::clone(&keys));
    Ok(keys)
}

/// Keys a verifier must accept now: active ones and retired ones still
/// within their publication period.
async fn published_rows<C: Clocked>(
    db: &C,
    app_id: &AppId,
) -> Result<Vec<signing_key::Model>, OAuthError> {
    let now = db.now();
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

async fn load_published(db: &Db, app_id: &AppId) -> Result<Arc<PublishedKeys>, OAuthError> {
    let rows = published_rows(db, app_id).await?;
    let parsed = db.cached::<ParsedVerifiers>();
    let mut verifiers: HashMap<String, Arc<dyn JwsVerifier>> = HashMap::new();
    let mut public = Vec::new();
    for row in rows {
        let alg = row.alg;
        let verifier = parsed.0.get_or_make(&row.id, || -> Result<_, OAuthError> {
            let jwk = Jwk::from_bytes(row.public_jwk.as_bytes())?;
            let verifier: Arc<dyn JwsVerifier> = match alg {
                Alg::Es256 => Arc::new(ES256.verifier_from_jwk(&jwk)?),
                Alg::Rs256 => Arc::new(RS256.verifier_from_jwk(&jwk)?),
            };
            Ok(verifier)
        })?;
        verifiers.insert(row.id.clone(), verifier);
        if let Ok(value) = serde_json::from_str::<Value>(&row.public_jwk) {
            public.push(value);
        }
    }
    let published = Arc::new(PublishedKeys {
        verifiers,
        jwks: json!({ "keys": public }).to_string().into(),
        loaded_at: Instant::now(),
    });
    db.cached::<PublishedCache>()
        .0
        .put(app_id.clone(), Arc::clone(&published));
    Ok(published)
}

/// The app's published keys and JWK Set (RFC 7517 §5, public halves only).
pub async fn published(db: &Db, app_id: &AppId) -> Result<Arc<PublishedKeys>, OAuthError> {
    if let Some(published) = db.cached::<PublishedCache>().0.get(app_id) {
        return Ok(published);
    }
    ensure(db, app_id).await?;
    load_published(db, app_id).await
}

/// A verifier for the published key `kid` of this app, if there is one.
pub async fn verifier(
    db: &Db,
    app_id: &AppId,
    kid: &str,
) -> Result<Option<Arc<dyn JwsVerifier>>, OAuthError> {
    let cached = db.cached::<PublishedCache>().0.get(app_id);
    let published = match cached {
        Some(published) if published.verifiers.contains_key(kid) => published,
        Some(published) if published.loaded_at.elapsed() < RELOAD_AT_MOST_EVERY => published,
        _ => load_published(db, app_id).await?,
    };
    Ok(published.verifiers.get(kid).cloned())
}

/// Replace the app's active keys with new ones; the old stay published for
/// `keep_published` (the lifetime of the tokens they signed, plus leeway).
/// Records `key.rotated`.
pub async fn rotate(
    tx: &Write,
    app_id: &AppId,
    keep_published: Duration,
) -> Result<Vec<String>, OAuthError> {
    let now = tx.now;
    let retired: Vec<String> = active_rows(tx, app_id)
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
        created.push(insert_key(tx, app_id, alg).await?.id);
    }
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::KeyRotated,
            target: Some(Target::app(app_id.as_str())),
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
