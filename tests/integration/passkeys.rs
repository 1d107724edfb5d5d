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

// ---------------------------------------------------------------------------
// N2 (second security review): a recovery code is a typed secret, and a
// requested recovery link proves a mailbox; neither vouches for a passkey a
// role demands, whether or not the user still has one.

mod n2 {
    use crate::common::console::{accept_invitation_with, first_owner, user_id};
    use crate::common::factors::{add_passkey, demo, passkey_role};
    use crate::common::oauth::{Client, Pkce, claims, param};
    use crate::common::passkey::Device;
    use crate::common::{TestApp, browser, refused};
    use oneauth::api::account::{ChangePassword, RegenerateRecoveryCodes};
    use oneauth::api::console::users::{ConsoleCreateUser, ConsoleEnrolmentLink};
    use oneauth::api::hosted::SignInWithRecoveryCode;
    use serde_json::Value;

    /// One of the user's ten fresh codes, from their own (fresh passkey)
    /// session.
    async fn a_code(app: &TestApp, browser: &reqwest::Client, app_id: &str) -> String {
        let codes = app
            .call_json(
                browser,
                RegenerateRecoveryCodes {
                    app_id: app_id.into(),
                },
            )
            .await
            .unwrap();
        codes[0].as_str().unwrap().to_owned()
    }

    async fn sign_in_with_code(
        app: &TestApp,
        app_id: &str,
        email: &str,
        code: &str,
    ) -> reqwest::Client {
        let evil = browser();
        app.call_json(
            &evil,
            SignInWithRecoveryCode {
                app_id: app_id.into(),
                email: email.into(),
                code: code.into(),
            },
        )
        .await
        .unwrap();
        evil
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n2_one_phished_recovery_code_gives_no_token_with_a_passkey_only_role() {
        let (app, created) = demo(&[]).await;
        let owner = first_owner(&app).await;
        passkey_role(&app, "demo", "secadmin", &[]);
        // The victim set up their account with a passkey, holds the role,
        // and keeps ten recovery codes.
        let invited = owner
            .call(
                &app,
                ConsoleCreateUser {
                    app_id: "demo".into(),
                    email: "victim@example.com".into(),
                    roles: Some("secadmin".into()),
                    invite: Some("on".into()),
                },
            )
            .await
            .unwrap();
        let victim =
            accept_invitation_with(&app, invited["invite_link"].as_str().unwrap(), None).await;
        let code = a_code(&app, &victim.browser, "demo").await;
        let client = Client::from_created(&app, &created);
        let own = client.tokens(&victim.browser, &[]).await;
        assert_eq!(claims(own["access_token"].as_str().unwrap())["acr"], "phr");

        // An attacker with that one code, and nothing else.
        let evil = sign_in_with_code(&app, "demo", "victim@example.com", &code).await;
        let error = add_passkey(&app, &evil, "demo", &mut Device::new(), None)
            .await
            .unwrap_err();
        assert!(
            refused(&error).contains("ask an operator for an enrolment link"),
            "{error}"
        );
        let view = app.account(&evil, "demo").await.unwrap();
        assert!(
            view["passkey_blocked"]
                .as_str()
                .unwrap()
                .contains("ask an operator for an enrolment link"),
            "{view}"
        );
        assert!(
            view["password_blocked"]
                .as_str()
                .is_some_and(|why| why.contains("until your new passkey is added")),
            "{view}"
        );
        // Nor does it turn into a lasting password.
        let error = app
            .call_json(
                &evil,
                ChangePassword {
                    app_id: "demo".into(),
                    current: None,
                    new: "the attacker's own passphrase".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(refused(&error).contains("enrolment link"), "{error}");
        // And the code session gets no code for a client.
        let response = client.authorize(&evil, &Pkce::new(), &[]).await;
        let location = response.headers()["location"].to_str().unwrap();
        assert!(param(location, "code").is_none(), "{location}");
        assert_eq!(location, "/a/demo/account");
        // Nor does the victim releasing their own new session release the
        // attacker's: the victim signs in with their passkey and adds a
        // second one, and the code session is still held.
        let mut device = victim.device;
        let again = browser();
        crate::common::factors::assert_passkey(&app, &again, "demo", &mut device)
            .await
            .unwrap();
        add_passkey(&app, &again, "demo", &mut Device::new(), None)
            .await
            .unwrap();
        let response = client.authorize(&evil, &Pkce::new(), &[]).await;
        let location = response.headers()["location"].to_str().unwrap();
        assert_eq!(location, "/a/demo/account");

        // The owner of the account, who lost the passkey, gets back in
        // the way an operator vouches for: an enrolment link.
        let link = owner
            .call(
                &app,
                ConsoleEnrolmentLink {
                    app_id: "demo".into(),
                    user_id: user_id(&app, "demo", "victim@example.com").await,
                },
            )
            .await
            .unwrap();
        let token = param(link.as_str().unwrap(), "enrol").unwrap();
        add_passkey(&app, &evil, "demo", &mut Device::new(), Some(&token))
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n2_one_phished_recovery_code_opens_no_console_session() {
        let app = crate::common::spawn_app().await;
        let owner = first_owner(&app).await;
        let code = a_code(&app, &owner.browser, "console").await;
        let evil = sign_in_with_code(&app, "console", "owner@example.com", &code).await;
        let error = add_passkey(&app, &evil, "console", &mut Device::new(), None)
            .await
            .unwrap_err();
        assert!(refused(&error).contains("enrolment link"), "{error}");
        let me = app
            .call_json(&evil, oneauth::api::console::ConsoleMe {})
            .await;
        assert!(me.is_err(), "{me:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n2_a_requested_recovery_link_is_checked_again_when_it_is_used() {
        let (app, _) = demo(&[]).await;
        app.call_json(
            &browser(),
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
        // Meanwhile the account got a passkey: a mailbox is no way around it.
        let ada = crate::common::factors::signed_in(&app, "demo", "ada@example.com").await;
        add_passkey(&app, &ada, "demo", &mut Device::new(), None)
            .await
            .unwrap();
        let error = app
            .call_json(
                &browser(),
                oneauth::api::hosted::RedeemRecoveryLink {
                    app_id: "demo".into(),
                    token,
                },
            )
            .await
            .unwrap_err();
        assert!(
            refused(&error).contains("protected by a passkey"),
            "{error}"
        );
        let _: Value = app.account(&ada, "demo").await.unwrap();
    }
}

// ---------------------------------------------------------------------------
// N5 (second security review): a passkey ceremony is single use on the
// server, even for a synced passkey whose signature counter stays 0.

mod n5 {
    use crate::common::factors::{add_passkey, demo, signed_in};
    use crate::common::passkey::Device;
    use crate::common::{ServerCall, TestApp, browser, refused};
    use oneauth::api::hosted::{FinishPasskeyAssertion, SignOut, StartPasskeyAssertion};
    use oneauth::entities::passkey;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use serde_json::Value;

    /// Synced passkeys (iCloud Keychain, Google Password Manager) always
    /// report a signature counter of 0, so the counter never shows a
    /// replay. The software authenticator counts; forgetting what the
    /// server stored of its counter puts the server where it is with a
    /// synced passkey.
    async fn forget_signature_counters(app: &TestApp) {
        fn zero(value: &mut Value) {
            match value {
                Value::Object(map) => {
                    for (key, inner) in map.iter_mut() {
                        if key == "counter" {
                            *inner = Value::from(0);
                        } else {
                            zero(inner);
                        }
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(zero),
                _ => {}
            }
        }
        for row in passkey::Entity::find().all(&app.db).await.unwrap() {
            let mut json: Value = serde_json::from_str(&row.passkey_json).unwrap();
            zero(&mut json);
            let mut update: passkey::ActiveModel = row.into();
            update.passkey_json = Set(json.to_string());
            update.update(app.db.writer()).await.unwrap();
        }
    }

    /// The ceremony cookie a start answered with.
    fn ceremony_cookie(response: &reqwest::Response) -> String {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("oneauth_passkey_auth="))
            .and_then(|v| v.split(';').next())
            .expect("a ceremony cookie")
            .to_owned()
    }

    /// A finish sent by a fresh client with exactly `cookie` and `credential`.
    async fn finish(app: &TestApp, cookie: &str, credential: &str) -> reqwest::Response {
        ServerCall::of(FinishPasskeyAssertion {
            app_id: "demo".into(),
            credential: credential.to_owned(),
            return_to: None,
        })
        .request(&browser(), &app.address)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n5_a_replayed_assertion_and_its_cookie_are_refused_even_after_sign_out() {
        let (app, _) = demo(&[]).await;
        let ada = signed_in(&app, "demo", "ada@example.com").await;
        let mut device = Device::new();
        add_passkey(&app, &ada, "demo", &mut device, None)
            .await
            .unwrap();
        // Ada signs in with her passkey; someone records the request (a
        // proxy's log, a HAR file): its body and the ceremony cookie.
        let start = ServerCall::of(StartPasskeyAssertion {
            app_id: "demo".into(),
        })
        .request(&browser(), &app.address)
        .send()
        .await
        .unwrap();
        let cookie = ceremony_cookie(&start);
        let options: Value = start.json().await.unwrap();
        let assertion = device.get(&app.address, options.as_str().unwrap());
        let signed_in = finish(&app, &cookie, &assertion).await;
        assert_eq!(signed_in.status(), 200);
        forget_signature_counters(&app).await;

        // The recording, played again from elsewhere: refused.
        let replayed = finish(&app, &cookie, &assertion).await;
        assert_eq!(replayed.status(), 403);
        let error: Value = replayed.json().await.unwrap();
        assert!(refused(&error).contains("already used"), "{error}");
        // Also once Ada has signed out.
        app.call_json(
            &ada,
            SignOut {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(finish(&app, &cookie, &assertion).await.status(), 403);
        let failures: Vec<_> = app
            .actions_with_details("demo")
            .await
            .into_iter()
            .filter(|(action, _)| action == "signin.failed")
            .map(|(_, details)| details["reason"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(
            failures
                .iter()
                .filter(|r| *r == "replayed_ceremony")
                .count()
                == 2,
            "{failures:?}"
        );
        // A new ceremony signs in as usual.
        let fresh = browser();
        crate::common::factors::assert_passkey(&app, &fresh, "demo", &mut device)
            .await
            .unwrap();
    }
}

/// M2 (residue, second security review). Decision: a failed passkey
/// assertion is worth recording (it is someone presenting a credential this
/// app does not accept), and each needs a ceremony of its own; they count
/// against the client address, and once it locks (30 in 15 minutes) they
/// are neither counted nor recorded until the lock ends: the lock is
/// recorded once. So one client writes at most 31 rows per window.
#[tokio::test(flavor = "multi_thread")]
async fn m2_residue_failed_passkey_assertions_stop_being_recorded_at_the_address_lock() {
    let app = open_app().await;
    app.create_app("elsewhere", "Elsewhere");
    app.sql("UPDATE app SET self_registration = true WHERE id = 'elsewhere'")
        .await;
    // A passkey of another app: presented here, it is no credential of this app.
    let mut stranger = Device::new();
    let client = browser();
    let options = json(
        &app,
        &client,
        StartPasskeySignUp {
            app_id: "elsewhere".into(),
            email: "mallory@example.com".into(),
        },
    )
    .await
    .unwrap();
    let credential = stranger.create(&app.address, options.as_str().unwrap());
    json(
        &app,
        &client,
        FinishPasskeySignUp {
            app_id: "elsewhere".into(),
            credential: credential.to_string(),
        },
    )
    .await
    .unwrap();
    let before = app.actions("demo").await.len();
    for _ in 0..40 {
        let error = passkey_sign_in(&app, &browser(), &mut stranger, "demo")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("passkey"), "{error}");
    }
    let recorded: Vec<String> = app.actions("demo").await.split_off(before);
    let limit = oneauth::core::throttle::PER_ADDRESS.max_failures as usize;
    assert_eq!(
        recorded.iter().filter(|a| *a == "signin.failed").count(),
        limit,
        "{recorded:?}"
    );
    assert_eq!(
        recorded.iter().filter(|a| *a == "signin.locked").count(),
        1,
        "{recorded:?}"
    );
    assert_eq!(recorded.len(), limit + 1);
}
