//! Roles of an app: their policies, granting and revoking.

use crate::common;

use common::console::*;
use common::refused;
use oneauth::api::console::{apps::*, roles::*, users::*};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn roles_are_managed_and_granted() {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "billing".into(),
                description: Some("Invoices".into()),
                require_passkey: Some("on".into()),
                max_auth_age_secs: Some("900".into()),
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "x".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: Some("-5".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "max_auth_age_secs");
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
    let roles = owner
        .call(
            &app,
            ConsoleRoles {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(roles[0]["description"], "All invoices");
    assert_eq!(roles[0]["require_passkey"], false);

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
    let user = created["user_id"].as_str().unwrap();
    owner
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "demo".into(),
                user_id: user.to_string(),
                role: "billing".into(),
            },
        )
        .await
        .unwrap();
    let detail = owner
        .call(
            &app,
            ConsoleUser {
                app_id: "demo".into(),
                user_id: user.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(detail["roles"], json!(["billing"]));
    owner
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "demo".into(),
                user_id: user.to_string(),
                role: "billing".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleDeleteRole {
                app_id: "demo".into(),
                name: "billing".into(),
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleDeleteRole {
                app_id: "console".into(),
                name: "auditor".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused(&error), "Built-in roles cannot be deleted.");
}
