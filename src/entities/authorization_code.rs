//! An authorization code, stored as its hash, single use.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_code")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub app_id: AppId,
    pub client_id: String,
    pub user_id: String,
    pub signin_session_id: String,
    #[sea_orm(column_type = "Text")]
    pub redirect_uri: String,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    #[sea_orm(column_type = "Text")]
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub acr: String,
    #[sea_orm(column_type = "Text")]
    pub roles: String,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// RFC 8707 `resource` asked for at the authorization request.
    #[sea_orm(column_type = "Text", nullable)]
    pub resource: Option<String>,
    pub token_family_id: Option<String>,
    /// The organization chosen at authorization, if any.
    pub organization_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The sign-in session the code was issued in (read with the code, and
    /// its user, in one query at the exchange).
    #[sea_orm(
        belongs_to = "super::signin_session::Entity",
        from = "Column::SigninSessionId",
        to = "super::signin_session::Column::Id"
    )]
    Session,
}

impl Related<super::signin_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
