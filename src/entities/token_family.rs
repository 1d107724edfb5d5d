//! The refresh tokens of one grant (RFC 9700 §4.14.2).
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_family")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub client_id: String,
    pub user_id: String,
    pub signin_session_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    pub absolute_expires_at: DateTimeUtc,
    /// The resource server (RFC 8707) its access tokens are for, if any.
    #[sea_orm(column_type = "Text", nullable)]
    pub resource: Option<String>,
    /// The organization its tokens speak for (`org_id` and `org_roles`),
    /// re-checked at every refresh.
    pub organization_id: Option<String>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The sign-in session the grant came from (read with the family and its
    /// token in one query by the refresh grant).
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
