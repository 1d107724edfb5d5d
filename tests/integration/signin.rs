//! Hosted sign-in over HTTP: passwords, recovery codes, sessions, throttling,
//! enumeration parity, the app boundary, and the account page's rules.

use crate::common;

use common::{
    PASSWORD, ServerCall, TestApp, add_user, browser, refused, spawn_app,
    spawn_app_with_public_url, spawn_second_server,
};
use oneauth::api::account::{
    ChangePassword, DeactivateAccount, LoadAccount, RegenerateRecoveryCodes, RemovePasskey,
    RevokeSession,
};
use oneauth::api::hosted::{
    RegisterWithPassword, SignInWithPassword, SignInWithRecoveryCode, SignOut,
};
use oneauth::core::write::Actor;
use oneauth::core::{recovery_codes, write};
use oneauth::entities::{app_user, auth_throttle, passkey, password_credential, signin_session};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

/// An app `demo` with one user `ada@example.com` (password PASSWORD).
async fn app_with_user() -> TestApp {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    app
}

async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    app_id: &str,
    email: &str,
    password: &str,
) -> Result<Value, Value> {
    app.call_json(
        client,
        SignInWithPassword {
            app_id: app_id.to_string(),
            email: email.to_string(),
            password: password.to_string(),
            return_to: None,
        },
    )
    .await
}

async fn user(app: &TestApp, email: &str) -> app_user::Model {
    app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the user exists")
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("oneauth_session="))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn password_sign_in_opens_a_session_with_strict_cookies() {
    let app = app_with_user().await;
    let client = browser();
    let response = app
        .call(
            &client,
            SignInWithPassword {
                app_id: "demo".into(),
                email: "Ada@Example.com".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure flag: {cookie}"
    );
    let target: Value = response.json().await.unwrap();
    assert_eq!(target, "/a/demo/account");

    let view = app.account(&client, "demo").await.expect("signed in");
    assert_eq!(view["email"], "ada@example.com");
    assert_eq!(view["has_password"], true);
    assert_eq!(view["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(view["sessions"][0]["methods"], json!(["pwd"]));

    // The account page renders on the server for this browser.
    let html = app
        .get_with(&client, "/a/demo/account")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("ada@example.com"), "{html}");

    let recorded = app.actions_with_details("demo").await;
    let (action, details) = recorded.last().unwrap();
    assert_eq!(action, "signin.succeeded");
    assert_eq!(details["method"], "password");
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_secure_behind_https() {
    let app = spawn_app_with_public_url("https://auth.example.com").await;
    app.create_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    let client = browser();
    // The canonical-host check only concerns page loads; a server function
    // call from "our" origin is what a browser on https would send.
    let response = app
        .call(
            &client,
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await;
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_id_changes_at_sign_in() {
    let app = app_with_user().await;
    app.create_app("other", "Other");
    add_user(&app, "other", "ada@example.com");
    let client = browser();
    // A sign-in to another app in this browser gives it a session id...
    let before = app
        .call(
            &client,
            SignInWithPassword {
                app_id: "other".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await;
    let old = session_cookie(&before).expect("a session after the first sign-in");
    let old_value = old.split(';').next().unwrap().to_owned();
    // ...which sign-in replaces.
    let after = app
        .call(
            &client,
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await;
    let new = session_cookie(&after).expect("a new session cookie");
    let new_value = new.split(';').next().unwrap().to_owned();
    assert_ne!(old_value, new_value);

    // The old id (fixed by an attacker, say) is not signed in.
    let fixed = reqwest::Client::new();
    let response = ServerCall::of(LoadAccount {
        app_id: "demo".into(),
        enrolment: None,
    })
    .request(&fixed, &app.address)
    .header("cookie", old_value)
    .send()
    .await
    .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!("SignInRequired"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_user_gets_the_generic_answer() {
    let app = app_with_user().await;
    app.sql("UPDATE app_user SET status = 'deactivated' WHERE email = 'ada@example.com'")
        .await;
    let error = sign_in(&app, &browser(), "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        refused(&error),
        "The e-mail address or the credentials are not right."
    );
    let recorded = app.actions_with_details("demo").await;
    let (action, details) = recorded.last().unwrap();
    assert_eq!(action, "signin.failed");
    assert_eq!(details["reason"], "deactivated");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_audited_with_their_method() {
    let app = app_with_user().await;
    sign_in(&app, &browser(), "demo", "ada@example.com", "nope nope")
        .await
        .unwrap_err();
    sign_in(&app, &browser(), "demo", "eve@example.com", "nope nope")
        .await
        .unwrap_err();
    let failures: Vec<Value> = app
        .actions_with_details("demo")
        .await
        .into_iter()
        .filter(|(a, _)| a == "signin.failed")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0]["method"], "password");
    assert_eq!(failures[0]["reason"], "wrong_secret");
    assert_eq!(failures[1]["reason"], "unknown_user");
    assert_eq!(failures[1]["email"], "eve@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_locks_after_five_failures_across_server_processes() {
    let app = app_with_user().await;
    let second = spawn_second_server(&app).await;
    for attempt in 0..5 {
        // Alternate between two processes: the count lives in the database.
        let server = if attempt % 2 == 0 { &app } else { &second };
        sign_in(server, &browser(), "demo", "ada@example.com", "guess guess")
            .await
            .unwrap_err();
    }
    // Now even the right password is refused, on either process.
    for server in [&app, &second] {
        let error = sign_in(server, &browser(), "demo", "ada@example.com", PASSWORD)
            .await
            .unwrap_err();
        assert!(
            refused(&error).starts_with("Too many failed attempts"),
            "{error}"
        );
    }
    // An unknown address locks the same way (no hint that it is unknown).
    for _ in 0..5 {
        sign_in(&app, &browser(), "demo", "ghost@example.com", "guess guess")
            .await
            .unwrap_err();
    }
    let error = sign_in(&app, &browser(), "demo", "ghost@example.com", "guess guess")
        .await
        .unwrap_err();
    assert!(refused(&error).starts_with("Too many failed attempts"));

    // The key names the account by a hash of what was typed (bounded,
    // whatever was typed).
    let key = format!(
        "acct:demo:{}",
        oneauth::core::secrets::sha256_hex("ada@example.com")
    );
    let row = auth_throttle::Entity::find_by_id(key.as_str())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the throttle state is in the database");
    assert!(row.locked_until.is_some());
    assert_eq!(row.lockouts, 1);
    // When the lock expires, the right password works and clears the count.
    app.sql(&format!(
        "UPDATE auth_throttle SET locked_until = NULL, failures = 0 WHERE key = '{key}'"
    ))
    .await;
    sign_in(&app, &browser(), "demo", "ada@example.com", PASSWORD)
        .await
        .expect("signed in");
    assert!(
        auth_throttle::Entity::find_by_id(key.as_str())
            .one(&app.db)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_address_locks_after_many_failures_on_any_accounts() {
    let app = app_with_user().await;
    // One of the address's 30 failures is on ada's own account.
    sign_in(&app, &browser(), "demo", "ada@example.com", "guess guess")
        .await
        .unwrap_err();
    for i in 1..30 {
        let email = format!("user{i}@example.com");
        sign_in(&app, &browser(), "demo", &email, "guess guess")
            .await
            .unwrap_err();
    }
    let error = sign_in(&app, &browser(), "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(
        refused(&error).starts_with("Too many failed attempts"),
        "{error}"
    );
    let row = auth_throttle::Entity::find_by_id("addr:demo:127.0.0.1")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.locked_until.is_some());

    // A refused attempt counts nothing: neither on an account with a
    // counter (ada's one failure stays one) nor on one without (none made).
    let refused_again = sign_in(&app, &browser(), "demo", "grace@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(refused(&refused_again).starts_with("Too many failed attempts"));
    let account_counter =
        |email: &str| format!("acct:demo:{}", oneauth::core::secrets::sha256_hex(email));
    let ada = auth_throttle::Entity::find_by_id(account_counter("ada@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.failures, 1);
    let grace = auth_throttle::Entity::find_by_id(account_counter("grace@example.com"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(grace.is_none(), "{grace:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_of_one_app_cannot_sign_in_to_another() {
    let app = app_with_user().await;
    app.create_app("other", "Other");
    let client = browser();
    let error = sign_in(&app, &client, "other", "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        refused(&error),
        "The e-mail address or the credentials are not right."
    );

    // Signed in to demo, the same browser is still nobody at other.
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        app.account(&client, "other").await.unwrap_err(),
        json!("SignInRequired")
    );
    // And the same address at other is a different user with its own password.
    add_user(&app, "other", "ada@example.com");
    sign_in(&app, &client, "other", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let users = app_user::Entity::find()
        .filter(app_user::Column::Email.eq("ada@example.com"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_ends_the_session() {
    let app = app_with_user().await;
    let client = browser();
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let target = app
        .call_json(
            &client,
            SignOut {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(target, "/a/demo/login?signed_out=1");
    assert_eq!(
        app.account(&client, "demo").await.unwrap_err(),
        json!("SignInRequired")
    );
    let session = signin_session::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.end_reason.as_deref(), Some("signed_out"));
    assert!(
        app.actions_with_details("demo")
            .await
            .iter()
            .any(|(a, _)| a == "signin.signed_out")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_expire_when_idle() {
    let app = app_with_user().await;
    let client = browser();
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    app.account(&client, "demo").await.unwrap();
    // The app's sessions idle out after 30 minutes.
    app.advance_clock(chrono::Duration::minutes(29));
    app.account(&client, "demo").await.unwrap();
    app.advance_clock(chrono::Duration::minutes(31));
    assert_eq!(
        app.account(&client, "demo").await.unwrap_err(),
        json!("SignInRequired")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn old_password_hashes_are_upgraded_at_sign_in() {
    let app = app_with_user().await;
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8 * 1024, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
    .unwrap()
    .to_string();
    app.sql(&format!("UPDATE password_credential SET phc = '{weak}'"))
        .await;
    sign_in(&app, &browser(), "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let stored = password_credential::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored.phc
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_post_without_javascript_is_redirected() {
    let app = app_with_user().await;
    let client = browser();
    let login = format!("{}/a/demo/login", app.address);
    let ok = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "ada@example.com".into(),
        password: PASSWORD.to_string(),
        return_to: Some("/a/demo/account".into()),
    })
    .request(&client, &app.address)
    .header("accept", "text/html")
    .header("referer", &login)
    .send()
    .await
    .unwrap();
    assert_eq!(ok.status(), 302);
    assert_eq!(ok.headers()["location"], "/a/demo/account");

    let bad = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "ada@example.com".into(),
        password: "wrong wrong".into(),
        return_to: None,
    })
    .request(&browser(), &app.address)
    .header("accept", "text/html")
    .header("referer", &login)
    .send()
    .await
    .unwrap();
    assert_eq!(bad.status(), 302);
    let location = bad.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&login) && location.contains("__err="),
        "{location}"
    );
    // The login page shows that error when it is loaded from that URL.
    let page = browser()
        .get(location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("The e-mail address or the credentials are not right."),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn return_to_stays_inside_the_app() {
    let app = app_with_user().await;
    for (requested, expected) in [
        ("/a/demo/oauth/authorize?x=1", "/a/demo/oauth/authorize?x=1"),
        ("https://evil.example/", "/a/demo/account"),
        ("//evil.example/a/demo/", "/a/demo/account"),
        ("/a/other/account", "/a/demo/account"),
    ] {
        let target = app
            .call_json(
                &browser(),
                SignInWithPassword {
                    app_id: "demo".into(),
                    email: "ada@example.com".into(),
                    password: PASSWORD.to_string(),
                    return_to: Some(requested.to_string()),
                },
            )
            .await
            .unwrap();
        assert_eq!(target, expected, "{requested}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_are_refused() {
    let app = app_with_user().await;
    let response = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "ada@example.com".into(),
        password: PASSWORD.to_string(),
        return_to: None,
    })
    .request(&browser(), &app.address)
    .header("origin", "https://evil.example")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 403);
    let response = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "ada@example.com".into(),
        password: PASSWORD.to_string(),
        return_to: None,
    })
    .request(&browser(), &app.address)
    .header("sec-fetch-site", "cross-site")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 403);
    // Our own origin is fine.
    let response = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "ada@example.com".into(),
        password: PASSWORD.to_string(),
        return_to: None,
    })
    .request(&browser(), &app.address)
    .header("origin", &app.address)
    .header("sec-fetch-site", "same-origin")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    // Under a no-referrer policy (set by a proxy, say) a form post carries
    // `Origin: null`: fine when the browser says it is same-origin, refused
    // otherwise (a sandboxed frame of another site sends null too).
    for (fetch_site, status) in [
        (Some("same-origin"), 200),
        (Some("cross-site"), 403),
        (None, 403),
    ] {
        let sign_in = ServerCall::of(SignInWithPassword {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
            return_to: None,
        });
        let mut request = sign_in
            .request(&browser(), &app.address)
            .header("origin", "null");
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{fetch_site:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_on_another_host_name_are_sent_to_the_public_url() {
    let app = app_with_user().await;
    let port = app.address.rsplit(':').next().unwrap();
    let response = browser()
        .get(format!("http://127.0.0.1:{port}/a/demo/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(
        response.headers()["location"],
        format!("{}/a/demo/login", app.address)
    );
    // Probes answer under any name.
    let probe = browser()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
}

async fn give_codes(app: &TestApp, email: &str) -> Vec<String> {
    let user = user(app, email).await;
    let tx = write::begin(&app.db, Actor::system()).await.unwrap();
    let codes = recovery_codes::generate(&tx, &user).await.unwrap();
    tx.commit().await.unwrap();
    codes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_code_signs_in_once_and_demands_a_new_factor() {
    let app = app_with_user().await;
    let codes = give_codes(&app, "ada@example.com").await;
    let client = browser();
    let typed = codes[3].to_lowercase().replace('-', " ");
    let target = app
        .call_json(
            &client,
            SignInWithRecoveryCode {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                code: typed.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(target, "/a/demo/account");
    let view = app.account(&client, "demo").await.unwrap();
    assert_eq!(view["requires_enrolment"], true);
    assert_eq!(view["recovery_codes_left"], 9);
    assert_eq!(view["sessions"][0]["methods"], json!(["otp"]));

    // The same code never works twice.
    let again = app
        .call_json(
            &browser(),
            SignInWithRecoveryCode {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                code: codes[3].clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused(&again),
        "The e-mail address or the credentials are not right."
    );

    // Setting a new password (no current one needed now) ends the requirement.
    app.call_json(
        &client,
        ChangePassword {
            app_id: "demo".into(),
            current: None,
            new: "a brand new passphrase".into(),
        },
    )
    .await
    .unwrap();
    let view = app.account(&client, "demo").await.unwrap();
    assert_eq!(view["requires_enrolment"], false);
    sign_in(
        &app,
        &browser(),
        "demo",
        "ada@example.com",
        "a brand new passphrase",
    )
    .await
    .unwrap();

    let recorded: Vec<String> = app
        .actions_with_details("demo")
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(
        recorded.contains(&"recovery_code.used".to_owned()),
        "{recorded:?}"
    );
    assert!(
        recorded.contains(&"password.changed".to_owned()),
        "{recorded:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_codes_are_stored_hashed_and_regenerated_only_after_a_fresh_sign_in() {
    let app = app_with_user().await;
    let codes = give_codes(&app, "ada@example.com").await;
    let stored = oneauth::entities::recovery_code::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(
        stored
            .iter()
            .all(|c| !codes.iter().any(|code| c.code_hash.contains(code.as_str())))
    );

    let client = browser();
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let fresh = app
        .call_json(
            &client,
            RegenerateRecoveryCodes {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    let fresh: Vec<String> = serde_json::from_value(fresh).unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    // The old ones are void.
    app.call_json(
        &browser(),
        SignInWithRecoveryCode {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
            code: codes[0].clone(),
        },
    )
    .await
    .unwrap_err();

    // Twenty minutes later the session is no longer fresh.
    app.advance_clock(chrono::Duration::minutes(20));
    let error = app
        .call_json(
            &client,
            RegenerateRecoveryCodes {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(error.get("ReauthRequired").is_some(), "{error}");
    assert!(
        app.actions_with_details("demo")
            .await
            .iter()
            .any(|(a, _)| a == "recovery_codes.regenerated")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = app_with_user().await;
    let (mine, other) = (browser(), browser());
    sign_in(&app, &mine, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    sign_in(&app, &other, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();

    let wrong = app
        .call_json(
            &mine,
            ChangePassword {
                app_id: "demo".into(),
                current: Some("not it at all".into()),
                new: "a brand new passphrase".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wrong["Invalid"]["field"], "current");
    let common_password = app
        .call_json(
            &mine,
            ChangePassword {
                app_id: "demo".into(),
                current: Some(PASSWORD.to_string()),
                new: "password1".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(common_password["Invalid"]["field"], "new");

    app.call_json(
        &mine,
        ChangePassword {
            app_id: "demo".into(),
            current: Some(PASSWORD.to_string()),
            new: "a brand new passphrase".into(),
        },
    )
    .await
    .unwrap();
    app.account(&mine, "demo")
        .await
        .expect("this session stays");
    assert_eq!(
        app.account(&other, "demo").await.unwrap_err(),
        json!("SignInRequired")
    );
    sign_in(&app, &browser(), "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    sign_in(
        &app,
        &browser(),
        "demo",
        "ada@example.com",
        "a brand new passphrase",
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn users_see_and_revoke_their_own_sessions_only() {
    let app = app_with_user().await;
    add_user(&app, "demo", "bob@example.com");
    let (laptop, phone, bob) = (browser(), browser(), browser());
    sign_in(&app, &laptop, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    sign_in(&app, &phone, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    sign_in(&app, &bob, "demo", "bob@example.com", PASSWORD)
        .await
        .unwrap();

    let view = app.account(&laptop, "demo").await.unwrap();
    let sessions = view["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bob cannot end Ada's session.
    let bobs_try = app
        .call_json(
            &bob,
            RevokeSession {
                app_id: "demo".into(),
                session_id: phone_session.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&bobs_try).contains("does not exist"));

    let current = app
        .call_json(
            &laptop,
            RevokeSession {
                app_id: "demo".into(),
                session_id: phone_session.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(current, false);
    assert_eq!(
        app.account(&phone, "demo").await.unwrap_err(),
        json!("SignInRequired")
    );
    app.account(&laptop, "demo").await.unwrap();
    assert!(
        app.actions_with_details("demo")
            .await
            .iter()
            .any(|(a, _)| a == "session.revoked")
    );
}

async fn add_passkey_row(app: &TestApp, email: &str, name: &str) -> String {
    let user = user(app, email).await;
    let id = uuid::Uuid::now_v7().to_string();
    app.sql(&format!(
        "INSERT INTO passkey (id, app_id, user_id, credential_id, name, passkey_json, user_verified, created_at, updated_at) \
         VALUES ('{id}', '{}', '{}', 'cred-{id}', '{name}', '{{}}', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        user.app_id, user.id
    ))
    .await;
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_can_remove_their_last_way_to_sign_in() {
    let app = app_with_user().await;
    let client = browser();
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let first = add_passkey_row(&app, "ada@example.com", "Laptop").await;
    let second = add_passkey_row(&app, "ada@example.com", "Phone").await;
    // Removing a passkey needs a recent passkey (these are rows, not
    // devices: the assertion is recorded directly).
    app.prove_passkey_now().await;
    // Password + two passkeys: both passkeys may go...
    app.call_json(
        &client,
        RemovePasskey {
            app_id: "demo".into(),
            passkey_id: first.to_string(),
        },
    )
    .await
    .unwrap();
    // ...but with the password gone, the last passkey stays.
    app.sql("DELETE FROM password_credential").await;
    let error = app
        .call_json(
            &client,
            RemovePasskey {
                app_id: "demo".into(),
                passkey_id: second.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        refused(&error).starts_with("This is your only way to sign in"),
        "{error}"
    );
    assert_eq!(passkey::Entity::find().all(&app.db).await.unwrap().len(), 1);
    // A passkey of someone else is "not found", never removed.
    add_user(&app, "demo", "bob@example.com");
    let bobs = add_passkey_row(&app, "bob@example.com", "Bob key").await;
    app.call_json(
        &client,
        RemovePasskey {
            app_id: "demo".into(),
            passkey_id: bobs.to_string(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(passkey::Entity::find().all(&app.db).await.unwrap().len(), 2);
    assert!(
        app.actions_with_details("demo")
            .await
            .iter()
            .any(|(a, _)| a == "passkey.removed")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivating_oneself_needs_a_fresh_sign_in_and_the_typed_email() {
    let app = app_with_user().await;
    let client = browser();
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();

    let typo = app
        .call_json(
            &client,
            DeactivateAccount {
                app_id: "demo".into(),
                confirmation: "ada@example.org".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(typo["Invalid"]["field"], "confirmation");

    // Ten minutes later the sign-in is no longer fresh.
    app.advance_clock(chrono::Duration::minutes(10));
    let stale = app
        .call_json(
            &client,
            DeactivateAccount {
                app_id: "demo".into(),
                confirmation: "ada@example.com".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(stale.get("ReauthRequired").is_some(), "{stale}");

    // Re-authenticate, then it works.
    app.call_json(
        &client,
        oneauth::api::hosted::ReauthenticateWithPassword {
            app_id: "demo".into(),
            password: PASSWORD.to_string(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let target = app
        .call_json(
            &client,
            DeactivateAccount {
                app_id: "demo".into(),
                confirmation: "ADA@example.com".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(target, "/a/demo/login?deactivated=1");
    assert_eq!(
        user(&app, "ada@example.com").await.status,
        oneauth::types::UserStatus::Deactivated
    );
    assert_eq!(
        app.account(&client, "demo").await.unwrap_err(),
        json!("SignInRequired")
    );
    let error = sign_in(&app, &browser(), "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        refused(&error),
        "The e-mail address or the credentials are not right."
    );
    let recorded = app.actions_with_details("demo").await;
    let (_, details) = recorded
        .iter()
        .find(|(a, _)| a == "user.deactivated")
        .unwrap();
    assert_eq!(details["self"], true);
    assert!(recorded.iter().any(|(a, _)| a == "signin.reauthenticated"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_cannot_deactivate_themselves() {
    let app = app_with_user().await;
    app.cli(&["role", "create", "--app", "demo", "owner"])
        .expect_success();
    app.cli(&[
        "role",
        "grant",
        "--app",
        "demo",
        "--email",
        "ada@example.com",
        "owner",
    ])
    .expect_success();
    let client = browser();
    sign_in(&app, &client, "demo", "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let error = app
        .call_json(
            &client,
            DeactivateAccount {
                app_id: "demo".into(),
                confirmation: "ada@example.com".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("last owner"), "{error}");
    assert_eq!(
        user(&app, "ada@example.com").await.status,
        oneauth::types::UserStatus::Active
    );

    // With a second owner, the first may leave.
    add_user(&app, "demo", "bob@example.com");
    app.cli(&[
        "role",
        "grant",
        "--app",
        "demo",
        "--email",
        "bob@example.com",
        "owner",
    ])
    .expect_success();
    app.call_json(
        &client,
        DeactivateAccount {
            app_id: "demo".into(),
            confirmation: "ada@example.com".into(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_is_off_by_default_and_checks_passwords_when_on() {
    let app = spawn_app().await;
    app.create_app("shop", "Shop");
    let form = |email: &'static str, password: &'static str| RegisterWithPassword {
        app_id: "shop".into(),
        email: email.to_string(),
        password: password.to_string(),
        return_to: None,
    };
    let closed = app
        .call_json(&browser(), form("new@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(refused(&closed).contains("invitation only"), "{closed}");
    let page = app.get("/a/shop/register").await;
    assert_eq!(page.status(), 403);

    app.sql("UPDATE app SET self_registration = true WHERE id = 'shop'")
        .await;
    let short = app
        .call_json(&browser(), form("new@example.com", "short"))
        .await
        .unwrap_err();
    assert_eq!(short["Invalid"]["field"], "password");
    let common_password = app
        .call_json(&browser(), form("new@example.com", "iloveyou"))
        .await
        .unwrap_err();
    assert!(
        common_password["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("most common")
    );
    let bad_email = app
        .call_json(&browser(), form("not-an-email", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(bad_email["Invalid"]["field"], "email");

    let client = browser();
    let target = app
        .call_json(&client, form("New@Example.com", PASSWORD))
        .await
        .unwrap();
    assert_eq!(target, "/a/shop/account");
    assert_eq!(
        app.account(&client, "shop").await.unwrap()["email"],
        "new@example.com"
    );
    let duplicate = app
        .call_json(&browser(), form("new@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(duplicate["Invalid"]["field"], "email");
    let recorded: Vec<String> = app
        .actions_with_details("shop")
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(recorded.contains(&"user.registered".to_owned()));
    assert!(recorded.contains(&"signin.succeeded".to_owned()));
}

// ---------------------------------------------------------------------------
// N3 (second security review): a known-device mark never multiplies the
// guess budget. Marks die with a password change, only a few per account
// are live, and their failures also count on one key of the account.

mod n3 {
    use crate::common::factors::demo;
    use crate::common::{
        PASSWORD, ServerCall, ServerProcess, TestApp, browser, spawn_server_process,
    };
    use oneauth::api::account::ChangePassword;
    use oneauth::api::hosted::SignInWithPassword;

    const NEW_PASSWORD: &str = "a brand new passphrase 42";

    /// A password sign-in from `client` to `server`: its status.
    async fn attempt(server: &ServerProcess, client: &reqwest::Client, password: &str) -> u16 {
        ServerCall::of(SignInWithPassword {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
            password: password.into(),
            return_to: None,
        })
        .request(client, &server.address)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
    }

    /// `n` browsers that signed in as ada, each holding its mark.
    async fn marked_browsers(server: &ServerProcess, n: usize) -> Vec<reqwest::Client> {
        let mut browsers = Vec::new();
        for _ in 0..n {
            let client = browser();
            assert_eq!(attempt(server, &client, PASSWORD).await, 200);
            browsers.push(client);
        }
        browsers
    }

    async fn lock_out_strangers(server: &ServerProcess) {
        for _ in 0..5 {
            attempt(server, &browser(), "a stranger's guess").await;
        }
        assert_eq!(attempt(server, &browser(), PASSWORD).await, 403);
    }

    async fn with_server(app: &TestApp) -> ServerProcess {
        spawn_server_process(app).await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n3_after_a_password_change_old_marks_get_no_guess_checked() {
        let (app, _) = demo(&[]).await;
        let server = with_server(&app).await;
        let browsers = marked_browsers(&server, 4).await;
        // Ada changes her password in the first browser.
        let answer = ServerCall::of(ChangePassword {
            app_id: "demo".into(),
            current: Some(PASSWORD.into()),
            new: NEW_PASSWORD.into(),
        })
        .request(&browsers[0], &server.address)
        .send()
        .await
        .unwrap();
        assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
        lock_out_strangers(&server).await;
        // Whoever holds the three other browsers (they once had the old
        // password) is a stranger now: not one guess is checked...
        let before = server.password_hashes().await;
        for old in &browsers[1..] {
            for _ in 0..5 {
                assert_eq!(attempt(&server, old, "a guess at the new one").await, 403);
            }
        }
        assert_eq!(server.password_hashes().await - before, 0);
        // ...nor does the right password get in from there while locked.
        assert_eq!(attempt(&server, &browsers[1], NEW_PASSWORD).await, 403);
        // The browser that made the change was marked anew: the stranger's
        // lock does not keep Ada out of it.
        assert_eq!(attempt(&server, &browsers[0], NEW_PASSWORD).await, 200);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n3_many_marks_together_get_no_more_than_the_accounts_budget() {
        let (app, _) = demo(&[]).await;
        let server = with_server(&app).await;
        // Seven browsers signed in: more than the live marks an account keeps.
        let browsers = marked_browsers(&server, 7).await;
        lock_out_strangers(&server).await;
        let before = server.password_hashes().await;
        for marked in &browsers {
            for _ in 0..5 {
                attempt(&server, marked, "a guess").await;
            }
        }
        let checked = server.password_hashes().await - before;
        // Before: 35 (five per mark). Now the marks together have one
        // budget beside the account's own (which strangers used up).
        let budget = oneauth::core::throttle::PER_MARKED_ACCOUNT.max_failures as u64;
        assert!(checked <= budget, "{checked} guesses were checked");
        assert!(checked > 0, "the newest marks still get their own tries");
    }

    /// The reviewer of the N3 fix: the marks' shared key counted failures
    /// only once they had happened, so guesses sent all at once from many
    /// marks were each let through by their own mark's room. The shared
    /// key now reserves an attempt as the mark's own key does.
    #[tokio::test(flavor = "multi_thread")]
    async fn n3_many_marks_guessing_at_once_get_no_more_than_the_accounts_budget() {
        let (app, _) = demo(&[]).await;
        let server = with_server(&app).await;
        let browsers = marked_browsers(&server, 7).await;
        lock_out_strangers(&server).await;
        let before = server.password_hashes().await;
        let mut guesses = tokio::task::JoinSet::new();
        for marked in &browsers {
            for _ in 0..5 {
                let call = ServerCall::of(SignInWithPassword {
                    app_id: "demo".into(),
                    email: "ada@example.com".into(),
                    password: "a guess".into(),
                    return_to: None,
                })
                .request(marked, &server.address);
                guesses.spawn(call.send());
            }
        }
        while let Some(answer) = guesses.join_next().await {
            assert!(answer.unwrap().unwrap().status().is_client_error());
        }
        let checked = server.password_hashes().await - before;
        let budget = oneauth::core::throttle::PER_MARKED_ACCOUNT.max_failures as u64;
        assert!(checked <= budget, "{checked} guesses were checked at once");
        assert!(checked > 0, "the newest marks still get their own tries");
    }
}

/// L1 (residue, second security review). Decision: the account lock stays
/// (it is what stops guessing), and a stranger cannot shut its owner out:
/// the owner's known browsers and passkeys are never locked, and on a new
/// browser the owner gets in with an e-mail recovery link, which no
/// sign-in lock stops (it signs in once and asks for a new password).
#[tokio::test(flavor = "multi_thread")]
async fn l1_residue_a_locked_out_owner_on_a_new_browser_gets_in_by_an_e_mail_link() {
    let (app, _) = crate::common::factors::demo(&[]).await;
    for _ in 0..5 {
        let _ = app
            .call_json(
                &browser(),
                SignInWithPassword {
                    app_id: "demo".into(),
                    email: "ada@example.com".into(),
                    password: "a stranger's guess".into(),
                    return_to: None,
                },
            )
            .await;
    }
    let new_browser = browser();
    let refused = app
        .call_json(
            &new_browser,
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        common::refused(&refused).contains("Too many failed attempts"),
        "{refused}"
    );
    app.call_json(
        &new_browser,
        oneauth::api::hosted::RequestRecoveryEmail {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
        },
    )
    .await
    .unwrap();
    let message = app.outbox("demo").await.pop().unwrap();
    let text = oneauth::core::mail::outbox::open(app.db.deployment(), &message)
        .unwrap()
        .text;
    let token = text
        .split("recover?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    app.call_json(
        &new_browser,
        oneauth::api::hosted::RedeemRecoveryLink {
            app_id: "demo".into(),
            token,
        },
    )
    .await
    .unwrap();
    let account = app.account(&new_browser, "demo").await.unwrap();
    assert_eq!(account["requires_enrolment"], true);
    app.call_json(
        &new_browser,
        ChangePassword {
            app_id: "demo".into(),
            current: None,
            new: "a new passphrase of hers".into(),
        },
    )
    .await
    .unwrap();
}
