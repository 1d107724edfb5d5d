//! The outbox as operators see it: an app's messages with their delivery
//! state, one message opened (its one-time link withheld), and a resend.

use super::{AdminError, Outcome, act_on_user_or, change, done, readable_app, writable_app};
use crate::types::AppId;
use serde_json::json;

use crate::core::audit::{self, Action, Event, Target};
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::mail::outbox::{self, Filter, Resend};
use crate::core::users;
use crate::core::write::Write;
use crate::entities::email_outbox;

/// Messages shown at once (newest first).
pub const PAGE: u64 = 100;

pub async fn list(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    filter: &Filter,
) -> Result<Vec<email_outbox::Model>, AdminError> {
    let app = readable_app(db, operator, app_id, "email.view").await?;
    Ok(outbox::list(db, &app.id, filter, PAGE).await?)
}

fn no_such_message() -> AdminError {
    AdminError::NotFound("There is no such message in this app.".into())
}

/// A message opened by an operator: what it says, with every one-time
/// link withheld.
#[derive(Debug)]
pub struct Opened {
    pub row: email_outbox::Model,
    pub text: String,
    /// The message carried a one-time link, withheld here: an operator who
    /// needs one issues a fresh link from the recipient's page (which voids
    /// this one).
    pub link_withheld: bool,
}

/// Run `change` on `row`'s behalf: when the message is about a user, only
/// for an operator who may act on that user, checked under the user's row
/// lock like every other action on them (N1 of the second security review:
/// a message is as sensitive as its recipient's account).
async fn as_recipient_allows<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    row: &email_outbox::Model,
    attempted: &str,
    change_it: impl AsyncFnOnce(&Write) -> Outcome<T>,
) -> Result<T, AdminError> {
    match row.user_id.as_deref() {
        Some(user_id) if users::find(db, app_id, user_id).await?.is_some() => {
            let above = "This message is for someone whose access is above your own: only someone at their level may open or resend it.";
            act_on_user_or(
                db,
                operator,
                app_id,
                user_id,
                attempted,
                above,
                async |tx, _| change_it(tx).await,
            )
            .await
        }
        // A test message, or one about an account deleted since.
        _ => {
            let target = Some(Target::message(row.id.as_str()));
            change(db, operator, app_id, attempted, target, change_it).await
        }
    }
}

/// One message as it was (or will be) sent, for operators who may change
/// the app and act on its recipient (auditors see the list), each opening
/// recorded (`email.opened`). Its one-time link is never shown: whoever
/// reads the outbox must not hold a way into someone's account.
pub async fn open(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    id: &str,
) -> Result<Opened, AdminError> {
    let target = Some(Target::message(id));
    let app = writable_app(db, operator, app_id, "email.open", target).await?;
    let row = outbox::find(db, &app.id, id)
        .await?
        .ok_or_else(no_such_message)?;
    as_recipient_allows(db, operator, app_id, &row, "email.open", async |tx| {
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
    let bodies = outbox::open(db.deployment(), &row)?;
    let (text, link_withheld) = withhold_links(&bodies.text);
    Ok(Opened {
        row,
        text,
        link_withheld,
    })
}

/// Send a message again from its first attempt (`email.resent`), to its
/// recipient only; refused like [`open`] for a recipient above the
/// operator's level.
pub async fn resend(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    id: &str,
) -> Result<(), AdminError> {
    let attempted = "email.resend";
    let target = Some(Target::message(id));
    let app = writable_app(db, operator, app_id, attempted, target).await?;
    let row = outbox::find(db, &app.id, id)
        .await?
        .ok_or_else(no_such_message)?;
    as_recipient_allows(
        db,
        operator,
        app_id,
        &row,
        attempted,
        async |tx| match outbox::resend(tx, &app.id, id).await {
            Ok(Resend::Queued) => done(()),
            Ok(Resend::NotFound) => Err(no_such_message()),
            Ok(Resend::BeingSent) => Ok(Err(
                "This message is being sent right now; look again in a minute.".to_owned(),
            )),
            Err(err) => Err(err.into()),
        },
    )
    .await
}

/// What stands in for a one-time link in an opened message.
pub const WITHHELD: &str = "[one-time link withheld]";

/// `text` with every link that carries a one-time token of ours (an
/// invitation, a recovery, enrolment or verification link) replaced by
/// [`WITHHELD`], whatever origin it was written under (the public URL may
/// have changed since, or the CLI wrote it under its own); and whether
/// there was one.
fn withhold_links(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut withheld = false;
    let mut word = String::new();
    let mut flush = |word: &mut String, out: &mut String| {
        if is_one_time_link(word) {
            out.push_str(WITHHELD);
            withheld = true;
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '"' | '<' | '>') {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    (out, withheld)
}

/// Whether `word` is a URL to one of our one-time links (see `links::path`).
fn is_one_time_link(word: &str) -> bool {
    let Some((_, rest)) = word.split_once("://") else {
        return false;
    };
    let path = rest.find('/').map(|at| &rest[at..]).unwrap_or_default();
    path.starts_with("/a/")
        && (path.contains("/invite/") || path.contains("token=") || path.contains("enrol="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_links_are_withheld_and_other_links_kept() {
        let text = "Accept: https://id.example/a/console/invite/abc123\n\
                    Recover: https://id.example/a/demo/recover?token=xyz.\n\
                    Your account: https://id.example/a/demo/account\n\
                    Under an older public URL: http://old.example:3000/a/demo/account?enrol=qqq\n\
                    <a href=\"https://id.example/a/demo/verify?token=vvv\">";
        let (shown, withheld) = withhold_links(text);
        assert!(withheld);
        for secret in ["abc123", "xyz", "qqq", "vvv"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("https://id.example/a/demo/account\n"),
            "{shown}"
        );
        let (_, none) = withhold_links("Your account: https://id.example/a/demo/account");
        assert!(!none);
    }
}
