//! The console, as tests drive it: a bootstrapped owner, operators invited
//! with passkeys, and what the audit log recorded of them.

use oneauth::api::console::users::ConsoleCreateUser;
use oneauth::api::hosted::{
    FinishInvitationPasskey, FinishPasskeyAssertion, LoadInvitation, StartInvitationPasskey,
    StartPasskeyAssertion,
};
use oneauth::entities::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::passkey::Device;
use super::{TestApp, browser, spawn_app};

/// An operator's browser and passkey device.
pub struct Op {
    pub browser: reqwest::Client,
    pub device: Device,
}

impl Op {
    /// Call a server function as this operator.
    pub async fn call<F>(&self, app: &TestApp, input: F) -> Result<Value, Value>
    where
        F: leptos::server_fn::ServerFn + serde::Serialize,
    {
        app.call_json(&self.browser, input).await
    }

    /// Send a call made earlier, as this operator.
    pub async fn send(
        &self,
        app: &TestApp,
        call: &crate::common::ServerCall,
    ) -> Result<Value, Value> {
        crate::common::json_answer(app.send(&self.browser, call).await).await
    }

    /// Confirm it's them with their passkey, as the console's "Confirm it's
    /// you" link does; answers where the sign-in page sends them next.
    pub async fn reauthenticate(&mut self, app: &TestApp, return_to: &str) -> String {
        let options = self
            .call(
                app,
                StartPasskeyAssertion {
                    app_id: "console".into(),
                },
            )
            .await
            .unwrap();
        let assertion = self.device.get(&app.address, options.as_str().unwrap());
        let next = self
            .call(
                app,
                FinishPasskeyAssertion {
                    app_id: "console".into(),
                    credential: assertion.to_string(),
                    return_to: Some(return_to.to_string()),
                },
            )
            .await
            .unwrap();
        next.as_str().unwrap().to_owned()
    }
}

/// Accept an invitation link with a new passkey; the browser is signed in.
pub async fn accept_invitation(app: &TestApp, link: &str) -> Op {
    accept_invitation_with(app, link, None).await
}

/// Accept an invitation with a new passkey and, beside it, a password.
pub async fn accept_invitation_with(app: &TestApp, link: &str, password: Option<&str>) -> Op {
    let token = link.rsplit('/').next().unwrap();
    let app_id = link.split("/a/").nth(1).unwrap().split('/').next().unwrap();
    let browser = browser();
    let mut device = Device::new();
    let options = app
        .call_json(
            &browser,
            StartInvitationPasskey {
                app_id: app_id.to_string(),
                token: token.to_string(),
                password: Some((password.unwrap_or_default()).to_string()),
            },
        )
        .await
        .unwrap();
    let credential = device.create(&app.address, options.as_str().unwrap());
    let done = app
        .call_json(
            &browser,
            FinishInvitationPasskey {
                app_id: app_id.to_string(),
                credential: credential.to_string(),
                password: Some((password.unwrap_or_default()).to_string()),
            },
        )
        .await
        .unwrap();
    assert_eq!(done["codes"].as_array().unwrap().len(), 10);
    Op { browser, device }
}

pub fn link_of(output: &str) -> String {
    output
        .lines()
        .find(|l| l.contains("/invite/"))
        .unwrap()
        .trim()
        .to_owned()
}

/// Run `oneauth bootstrap --email E`, which must succeed; its setup link.
pub fn bootstrap_link(app: &TestApp, email: &str) -> String {
    link_of(
        &app.cli(&["bootstrap", "--email", email])
            .expect_success()
            .stdout,
    )
}

/// A fresh install with its first owner signed in to the console.
pub async fn with_owner() -> (TestApp, Op) {
    let app = spawn_app().await;
    let owner = first_owner(&app).await;
    (app, owner)
}

/// Bootstrap `app`'s console: its first owner, signed in.
pub async fn first_owner(app: &TestApp) -> Op {
    let link = bootstrap_link(app, "owner@example.com");
    accept_invitation(app, &link).await
}

/// [`with_owner`], and the app `demo` the owner created in the console.
pub async fn demo_with_owner() -> (TestApp, Op) {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            oneauth::api::console::apps::ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
    (app, owner)
}

/// Another operator with `roles`, invited by `by` and signed in with a passkey.
pub async fn operator(app: &TestApp, by: &Op, email: &str, roles: &str) -> Op {
    let created = by
        .call(
            app,
            ConsoleCreateUser {
                app_id: "console".into(),
                email: email.to_string(),
                roles: Some(roles.to_string()),
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap();
    accept_invitation(app, created["invite_link"].as_str().unwrap()).await
}

pub async fn refusals(app: &TestApp) -> Vec<Value> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("console.refused"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect()
}

/// Assert that `app_id`'s audit log records each of `expected` (by an
/// actor of `actor_type`, when given).
pub async fn assert_recorded(
    app: &TestApp,
    app_id: &str,
    actor_type: Option<&str>,
    expected: &[&str],
) {
    let mut query = audit_event::Entity::find().filter(audit_event::Column::AppId.eq(app_id));
    if let Some(actor_type) = actor_type {
        query = query.filter(audit_event::Column::ActorType.eq(actor_type));
    }
    let actions: Vec<String> = query
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in expected {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

/// What the console setup page shows for `link`, from a fresh browser.
pub async fn load_setup_link(app: &TestApp, link: &str) -> Result<Value, Value> {
    let token = link.rsplit('/').next().unwrap();
    app.call_json(
        &browser(),
        LoadInvitation {
            app_id: "console".into(),
            token: token.to_string(),
        },
    )
    .await
}

pub async fn user_id(app: &TestApp, app_id: &str, email: &str) -> String {
    oneauth::entities::app_user::Entity::find()
        .filter(oneauth::entities::app_user::Column::AppId.eq(app_id))
        .filter(oneauth::entities::app_user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}
