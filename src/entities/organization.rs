//! An organization (tenant) inside an app.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub slug: String,
    pub name: String,
    /// `name` in lower case, for the console's search.
    pub search_name: String,
    /// What a user who confirms an address at a verified domain of the
    /// organization is offered: `none`, `offer` (a button) or `auto`.
    pub domain_policy: String,
    /// The upstream provider through which its invitations are accepted.
    pub required_provider_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
