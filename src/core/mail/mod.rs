//! E-mail. A message is rendered from its template and written to the
//! outbox in the transaction of the change that causes it (`outbox`); a
//! sender in every server process delivers it over SMTP (`sender`). What
//! users are told when their account changes is in `notices`.

pub mod notices;
pub mod outbox;
pub mod sender;
pub mod templates;

use crate::core::fault::Fault;
use sea_orm::{DbErr, EntityTrait};

use super::vault::VaultError;
use super::write::Write;
use crate::entities::app;
use crate::types::AppId;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP settings are unusable: {0}")]
    Config(String),
    #[error("\"{0}\" is not an address a message can go to")]
    Address(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("a stored message is not readable")]
    Corrupt,
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(MailError);

impl From<VaultError> for MailError {
    fn from(err: VaultError) -> Self {
        Self::Fault(err.into())
    }
}

/// The absolute URL of `path` (starting with `/`) on this deployment.
pub fn public_link(tx: &Write, path: &str) -> String {
    format!("{}{path}", tx.deployment().public_url)
}

/// The app a user belongs to, read inside the write.
pub(crate) async fn app_of(tx: &Write, app_id: &AppId) -> Result<app::Model, DbErr> {
    app::Entity::find_by_id(app_id.clone())
        .one(tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("app {app_id}")))
}

/// `oneauth email test`: write a test message for `to` (in `app`'s name)
/// to the outbox, recording `email.tested`, and send it at once. A message
/// the server did not take is given up on, not retried: the answer is
/// what the person testing needs.
pub async fn send_test(
    db: &super::db::Db,
    sender: &sender::Sender,
    app_id: &AppId,
    to: &crate::types::Email,
    actor: super::write::Actor,
) -> Result<sender::Delivery, MailError> {
    use super::audit::{self, Action, Event, Target};
    let tx = super::write::begin(db, actor).await?;
    let app = app_of(&tx, app_id).await?;
    let expires_at = tx.now + chrono::Duration::hours(1);
    let row = outbox::enqueue(
        &tx,
        &app,
        to.as_str(),
        None,
        &templates::Content::Test,
        expires_at,
    )
    .await?;
    // Claimed before it is committed, so a running server cannot take it:
    // this process's configuration is what is being tested.
    let policy = sender.policy();
    let claimed = outbox::claim_in(&tx, &row, policy.lease, policy.first_retry).await?;
    audit::record(
        &tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::EmailTested,
            target: Some(Target::message(row.id.as_str())),
            details: serde_json::json!({ "to": to.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    sender.deliver_once(&claimed).await
}
