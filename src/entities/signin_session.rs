//! The server-side record of one sign-in: user, factors (`amr`, JSON array) and time.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signin_session")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub user_id: String,
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub acr: String,
    /// The newest authentication of any factor (kept for display; policy
    /// reads the per-factor times below).
    pub auth_time: DateTimeUtc,
    /// When the user last proved each factor in this session.
    pub password_at: Option<DateTimeUtc>,
    pub passkey_at: Option<DateTimeUtc>,
    pub recovery_at: Option<DateTimeUtc>,
    /// Signed in through an upstream provider: when, as which external
    /// identity, and the upstream's session id (back-channel logout).
    pub upstream_at: Option<DateTimeUtc>,
    pub upstream_identity_id: Option<String>,
    pub upstream_sid: Option<String>,
    pub last_seen_at: DateTimeUtc,
    pub idle_expires_at: DateTimeUtc,
    pub absolute_expires_at: DateTimeUtc,
    /// Signed in with a recovery code: must enrol a new factor before
    /// anything else (no authorization codes are issued meanwhile).
    pub requires_enrolment: bool,
    /// Opened with an operator's recovery link (not a recovery code).
    pub opened_by_link: bool,
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<String>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The signed-in user (read with the session in one query).
    #[sea_orm(
        belongs_to = "super::app_user::Entity",
        from = "Column::UserId",
        to = "super::app_user::Column::Id"
    )]
    User,
}

impl Related<super::app_user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
