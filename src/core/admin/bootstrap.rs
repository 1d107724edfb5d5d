//! The console's first owner, on an install that has none (`oneauth
//! bootstrap`): the one use-case that runs before any operator exists.

use crate::core::fault::Fault;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;

use crate::core::audit::{self, Action, Event, Target};
use crate::core::db::Db;
use crate::core::write::Actor;
use crate::core::{links, policy, roles, users};
use crate::entities::{app, app_user, role, role_assignment};
use crate::types::AppId;
use crate::types::UserStatus;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "The console already has an owner ({0}); sign in at /a/console/login, or ask an owner for access."
    )]
    AlreadyBootstrapped(String),
    #[error(transparent)]
    Link(#[from] links::LinkError),
    #[error(transparent)]
    User(#[from] users::UserError),
    #[error(transparent)]
    Role(#[from] roles::RoleError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(BootstrapError);

/// How long the first owner's setup link works.
pub const SETUP_LINK_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// Make `email` the console's first owner, on an install that has none, and
/// return the one-time token of their setup link (password and passkey are
/// chosen there). Records `console.bootstrapped`.
///
/// An owner counts once they can sign in. Until then bootstrap may run again
/// (the link expired unused, or went to a mistyped address): the new link
/// voids the earlier one, and an owner left pending under another address
/// loses the role and their link, so exactly one setup link is ever live.
pub async fn bootstrap(
    db: &Db,
    actor: &Actor,
    email: &crate::types::Email,
) -> Result<String, BootstrapError> {
    let console = AppId::console();
    let tx = crate::core::write::begin(db, actor.clone()).await?;
    let owner = role::Entity::find()
        .filter(role::Column::AppId.eq(AppId::CONSOLE))
        .filter(role::Column::Name.eq(policy::OWNER_ROLE))
        .one(&tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the console's owner role".into()))?;
    let holders: Vec<String> = role_assignment::Entity::find()
        .filter(role_assignment::Column::RoleId.eq(owner.id.as_str()))
        .all(&tx)
        .await?
        .into_iter()
        .map(|a| a.user_id)
        .collect();
    let console_app = app::Entity::find_by_id(AppId::console())
        .one(&tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the console app".into()))?;
    let owners = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(holders))
        .filter(app_user::Column::Status.eq(UserStatus::Active))
        .all(&tx)
        .await?;
    let owner_name = crate::types::RoleName::parse(policy::OWNER_ROLE).expect("a valid name");
    let mut pending = Vec::new();
    for owner in owners {
        if policy::sign_in_methods(&tx, &console_app, &owner.id).await? > 0 {
            return Err(BootstrapError::AlreadyBootstrapped(owner.email));
        }
        pending.push(owner);
    }
    let user = match users::find_by_email(&tx, &console, email).await? {
        Some(user) => {
            roles::grant(&tx, &user, &owner_name).await?;
            user
        }
        None => {
            users::create(
                &tx,
                &console,
                users::NewUser {
                    id: None,
                    email: email.clone(),
                    password: None,
                    roles: vec![owner_name.clone()],
                },
            )
            .await?
        }
    };
    // The new owner holds the role before the pending ones lose it: the
    // console never has no owner, not even inside this transaction.
    for earlier in pending.iter().filter(|o| o.email != email.as_str()) {
        roles::revoke(&tx, earlier, &owner_name).await?;
        links::void_unused(&tx, &earlier.id, links::Purpose::Invite).await?;
    }
    let token = links::issue_for(&tx, &user, links::Purpose::Invite, SETUP_LINK_LIFETIME).await?;
    audit::record(
        &tx,
        Event {
            app_id: &console,
            actor,
            action: Action::ConsoleBootstrapped,
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "email": user.email }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}
