//! An OAuth client of one app. `redirect_uris` and `post_logout_redirect_uris` are JSON arrays; a confidential client keeps only the hash of its secret.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

use crate::types::{Alg, ClientType};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub name: String,
    pub client_type: ClientType,
    pub secret_hash: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub redirect_uris: String,
    #[sea_orm(column_type = "Text")]
    pub post_logout_redirect_uris: String,
    pub id_token_alg: Alg,
    pub secret_rotated_at: Option<DateTimeUtc>,
    pub disabled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
