//! Security notices: the user hears of a change to their account (a factor
//! added or removed, the password changed, the account deactivated, a
//! replayed refresh token, a sign-in from a new browser), so they can act
//! if it was not them. Each is written to the outbox in the transaction of
//! the change it reports.

use sea_orm::DbErr;

use super::templates::{Content, Notice};
use super::{app_of, outbox, public_link};
use crate::core::write::Write;
use crate::entities::{app, app_user};

/// A notice is worth sending for a week; after that it is old news.
const NOTICE_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// Tell `user` about `notice`.
pub async fn notify(tx: &Write, user: &app_user::Model, notice: Notice) -> Result<(), DbErr> {
    let app = app_of(tx, &user.app_id).await?;
    notify_in(tx, &app, user, notice).await
}

/// `notify`, with the user's app at hand.
pub async fn notify_in(
    tx: &Write,
    app: &app::Model,
    user: &app_user::Model,
    notice: Notice,
) -> Result<(), DbErr> {
    let account_link = public_link(tx, &format!("/a/{}/account", app.id));
    outbox::enqueue(
        tx,
        app,
        &user.email,
        Some(&user.id),
        &Content::Notice {
            notice,
            account_link,
        },
        tx.now + NOTICE_LIFETIME,
    )
    .await?;
    Ok(())
}
