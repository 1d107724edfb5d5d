//! The outbox as operators see it: an app's messages with their delivery
//! state, one message opened (to copy a link out when no SMTP server is
//! configured), and a resend.

use super::{AdminError, change, done, readable_app, writable_app};
use serde_json::json;

use crate::core::audit::{self, Action, Event, Target};
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::mail::outbox::{self, Bodies, Filter, Resend};
use crate::entities::email_outbox;

/// Messages shown at once (newest first).
pub const PAGE: u64 = 100;

pub async fn list(
    db: &Db,
    operator: &Operator,
    app_id: &str,
    filter: &Filter,
) -> Result<Vec<email_outbox::Model>, AdminError> {
    let app = readable_app(db, operator, app_id, "email.view").await?;
    Ok(outbox::list(db, &app.id, filter, PAGE).await?)
}

fn no_such_message() -> AdminError {
    AdminError::NotFound("There is no such message in this app.".into())
}

/// One message with its bodies. A message may hold a live one-time link
/// (a recovery link is a way into the account), so only operators who may
/// change the app, and could issue such a link themselves, open one
/// (auditors see the list), and each opening is recorded (`email.opened`).
pub async fn open(
    db: &Db,
    operator: &Operator,
    app_id: &str,
    id: &str,
) -> Result<(email_outbox::Model, Bodies), AdminError> {
    let target = Some(Target::message(id));
    let app = writable_app(db, operator, app_id, "email.open", target.clone()).await?;
    let row = outbox::find(db, &app.id, id)
        .await?
        .ok_or_else(no_such_message)?;
    change(db, operator, app_id, "email.open", target, async |tx| {
        audit::record(
            tx,
            Event {
                app_id: &app.id,
                actor: &tx.actor,
                action: Action::EmailOpened,
                target: Some(Target::message(id)),
                details: json!({ "kind": row.kind, "to": row.to_address }),
            },
        )
        .await?;
        done(())
    })
    .await?;
    let deployment = db
        .deployment()
        .ok_or_else(|| AdminError::Internal("no deployment installed".into()))?;
    let bodies =
        outbox::open(deployment, &row).map_err(|err| AdminError::Internal(err.to_string()))?;
    Ok((row, bodies))
}

/// Send a message again from its first attempt (`email.resent`).
pub async fn resend(
    db: &Db,
    operator: &Operator,
    app_id: &str,
    id: &str,
) -> Result<(), AdminError> {
    let attempted = "email.resend";
    let target = Some(Target::message(id));
    let app = writable_app(db, operator, app_id, attempted, target.clone()).await?;
    change(
        db,
        operator,
        app_id,
        attempted,
        target,
        async |tx| match outbox::resend(tx, &app.id, id).await {
            Ok(Resend::Queued) => done(()),
            Ok(Resend::NotFound) => Err(no_such_message()),
            Ok(Resend::BeingSent) => Ok(Err(
                "This message is being sent right now; look again in a minute.".to_owned(),
            )),
            Err(err) => Err(AdminError::Internal(err.to_string())),
        },
    )
    .await
}
