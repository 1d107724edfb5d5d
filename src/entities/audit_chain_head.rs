//! The last sequence number and hash of an app's audit chain.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_chain_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: AppId,
    pub last_seq: i64,
    pub last_hash: String,
    pub updated_at: DateTimeUtc,
    /// The chain key's check value since the last master-key rotation
    /// (`None` before the first): a process with another key refuses to
    /// append.
    pub key_check: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
