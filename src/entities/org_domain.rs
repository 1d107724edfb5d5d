//! A domain an organization claims; verified once its DNS TXT record
//! carries `proof`, or an operator attests it.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_domain")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub organization_id: String,
    pub domain: String,
    /// The value the TXT record `_oneauth-challenge.{domain}` must hold.
    pub proof: String,
    pub verified_at: Option<DateTimeUtc>,
    /// `dns`, or `attested` (by the operator the audit event names).
    pub verified_by: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
