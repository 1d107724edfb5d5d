//! A link from a user to their identity at an upstream provider.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "external_identity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub user_id: String,
    pub provider_id: String,
    pub subject: String,
    /// The upstream issuer (one per tenant of a multi-tenant provider).
    pub issuer: String,
    pub email_verified: bool,
    pub last_sign_in_at: Option<DateTimeUtc>,
    pub email: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::identity_provider::Entity",
        from = "Column::ProviderId",
        to = "super::identity_provider::Column::Id"
    )]
    Provider,
}

impl Related<super::identity_provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
