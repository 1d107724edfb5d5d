//! An app: the security boundary (a realm, in Keycloak terms).
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AppId,
    pub name: String,
    pub brand_color: String,
    pub builtin: bool,
    pub self_registration: bool,
    pub password_enabled: bool,
    pub passkey_enabled: bool,
    pub disabled_at: Option<DateTimeUtc>,
    pub session_idle_secs: i64,
    pub session_absolute_secs: i64,
    pub access_token_ttl_secs: i64,
    pub refresh_idle_secs: i64,
    pub refresh_absolute_secs: i64,
    pub refresh_grace_secs: i64,
    pub require_pkce: bool,
    /// Resource servers (RFC 8707) a client may ask an access token for, as
    /// a JSON array of absolute URIs.
    #[sea_orm(column_type = "Text")]
    pub api_audiences: String,
    /// The name its e-mail comes from (`"Name" <ONEAUTH_SMTP_FROM>`);
    /// `None`: the app's name.
    pub email_sender_name: Option<String>,
    /// Where replies to its e-mail go; `None`: nowhere but the sender.
    pub email_reply_to: Option<String>,
    /// Tokens are only issued for a verified e-mail address.
    pub require_verified_email: bool,
    /// A sign-in from a browser the account has not used before sends the
    /// user a notice.
    pub notify_new_device: bool,
    /// Users sign in only through this upstream provider (owners of the
    /// console keep a passkey path).
    pub required_provider_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
