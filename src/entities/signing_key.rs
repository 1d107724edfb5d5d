//! A per-app signing key; the private half is encrypted with the master key.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

use crate::types::Alg;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub alg: Alg,
    #[sea_orm(column_type = "Text")]
    pub private_key_encrypted: String,
    #[sea_orm(column_type = "Text")]
    pub public_jwk: String,
    pub retired_at: Option<DateTimeUtc>,
    pub publish_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
