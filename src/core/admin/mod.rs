//! What operators do in the console, each step checked against the
//! permission model (`core::console`) and the guardrails (`core::policy`),
//! on the server, whatever the page shows. Every refusal is answered with a
//! reason and recorded (`console.refused`); every change records its event
//! in the same transaction.

pub mod apps;
pub mod audit_log;
pub mod bootstrap;
pub mod orgs;
pub mod outbox;
pub mod providers;
pub mod roles;
pub mod users;

use crate::core::write;
use crate::core::write::Write;

use serde_json::json;

use super::audit::{self, Action, AuditError, Event, Target};
use super::console::{self, Operator};
use super::db::Db;
use super::fault::Fault;
use crate::entities::{app, app_user};
use crate::types::{AppId, InvalidValue};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Refused by a permission or a guardrail (already audited).
    #[error("{0}")]
    Refused(String),
    /// Refused until the operator signs in again (already audited).
    #[error("{0}")]
    ReauthRequired(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(AdminError);

/// What a core error that only a fault can cause here becomes: its fault,
/// or the unexpected error itself (kept with its type, for the log).
fn only_faults<E>(err: E, fault: impl FnOnce(E) -> Result<Fault, E>) -> AdminError
where
    E: std::error::Error + Send + Sync + 'static,
{
    match fault(err) {
        Ok(fault) => AdminError::Fault(fault),
        Err(other) => AdminError::Fault(Fault::unexpected(other)),
    }
}

impl From<crate::core::links::LinkError> for AdminError {
    fn from(err: crate::core::links::LinkError) -> Self {
        use crate::core::links::LinkError;
        only_faults(err, |err| match err {
            LinkError::Fault(fault) => Ok(fault),
            other => Err(other),
        })
    }
}

impl From<crate::core::mail::MailError> for AdminError {
    fn from(err: crate::core::mail::MailError) -> Self {
        use crate::core::mail::MailError;
        only_faults(err, |err| match err {
            MailError::Fault(fault) => Ok(fault),
            other => Err(other),
        })
    }
}

pub(crate) fn invalid(field: &'static str) -> impl FnOnce(InvalidValue) -> AdminError {
    move |err| AdminError::Invalid {
        field,
        message: err.0,
    }
}

/// Refuse an attempt: record it (`console.refused`) and hand back the
/// reason as the error. When the refusal cannot be recorded, the request
/// fails instead.
pub(crate) async fn refused(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
    target: Option<Target>,
    reason: &str,
) -> AdminError {
    // Refusals about an app the operator cannot see are recorded in the
    // console's chain, so nothing of that app (not even its existence) leaks.
    let chain = if operator.can_read(app_id) {
        match crate::core::apps::find(db, app_id).await {
            Ok(Some(_)) => app_id.clone(),
            Ok(None) => AppId::console(),
            Err(err) => return AdminError::Fault(err.into()),
        }
    } else {
        AppId::console()
    };
    let recorded = async {
        let tx = write::begin(db, operator.actor()).await?;
        audit::record(
            &tx,
            Event {
                app_id: &chain,
                actor: &operator.actor(),
                action: Action::ConsoleRefused,
                target,
                details: json!({ "attempted": attempted, "app_id": app_id, "reason": reason }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AuditError>(())
    };
    match recorded.await {
        Ok(()) => AdminError::Refused(reason.to_owned()),
        Err(err) => AdminError::Fault(err.into()),
    }
}

/// `answer` for a refusal that [`refused`] recorded; the failure to record
/// it otherwise (a refusal nobody can see later is not answered as one).
fn instead_of_refusal(recorded: AdminError, answer: AdminError) -> AdminError {
    match recorded {
        AdminError::Refused(_) => answer,
        failed => failed,
    }
}

fn no_such_app(app_id: &AppId) -> AdminError {
    AdminError::NotFound(format!("There is no app called \"{app_id}\"."))
}

/// The app, if the operator may see it. An app they may not see is "not
/// found" (its existence is not confirmed) and the attempt is recorded.
pub(crate) async fn readable_app(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
) -> Result<app::Model, AdminError> {
    if !operator.can_read(app_id) {
        let recorded = refused(
            db,
            operator,
            app_id,
            attempted,
            None,
            "no access to this app",
        )
        .await;
        return Err(instead_of_refusal(recorded, no_such_app(app_id)));
    }
    super::apps::find(db, app_id)
        .await?
        .ok_or_else(|| no_such_app(app_id))
}

/// The app, if the operator may change it.
pub(crate) async fn writable_app(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
    target: Option<Target>,
) -> Result<app::Model, AdminError> {
    let app = readable_app(db, operator, app_id, attempted).await?;
    if !operator.can_write(app_id) {
        let reason = if operator.level_for(app_id) == Some(console::Level::Auditor) {
            "Auditors have read-only access."
        } else {
            "Only a global admin or owner may change the console's operators."
        };
        return Err(refused(db, operator, app_id, attempted, target, reason).await);
    }
    Ok(app)
}

/// The app, if the operator may change its configuration (settings,
/// clients, sign-in providers): for the console, owners only (M5).
pub(crate) async fn configurable_app(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
    target: Option<Target>,
) -> Result<app::Model, AdminError> {
    let app = writable_app(db, operator, app_id, attempted, target.clone()).await?;
    if !operator.can_configure(app_id) {
        return Err(refused(
            db,
            operator,
            app_id,
            attempted,
            target,
            "Only an owner may change how operators sign in to the console.",
        )
        .await);
    }
    Ok(app)
}

/// How a change ends: with its value, or refused by a guardrail (the
/// sentence), or failed.
pub(crate) type Outcome<T> = Result<Result<T, String>, AdminError>;

/// A change that went through.
pub(crate) fn done<T>(value: T) -> Outcome<T> {
    Ok(Ok(value))
}

/// The use-case skeleton, once: `change` runs in one write as the
/// operator, after the caller's permission checks. Its value is committed
/// (and this process's cached apps, clients and keys are dropped, so the
/// change shows at once); a guardrail's refusal rolls back and is recorded
/// (`console.refused`); an error rolls back.
pub(crate) async fn change<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
    target: Option<Target>,
    change: impl AsyncFnOnce(&Write) -> Outcome<T>,
) -> Result<T, AdminError> {
    let tx = write::begin(db, operator.actor()).await?;
    let outcome = change(&tx).await;
    settle(db, operator, app_id, attempted, target, tx, outcome).await
}

/// [`change`] on the user `user_id` of `app_id`, under the user's row lock,
/// once the operator may act on them (H3: not above their own level).
pub(crate) async fn act_on_user<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    attempted: &str,
    on_user: impl AsyncFnOnce(&Write, app_user::Model) -> Outcome<T>,
) -> Result<T, AdminError> {
    let above = "This operator's access is above your own: only someone at their level may change their account.";
    act_on_user_or(db, operator, app_id, user_id, attempted, above, on_user).await
}

/// [`act_on_user`], refused with `above` when the user's level is above
/// the operator's.
pub(crate) async fn act_on_user_or<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    attempted: &str,
    above: &str,
    on_user: impl AsyncFnOnce(&Write, app_user::Model) -> Outcome<T>,
) -> Result<T, AdminError> {
    let target = Some(Target::user(user_id));
    change(
        db,
        operator,
        app_id,
        attempted,
        target,
        async |tx| match locked_target(tx, operator, app_id, user_id, above).await? {
            Ok(user) => on_user(tx, user).await,
            Err(reason) => Ok(Err(reason)),
        },
    )
    .await
}

/// The target of a lifecycle action, locked for the rest of `tx` (its
/// roles, factors and status cannot change under the checks that follow),
/// or the reason the operator may not act on them (H3: their level).
async fn locked_target(
    tx: &Write,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    above: &str,
) -> Outcome<app_user::Model> {
    let user = super::users::lock(tx, user_id)
        .await?
        .filter(|u| &u.app_id == app_id)
        .ok_or_else(no_such_user)?;
    if !operator.is_self(app_id, user_id) {
        let held = crate::core::roles::names_held(tx, &user.id).await?;
        if !operator.may_act_on(app_id, &held) {
            return Ok(Err(above.to_owned()));
        }
    }
    Ok(Ok(user))
}

/// Commit the change, or roll it back and record why it was refused.
async fn settle<T>(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
    target: Option<Target>,
    tx: Write,
    outcome: Outcome<T>,
) -> Result<T, AdminError> {
    match outcome {
        Ok(Ok(value)) => {
            tx.commit().await?;
            // Apps, clients or keys may have changed: this process sees it now,
            // others when their cache entries expire (a second).
            db.forget_cached();
            Ok(value)
        }
        Ok(Err(reason)) => {
            tx.rollback().await?;
            Err(refused(db, operator, app_id, attempted, target, &reason).await)
        }
        Err(err) => {
            tx.rollback().await?;
            Err(err)
        }
    }
}

pub(crate) fn no_such_user() -> AdminError {
    AdminError::NotFound("There is no such user in this app.".into())
}

/// A change an operator makes to their own console account (demotion,
/// deactivation, deletion) needs a fresh sign-in and their e-mail typed.
pub(crate) async fn check_self_change(
    db: &Db,
    operator: &Operator,
    attempted: &str,
    confirmation: Option<&str>,
) -> Result<(), AdminError> {
    let target = Some(Target::user(operator.user().id.as_str()));
    // A fresh proof with the operator's strongest factor: a passkey when
    // they have one (a fresh password after an old passkey is not one).
    let has_passkey = !super::passkeys::list_for_user(db, &operator.user().id)
        .await?
        .is_empty();
    let fresh = if has_passkey {
        operator
            .signin
            .is_fresh_with(super::sessions::Factor::Passkey)
    } else {
        operator.signin.is_fresh()
    };
    if !fresh {
        let reason = "Changing your own access needs a recent sign-in: confirm it's you first.";
        let recorded = refused(db, operator, &AppId::console(), attempted, target, reason).await;
        return Err(instead_of_refusal(
            recorded,
            AdminError::ReauthRequired(reason.into()),
        ));
    }
    let typed = confirmation.map(|c| c.trim().to_lowercase());
    if typed.as_deref() != Some(operator.user().email.as_str()) {
        let recorded = refused(
            db,
            operator,
            &AppId::console(),
            attempted,
            target,
            "the typed confirmation did not match",
        )
        .await;
        return Err(instead_of_refusal(
            recorded,
            AdminError::Invalid {
                field: "confirmation",
                message:
                    "Type your own e-mail address exactly to confirm a change to your own access."
                        .into(),
            },
        ));
    }
    Ok(())
}
