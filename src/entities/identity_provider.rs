//! An upstream OAuth/OIDC provider of one app; its client secret is encrypted.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_provider")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub slug: String,
    pub kind: String,
    pub display_name: String,
    pub issuer_url: Option<String>,
    pub client_id: String,
    #[sea_orm(column_type = "Text")]
    pub client_secret_encrypted: String,
    pub scopes: String,
    pub enabled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
