//! Roles of an app: their policies, granting and revoking.

use crate::common;

use common::console::*;
use common::{TestApp, refused};
use oneauth::api::console::{roles::*, users::*};
use serde_json::{Value, json};

/// The console's owner, the app `demo` and its role `billing` (a passkey
/// used within 15 minutes).
async fn demo_with_billing_role() -> (TestApp, Op) {
    let (app, owner) = demo_with_owner().await;
    owner
        .call(&app, role("billing", Some("on"), Some("900")))
        .await
        .unwrap();
    (app, owner)
}

fn role(
    name: &str,
    require_passkey: Option<&str>,
    max_auth_age_secs: Option<&str>,
) -> ConsoleCreateRole {
    ConsoleCreateRole {
        app_id: "demo".into(),
        name: name.into(),
        description: Some("Invoices".into()),
        require_passkey: require_passkey.map(Into::into),
        max_auth_age_secs: max_auth_age_secs.map(Into::into),
    }
}

async fn roles_of_demo(app: &TestApp, owner: &Op) -> Value {
    owner
        .call(
            app,
            ConsoleRoles {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_roles_policy_is_validated_and_can_be_changed() {
    let (app, owner) = demo_with_billing_role().await;
    let error = owner
        .call(&app, role("x", None, Some("-5")))
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "max_auth_age_secs");
    let roles = roles_of_demo(&app, &owner).await;
    assert_eq!(roles[0]["require_passkey"], true);
    assert_eq!(roles[0]["max_auth_age_secs"], 900);
    owner
        .call(
            &app,
            ConsoleUpdateRole {
                app_id: "demo".into(),
                name: "billing".into(),
                description: Some("All invoices".into()),
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    let roles = roles_of_demo(&app, &owner).await;
    assert_eq!(roles[0]["description"], "All invoices");
    assert_eq!(roles[0]["require_passkey"], false);
    assert_recorded(&app, "demo", None, &["role.created", "role.updated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_grant_and_revoke_roles() {
    let (app, owner) = demo_with_billing_role().await;
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: "u@example.com".into(),
                roles: None,
                invite: None,
            },
        )
        .await
        .unwrap();
    let user = created["user_id"].as_str().unwrap().to_owned();
    let roles_held = async || {
        owner
            .call(
                &app,
                ConsoleUser {
                    app_id: "demo".into(),
                    user_id: user.clone(),
                },
            )
            .await
            .unwrap()["roles"]
            .clone()
    };
    owner
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "demo".into(),
                user_id: user.clone(),
                role: "billing".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(roles_held().await, json!(["billing"]));
    owner
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "demo".into(),
                user_id: user.clone(),
                role: "billing".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(roles_held().await, json!([]));
    assert_recorded(&app, "demo", None, &["role.granted", "role.revoked"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_can_be_deleted_but_not_a_built_in_one() {
    let (app, owner) = demo_with_billing_role().await;
    let delete = |app_id: &str, name: &str| ConsoleDeleteRole {
        app_id: app_id.into(),
        name: name.into(),
    };
    owner.call(&app, delete("demo", "billing")).await.unwrap();
    assert_eq!(roles_of_demo(&app, &owner).await, json!([]));
    let error = owner
        .call(&app, delete("console", "auditor"))
        .await
        .unwrap_err();
    assert_eq!(refused(&error), "Built-in roles cannot be deleted.");
    assert_recorded(&app, "demo", None, &["role.deleted"]).await;
}
