//! The console's permission model. Operators are users of the built-in app
//! `console`; what they may do comes from its roles:
//!
//! | role | may |
//! |---|---|
//! | `owner` | everything, everywhere |
//! | `admin` | manage every app (not grant `owner`) |
//! | `auditor` | read everything, change nothing |
//! | `admin:{app}` / `auditor:{app}` | the same, for one app only |
//!
//! An operator scoped to one app sees nothing of another. An operator cannot
//! grant (or revoke) a console role above their own level for its scope.
//! Every refusal is audited (`console.refused`) in the app it concerned.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::json;

use super::audit::{self, Actor, AuditError, Event, Target};
use super::db::Db;
use super::db::begin_write;
use super::policy;
use super::sessions::{ActiveSignin, ClientInfo};
use super::types::AppId;
use super::{clock, secrets};
use crate::entities::{app_user, role};

/// How much an operator may do within a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Auditor = 1,
    Admin = 2,
    Owner = 3,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Auditor => "auditor",
            Level::Admin => "admin",
            Level::Owner => "owner",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    App(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub level: Level,
    pub scope: Scope,
}

impl Grant {
    /// The grant a console role name stands for, if it is one.
    pub fn from_role_name(name: &str) -> Option<Self> {
        let (level, scope) = match name.split_once(':') {
            Some((level, app)) => (level, Scope::App(app.to_owned())),
            None => (name, Scope::All),
        };
        let level = match level {
            "owner" if scope == Scope::All => Level::Owner,
            "admin" => Level::Admin,
            "auditor" => Level::Auditor,
            _ => return None,
        };
        Some(Self { level, scope })
    }

    fn covers(&self, app_id: &str) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::App(scoped) => scoped == app_id,
        }
    }
}

/// The app-scoped console roles every app gets.
pub fn scoped_role_names(app_id: &str) -> [String; 2] {
    [format!("admin:{app_id}"), format!("auditor:{app_id}")]
}

/// Create the console roles scoped to a new app (they require a passkey,
/// like every console role).
pub async fn create_scoped_roles(
    tx: &sea_orm::DatabaseTransaction,
    app_id: &AppId,
) -> Result<(), DbErr> {
    let now = clock::now();
    for name in scoped_role_names(app_id.as_str()) {
        let level = if name.starts_with("admin:") {
            "Manages"
        } else {
            "Reads"
        };
        role::ActiveModel {
            id: Set(secrets::new_id()),
            app_id: Set(AppId::CONSOLE.to_owned()),
            name: Set(name),
            description: Set(format!("{level} the app \"{app_id}\" only.")),
            require_passkey: Set(true),
            max_auth_age_secs: Set(None),
            builtin: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(tx)
        .await?;
    }
    Ok(())
}

/// A signed-in operator and what they may do.
#[derive(Debug, Clone)]
pub struct Operator {
    pub signin: ActiveSignin,
    pub grants: Vec<Grant>,
    pub client: ClientInfo,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    #[error("This account has no role in the console.")]
    NotAnOperator,
    /// A console role's policy is not met by the session (passkey, age).
    #[error("The console needs a passkey sign-in.")]
    StepUpRequired { passkey: bool },
}

impl Operator {
    /// The operator behind a console sign-in, if their session satisfies
    /// the policy of every console role they hold.
    pub async fn from_signin<C: ConnectionTrait>(
        db: &C,
        signin: ActiveSignin,
        client: ClientInfo,
    ) -> Result<Result<Self, AccessError>, DbErr> {
        let roles = policy::roles_of_user(db, &signin.user.id).await?;
        let grants: Vec<Grant> = roles
            .iter()
            .filter_map(|r| Grant::from_role_name(&r.name))
            .collect();
        if grants.is_empty() {
            return Ok(Err(AccessError::NotAnOperator));
        }
        let factors = signin.factors();
        let now = super::clock::now();
        let unmet: Vec<_> = roles
            .iter()
            .filter(|r| !policy::role_satisfied(r, &factors, now))
            .collect();
        if !unmet.is_empty() {
            return Ok(Err(AccessError::StepUpRequired {
                passkey: unmet.iter().any(|r| r.require_passkey),
            }));
        }
        Ok(Ok(Self {
            signin,
            grants,
            client,
        }))
    }

    pub fn user(&self) -> &app_user::Model {
        &self.signin.user
    }

    pub fn actor(&self) -> Actor {
        Actor::operator(
            &self.signin.user.id,
            &self.signin.user.email,
            self.client.address.clone(),
        )
    }

    /// The highest level this operator has over `app_id`.
    pub fn level_for(&self, app_id: &str) -> Option<Level> {
        self.grants
            .iter()
            .filter(|g| g.covers(app_id))
            .map(|g| g.level)
            .max()
    }

    /// The highest level over everything (global grants only).
    pub fn global_level(&self) -> Option<Level> {
        self.grants
            .iter()
            .filter(|g| g.scope == Scope::All)
            .map(|g| g.level)
            .max()
    }

    pub fn can_read(&self, app_id: &str) -> bool {
        self.level_for(app_id).is_some()
    }

    /// Changing the console app (its operators and their roles) needs a
    /// global grant; other apps accept scoped admins.
    pub fn can_write(&self, app_id: &str) -> bool {
        let level = if app_id == AppId::CONSOLE {
            self.global_level()
        } else {
            self.level_for(app_id)
        };
        level.is_some_and(|l| l >= Level::Admin)
    }

    pub fn can_create_apps(&self) -> bool {
        self.global_level().is_some_and(|l| l >= Level::Admin)
    }

    /// Whether the operator may see every app (or only their scoped ones).
    pub fn sees_all_apps(&self) -> bool {
        self.global_level().is_some()
    }

    pub fn scoped_apps(&self) -> Vec<String> {
        self.grants
            .iter()
            .filter_map(|g| match &g.scope {
                Scope::App(app) => Some(app.clone()),
                Scope::All => None,
            })
            .collect()
    }

    /// "An operator cannot grant a role they do not hold": for console roles,
    /// the operator's level over the role's scope must be at least the
    /// role's level. Roles of other apps are governed by write access.
    pub fn may_assign(&self, app_id: &str, role_name: &str) -> bool {
        if !self.can_write(app_id) {
            return false;
        }
        if app_id != AppId::CONSOLE {
            return true;
        }
        match Grant::from_role_name(role_name) {
            Some(grant) => {
                let own = match &grant.scope {
                    Scope::All => self.global_level(),
                    Scope::App(app) => self.level_for(app),
                };
                own.is_some_and(|own| own >= grant.level)
            }
            // A console role that grants nothing: global admins may assign it.
            None => true,
        }
    }

    /// H3: an operator acts on another console user (invitations, links,
    /// deactivation, deletion, passkeys, sessions, roles) only when their
    /// own level is at least the target's highest console level: an admin
    /// never takes over, locks out or strips an owner. Users of other apps
    /// hold no console levels.
    pub fn may_act_on(&self, app_id: &str, target_role_names: &[String]) -> bool {
        if app_id != AppId::CONSOLE {
            return true;
        }
        let target = target_role_names
            .iter()
            .filter_map(|name| Grant::from_role_name(name))
            .map(|grant| grant.level)
            .max();
        match target {
            None => true,
            Some(level) => self.global_level().is_some_and(|own| own >= level),
        }
    }

    /// M5: the console app's own settings and OAuth clients (how operators
    /// sign in, and who may ask for their identity) are the owners' alone;
    /// other apps follow write access.
    pub fn can_configure(&self, app_id: &str) -> bool {
        if app_id == AppId::CONSOLE {
            self.global_level() == Some(Level::Owner)
        } else {
            self.can_write(app_id)
        }
    }

    pub fn is_self(&self, app_id: &str, user_id: &str) -> bool {
        app_id == AppId::CONSOLE && user_id == self.signin.user.id
    }
}

/// Why a console action was refused: a sentence for the operator, recorded
/// in the audit log of the app concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Record a refused attempt (`console.refused`) and hand back the reason.
pub async fn refuse(
    db: &Db,
    operator: &Operator,
    app_id: &str,
    attempted: &str,
    target: Option<Target>,
    reason: impl Into<String>,
) -> Result<Refusal, AuditError> {
    let reason = reason.into();
    // Refusals about an app the operator cannot see are recorded in the
    // console's chain, so nothing of that app (not even its existence) leaks.
    let chain = match AppId::parse(app_id) {
        Ok(id) if operator.can_read(app_id) && super::apps::find(db, &id).await?.is_some() => id,
        _ => AppId::console(),
    };
    let tx = begin_write(db).await?;
    audit::record(
        &tx,
        Event {
            app_id: &chain,
            actor: &operator.actor(),
            action: "console.refused",
            target,
            details: json!({ "attempted": attempted, "app_id": app_id, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Refusal(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_role_names_map_to_grants() {
        assert_eq!(
            Grant::from_role_name("owner"),
            Some(Grant {
                level: Level::Owner,
                scope: Scope::All
            })
        );
        assert_eq!(
            Grant::from_role_name("admin:demo"),
            Some(Grant {
                level: Level::Admin,
                scope: Scope::App("demo".into())
            })
        );
        assert_eq!(
            Grant::from_role_name("owner:demo"),
            None,
            "ownership is global"
        );
        assert_eq!(Grant::from_role_name("support"), None);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "The console already has an owner ({0}); sign in at /a/console/login, or ask an owner for access."
    )]
    AlreadyBootstrapped(String),
    #[error(transparent)]
    Link(#[from] super::links::LinkError),
    #[error(transparent)]
    User(#[from] super::users::UserError),
    #[error(transparent)]
    Role(#[from] super::roles::RoleError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

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
    email: &super::types::Email,
) -> Result<String, BootstrapError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let console = AppId::console();
    let tx = begin_write(db).await?;
    let owner = role::Entity::find()
        .filter(role::Column::AppId.eq(AppId::CONSOLE))
        .filter(role::Column::Name.eq(policy::OWNER_ROLE))
        .one(&tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the console's owner role".into()))?;
    let holders: Vec<String> = crate::entities::role_assignment::Entity::find()
        .filter(crate::entities::role_assignment::Column::RoleId.eq(owner.id.as_str()))
        .all(&tx)
        .await?
        .into_iter()
        .map(|a| a.user_id)
        .collect();
    let console_app = crate::entities::app::Entity::find_by_id(AppId::CONSOLE)
        .one(&tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the console app".into()))?;
    let owners = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(holders))
        .filter(app_user::Column::Status.eq(super::users::STATUS_ACTIVE))
        .all(&tx)
        .await?;
    let owner_name = super::types::RoleName::parse(policy::OWNER_ROLE).expect("a valid name");
    let mut pending = Vec::new();
    for owner in owners {
        if policy::sign_in_methods(&tx, &console_app, &owner.id).await? > 0 {
            return Err(BootstrapError::AlreadyBootstrapped(owner.email));
        }
        pending.push(owner);
    }
    let user = match super::users::find_by_email(&tx, &console, email).await? {
        Some(user) => {
            super::roles::grant(&tx, actor, &user, &owner_name).await?;
            user
        }
        None => {
            super::users::create(
                &tx,
                actor,
                &console,
                super::users::NewUser {
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
        super::roles::revoke(&tx, actor, earlier, &owner_name).await?;
        super::links::void_unused(&tx, &earlier.id, super::links::Purpose::Invite).await?;
    }
    let token = super::links::issue_for(
        &tx,
        actor,
        &user,
        super::links::Purpose::Invite,
        SETUP_LINK_LIFETIME,
    )
    .await?;
    audit::record(
        &tx,
        Event {
            app_id: &console,
            actor,
            action: "console.bootstrapped",
            target: Some(Target::new("user", user.id.as_str())),
            details: json!({ "email": user.email }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}
