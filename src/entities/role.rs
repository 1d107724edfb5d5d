//! A role of one app, with its factor policy.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub name: String,
    pub description: String,
    pub require_passkey: bool,
    pub max_auth_age_secs: Option<i64>,
    /// Holders of this role sign in only through this upstream provider.
    pub required_provider_id: Option<String>,
    pub builtin: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
