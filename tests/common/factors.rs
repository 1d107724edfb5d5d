//! Factors as tests use them: roles that demand a passkey, signed-in
//! browsers, passkeys added and asserted through the real server
//! functions, and what is still live of a user's sessions and families.

use oneauth::api::account::{FinishAddPasskey, StartAddPasskey};
use oneauth::api::hosted::{FinishPasskeyAssertion, StartPasskeyAssertion};
use oneauth::entities::{signin_session, token_family};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use super::passkey::Device;
use super::{PASSWORD, TestApp, browser, sign_in};

/// App `demo` (a public client, a post-logout URI; `extra`: more flags of
/// `oneauth app create`) with ada@example.com, and what `app create`
/// printed.
pub async fn demo(extra: &[&str]) -> (TestApp, Value) {
    let app = super::spawn_app().await;
    let mut args = vec![
        "app",
        "create",
        "demo",
        "--name",
        "Demo",
        "--redirect-uri",
        "http://localhost:5173/cb",
        "--post-logout-redirect-uri",
        "http://localhost:5173/bye",
    ];
    args.extend_from_slice(extra);
    let created = app.cli(&args).expect_success().json();
    super::add_user(&app, "demo", "ada@example.com");
    (app, created)
}

/// A role of `app_id` that requires a passkey (`extra`: more flags).
pub fn passkey_role(app: &TestApp, app_id: &str, role: &str, extra: &[&str]) {
    let mut args = vec!["role", "create", "--app", app_id, role, "--require-passkey"];
    args.extend_from_slice(extra);
    app.cli(&args).expect_success();
}

pub async fn signed_in(app: &TestApp, app_id: &str, email: &str) -> reqwest::Client {
    let browser = browser();
    sign_in(app, &browser, app_id, email, PASSWORD).await;
    browser
}

/// Add a passkey from the account page (`enrolment`: an enrolment link's
/// token); the error of whichever step refused.
pub async fn add_passkey(
    app: &TestApp,
    browser: &reqwest::Client,
    app_id: &str,
    device: &mut Device,
    enrolment: Option<&str>,
) -> Result<Value, Value> {
    let enrolment = enrolment.unwrap_or_default();
    let options = app
        .call_json(
            browser,
            StartAddPasskey {
                app_id: app_id.to_string(),
                enrolment: Some(enrolment.to_string()),
            },
        )
        .await?;
    let credential = device.create(&app.address, options.as_str().unwrap());
    app.call_json(
        browser,
        FinishAddPasskey {
            app_id: app_id.to_string(),
            credential: credential.to_string(),
            name: "Key".into(),
            enrolment: Some(enrolment.to_string()),
        },
    )
    .await
}

/// A passkey assertion in `browser`: a sign-in, or a step-up of the
/// signed-in user.
pub async fn assert_passkey(
    app: &TestApp,
    browser: &reqwest::Client,
    app_id: &str,
    device: &mut Device,
) -> Result<Value, Value> {
    let options = app
        .call_json(
            browser,
            StartPasskeyAssertion {
                app_id: app_id.to_string(),
            },
        )
        .await?;
    let assertion = device.get(&app.address, options.as_str().unwrap());
    app.call_json(
        browser,
        FinishPasskeyAssertion {
            app_id: app_id.to_string(),
            credential: assertion.to_string(),
            return_to: None,
        },
    )
    .await
}

pub async fn live_sessions(app: &TestApp, user: &str) -> u64 {
    signin_session::Entity::find()
        .filter(signin_session::Column::UserId.eq(user))
        .filter(signin_session::Column::EndedAt.is_null())
        .count(&app.db)
        .await
        .unwrap()
}

pub async fn live_families(app: &TestApp, user: &str) -> u64 {
    token_family::Entity::find()
        .filter(token_family::Column::UserId.eq(user))
        .filter(token_family::Column::RevokedAt.is_null())
        .count(&app.db)
        .await
        .unwrap()
}

/// Sign up to app `demo` as `email` in `browser` (self-registration on),
/// with a password; the browser is signed in, the address unconfirmed.
pub async fn register(app: &TestApp, browser: &reqwest::Client, email: &str) {
    app.call_json(
        browser,
        oneauth::api::hosted::RegisterWithPassword {
            app_id: "demo".into(),
            email: email.into(),
            password: "a long enough passphrase".into(),
            return_to: None,
        },
    )
    .await
    .unwrap();
}

/// The token of the newest verification link of app `demo` mailed to `to`.
pub async fn verification_token(app: &TestApp, to: &str) -> String {
    let row = app
        .outbox("demo")
        .await
        .into_iter()
        .rfind(|row| row.to_address == to && row.kind == oneauth::types::MailKind::Verification)
        .expect("a verification message");
    let text = oneauth::core::mail::outbox::open(app.db.deployment(), &row)
        .unwrap()
        .text;
    text.split("verify?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
