//! The console's first owner: the one-time setup link, and bootstrap again
//! until an owner can sign in.

use crate::common;

use common::console::*;
use common::{PASSWORD, browser, refused, spawn_app};
use oneauth::api::console::{users::*, *};
use oneauth::api::hosted::{AcceptInvitationWithPassword, StartInvitationPasskey};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_makes_one_owner_through_a_one_time_link() {
    let app = spawn_app().await;
    let link = bootstrap_link(&app, "Owner@Example.com");
    assert!(
        link.starts_with(&format!("{}/a/console/invite/", app.address)),
        "{link}"
    );
    let token = link.rsplit('/').next().unwrap();

    // The link names the owner and demands a passkey: no password-only setup.
    let view = load_setup_link(&app, &link).await.unwrap();
    assert_eq!(view["email"], "owner@example.com");
    assert_eq!(view["needs_passkey"], true);
    let error = app
        .call_json(
            &browser(),
            AcceptInvitationWithPassword {
                app_id: "console".into(),
                token: token.to_string(),
                password: PASSWORD.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("needs a passkey"));

    // A password may be chosen beside the passkey; a weak one is refused
    // beside its field before the passkey ceremony starts.
    let error = app
        .call_json(
            &browser(),
            StartInvitationPasskey {
                app_id: "console".into(),
                token: token.to_string(),
                password: Some("short".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "password", "{error}");

    let owner = accept_invitation_with(&app, &link, Some(PASSWORD)).await;
    let me = owner.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(me["email"], "owner@example.com");
    assert_eq!(me["access"], "owner");
    let owner_id = user_id(&app, "console", "owner@example.com").await;
    let detail = owner
        .call(
            &app,
            ConsoleUser {
                app_id: "console".into(),
                user_id: owner_id.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(detail["has_password"], true, "{detail}");
    assert_eq!(detail["passkeys"].as_array().unwrap().len(), 1);

    // Once used, the link is dead; a second bootstrap is refused.
    let again = load_setup_link(&app, &link).await.unwrap_err();
    assert!(again["NotFound"].as_str().unwrap().contains("already used"));
    app.cli(&["bootstrap", "--email", "other@example.com"])
        .expect_error("already has an owner");
    assert_recorded(
        &app,
        "console",
        None,
        &[
            "console.bootstrapped",
            "invitation.issued",
            "invitation.accepted",
            "passkey.added",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_link_expires_after_a_day() {
    let app = spawn_app().await;
    let link = bootstrap_link(&app, "owner@example.com");
    app.advance_clock(chrono::Duration::hours(23));
    assert!(load_setup_link(&app, &link).await.is_ok());
    app.advance_clock(chrono::Duration::hours(2));
    let error = load_setup_link(&app, &link).await.unwrap_err();
    assert!(error["NotFound"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_reissues_the_setup_link_until_an_owner_can_sign_in() {
    let app = spawn_app().await;
    let first = bootstrap_link(&app, "owner@example.com");

    // Nobody can sign in yet, so bootstrap runs again: a fresh link, and
    // the first one dies.
    let fresh = bootstrap_link(&app, "owner@example.com");
    assert!(load_setup_link(&app, &first).await.unwrap_err()["NotFound"].is_string());
    assert_eq!(
        load_setup_link(&app, &fresh).await.unwrap()["email"],
        "owner@example.com"
    );

    // A mistyped address is corrected the same way: the pending owner loses
    // the role and their link, and only the new link works.
    let corrected = bootstrap_link(&app, "boss@example.com");
    assert!(load_setup_link(&app, &fresh).await.unwrap_err()["NotFound"].is_string());
    let boss = accept_invitation_with(&app, &corrected, None).await;
    let pending_id = user_id(&app, "console", "owner@example.com").await;
    let pending = boss
        .call(
            &app,
            ConsoleUser {
                app_id: "console".into(),
                user_id: pending_id.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(pending["roles"], json!([]), "{pending}");
    assert_recorded(&app, "console", Some("cli"), &["role.revoked"]).await;

    // An owner who can sign in ends it.
    app.cli(&["bootstrap", "--email", "owner@example.com"])
        .expect_error("already has an owner (boss@example.com)");
}
