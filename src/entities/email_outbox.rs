//! An outgoing e-mail waiting for (or done with) the SMTP sender. It is
//! written in the same transaction as the change that causes it.
use sea_orm::entity::prelude::*;

use crate::types::{AppId, MailKind, MailStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub kind: MailKind,
    /// The user the message is about, if any.
    pub user_id: Option<String>,
    pub to_address: String,
    /// Display name of the sender, as the app had it when it was written.
    pub sender_name: Option<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    /// Sealed with the master key: a message may carry a one-time link.
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    /// Sealed, like `body_text`.
    #[sea_orm(column_type = "Text")]
    pub body_html: Option<String>,
    pub status: MailStatus,
    /// Delivery attempts started (a claim counts, so a process killed
    /// mid-send still uses one up).
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A sender process holds the message until then...
    pub lease_until: Option<DateTimeUtc>,
    /// ...under this claim: only the holder records how the attempt went.
    pub claimed_by: Option<String>,
    /// Not sent after this (the link it carries has expired).
    pub expires_at: Option<DateTimeUtc>,
    /// Why the last attempt failed (the server's answer, or why it could
    /// not be reached).
    #[sea_orm(column_type = "Text")]
    pub last_error: Option<String>,
    /// The SMTP server's last answer, accepted or not.
    #[sea_orm(column_type = "Text")]
    pub smtp_response: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
