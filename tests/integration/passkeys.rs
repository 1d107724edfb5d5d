//! Passkey ceremonies over HTTP with a software authenticator
//! (webauthn-authenticator-rs): sign-up, sign-in, adding a passkey, the
//! first recovery codes, re-authentication and the app boundary.
//!

use crate::common;

use common::passkey::Device;
use common::{PASSWORD, TestApp, add_user, browser, spawn_app};
use leptos::server_fn::ServerFn;
use oneauth::api::account::{FinishAddPasskey, StartAddPasskey};
use oneauth::api::hosted::{
    FinishPasskeyAssertion, FinishPasskeySignUp, SignInWithPassword, StartPasskeyAssertion,
    StartPasskeySignUp,
};
use oneauth::entities::{audit_event, passkey, recovery_code};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

async fn json<F>(app: &TestApp, client: &reqwest::Client, input: F) -> Result<Value, Value>
where
    F: ServerFn + serde::Serialize,
{
    app.call_json(client, input).await
}

/// Sign in with the device's passkey; the server's answer.
async fn passkey_sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    device: &mut Device,
    app_id: &str,
) -> Result<Value, Value> {
    let options = json(
        app,
        client,
        StartPasskeyAssertion {
            app_id: app_id.to_string(),
        },
    )
    .await
    .unwrap();
    let credential = device.get(&app.address, options.as_str().unwrap());
    json(
        app,
        client,
        FinishPasskeyAssertion {
            app_id: app_id.to_string(),
            credential: credential.to_string(),
            return_to: None,
        },
    )
    .await
}

async fn open_app() -> TestApp {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.sql("UPDATE app SET self_registration = true WHERE id = 'demo'")
        .await;
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_with_a_passkey_then_sign_in_with_it() {
    let app = open_app().await;
    let mut device = Device::new();
    let client = browser();
    let options = json(
        &app,
        &client,
        StartPasskeySignUp {
            app_id: "demo".into(),
            email: "Pat@Example.com".into(),
        },
    )
    .await
    .unwrap();
    let credential = device.create(&app.address, options.as_str().unwrap());
    let done = json(
        &app,
        &client,
        FinishPasskeySignUp {
            app_id: "demo".into(),
            credential: credential.to_string(),
        },
    )
    .await
    .unwrap();
    assert_eq!(done["continue_to"], "/a/demo/account");
    let codes = done["codes"].as_array().unwrap();
    assert_eq!(
        codes.len(),
        10,
        "the first strong factor comes with recovery codes"
    );
    assert_eq!(
        recovery_code::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        10
    );

    let view = app.account(&client, "demo").await.unwrap();
    assert_eq!(view["email"], "pat@example.com");
    assert_eq!(view["has_password"], false);
    assert_eq!(view["passkeys"].as_array().unwrap().len(), 1);
    assert_eq!(
        view["sessions"][0]["methods"],
        json!(["hwk", "user", "mfa"])
    );

    // A new browser signs in with the passkey alone.
    let other = browser();
    let target = passkey_sign_in(&app, &other, &mut device, "demo")
        .await
        .unwrap();
    assert_eq!(target, "/a/demo/account");
    let view = app.account(&other, "demo").await.unwrap();
    assert_eq!(view["email"], "pat@example.com");
    assert!(view["passkeys"][0]["last_used"].is_string());

    let recorded = app.actions("demo").await;
    for action in [
        "user.registered",
        "passkey.added",
        "recovery_codes.generated",
        "signin.succeeded",
    ] {
        assert!(
            recorded.contains(&action.to_owned()),
            "{action} in {recorded:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_works_only_in_its_own_app() {
    let app = open_app().await;
    app.create_app("other", "Other");
    let mut device = Device::new();
    let client = browser();
    let options = json(
        &app,
        &client,
        StartPasskeySignUp {
            app_id: "demo".into(),
            email: "pat@example.com".into(),
        },
    )
    .await
    .unwrap();
    let credential = device.create(&app.address, options.as_str().unwrap());
    json(
        &app,
        &client,
        FinishPasskeySignUp {
            app_id: "demo".into(),
            credential: credential.to_string(),
        },
    )
    .await
    .unwrap();

    let error = passkey_sign_in(&app, &browser(), &mut device, "other")
        .await
        .unwrap_err();
    assert_eq!(
        error["Refused"],
        "This passkey is not registered with this app."
    );
    let failed = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq("other"))
        .filter(audit_event::Column::Action.eq("signin.failed"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the failure is audited in the other app");
    assert!(failed.details.contains("no_such_credential"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_is_used_once_and_a_forged_user_handle_fails() {
    let app = open_app().await;
    let mut device = Device::new();
    let client = browser();
    let options = json(
        &app,
        &client,
        StartPasskeySignUp {
            app_id: "demo".into(),
            email: "pat@example.com".into(),
        },
    )
    .await
    .unwrap();
    let credential = device.create(&app.address, options.as_str().unwrap());
    json(
        &app,
        &client,
        FinishPasskeySignUp {
            app_id: "demo".into(),
            credential: credential.to_string(),
        },
    )
    .await
    .unwrap();

    // Replaying one assertion: the challenge was consumed.
    let fresh = browser();
    let options = json(
        &app,
        &fresh,
        StartPasskeyAssertion {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap();
    let assertion = device.get(&app.address, options.as_str().unwrap());
    json(
        &app,
        &fresh,
        FinishPasskeyAssertion {
            app_id: "demo".into(),
            credential: assertion.to_string(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let replay = browser();
    json(
        &app,
        &replay,
        StartPasskeyAssertion {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap();
    let error = json(
        &app,
        &replay,
        FinishPasskeyAssertion {
            app_id: "demo".into(),
            credential: assertion.to_string(),
            return_to: None,
        },
    )
    .await
    .unwrap_err();
    assert!(error["Refused"].is_string(), "{error}");

    // Someone else's user handle on this credential is refused.
    device.user_handle = Some(uuid::Uuid::now_v7().as_bytes().to_vec());
    let error = passkey_sign_in(&app, &browser(), &mut device, "demo")
        .await
        .unwrap_err();
    assert_eq!(
        error["Refused"],
        "This passkey is not registered with this app."
    );
}

/// Ada, signed in with her password, adds her first passkey: the app, her
/// browser, her device and the recovery codes she was given.
async fn ada_adds_a_first_passkey() -> (TestApp, reqwest::Client, Device, Value) {
    let app = open_app().await;
    add_user(&app, "demo", "ada@example.com");
    let client = browser();
    json(
        &app,
        &client,
        SignInWithPassword {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
            password: PASSWORD.to_string(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let mut device = Device::new();
    let codes = add_passkey(&app, &client, &mut device, "Work laptop")
        .await
        .unwrap();
    (app, client, device, codes)
}

/// Add a passkey to the signed-in account; the recovery codes it brings.
async fn add_passkey(
    app: &TestApp,
    client: &reqwest::Client,
    device: &mut Device,
    name: &str,
) -> Result<Value, Value> {
    let options = json(
        app,
        client,
        StartAddPasskey {
            app_id: "demo".into(),
            enrolment: None,
        },
    )
    .await?;
    let credential = device.create(&app.address, options.as_str().unwrap());
    json(
        app,
        client,
        FinishAddPasskey {
            app_id: "demo".into(),
            credential,
            name: name.into(),
            enrolment: None,
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_passkey_gives_ten_recovery_codes() {
    let (app, _, _, codes) = ada_adds_a_first_passkey().await;
    assert_eq!(codes.as_array().unwrap().len(), 10);
    let stored = passkey::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.name, "Work laptop");
    assert!(stored.user_verified);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_passkey_needs_a_recent_passkey_and_brings_no_new_codes() {
    let (app, client, mut device, _) = ada_adds_a_first_passkey().await;
    // It changes Ada's factors: it needs a recent passkey assertion, her
    // strongest factor now (the password sign-in is not one).
    let mut spare = Device::new();
    let error = add_passkey(&app, &client, &mut spare, "Spare key")
        .await
        .unwrap_err();
    assert!(
        error["ReauthRequired"]
            .as_str()
            .unwrap()
            .contains("passkey"),
        "{error}"
    );
    passkey_sign_in(&app, &client, &mut device, "demo")
        .await
        .unwrap();
    let options = json(
        &app,
        &client,
        StartAddPasskey {
            app_id: "demo".into(),
            enrolment: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(options.as_str().unwrap()).unwrap()["publicKey"]["excludeCredentials"].as_array().unwrap().len(),
        1,
        "the existing passkey is excluded"
    );
    let codes = add_passkey(&app, &client, &mut spare, "Spare key")
        .await
        .unwrap();
    assert_eq!(codes, Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_assertion_in_a_signed_in_session_is_a_step_up() {
    let (app, client, mut device, _) = ada_adds_a_first_passkey().await;
    passkey_sign_in(&app, &client, &mut device, "demo")
        .await
        .unwrap();
    // The same session, the passkey added to its methods.
    let view = app.account(&client, "demo").await.unwrap();
    assert_eq!(view["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(
        view["sessions"][0]["methods"],
        json!(["pwd", "hwk", "user", "mfa"])
    );
    assert!(
        app.actions("demo")
            .await
            .contains(&"signin.reauthenticated".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_accounts_passkey_cannot_confirm_a_session() {
    let (app, client, _, _) = ada_adds_a_first_passkey().await;
    let client_b = browser();
    let mut bobs = Device::new();
    let options = json(
        &app,
        &client_b,
        StartPasskeySignUp {
            app_id: "demo".into(),
            email: "bob@example.com".into(),
        },
    )
    .await
    .unwrap();
    let credential = bobs.create(&app.address, options.as_str().unwrap());
    json(
        &app,
        &client_b,
        FinishPasskeySignUp {
            app_id: "demo".into(),
            credential,
        },
    )
    .await
    .unwrap();
    let error = passkey_sign_in(&app, &client, &mut bobs, "demo")
        .await
        .unwrap_err();
    assert_eq!(
        error["Refused"],
        "That passkey belongs to another account than the one signed in."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passkey_sign_up_respects_the_app_setting() {
    let app = spawn_app().await;
    app.create_app("closed", "Closed");
    let error = json(
        &app,
        &browser(),
        StartPasskeySignUp {
            app_id: "closed".into(),
            email: "pat@example.com".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        error["Refused"]
            .as_str()
            .unwrap()
            .contains("invitation only")
    );
}
