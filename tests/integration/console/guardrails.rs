//! The guardrails on operators' own access: the last owner stays an owner,
//! and demoting oneself needs a fresh sign-in and typed confirmation.

use crate::common;

use common::console::*;
use common::{ServerCall, refused};
use oneauth::api::console::{roles::*, users::*, *};
use oneauth::entities::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_stays_an_owner() {
    let (app, owner) = with_owner().await;
    let me = user_id(&app, "console", "owner@example.com").await;
    for call in [
        ServerCall::of(ConsoleRevokeRole {
            app_id: "console".into(),
            user_id: me.to_string(),
            role: "owner".into(),
            confirmation: Some("owner@example.com".into()),
        }),
        ServerCall::of(ConsoleSetUserActive {
            app_id: "console".into(),
            user_id: me.to_string(),
            active: false,
            confirmation: Some("owner@example.com".into()),
        }),
        ServerCall::of(ConsoleDeleteUser {
            app_id: "console".into(),
            user_id: me.to_string(),
            confirmation: Some("owner@example.com".into()),
        }),
    ] {
        let error = owner.send(&app, &call).await.unwrap_err();
        assert!(
            refused(&error).contains("last owner"),
            "{}: {error}",
            call.path
        );
    }
    let me_view = owner.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(me_view["access"], "owner");
    assert!(
        refusals(&app)
            .await
            .iter()
            .filter(|r| r["reason"].as_str().unwrap().contains("last owner"))
            .count()
            >= 3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_cannot_remove_the_owner() {
    let (app, owner) = with_owner().await;
    let me = user_id(&app, "console", "owner@example.com").await;
    // Neither by deactivation nor by taking the role.
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let error = admin
        .call(
            &app,
            ConsoleSetUserActive {
                app_id: "console".into(),
                user_id: me.to_string(),
                active: false,
                confirmation: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own"), "{error}");
    let error = admin
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "console".into(),
                user_id: me.to_string(),
                role: "owner".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own access"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apps_last_owner_stays_and_so_does_its_owner_role() {
    let (app, owner) = demo_with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "owner".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: "boss@example.com".into(),
                roles: Some("owner".into()),
                invite: None,
            },
        )
        .await
        .unwrap();
    let boss = created["user_id"].as_str().unwrap();
    let error = owner
        .call(
            &app,
            ConsoleDeleteUser {
                app_id: "demo".into(),
                user_id: boss.to_string(),
                confirmation: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("last owner"));
    let error = owner
        .call(
            &app,
            ConsoleDeleteRole {
                app_id: "demo".into(),
                name: "owner".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("still has holders"));
}

#[tokio::test(flavor = "multi_thread")]
async fn demoting_oneself_needs_a_fresh_sign_in_and_typed_confirmation() {
    let (app, mut owner) = with_owner().await;
    let second = operator(&app, &owner, "second@example.com", "owner").await;
    let me = user_id(&app, "console", "owner@example.com").await;
    let revoke = |confirmation: &'static str| ConsoleRevokeRole {
        app_id: "console".into(),
        user_id: (me.clone()).to_string(),
        role: "owner".into(),
        confirmation: Some(confirmation.to_string()),
    };

    let error = owner
        .call(&app, revoke("owner@example.org"))
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "confirmation");
    // Ten minutes later the sign-in is no longer fresh: the change is
    // refused until the operator confirms it's them...
    app.advance_clock(chrono::Duration::minutes(10));
    let error = owner
        .call(&app, revoke("owner@example.com"))
        .await
        .unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");
    // ...with their passkey on the console's sign-in page (this owner has no
    // password, so the page offers none), which sends them back to the
    // console page they came from...
    let user_page = format!("/console/apps/console/users/{me}");
    let reauth_page = app
        .get_with(
            &owner.browser,
            &format!("/a/console/login?reauth=1&return_to={user_page}"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        reauth_page.contains("Confirm it&#x27;s you") || reauth_page.contains("Confirm it's you"),
        "{reauth_page}"
    );
    assert!(!reauth_page.contains(r#"name="password""#), "{reauth_page}");
    assert_eq!(owner.reauthenticate(&app, &user_page).await, user_page);
    // ...and then the demotion goes through.
    owner.call(&app, revoke("owner@example.com")).await.unwrap();
    let still = second.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(still["access"], "owner");
    let recorded = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq("console"))
        .filter(audit_event::Column::Action.eq("role.revoked"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demotion is audited");
    assert_eq!(recorded.actor_label, "owner@example.com");
}
