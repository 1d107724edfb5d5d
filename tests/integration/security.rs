//! One regression test per finding of the security review of 2026-11-26
//! (../shared/reviews/security-2026-11-26.md), named after it: each failed
//! against the code the review read, and passes since its fix. Findings
//! whose rule lives in one function (X-Forwarded-For, IPv6 keys, e-mail
//! normalisation, the public URL) are tested beside that function too.

use crate::common;

use std::time::Duration;

use common::console::{Op, accept_invitation_with, demo_with_owner, operator, user_id, with_owner};
use common::factors::{
    add_passkey, assert_passkey, demo, live_families, live_sessions, passkey_role, signed_in,
};
use common::oauth::{Client, Pkce, claims, param};
use common::passkey::Device;
use common::refused;
use common::{PASSWORD, ServerCall, TestApp, add_user, browser, sign_in, spawn_app};
use oneauth::api::account::{
    ChangePassword, FinishAddPasskey, LoadAccount, RegenerateRecoveryCodes, RemovePasskey,
    StartAddPasskey,
};
use oneauth::api::console::{apps::*, audit::*, clients::*, roles::*, users::*, *};
use oneauth::api::hosted::{
    RedeemRecoveryLink, SignInWithPassword, SignInWithRecoveryCode, StartPasskeyAssertion,
};
use oneauth::entities::{audit_event, signin_session};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers

async fn audit_rows(app: &TestApp) -> u64 {
    audit_event::Entity::find().count(&app.db).await.unwrap()
}

// ---------------------------------------------------------------------------
// H1: no script or redirect from a query string

#[tokio::test(flavor = "multi_thread")]
async fn h1_an_unsafe_return_to_is_never_rendered_as_a_link() {
    let (app, _) = demo(&[]).await;
    let browser = signed_in(&app, "demo", "ada@example.com").await;
    for evil in [
        "javascript:alert(document.domain)",
        "https://evil.example/",
        "//evil.example/",
        "/a/shop/account",
    ] {
        let query: String = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect();
        let page = app
            .get_with(&browser, &format!("/a/demo/login?return_to={query}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("You&#x27;re signed in") || page.contains("You're signed in"));
        assert!(
            !page.contains(&format!("href=\"{evil}")),
            "unsafe return_to rendered: {evil}"
        );
        assert!(page.contains("href=\"/a/demo/account\""), "{evil}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn h1_pages_carry_a_nonce_policy_and_the_security_headers() {
    let (app, _) = demo(&[]).await;
    let response = app.get("/a/demo/login").await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    let csp = header("content-security-policy");
    assert_eq!(header("x-content-type-options"), "nosniff");
    // Never a Referer to another site; our own no-JavaScript forms keep
    // theirs (Leptos answers them with a redirect back to that page).
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "no HSTS over plain http"
    );
    for directive in [
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "'wasm-unsafe-eval'",
        // A password form posted without JavaScript ends at the client's
        // registered redirect URI: the browser checks form-action there.
        "form-action 'self' http://localhost:5173/cb http://localhost:5173/bye",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    let script_src = csp
        .split(';')
        .find(|d| d.trim_start().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{script_src}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in script-src")
        .to_owned();
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the response's nonce"
    );
    // Every response gets its own nonce.
    let other = app.get("/a/demo/login").await;
    let other_csp = other.headers()["content-security-policy"].to_str().unwrap();
    assert!(!other_csp.contains(&nonce));
    // Protocol answers carry the headers too.
    let jwks = app.get("/a/demo/oauth/jwks").await;
    assert_eq!(jwks.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test(flavor = "multi_thread")]
async fn h1_hsts_behind_https() {
    let app = common::spawn_app_with_public_url("https://auth.example.test").await;
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}

// ---------------------------------------------------------------------------
// H2, M4, L7, L8: a factor is only as strong as the way it was enrolled

/// An operator who set a password beside their passkey at invitation.
async fn operator_with_password(app: &TestApp, owner: &Op, email: &str, roles: &str) -> Op {
    let created = owner
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
    accept_invitation_with(
        app,
        created["invite_link"].as_str().unwrap(),
        Some(PASSWORD),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn h2_a_phished_console_password_cannot_enrol_a_passkey() {
    let (app, owner) = with_owner().await;
    operator_with_password(&app, &owner, "op@example.com", "admin").await;
    // The attacker has the password only.
    let evil = signed_in(&app, "console", "op@example.com").await;
    assert!(app.call_json(&evil, ConsoleMe {}).await.unwrap_err()["ReauthRequired"].is_string());
    let mut attackers = Device::new();
    let error = add_passkey(&app, &evil, "console", &mut attackers, None)
        .await
        .unwrap_err();
    assert!(
        error["ReauthRequired"]
            .as_str()
            .unwrap()
            .contains("passkey"),
        "{error}"
    );
    // No ceremony ran, nothing was stored: the console stays closed to it.
    assert!(attackers.credential_id.is_none());
    assert_eq!(
        oneauth::entities::passkey::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        2,
        "the owner's and the operator's own"
    );
    assert!(app.call_json(&evil, ConsoleMe {}).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn h2_a_passkey_role_gets_its_first_passkey_only_with_an_enrolment_link() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    passkey_role(&app, "demo", "admin", &[]);
    app.grant_role("demo", "ada@example.com", "admin");
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let mut device = Device::new();

    // A fresh password session alone: refused, before the ceremony.
    let error = add_passkey(&app, &ada, "demo", &mut device, None)
        .await
        .unwrap_err();
    assert!(refused(&error).contains("enrolment link"), "{error}");
    let view = app.account(&ada, "demo").await.unwrap();
    assert!(
        view["passkey_blocked"]
            .as_str()
            .unwrap()
            .contains("enrolment link")
    );
    // Recovery codes would be a way around it: refused too.
    let error = app
        .call_json(
            &ada,
            RegenerateRecoveryCodes {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("passkey"), "{error}");

    // An operator issues an enrolment link; with it, she adds the passkey.
    let ada_id = user_id(&app, "demo", "ada@example.com").await;
    let link = owner
        .call(
            &app,
            ConsoleEnrolmentLink {
                app_id: "demo".into(),
                user_id: ada_id.to_string(),
            },
        )
        .await
        .unwrap();
    let token = param(link.as_str().unwrap(), "enrol").unwrap();
    assert!(link.as_str().unwrap().contains("/a/demo/account?enrol="));
    let view = app
        .call_json(
            &ada,
            LoadAccount {
                app_id: "demo".into(),
                enrolment: Some(token.to_string()),
            },
        )
        .await
        .unwrap();
    assert_eq!(view["enrolment_link_valid"], true);
    assert_eq!(view["passkey_blocked"], Value::Null);
    let codes = add_passkey(&app, &ada, "demo", &mut device, Some(&token))
        .await
        .unwrap();
    assert_eq!(codes.as_array().unwrap().len(), 10);
    let recorded = app.actions_with_details("demo").await;
    assert!(recorded.iter().any(|(a, _)| a == "enrolment_link.issued"));
    assert!(recorded.iter().any(|(a, _)| a == "enrolment_link.used"));
    assert!(recorded.iter().any(|(a, _)| a == "passkey.added"));

    // The link works once, and a user with a passkey gets no second one.
    let mut second = Device::new();
    let error = add_passkey(&app, &ada, "demo", &mut second, Some(&token))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("enrolment link"), "{error}");
    let again = owner
        .call(
            &app,
            ConsoleEnrolmentLink {
                app_id: "demo".into(),
                user_id: ada_id.to_string(),
            },
        )
        .await;
    assert!(refused(&again.unwrap_err()).contains("has a passkey"));
}

#[tokio::test(flavor = "multi_thread")]
async fn h2_an_enrolment_link_is_for_its_own_user_only() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    add_user(&app, "demo", "bob@example.com");
    passkey_role(&app, "demo", "admin", &[]);
    app.grant_role("demo", "bob@example.com", "admin");
    let ada_id = user_id(&app, "demo", "ada@example.com").await;
    let link = owner
        .call(
            &app,
            ConsoleEnrolmentLink {
                app_id: "demo".into(),
                user_id: ada_id.to_string(),
            },
        )
        .await
        .unwrap();
    let token = param(link.as_str().unwrap(), "enrol").unwrap();
    let bob = signed_in(&app, "demo", "bob@example.com").await;
    let error = add_passkey(&app, &bob, "demo", &mut Device::new(), Some(&token))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("another account"), "{error}");
}

/// A passkey-only user of `demo` (signed up through an invitation), with
/// their browser and device.
async fn passkey_user(app: &TestApp, owner: &Op, email: &str) -> (reqwest::Client, Device, String) {
    let created = owner
        .call(
            app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: email.to_string(),
                roles: None,
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap();
    let op = accept_invitation_with(app, created["invite_link"].as_str().unwrap(), None).await;
    (
        op.browser,
        op.device,
        created["user_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn h2_a_first_password_removal_and_new_codes_need_a_recent_passkey() {
    let (app, owner) = demo_with_owner().await;
    let (browser, mut device, user) = passkey_user(&app, &owner, "pat@example.com").await;
    app.advance_clock(chrono::Duration::minutes(10));
    // A stale session (a stolen cookie, say) changes no factor.
    let error = app
        .call_json(
            &browser,
            ChangePassword {
                app_id: "demo".into(),
                current: None,
                new: "a brand new passphrase".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        error["ReauthRequired"]
            .as_str()
            .unwrap()
            .contains("passkey"),
        "{error}"
    );
    let error = app
        .call_json(
            &browser,
            RegenerateRecoveryCodes {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");
    let view = app.account(&browser, "demo").await.unwrap();
    let passkey_id = view["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let error = app
        .call_json(
            &browser,
            RemovePasskey {
                app_id: "demo".into(),
                passkey_id: passkey_id.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");
    assert_eq!(live_sessions(&app, &user).await, 1, "nothing changed");

    // With a fresh passkey assertion the password can be set...
    assert_passkey(&app, &browser, "demo", &mut device)
        .await
        .unwrap();
    app.call_json(
        &browser,
        ChangePassword {
            app_id: "demo".into(),
            current: None,
            new: "a brand new passphrase".into(),
        },
    )
    .await
    .unwrap();
    let codes = app
        .call_json(
            &browser,
            RegenerateRecoveryCodes {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(codes.as_array().unwrap().len(), 10);
    let recorded = app.actions_with_details("demo").await;
    assert!(recorded.iter().any(|(a, _)| a == "password.changed"));
    assert!(
        recorded
            .iter()
            .any(|(a, _)| a == "recovery_codes.regenerated")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn m4_an_old_passkey_and_a_fresh_password_are_not_a_recent_passkey() {
    let (app, created) = demo(&[]).await;
    passkey_role(&app, "demo", "admin", &["--max-auth-age", "60"]);
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let mut device = Device::new();
    add_passkey(&app, &ada, "demo", &mut device, None)
        .await
        .unwrap();
    app.grant_role("demo", "ada@example.com", "admin");
    assert_passkey(&app, &ada, "demo", &mut device)
        .await
        .unwrap();
    let client = Client::from_created(&app, &created);
    let tokens = client.tokens(&ada, &[]).await;
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!(["admin"]));
    assert_eq!(at["acr"], "phr");

    // Ten minutes later, a fresh password does not make the passkey recent.
    app.advance_clock(chrono::Duration::minutes(10));
    app.call_json(
        &ada,
        oneauth::api::hosted::ReauthenticateWithPassword {
            app_id: "demo".into(),
            password: PASSWORD.to_string(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let response = client.authorize(&ada, &Pkce::new(), &[]).await;
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/a/demo/login?"), "{location}");
    assert_eq!(
        param(location, "passkey").as_deref(),
        Some("1"),
        "{location}"
    );
    // acr_values=phr with max_age: the same.
    let response = client
        .authorize(
            &ada,
            &Pkce::new(),
            &[("acr_values", "phr"), ("max_age", "60")],
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        param(location, "passkey").as_deref(),
        Some("1"),
        "{location}"
    );
    // The console's policy reads the same times.
    let session = signin_session::Entity::find()
        .filter(signin_session::Column::EndedAt.is_null())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(session.password_at.unwrap() > session.passkey_at.unwrap());

    // A token describes one authentication: without a role that needs the
    // passkey, the fresh password is what it says (acr pwd, its time).
    app.sql("DELETE FROM role_assignment").await;
    let tokens = client.tokens(&ada, &[("max_age", "60")]).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "pwd");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(
        id["auth_time"].as_i64().unwrap(),
        session.password_at.unwrap().timestamp()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn l7_a_passkey_registration_finishes_only_for_the_user_who_started_it() {
    let (app, _) = demo(&[]).await;
    add_user(&app, "demo", "bob@example.com");
    let shared = signed_in(&app, "demo", "ada@example.com").await;
    let mut device = Device::new();
    let options = app
        .call_json(
            &shared,
            StartAddPasskey {
                app_id: "demo".into(),
                enrolment: None,
            },
        )
        .await
        .unwrap();
    let credential = device.create(&app.address, options.as_str().unwrap());
    // Ada steps away; Bob signs in to the same browser and finishes it.
    app.call_json(
        &shared,
        oneauth::api::hosted::SignOut {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap();
    sign_in(&app, &shared, "demo", "bob@example.com", PASSWORD).await;
    let error = app
        .call_json(
            &shared,
            FinishAddPasskey {
                app_id: "demo".into(),
                credential: credential.to_string(),
                name: "x".into(),
                enrolment: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("another account"), "{error}");
    assert_eq!(
        oneauth::entities::passkey::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn l8_a_recovery_code_ends_the_other_sessions_and_token_families() {
    let (app, created) = demo(&[]).await;
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let mut device = Device::new();
    let codes = add_passkey(&app, &ada, "demo", &mut device, None)
        .await
        .unwrap();
    let code = codes[0].as_str().unwrap().to_owned();
    // A thief's session and refresh tokens, from the stolen password.
    let thief = signed_in(&app, "demo", "ada@example.com").await;
    let client = Client::from_created(&app, &created);
    let tokens = client.tokens(&thief, &[]).await;
    let user = user_id(&app, "demo", "ada@example.com").await;
    assert_eq!(live_families(&app, &user).await, 1);

    let recovering = browser();
    app.call_json(
        &recovering,
        SignInWithRecoveryCode {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
            code: code.to_string(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        live_sessions(&app, &user).await,
        1,
        "only the recovering one"
    );
    assert_eq!(live_families(&app, &user).await, 0);
    let (status, _) = client
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn l8_removing_a_passkey_ends_the_sessions_it_may_have_opened() {
    let (app, owner) = demo_with_owner().await;
    let (browser, mut device, user) = passkey_user(&app, &owner, "pat@example.com").await;
    // A second passkey, and a second session (the one of a lost device).
    let mut lost = Device::new();
    add_passkey(&app, &browser, "demo", &mut lost, None)
        .await
        .unwrap();
    let elsewhere = common::browser();
    assert_passkey(&app, &elsewhere, "demo", &mut lost)
        .await
        .unwrap();
    assert_eq!(live_sessions(&app, &user).await, 2);
    // Pat removes the lost one (with a fresh assertion of the other).
    assert_passkey(&app, &browser, "demo", &mut device)
        .await
        .unwrap();
    let view = app.account(&browser, "demo").await.unwrap();
    let lost_id = view["passkeys"][1]["id"].as_str().unwrap().to_owned();
    app.call_json(
        &browser,
        RemovePasskey {
            app_id: "demo".into(),
            passkey_id: lost_id.to_string(),
        },
    )
    .await
    .unwrap();
    assert_eq!(live_sessions(&app, &user).await, 1);

    // An operator removing a passkey ends every session of the user.
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
    let passkey_id = detail["passkeys"][0]["id"].as_str().unwrap().to_owned();
    owner
        .call(
            &app,
            ConsoleRemoveUserPasskey {
                app_id: "demo".into(),
                user_id: user.to_string(),
                passkey_id: passkey_id.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(live_sessions(&app, &user).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn l8_a_recovery_link_ends_the_other_sessions() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    let _old = signed_in(&app, "demo", "ada@example.com").await;
    let user = user_id(&app, "demo", "ada@example.com").await;
    let link = owner
        .call(
            &app,
            ConsoleRecoveryLink {
                app_id: "demo".into(),
                user_id: user.to_string(),
            },
        )
        .await
        .unwrap();
    let token = param(link.as_str().unwrap(), "token").unwrap();
    let recovering = browser();
    app.call_json(
        &recovering,
        RedeemRecoveryLink {
            app_id: "demo".into(),
            token: token.to_string(),
        },
    )
    .await
    .unwrap();
    assert_eq!(live_sessions(&app, &user).await, 1);
}

// ---------------------------------------------------------------------------
// H3, M5, L16, L17: operators never act above their own level

#[tokio::test(flavor = "multi_thread")]
async fn h3_an_admin_cannot_take_over_an_owner() {
    let (app, owner) = with_owner().await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let owner_id = user_id(&app, "console", "owner@example.com").await;
    let app_id = || "console".to_string();
    for (call, what) in [
        (
            ServerCall::of(ConsoleInviteUser {
                app_id: app_id(),
                user_id: owner_id.clone(),
            }),
            "invitation",
        ),
        (
            ServerCall::of(ConsoleRecoveryLink {
                app_id: app_id(),
                user_id: owner_id.clone(),
            }),
            "recovery link",
        ),
        (
            ServerCall::of(ConsoleEnrolmentLink {
                app_id: app_id(),
                user_id: owner_id.clone(),
            }),
            "enrolment link",
        ),
        (
            ServerCall::of(ConsoleSignOutUser {
                app_id: app_id(),
                user_id: owner_id.clone(),
            }),
            "sign-out",
        ),
    ] {
        let error = admin.send(&app, &call).await.unwrap_err();
        assert!(
            refused(&error).contains("above your own"),
            "{what}: {error}"
        );
    }
    let me_view = owner.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(me_view["access"], "owner");
}

#[tokio::test(flavor = "multi_thread")]
async fn h3_an_admin_cannot_lock_out_or_strip_an_owner_who_is_not_the_last() {
    let (app, owner) = with_owner().await;
    operator(&app, &owner, "second@example.com", "owner").await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let second = user_id(&app, "console", "second@example.com").await;
    let detail = owner
        .call(
            &app,
            ConsoleUser {
                app_id: "console".into(),
                user_id: second.to_string(),
            },
        )
        .await
        .unwrap();
    let passkey_id = detail["passkeys"][0]["id"].as_str().unwrap().to_owned();
    for call in [
        ServerCall::of(ConsoleSetUserActive {
            app_id: "console".into(),
            user_id: (second.as_str()).to_string(),
            active: false,
            confirmation: None,
        }),
        ServerCall::of(ConsoleDeleteUser {
            app_id: "console".into(),
            user_id: (second.as_str()).to_string(),
            confirmation: None,
        }),
        ServerCall::of(ConsoleRemoveUserPasskey {
            app_id: "console".into(),
            user_id: (second.as_str()).to_string(),
            passkey_id: (passkey_id.as_str()).to_string(),
        }),
        ServerCall::of(ConsoleGrantRole {
            app_id: "console".into(),
            user_id: (second.as_str()).to_string(),
            role: "auditor".into(),
        }),
    ] {
        let error = admin.send(&app, &call).await.unwrap_err();
        assert!(
            refused(&error).contains("above your own"),
            "{}: {error}",
            call.path
        );
    }
    // The owner's page offers the admin no changes either.
    let view = admin
        .call(
            &app,
            ConsoleUser {
                app_id: "console".into(),
                user_id: second.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(view["can_write"], false);
    // An owner may.
    owner
        .call(
            &app,
            ConsoleSetUserActive {
                app_id: "console".into(),
                user_id: second.to_string(),
                active: false,
                confirmation: None,
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn h3_invitations_are_for_users_who_cannot_sign_in_yet() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    let ada = user_id(&app, "demo", "ada@example.com").await;
    let error = owner
        .call(
            &app,
            ConsoleInviteUser {
                app_id: "demo".into(),
                user_id: ada.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("recovery link"), "{error}");
    // An invitation issued while the user had no way in, accepted after
    // they got one, does not replace it.
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: "bob@example.com".into(),
                roles: None,
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap();
    let first = created["invite_link"].as_str().unwrap().to_owned();
    accept_invitation_with(&app, &first, None).await;
    let bob = created["user_id"].as_str().unwrap();
    app.sql(&format!(
        "UPDATE action_token SET used_at = NULL WHERE user_id = '{bob}'"
    ))
    .await;
    let token = first.rsplit('/').next().unwrap();
    let error = app
        .call_json(
            &browser(),
            oneauth::api::hosted::StartInvitationPasskey {
                app_id: "demo".into(),
                token: token.to_string(),
                password: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("already set up"), "{error}");
    let error = app
        .call_json(
            &browser(),
            oneauth::api::hosted::AcceptInvitationWithPassword {
                app_id: "demo".into(),
                token: token.to_string(),
                password: PASSWORD.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("already set up"), "{error}");
    assert_eq!(
        oneauth::entities::passkey::Entity::find()
            .filter(oneauth::entities::passkey::Column::UserId.eq(bob))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn m5_only_owners_change_how_operators_sign_in() {
    let (app, owner) = with_owner().await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let settings = |passkeys: &'static str| ConsoleUpdateApp {
        app_id: "console".into(),
        name: "Console".into(),
        brand_color: "#4f46e5".into(),
        self_registration: None,
        password_enabled: Some("on".into()),
        passkey_enabled: (!passkeys.is_empty()).then(|| passkeys.into()),
        require_pkce: None,
        session_idle_secs: "1800".into(),
        session_absolute_secs: "36000".into(),
        access_token_ttl_secs: "300".into(),
        refresh_idle_secs: "172800".into(),
        refresh_absolute_secs: "1209600".into(),
        refresh_grace_secs: "0".into(),
        api_audiences: None,
        email_sender_name: None,
        email_reply_to: None,
        require_verified_email: None,
        notify_new_device: None,
    };
    let error = admin.call(&app, settings("on")).await.unwrap_err();
    assert!(refused(&error).contains("Only an owner"), "{error}");
    let error = admin
        .call(
            &app,
            ConsoleCreateClient {
                app_id: "console".into(),
                name: "Evil".into(),
                client_type: "public".into(),
                redirect_uris: "https://evil.example/cb".into(),
                post_logout_redirect_uris: "".into(),
                id_token_alg: "ES256".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("Only an owner"), "{error}");
    // An owner may change the settings, but not lock every operator out.
    let error = owner.call(&app, settings("")).await.unwrap_err();
    assert!(
        refused(&error).contains("lock every operator out"),
        "{error}"
    );
    owner.call(&app, settings("on")).await.unwrap();
    let view = admin
        .call(
            &app,
            ConsoleApp {
                app_id: "console".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(view["can_write"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn l16_an_owner_role_and_a_grant_of_it_never_race_past_each_other() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    let ada = user_id(&app, "demo", "ada@example.com").await;
    for round in 0..5 {
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
        let grant = ConsoleGrantRole {
            app_id: "demo".into(),
            user_id: ada.clone(),
            role: "owner".into(),
        };
        let delete = ConsoleDeleteRole {
            app_id: "demo".into(),
            name: "owner".into(),
        };
        let (granted, deleted) = tokio::join!(owner.call(&app, grant), owner.call(&app, delete));
        // Never both: a grant that went through keeps the role alive.
        assert!(!(granted.is_ok() && deleted.is_ok()), "round {round}");
        let held = oneauth::entities::role_assignment::Entity::find()
            .filter(oneauth::entities::role_assignment::Column::UserId.eq(ada.as_str()))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(held, u64::from(granted.is_ok()), "round {round}");
        // Clean up for the next round.
        if granted.is_ok() {
            app.sql(&format!(
                "DELETE FROM role_assignment WHERE user_id = '{ada}'"
            ))
            .await;
        }
        app.sql("DELETE FROM role WHERE app_id = 'demo' AND name = 'owner'")
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn l17_two_removals_at_once_cannot_take_the_last_way_in() {
    use sea_orm::ConnectionTrait;
    let (app, owner) = demo_with_owner().await;
    let (browser, mut device, user) = passkey_user(&app, &owner, "pat@example.com").await;
    let mut other = Device::new();
    assert_passkey(&app, &browser, "demo", &mut device)
        .await
        .unwrap();
    add_passkey(&app, &browser, "demo", &mut other, None)
        .await
        .unwrap();
    let view = app.account(&browser, "demo").await.unwrap();
    let ids: Vec<String> = view["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    // Hold the app's audit chain while both removals run: each gets as far
    // as its audit event (past its check of the sign-in methods) and waits,
    // so without a lock on the user both checks see two passkeys.
    let held = match common::backend() {
        common::Backend::Postgres => {
            let tx = oneauth::core::db::begin_write(&app.db).await.unwrap();
            tx.execute_unprepared(
                "SELECT * FROM audit_chain_head WHERE app_id = 'demo' FOR UPDATE",
            )
            .await
            .unwrap();
            tx
        }
        common::Backend::Sqlite => oneauth::core::db::begin_write(&app.db).await.unwrap(),
    };
    let mut removals = tokio::task::JoinSet::new();
    for id in ids {
        let browser = browser.clone();
        let address = app.address.clone();
        removals.spawn(async move {
            ServerCall::of(RemovePasskey {
                app_id: "demo".into(),
                passkey_id: (id.as_str()).to_string(),
            })
            .request(&browser, &address)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    held.commit().await.unwrap();
    let outcomes = removals.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        1,
        "exactly one removal: {outcomes:?}"
    );
    let left = oneauth::entities::passkey::Entity::find()
        .filter(oneauth::entities::passkey::Column::UserId.eq(user.as_str()))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

// ---------------------------------------------------------------------------
// M1, M2, M3, L1, L9, L13, L15, L20: abuse and bad input

#[tokio::test(flavor = "multi_thread")]
async fn m1_a_spoofed_first_hop_does_not_escape_the_address_throttle() {
    let app = common::spawn_app_with(|args| args.trusted_proxies = "127.0.0.1".into()).await;
    app.create_app("demo", "Demo");
    let mut throttled_at = None;
    for attempt in 0..40 {
        let response = ServerCall::of(SignInWithPassword {
            app_id: "demo".into(),
            email: (format!("user{attempt}@example.com").as_str()).to_string(),
            password: "guess guess".into(),
            return_to: None,
        })
        .request(&browser(), &app.address)
        .header(
            "x-forwarded-for",
            format!("198.51.100.{attempt}, 203.0.113.9"),
        )
        .send()
        .await
        .unwrap();
        let body = response.text().await.unwrap();
        if body.contains("Too many failed attempts") {
            throttled_at = Some(attempt);
            break;
        }
    }
    assert_eq!(
        throttled_at,
        Some(30),
        "the 31st attempt from 203.0.113.9 is refused"
    );
    let failed = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("signin.failed"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.actor_address.as_deref(), Some("203.0.113.9"));
}

#[tokio::test(flavor = "multi_thread")]
async fn m2_junk_and_throttled_attempts_cannot_flood_the_audit_log() {
    let (app, _) = demo(&[]).await;
    let before = audit_rows(&app).await;
    let junk = "a".repeat(1_000_000);
    let client = browser();
    for _ in 0..20 {
        let response = ServerCall::of(SignInWithPassword {
            app_id: "demo".into(),
            email: (junk.as_str()).to_string(),
            password: "x".into(),
            return_to: None,
        })
        .request(&client, &app.address)
        .header("user-agent", "x".repeat(5_000))
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 422);
    }
    assert_eq!(
        audit_rows(&app).await,
        before,
        "junk is refused before the log"
    );

    // Failures of a real address are recorded one by one until the account
    // locks; then once that it locked, and never per refused attempt.
    for _ in 0..25 {
        let _ = app
            .call_json(
                &client,
                SignInWithPassword {
                    app_id: "demo".into(),
                    email: "ada@example.com".into(),
                    password: "nope".into(),
                    return_to: None,
                },
            )
            .await;
    }
    let recorded = app.actions_with_details("demo").await;
    let failed = recorded
        .iter()
        .filter(|(a, _)| a == "signin.failed")
        .count();
    let locked = recorded
        .iter()
        .filter(|(a, _)| a == "signin.locked")
        .count();
    assert_eq!((failed, locked), (5, 1), "{recorded:?}");
    let longest = audit_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.details.len())
        .max()
        .unwrap();
    assert!(longest < 2_000, "details stay small: {longest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn m3_concurrent_guesses_cannot_pass_the_limit() {
    let (app, _) = demo(&[]).await;
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let address = app.address.clone();
        guesses.spawn(async move {
            ServerCall::of(SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: "nope".into(),
                return_to: None,
            })
            .request(&browser(), &address)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
        });
    }
    let answers = guesses.join_all().await;
    let checked = answers
        .iter()
        .filter(|a| a.contains("credentials are not right"))
        .count();
    let throttled = answers
        .iter()
        .filter(|a| a.contains("Too many failed attempts"))
        .count();
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(checked + throttled, 30, "{answers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn l1_a_stranger_cannot_lock_out_a_known_device_or_a_passkey() {
    let (app, _) = demo(&[]).await;
    // Ada's own browser signed in before: it is a known device.
    let known = signed_in(&app, "demo", "ada@example.com").await;
    let mut device = Device::new();
    add_passkey(&app, &known, "demo", &mut device, None)
        .await
        .unwrap();
    app.call_json(
        &known,
        oneauth::api::hosted::SignOut {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap();
    // A stranger locks the account.
    for _ in 0..6 {
        let _ = app
            .call_json(
                &browser(),
                SignInWithPassword {
                    app_id: "demo".into(),
                    email: "ada@example.com".into(),
                    password: "nope".into(),
                    return_to: None,
                },
            )
            .await;
    }
    let error = app
        .call_json(
            &browser(),
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        refused(&error).contains("Too many failed attempts"),
        "{error}"
    );
    // Ada's known browser still signs in with her password...
    sign_in(&app, &known, "demo", "ada@example.com", PASSWORD).await;
    // ...and her passkey works from anywhere.
    assert_passkey(&app, &browser(), "demo", &mut device)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn l9_look_alike_spellings_of_an_address_are_one_identity() {
    let (app, _) = demo(&[]).await;
    add_user(&app, "demo", "jose@bücher.de");
    app.cli_with_stdin(
        &[
            "user",
            "create",
            "--app",
            "demo",
            "--email",
            "JOSE@xn--bcher-kva.de",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    )
    .expect_error("already exists");
    sign_in(&app, &browser(), "demo", "jose@XN--BCHER-KVA.DE", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn l13_anonymous_passkey_ceremonies_leave_no_server_rows() {
    let (app, _) = demo(&["--self-registration"]).await;
    for _ in 0..50 {
        let client = browser();
        app.call_json(
            &client,
            StartPasskeyAssertion {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
        app.call_json(
            &client,
            oneauth::api::hosted::StartPasskeySignUp {
                app_id: "demo".into(),
                email: "someone@example.com".into(),
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        oneauth::entities::browser_session::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn l15_an_overlong_identifier_is_an_error_not_a_server_failure() {
    let (app, _) = demo(&[]).await;
    let response = ServerCall::of(SignInWithRecoveryCode {
        app_id: "demo".into(),
        email: (format!("{}@example.com", "x".repeat(3_000)).as_str()).to_string(),
        code: "AAAA-BBBB-CCCC-DDDD".into(),
    })
    .request(&browser(), &app.address)
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 422);
}

// ---------------------------------------------------------------------------
// M7, M8, M10, L4, L5, L19: tokens

#[tokio::test(flavor = "multi_thread")]
async fn m7_concurrent_replays_in_the_grace_window_cannot_fork_a_family() {
    let (app, created) = demo(&[]).await;
    app.sql("UPDATE app SET refresh_grace_secs = 30 WHERE id = 'demo'")
        .await;
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let client = Client::from_created(&app, &created);
    for round in 0..5 {
        let tokens = client.tokens(&ada, &[]).await;
        let first = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (status, _) = client.refresh(&first).await;
        assert_eq!(status, 200);
        // The client "lost" that answer and retries twice at once.
        let (a, b) = tokio::join!(client.refresh(&first), client.refresh(&first));
        let winners: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
            .collect();
        assert!(winners.len() <= 1, "round {round}: {a:?} {b:?}");
        // No second live branch: at most one of the new tokens refreshes.
        let mut live = 0;
        for body in winners {
            if client
                .refresh(body["refresh_token"].as_str().unwrap())
                .await
                .0
                == 200
            {
                live += 1;
            }
        }
        assert!(live <= 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn m8_access_tokens_die_with_their_session_and_family() {
    let (app, created) = demo(&["--confidential"]).await;
    let client = Client::from_created(&app, &created);
    let introspect = |token: String| {
        let client = &client;
        async move { client.post("introspect", &[("token", &token)]).await.1["active"].clone() }
    };

    // Sign-out ends the session: its access token is inactive at once.
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let tokens = client.tokens(&ada, &[]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(introspect(access.clone()).await, json!(true));
    assert_eq!(client.userinfo(&access).await.status(), 200);
    app.call_json(
        &ada,
        oneauth::api::hosted::SignOut {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(introspect(access.clone()).await, json!(false));
    assert_eq!(client.userinfo(&access).await.status(), 401);

    // Revoking the refresh token ends the family, and its access tokens.
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let tokens = client.tokens(&ada, &[]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    client
        .post(
            "revoke",
            &[("token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(introspect(access.clone()).await, json!(false));
    assert_eq!(client.userinfo(&access).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn m10_a_resource_indicator_sets_the_audience() {
    let (app, created) = demo(&[
        "--confidential",
        "--api-audience",
        "https://api.example.com",
    ])
    .await;
    let client = Client::from_created(&app, &created);
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let tokens = client
        .tokens(&ada, &[("resource", "https://api.example.com")])
        .await;
    let one = |aud: &Value| match aud {
        Value::Array(values) if values.len() == 1 => values[0].clone(),
        other => other.clone(),
    };
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(one(&at["aud"]), json!("https://api.example.com"));
    assert_eq!(at["client_id"], created["client_id"]);
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(one(&id["aud"]), created["client_id"]);
    // The refreshed token keeps the audience; another resource is refused.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = client
        .post(
            "token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("resource", "https://other.example.com"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    // A resource the app does not know is refused at the authorization.
    let response = client
        .authorize(
            &ada,
            &Pkce::new(),
            &[("resource", "https://evil.example.com")],
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(param(location, "error").as_deref(), Some("invalid_target"));
    // client_credentials names it too.
    let (status, body) = client
        .post(
            "token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://api.example.com"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        one(&claims(body["access_token"].as_str().unwrap())["aud"]),
        json!("https://api.example.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn l4_end_session_takes_only_id_tokens_and_enabled_clients() {
    let (app, created) = demo(&[]).await;
    let client = Client::from_created(&app, &created);
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let tokens = client.tokens(&ada, &[]).await;
    let end_session = |hint: &str| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", hint)
            .append_pair("post_logout_redirect_uri", "http://localhost:5173/bye")
            .finish();
        format!("/a/demo/oauth/end_session?{query}")
    };
    // An access token is not a hint.
    let response = app
        .get_with(&ada, &end_session(tokens["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(response.status(), 400);
    // A disabled client's URI is no destination.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    app.sql(&format!("UPDATE oauth_client SET disabled_at = '{now}'"))
        .await;
    let response = app
        .get_with(&ada, &end_session(tokens["id_token"].as_str().unwrap()))
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn l5_userinfo_ignores_a_token_in_the_query_string() {
    let (app, created) = demo(&[]).await;
    let client = Client::from_created(&app, &created);
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    let tokens = client.tokens(&ada, &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = reqwest::Client::new()
        .get(format!(
            "{}?access_token={access}",
            client.endpoint("userinfo")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The form body of a POST is fine (RFC 6750 §2.2).
    let response = reqwest::Client::new()
        .post(client.endpoint("userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn l19_login_after_cannot_be_forged_by_the_user_agent() {
    let (app, created) = demo(&[]).await;
    let client = Client::from_created(&app, &created);
    let ada = signed_in(&app, "demo", "ada@example.com").await;
    for forged in ["0", "1", "99999999999999"] {
        let response = client
            .authorize(
                &ada,
                &Pkce::new(),
                &[("prompt", "login"), ("login_after", forged)],
            )
            .await;
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("/a/demo/login?"),
            "{forged}: {location}"
        );
    }
}

// ---------------------------------------------------------------------------
// M9, L3, L6, L14: an audit trail nobody can quietly rewrite

/// The events of `app_id`, oldest first.
async fn chain(app: &TestApp, app_id: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq(app_id))
        .order_by_asc(audit_event::Column::Seq)
        .all(&app.db)
        .await
        .unwrap()
}

/// The hash anyone can compute without the master key: SHA-256 over the
/// documented field list, as the chain was hashed before it was keyed (the
/// review's "recompute every later hash").
fn unkeyed_hash(event: &audit_event::Model) -> String {
    use sha2::{Digest, Sha256};
    let fields = json!([
        "1auth-audit-v1",
        event.app_id,
        event.seq,
        event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        event.actor_type,
        event.actor_id,
        event.actor_label,
        event.actor_address,
        event.action,
        event.target_type,
        event.target_id,
        event.details,
        event.prev_hash,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn m9_a_recomputed_chain_is_detected_without_the_master_key() {
    let (app, _) = demo(&[]).await;
    let mut events = chain(&app, "demo").await;
    // Edit event 2, then rewrite every later hash and the head.
    events[1].actor_label = "cli:mallory".into();
    let mut prev = events[0].hash.clone();
    for event in events.iter_mut().skip(1) {
        event.prev_hash = prev.clone();
        event.hash = unkeyed_hash(event);
        prev = event.hash.clone();
        app.sql(&format!(
            "UPDATE audit_event SET actor_label = '{}', prev_hash = '{}', hash = '{}' WHERE id = {}",
            event.actor_label, event.prev_hash, event.hash, event.id
        ))
        .await;
    }
    app.sql(&format!(
        "UPDATE audit_chain_head SET last_hash = '{prev}' WHERE app_id = 'demo'"
    ))
    .await;
    let run = app.cli(&["audit", "verify", "--app", "demo"]);
    assert!(!run.success, "{}", run.stdout);
    assert!(run.stdout.contains("event 2 was altered"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn m9_a_cut_off_tail_is_detected_against_an_exported_head() {
    let (app, _) = demo(&[]).await;
    let heads = app
        .cli(&["audit", "head", "--app", "demo"])
        .expect_success()
        .stdout;
    let exported: Value = serde_json::from_str(heads.lines().next().unwrap()).unwrap();
    assert_eq!(exported["app_id"], "demo");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &heads).unwrap();
    let path = file.path().to_str().unwrap();
    app.cli(&["audit", "verify", "--expect-head", path])
        .expect_success();

    // Cut the last event off, and the head with it, consistently.
    let events = chain(&app, "demo").await;
    let kept = &events[events.len() - 2];
    app.sql(&format!(
        "DELETE FROM audit_event WHERE app_id = 'demo' AND seq > {}",
        kept.seq
    ))
    .await;
    app.sql(&format!(
        "UPDATE audit_chain_head SET last_seq = {}, last_hash = '{}' WHERE app_id = 'demo'",
        kept.seq, kept.hash
    ))
    .await;
    // The chain alone looks whole; against the exported head it is not.
    app.cli(&["audit", "verify", "--app", "demo"])
        .expect_success();
    let run = app.cli(&["audit", "verify", "--app", "demo", "--expect-head", path]);
    assert!(!run.success);
    assert!(run.stdout.contains("exported head"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn m9_a_process_with_another_master_key_refuses_to_write() {
    let (app, _) = demo(&[]).await;
    let other = oneauth::core::vault::Vault::random().export_key();
    let run = common::oneauth_with_key(
        &app.database_url,
        Some(&other),
        &["role", "create", "--app", "demo", "intruder"],
        None,
    );
    run.expect_error("master key");
}

#[tokio::test(flavor = "multi_thread")]
async fn l3_csv_cells_that_look_like_formulas_are_neutralised() {
    let (app, _) = demo(&[]).await;
    let _ = app
        .call_json(
            &browser(),
            SignInWithPassword {
                app_id: "demo".into(),
                email: "=cmd@example.com".into(),
                password: "nope".into(),
                return_to: None,
            },
        )
        .await;
    let csv = app
        .cli(&["audit", "export", "--app", "demo", "--format", "csv"])
        .expect_success()
        .stdout;
    assert!(csv.contains(",'=cmd@example.com,"), "{csv}");
    assert!(!csv.contains(",=cmd@example.com,"));
}

#[tokio::test(flavor = "multi_thread")]
async fn l6_probing_event_ids_tells_a_scoped_operator_nothing() {
    let (app, owner) = with_owner().await;
    for app_id in ["demo", "secret-app"] {
        owner
            .call(
                &app,
                ConsoleCreateApp {
                    app_id: app_id.to_string(),
                    name: app_id.to_string(),
                },
            )
            .await
            .unwrap();
    }
    let scoped = operator(&app, &owner, "scoped@example.com", "auditor:demo").await;
    let secret = chain(&app, "secret-app").await[0].id.to_string();
    let error = scoped
        .call(
            &app,
            ConsoleAuditEvent {
                id: secret.parse().unwrap(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["NotFound"], "There is no such event.");
    let missing = scoped
        .call(&app, ConsoleAuditEvent { id: 999999 })
        .await
        .unwrap_err();
    assert_eq!(error, missing);
}

#[tokio::test(flavor = "multi_thread")]
async fn l14_events_are_timestamped_in_chain_order() {
    let (app, _) = demo(&[]).await;
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let address = app.address.clone();
        writers.spawn(async move {
            let _ = ServerCall::of(SignInWithPassword {
                app_id: "demo".into(),
                email: "nobody@example.com".into(),
                password: "x".into(),
                return_to: None,
            })
            .request(&browser(), &address)
            .send()
            .await;
        });
    }
    writers.join_all().await;
    let events = chain(&app, "demo").await;
    for pair in events.windows(2) {
        assert!(
            pair[0].occurred_at <= pair[1].occurred_at,
            "event {} is timestamped after event {}",
            pair[0].seq,
            pair[1].seq
        );
    }
}

// ---------------------------------------------------------------------------
// L11, L12: server hygiene

#[tokio::test(flavor = "multi_thread")]
async fn l11_a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap();
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    // The server hangs up (or answers 408) instead of waiting forever.
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(
        oneauth::server::HEADER_READ_TIMEOUT + Duration::from_secs(5),
        stream.read_to_end(&mut buffer),
    )
    .await;
    assert!(read.is_ok(), "the connection was still open");
    let answer = String::from_utf8_lossy(&buffer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn l12_a_public_url_with_its_default_port_still_takes_posts() {
    let app = common::spawn_app_with_public_url("http://localhost:80").await;
    // Browsers omit :80 from Origin; the origin check must agree.
    let response = ServerCall::of(SignInWithPassword {
        app_id: "nope".into(),
        email: "a@example.com".into(),
        password: "x".into(),
        return_to: None,
    })
    .request(&reqwest::Client::new(), &app.address)
    .header("origin", "http://localhost")
    .send()
    .await
    .unwrap();
    assert_ne!(response.status(), 403, "refused as cross-site");
}
