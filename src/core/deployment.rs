//! What one deployment has one of: its public URL, the vault holding the
//! master key, and the keys derived from that key for what 1Auth signs (the
//! audit chain, known-device marks, `login_after` marks). It is opened once
//! at start-up and travels with the database handle ([`Db`]), so every rule
//! that needs a key reaches it through its arguments (Kanidm's key
//! providers live in the write transaction for the same reason), and two
//! deployments with different master keys can live in one process.

use std::sync::Arc;

use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};

pub use super::db::Deployment;
use super::db::{CHAIN_KEY_PURPOSE, Database, Db};
use super::vault::Vault;
use crate::entities::key_check;

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(
        "This process's master key is not the one this database's audit chain was sealed with: start it with the deployment's ONEAUTH_MASTER_KEY (or key file)."
    )]
    WrongMasterKey,
    #[error("Could not check the master key against the database: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// The database as this deployment uses it, once its master key is known
/// to be the right one: the first process to start stores a check value of
/// the audit chain's key, and any later one whose master key differs is
/// refused here, before it seals or records anything nobody could open or
/// verify.
pub async fn start(
    database: Database,
    public_url: &str,
    vault: Vault,
) -> Result<Db, DeploymentError> {
    let deployment = Deployment::new(public_url, vault);
    let check_value = deployment.chain_key.check_value();
    key_check::Entity::insert(key_check::ActiveModel {
        purpose: Set(CHAIN_KEY_PURPOSE.to_owned()),
        check_value: Set(check_value.clone()),
        created_at: Set(database.now()),
    })
    .on_conflict(
        OnConflict::column(key_check::Column::Purpose)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(database.writer())
    .await?;
    let stored = key_check::Entity::find_by_id(CHAIN_KEY_PURPOSE)
        .one(database.writer())
        .await?
        .ok_or(DeploymentError::WrongMasterKey)?;
    if !super::secrets::constant_time_eq(&stored.check_value, &check_value) {
        return Err(DeploymentError::WrongMasterKey);
    }
    Ok(Db::new(database, Arc::new(deployment)))
}

/// Whether `db`'s deployment key is still the one the database was sealed
/// with (a rotation by another process changes the stored check value).
pub async fn key_is_current(db: &Db) -> Result<bool, sea_orm::DbErr> {
    let stored = key_check::Entity::find_by_id(CHAIN_KEY_PURPOSE)
        .one(db)
        .await?;
    Ok(stored.is_some_and(|row| {
        super::secrets::constant_time_eq(&row.check_value, &db.deployment().chain_key_check)
    }))
}
