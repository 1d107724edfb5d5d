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

use crate::core::write::Clocked;
use crate::core::write::Write;
use sea_orm::{ActiveModelTrait, DbErr, Set};

use super::policy;
use super::secrets;
use super::sessions::{ActiveSignin, ClientInfo};
use crate::core::write::Actor;
use crate::entities::{app_user, role};
use crate::types::AppId;

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
    App(AppId),
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
            Some((level, app)) => (level, Scope::App(AppId::parse(app).ok()?)),
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

    fn covers(&self, app_id: &AppId) -> bool {
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
pub async fn create_scoped_roles(tx: &Write, app_id: &AppId) -> Result<(), DbErr> {
    let now = tx.now;
    for name in scoped_role_names(app_id.as_str()) {
        let level = if name.starts_with("admin:") {
            "Manages"
        } else {
            "Reads"
        };
        role::ActiveModel {
            id: Set(secrets::new_id()),
            app_id: Set(AppId::console()),
            name: Set(name),
            description: Set(format!("{level} the app \"{app_id}\" only.")),
            require_passkey: Set(true),
            max_auth_age_secs: Set(None),
            required_provider_id: Set(None),
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
    pub async fn from_signin<C: Clocked>(
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
        let now = db.now();
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
    pub fn level_for(&self, app_id: &AppId) -> Option<Level> {
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

    pub fn can_read(&self, app_id: &AppId) -> bool {
        self.level_for(app_id).is_some()
    }

    /// Changing the console app (its operators and their roles) needs a
    /// global grant; other apps accept scoped admins.
    pub fn can_write(&self, app_id: &AppId) -> bool {
        let level = if app_id.is_console() {
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
                Scope::App(app) => Some(app.to_string()),
                Scope::All => None,
            })
            .collect()
    }

    /// "An operator cannot grant a role they do not hold": for console roles,
    /// the operator's level over the role's scope must be at least the
    /// role's level. Roles of other apps are governed by write access.
    pub fn may_assign(&self, app_id: &AppId, role_name: &str) -> bool {
        if !self.can_write(app_id) {
            return false;
        }
        if !app_id.is_console() {
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
    pub fn may_act_on(&self, app_id: &AppId, target_role_names: &[String]) -> bool {
        if !app_id.is_console() {
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
    pub fn can_configure(&self, app_id: &AppId) -> bool {
        if app_id.is_console() {
            self.global_level() == Some(Level::Owner)
        } else {
            self.can_write(app_id)
        }
    }

    pub fn is_self(&self, app_id: &AppId, user_id: &str) -> bool {
        app_id.is_console() && user_id == self.signin.user.id
    }
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
                scope: Scope::App(AppId::parse("demo").unwrap())
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
