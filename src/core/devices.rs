//! Known devices (OWASP Authentication Cheat Sheet, "device cookies"): a
//! browser that signed in to an account carries a signed mark of it, and
//! its failed password attempts count on a key of their own, so a stranger's
//! failures lock the account for strangers, not for its owner's browser.
//!
//! A mark must not multiply the account's guess budget (N3 of the second
//! security review). So each mark names the account's device epoch and its
//! number within that epoch: a password change, a recovery, a deactivation
//! or a sign-out everywhere moves the epoch on (`sessions::end_all_for_user`),
//! which kills every earlier mark; only the newest [`LIVE_MARKS`] of an
//! epoch are live; and the failures of all marks of an account also count
//! on one shared key (`throttle::PER_MARKED_ACCOUNT`).

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::secrets;
use super::vault::DerivedKey;
use super::write::Write;
use crate::entities::app_user;
use crate::types::Email;

/// How long a browser stays known.
pub const LIFETIME_DAYS: i64 = 365;

/// How many marks of one account are live at once (the newest ones): a
/// person's browsers, not everyone who ever signed in.
pub const LIVE_MARKS: i64 = 5;

/// The cookie that marks a known device of an app.
pub fn cookie_name(app_id: &str) -> String {
    format!("oneauth_device_{app_id}")
}

/// A mark's content, once its signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub device_id: String,
    epoch: i64,
    number: i64,
}

impl Mark {
    /// Whether the account still honours this mark: issued in its current
    /// epoch, and among its newest [`LIVE_MARKS`].
    pub fn is_live_for(&self, user: &app_user::Model) -> bool {
        self.epoch == user.device_epoch
            && self.number <= user.device_marks
            && self.number > user.device_marks - LIVE_MARKS
    }
}

/// What a mark signs: the account (its app, id and address: a mark of a
/// deleted account is nothing to one made again under the same address),
/// the epoch and number, and the device. `None` for an address no mark
/// can name.
fn message(user: &app_user::Model, epoch: i64, number: i64, device_id: &str) -> Option<String> {
    let email = Email::for_lookup(&user.email).ok()?;
    Some(format!(
        "device:{}:{}:{email}:{epoch}:{number}:{device_id}",
        user.app_id, user.id
    ))
}

/// The next mark for a browser that just signed in to `user` (its number is
/// the one the sign-in's write counts: `signin::succeed`).
pub fn issue(key: &DerivedKey, user: &app_user::Model) -> Option<String> {
    let device_id = secrets::random_token(16);
    let (epoch, number) = (user.device_epoch, user.device_marks + 1);
    let signature = key.sign(&message(user, epoch, number, &device_id)?);
    Some(format!("{device_id}.{epoch}.{number}.{signature}"))
}

/// Every mark of `user` issued so far dies.
pub async fn forget_all(tx: &Write, user_id: &str) -> Result<(), DbErr> {
    app_user::Entity::update_many()
        .col_expr(
            app_user::Column::DeviceEpoch,
            Expr::col(app_user::Column::DeviceEpoch).add(1),
        )
        .col_expr(app_user::Column::DeviceMarks, Expr::value(0))
        .filter(app_user::Column::Id.eq(user_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// A mark for the browser that has just ended every other browser's
/// standing (its own password change, in `tx`, after the epoch moved on):
/// the one browser that proved the change stays known. `None` for an
/// address no mark can name.
pub async fn mark_anew(tx: &Write, user_id: &str) -> Result<Option<String>, DbErr> {
    let Some(user) = app_user::Entity::find_by_id(user_id).one(tx).await? else {
        return Ok(None);
    };
    let Some(mark) = issue(&tx.deployment().device_key, &user) else {
        return Ok(None);
    };
    app_user::Entity::update_many()
        .col_expr(
            app_user::Column::DeviceMarks,
            Expr::col(app_user::Column::DeviceMarks).add(1),
        )
        .filter(app_user::Column::Id.eq(user_id))
        .exec(tx)
        .await?;
    Ok(Some(mark))
}

/// The mark in `cookie`, if we issued it for this account (live or not:
/// see [`Mark::is_live_for`]).
pub fn read(key: &DerivedKey, user: &app_user::Model, cookie: &str) -> Option<Mark> {
    let mut parts = cookie.splitn(4, '.');
    let device_id = parts.next()?;
    let epoch: i64 = parts.next()?.parse().ok()?;
    let number: i64 = parts.next()?.parse().ok()?;
    let signature = parts.next()?;
    if device_id.is_empty() || device_id.len() > 64 {
        return None;
    }
    key.verify(&message(user, epoch, number, device_id)?, signature)
        .then(|| Mark {
            device_id: device_id.to_owned(),
            epoch,
            number,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::vault::Vault;
    use crate::types::{AppId, UserStatus};

    fn user(app: &str, email: &str, epoch: i64, marks: i64) -> app_user::Model {
        let now = chrono::Utc::now();
        app_user::Model {
            id: "u1".into(),
            app_id: AppId::parse(app).unwrap(),
            email: email.into(),
            email_verified: false,
            display_name: None,
            status: UserStatus::Active,
            deactivated_at: None,
            last_sign_in_at: None,
            device_epoch: epoch,
            device_marks: marks,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_mark_is_good_for_its_own_account_only() {
        let key = Vault::random().derive("device-cookie");
        let ada_user = user("demo", "ada@example.com", 0, 0);
        let mark = issue(&key, &ada_user).unwrap();
        assert!(read(&key, &ada_user, &mark).is_some());
        assert!(read(&key, &user("demo", "bob@example.com", 0, 0), &mark).is_none());
        assert!(read(&key, &user("shop", "ada@example.com", 0, 0), &mark).is_none());
        assert!(read(&key, &ada_user, "forged.0.1.mark").is_none());
        // The same address made again is another account.
        let again = app_user::Model {
            id: "u2".into(),
            ..ada_user.clone()
        };
        assert!(read(&key, &again, &mark).is_none());
    }

    #[test]
    fn n3_a_mark_dies_with_its_epoch_and_when_newer_ones_crowd_it_out() {
        let key = Vault::random().derive("device-cookie");
        let first = issue(&key, &user("demo", "ada@example.com", 3, 0)).unwrap();
        let first = read(&key, &user("demo", "ada@example.com", 3, 1), &first).unwrap();
        assert!(first.is_live_for(&user("demo", "ada@example.com", 3, 1)));
        assert!(!first.is_live_for(&user("demo", "ada@example.com", 4, 1)));
        assert!(first.is_live_for(&user("demo", "ada@example.com", 3, LIVE_MARKS)));
        assert!(!first.is_live_for(&user("demo", "ada@example.com", 3, LIVE_MARKS + 1)));
        // A number the account never reached was not issued for it.
        assert!(!first.is_live_for(&user("demo", "ada@example.com", 3, 0)));
    }
}
