//! Rotating the master key: every secret sealed with the old key (signing
//! keys, upstream providers' client secrets, outbox bodies) is opened and
//! sealed again with the new one, and every app's audit chain is verified
//! under the old chain key, then MAC'd again under the new one and closed
//! with a `master_key.rotated` event naming the head it had. All of it is
//! one write transaction: until it commits, the old key reads everything
//! it sealed; if anything fails, nothing changed.
//!
//! Processes still running with the old key find the key changed at their
//! next write that appends an event or seals a secret, and refuse it
//! (`audit::record`, `audit::ensure_key_current`); they also answer 503 and
//! fail readiness (`server/tasks.rs` watches the key), until restarted with
//! the new one. The rotation holds every chain's head for its length: on a
//! large deployment it is a short maintenance window (sign-ins wait). The SMTP password is not in the
//! database (a file or the environment), so it has nothing to re-seal.

use std::sync::Arc;

use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;

use super::audit::{self, Action, AuditError, ChainHead, Event, GENESIS_HASH};
use super::db::{CHAIN_KEY_PURPOSE, Db, Deployment};
use super::vault::{Vault, VaultError};
use super::write::{self, Actor, Write};
use crate::entities::{
    audit_chain_head, audit_event, email_outbox, identity_provider, key_check, signing_key,
};

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("The new master key is the one in use: nothing to rotate.")]
    SameKey,
    #[error(
        "The audit chain of \"{app_id}\" does not verify under the current key ({problem}): a rotation would seal the damage in. Investigate it first (oneauth audit verify)."
    )]
    BrokenChain { app_id: String, problem: String },
    #[error("{what} could not be opened with the current master key: {source}")]
    Unreadable {
        what: String,
        #[source]
        source: VaultError,
    },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// What a rotation re-sealed and re-keyed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Rotated {
    pub signing_keys: u64,
    pub provider_secrets: u64,
    pub outbox_bodies: u64,
    pub chains: Vec<RekeyedChain>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RekeyedChain {
    pub app_id: String,
    pub events: u64,
    /// The head before the rotation, under the old key (what a head
    /// exported earlier is compared with).
    pub old_head: ChainHead,
}

/// Rotate `db`'s master key to `new`, in one transaction, as `actor`.
pub async fn rotate(db: &Db, new: Vault, actor: Actor) -> Result<Rotated, RotationError> {
    let old = db.deployment();
    let next = Arc::new(Deployment::new(&old.public_url, new));
    if super::secrets::constant_time_eq(&next.chain_key_check, &old.chain_key_check) {
        return Err(RotationError::SameKey);
    }
    // Written with the new keys: the events appended at the end are MAC'd
    // with the new chain key, in this one transaction.
    let tx = write::begin_as(db, actor, Arc::clone(&next)).await?;
    let mut rotated = Rotated::default();
    let result = async {
        // No other process appends or seals meanwhile: SQLite's write lock
        // is held since BEGIN; on PostgreSQL the key's check row is locked
        // first (writes that seal without an event read it FOR SHARE,
        // `audit::ensure_key_current`), then the chain heads.
        key_check::Entity::find_by_id(CHAIN_KEY_PURPOSE)
            .lock(LockType::Update)
            .one(&tx)
            .await?;
        let heads = audit_chain_head::Entity::find()
            .order_by_asc(audit_chain_head::Column::AppId)
            .lock(LockType::Update)
            .all(&tx)
            .await?;
        reseal(&tx, old, &next, &mut rotated).await?;
        for head in heads {
            rotated
                .chains
                .push(rekey_chain(&tx, old, &next, head).await?);
        }
        key_check::Entity::update_many()
            .col_expr(
                key_check::Column::CheckValue,
                Expr::value(next.chain_key_check.clone()),
            )
            .filter(key_check::Column::Purpose.eq(CHAIN_KEY_PURPOSE))
            .exec(&tx)
            .await?;
        for chain in &rotated.chains {
            let app_id = crate::types::AppId::parse(&chain.old_head.app_id)
                .map_err(|_| AuditError::NoChain(chain.old_head.app_id.clone()))?;
            audit::record(
                &tx,
                Event {
                    app_id: &app_id,
                    actor: &tx.actor,
                    action: Action::MasterKeyRotated,
                    target: None,
                    details: json!({
                        "old_head": { "seq": chain.old_head.seq, "hash": chain.old_head.hash },
                        "events_rekeyed": chain.events,
                        "old_key_check": old.chain_key_check,
                        "key_check": next.chain_key_check,
                        "signing_keys": rotated.signing_keys,
                        "provider_secrets": rotated.provider_secrets,
                        "outbox_bodies": rotated.outbox_bodies,
                    }),
                },
            )
            .await?;
        }
        Ok::<(), RotationError>(())
    }
    .await;
    match result {
        Ok(()) => {
            tx.commit().await?;
            db.forget_cached();
            Ok(rotated)
        }
        Err(err) => {
            tx.rollback().await?;
            Err(err)
        }
    }
}

/// Open with the old vault, seal with the new, under the same context.
fn reseal_one(
    old: &Deployment,
    next: &Deployment,
    context: &str,
    sealed: &str,
    what: impl FnOnce() -> String,
) -> Result<String, RotationError> {
    let plain = old
        .vault
        .open(context, sealed)
        .map_err(|source| RotationError::Unreadable {
            what: what(),
            source,
        })?;
    Ok(next.vault.seal(context, &plain))
}

async fn reseal(
    tx: &Write,
    old: &Deployment,
    next: &Deployment,
    rotated: &mut Rotated,
) -> Result<(), RotationError> {
    for key in signing_key::Entity::find().all(tx).await? {
        let sealed = reseal_one(
            old,
            next,
            &super::oidc::keys::sealed_context(&key.id),
            &key.private_key_encrypted,
            || format!("The signing key {} of \"{}\"", key.id, key.app_id),
        )?;
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::PrivateKeyEncrypted,
                Expr::value(sealed),
            )
            .filter(signing_key::Column::Id.eq(key.id.as_str()))
            .exec(tx)
            .await?;
        rotated.signing_keys += 1;
    }
    for provider in identity_provider::Entity::find().all(tx).await? {
        if provider.client_secret_encrypted.is_empty() {
            continue;
        }
        let sealed = reseal_one(
            old,
            next,
            &super::upstream::providers::secret_context(&provider.id),
            &provider.client_secret_encrypted,
            || format!("The client secret of provider \"{}\"", provider.slug),
        )?;
        identity_provider::Entity::update_many()
            .col_expr(
                identity_provider::Column::ClientSecretEncrypted,
                Expr::value(sealed),
            )
            .filter(identity_provider::Column::Id.eq(provider.id.as_str()))
            .exec(tx)
            .await?;
        rotated.provider_secrets += 1;
    }
    for message in email_outbox::Entity::find().all(tx).await? {
        let what = || format!("The outbox message {}", message.id);
        let text = reseal_one(
            old,
            next,
            &super::mail::outbox::sealed_context(&message.id, "text"),
            &message.body_text,
            what,
        )?;
        let html = match &message.body_html {
            Some(html) => Some(reseal_one(
                old,
                next,
                &super::mail::outbox::sealed_context(&message.id, "html"),
                html,
                what,
            )?),
            None => None,
        };
        // A message deleted meanwhile is no error: it updates nothing.
        email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::BodyText, Expr::value(text))
            .col_expr(email_outbox::Column::BodyHtml, Expr::value(html))
            .filter(email_outbox::Column::Id.eq(message.id.as_str()))
            .exec(tx)
            .await?;
        rotated.outbox_bodies += 1;
    }
    Ok(())
}

/// Verify one chain under the old key, then MAC every event again under
/// the new one (each `prev_hash` following the new hashes), and move the
/// head and its key check.
async fn rekey_chain(
    tx: &Write,
    old: &Deployment,
    next: &Deployment,
    head: audit_chain_head::Model,
) -> Result<RekeyedChain, RotationError> {
    let app_id = head.app_id.to_string();
    let report = audit::verify_chain(tx, old, &app_id, None).await?;
    if let Some(problem) = report.problem {
        return Err(RotationError::BrokenChain { app_id, problem });
    }
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut events = 0;
    let mut after = 0;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::AppId.eq(app_id.as_str()))
            .filter(audit_event::Column::Seq.gt(after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(REKEY_PAGE)
            .all(tx)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for mut event in page {
            event.prev_hash = prev_hash;
            event.hash = audit::event_hash(&next.chain_key, &event);
            prev_hash = event.hash.clone();
            audit_event::Entity::update_many()
                .col_expr(audit_event::Column::PrevHash, Expr::value(event.prev_hash))
                .col_expr(audit_event::Column::Hash, Expr::value(event.hash))
                .filter(audit_event::Column::Id.eq(event.id))
                .exec(tx)
                .await?;
            events += 1;
        }
    }
    let old_head = ChainHead {
        app_id: app_id.clone(),
        seq: head.last_seq,
        hash: head.last_hash.clone(),
    };
    audit_chain_head::Entity::update_many()
        .col_expr(audit_chain_head::Column::LastHash, Expr::value(prev_hash))
        .col_expr(
            audit_chain_head::Column::KeyCheck,
            Expr::value(Some(next.chain_key_check.clone())),
        )
        .filter(audit_chain_head::Column::AppId.eq(app_id.as_str()))
        .exec(tx)
        .await?;
    Ok(RekeyedChain {
        app_id,
        events,
        old_head,
    })
}

/// Events re-keyed per read.
const REKEY_PAGE: u64 = 1000;
