//! Who may use the console and see what: a passkey session and a console
//! role, auditors who change nothing, admins who cannot grant owner, and
//! operators scoped to one app.

use crate::common;

use common::console::*;
use common::{ServerCall, browser, refused};
use oneauth::api::account::ChangePassword;
use oneauth::api::console::{apps::*, audit::*, roles::*, users::*};
use oneauth::api::hosted::SignInWithPassword;
use oneauth::entities::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn the_console_needs_a_passkey_session_and_a_console_role() {
    let (app, owner) = with_owner().await;
    // The owner sets a password, then signs in with it alone elsewhere.
    owner
        .call(
            &app,
            ChangePassword {
                app_id: "console".into(),
                current: None,
                new: "owner's long passphrase".into(),
            },
        )
        .await
        .unwrap();
    let password_only = browser();
    app.call_json(
        &password_only,
        SignInWithPassword {
            app_id: "console".into(),
            email: "owner@example.com".into(),
            password: "owner's long passphrase".into(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let error = app
        .call_json(&password_only, ConsoleApps {})
        .await
        .unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");

    // A console user without a console role sees nothing.
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "console".into(),
                email: "nobody@example.com".into(),
                roles: None,
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap();
    let nobody = accept_invitation(&app, created["invite_link"].as_str().unwrap()).await;
    let error = nobody.call(&app, ConsoleApps {}).await.unwrap_err();
    assert_eq!(
        refused(&error),
        "This account has no access to the console."
    );
    // And nobody at all.
    assert_eq!(
        app.call_json(&browser(), ConsoleApps {}).await.unwrap_err(),
        json!("SignInRequired")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_apps_but_cannot_grant_owner() {
    let (app, owner) = with_owner().await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    operator(&app, &owner, "auditor@example.com", "auditor").await;

    // The admin manages apps...
    admin
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "shop".into(),
                name: "Shop".into(),
            },
        )
        .await
        .unwrap();
    // ...but cannot make anyone an owner (a role above their own).
    let auditor_id = user_id(&app, "console", "auditor@example.com").await;
    let error = admin
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "console".into(),
                user_id: auditor_id.to_string(),
                role: "owner".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own access"), "{error}");
    let error = admin
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "console".into(),
                email: "x@example.com".into(),
                roles: Some("owner".into()),
                invite: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own access"));
    // Granting what they hold is fine.
    admin
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "console".into(),
                user_id: auditor_id.to_string(),
                role: "admin".into(),
            },
        )
        .await
        .unwrap();
    admin
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "console".into(),
                user_id: auditor_id.to_string(),
                role: "admin".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap();
    let refusals = refusals(&app).await;
    assert!(
        refusals.iter().any(|r| r["attempted"] == "role.grant"
            && r["reason"].as_str().unwrap().contains("above your own")),
        "every refusal is audited: {refusals:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn auditors_read_everything_and_change_nothing() {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "shop".into(),
                name: "Shop".into(),
            },
        )
        .await
        .unwrap();
    let auditor = operator(&app, &owner, "auditor@example.com", "auditor").await;
    auditor.call(&app, ConsoleApps {}).await.unwrap();
    auditor
        .call(
            &app,
            ConsoleAudit {
                query: None,
                before: None,
            },
        )
        .await
        .unwrap();
    let writes = [
        ServerCall::of(ConsoleCreateApp {
            app_id: "nope".into(),
            name: "Nope".into(),
        }),
        ServerCall::of(ConsoleSetAppDisabled {
            app_id: "shop".into(),
            disabled: true,
        }),
        ServerCall::of(ConsoleCreateUser {
            app_id: "shop".into(),
            email: "u@example.com".into(),
            roles: None,
            invite: None,
        }),
        ServerCall::of(ConsoleCreateRole {
            app_id: "shop".into(),
            name: "support".into(),
            description: None,
            require_passkey: None,
            max_auth_age_secs: None,
        }),
    ];
    for call in writes {
        let error = auditor.send(&app, &call).await.unwrap_err();
        let reason = refused(&error);
        assert!(
            reason.contains("read-only") || reason.contains("Only global admins"),
            "{}: {reason}",
            call.path
        );
    }
    let recorded = refusals(&app).await;
    assert_eq!(recorded.len(), 4, "every refusal is audited: {recorded:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_scoped_operator_sees_nothing_of_other_apps() {
    let (app, owner) = with_owner().await;
    for (id, name) in [("demo", "Demo"), ("secret", "Secret")] {
        owner
            .call(
                &app,
                ConsoleCreateApp {
                    app_id: id.to_string(),
                    name: name.to_string(),
                },
            )
            .await
            .unwrap();
    }
    let scoped = operator(&app, &owner, "demo-admin@example.com", "admin:demo").await;
    let apps = scoped.call(&app, ConsoleApps {}).await.unwrap();
    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["demo"]);
    scoped
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

    // Another app does not exist, as far as they can tell.
    let error = scoped
        .call(
            &app,
            ConsoleApp {
                app_id: "secret".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["NotFound"], "There is no app called \"secret\".");
    let error = scoped
        .call(
            &app,
            ConsoleUsers {
                app_id: "secret".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string());
    // Their audit view holds only demo's events.
    let page = scoped
        .call(
            &app,
            ConsoleAudit {
                query: None,
                before: None,
            },
        )
        .await
        .unwrap();
    assert!(
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["app_id"] == "demo")
    );
    let error = scoped
        .call(
            &app,
            ConsoleAudit {
                query: Some(AuditQuery {
                    app_id: Some("secret".into()),
                    ..Default::default()
                }),
                before: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string());
    // No apps of their own making, no operators.
    assert!(
        refused(
            &scoped
                .call(
                    &app,
                    ConsoleCreateApp {
                        app_id: "mine".into(),
                        name: "Mine".into()
                    }
                )
                .await
                .unwrap_err()
        )
        .contains("Only global")
    );
    let error = scoped
        .call(
            &app,
            ConsoleUsers {
                app_id: "console".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string());
    // Refusals about the other app are recorded in the console's chain.
    let secret_events = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq("secret"))
        .filter(audit_event::Column::Action.eq("console.refused"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(secret_events.is_empty());
    assert!(refusals(&app).await.iter().any(|r| r["app_id"] == "secret"));
}
