//! The console's outbox page: an app's e-mail with its delivery state,
//! filters, opening one message and resending it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub to: String,
    pub subject: String,
    /// "pending", "sent" or "failed".
    pub status: String,
    pub attempts: i32,
    pub created: String,
    /// When it was sent, or when the next attempt is due.
    pub when: String,
    pub last_error: Option<String>,
    pub smtp_response: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxView {
    pub rows: Vec<OutboxRow>,
    /// Whether this server sends e-mail (without SMTP, messages wait here).
    pub smtp_configured: bool,
    /// Whether the operator may open and resend messages.
    pub can_write: bool,
    pub kinds: Vec<String>,
    pub statuses: Vec<String>,
}

#[server]
pub async fn console_outbox(
    app_id: String,
    status: Option<String>,
    kind: Option<String>,
    to: Option<String>,
) -> Result<OutboxView, ApiError> {
    let app_id = app_id_of(&app_id)?;
    use crate::core::mail::outbox::Filter;
    use crate::types::{MailKind, MailStatus};
    let operator = require_operator().await?;
    let filter = Filter {
        status: status
            .filter(|s| !s.is_empty())
            .map(|s| MailStatus::parse(&s))
            .transpose()
            .map_err(invalid("status"))?,
        kind: kind
            .filter(|k| !k.is_empty())
            .map(|k| MailKind::parse(&k))
            .transpose()
            .map_err(invalid("kind"))?,
        to,
    };
    let rows = crate::core::admin::outbox::list(&state().db, &operator, &app_id, &filter).await?;
    Ok(OutboxView {
        rows: rows.into_iter().map(outbox_row).collect(),
        smtp_configured: state().settings.smtp.is_some(),
        can_write: operator.can_write(&app_id),
        kinds: MailKind::ALL.iter().map(|k| k.to_string()).collect(),
        statuses: MailStatus::ALL.iter().map(|s| s.to_string()).collect(),
    })
}

/// One message as it was (or will be) sent, its one-time link withheld.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The message carries a one-time link, not shown here.
    pub link_withheld: bool,
    /// The recipient's account, where a fresh link is issued.
    pub user_id: Option<String>,
}

#[server]
pub async fn console_open_email(app_id: String, id: String) -> Result<MessageView, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let opened = crate::core::admin::outbox::open(&state().db, &operator, &app_id, &id).await?;
    Ok(MessageView {
        id: opened.row.id,
        to: opened.row.to_address,
        subject: opened.row.subject,
        text: opened.text,
        link_withheld: opened.link_withheld,
        user_id: opened.row.user_id,
    })
}

#[server]
pub async fn console_resend_email(app_id: String, id: String) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::outbox::resend(&state().db, &operator, &app_id, &id).await?;
    Ok(())
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
mod ssr {
    use super::OutboxRow;
    pub use crate::api::context::*;
    use crate::types::MailStatus;

    pub fn outbox_row(row: crate::entities::email_outbox::Model) -> OutboxRow {
        let progress = match (row.status, row.sent_at) {
            (MailStatus::Sent, Some(at)) => format!("sent {}", when(at)),
            (MailStatus::Pending, _) => format!("next attempt {}", when(row.next_attempt_at)),
            _ => "given up".to_owned(),
        };
        OutboxRow {
            id: row.id,
            kind: row.kind.to_string(),
            to: row.to_address,
            subject: row.subject,
            status: row.status.to_string(),
            attempts: row.attempts,
            created: when(row.created_at),
            when: progress,
            last_error: row.last_error,
            smtp_response: row.smtp_response,
        }
    }
}
