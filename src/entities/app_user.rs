//! A user of one app; `email` is stored normalised.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

use crate::types::UserStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub email: String,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub status: UserStatus,
    pub deactivated_at: Option<DateTimeUtc>,
    pub last_sign_in_at: Option<DateTimeUtc>,
    /// Known-device marks of an earlier epoch are dead (N3); a password
    /// change, recovery, deactivation or sign-out everywhere moves it on.
    pub device_epoch: i64,
    /// Marks issued in this epoch; only the newest few are live.
    pub device_marks: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The roles the user holds (read with the refresh grant's token).
    #[sea_orm(has_many = "super::role_assignment::Entity")]
    RoleAssignments,
    /// The user's password, if any (read with the user at sign-in).
    #[sea_orm(has_one = "super::password_credential::Entity")]
    PasswordCredential,
}

impl Related<super::password_credential::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PasswordCredential.def()
    }
}

impl Related<super::role_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RoleAssignments.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
