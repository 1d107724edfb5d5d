//! E-mail seen from the console and the hosted pages: operators' links go
//! by e-mail too, the outbox page, app e-mail settings, confirmed
//! addresses, the remaining notices, and `oneauth email test`.

use oneauth::api::console::apps::{ConsoleApp, ConsoleCreateApp, ConsoleUpdateApp};
use oneauth::api::console::outbox::{ConsoleOpenEmail, ConsoleOutbox, ConsoleResendEmail};
use oneauth::api::console::users::{
    ConsoleCreateUser, ConsoleInviteUser, ConsoleRecoveryLink, ConsoleRemoveUserPasskey,
    ConsoleSetUserActive,
};
use oneauth::api::hosted::{ConfirmEmail, RegisterWithPassword, ResendVerification};
use oneauth::types::MailStatus;
use serde_json::Value;

use crate::common::console::{Op, accept_invitation, first_owner, operator, user_id};
use crate::common::mail::SmtpSink;
use crate::common::oauth::{Client, Pkce, param};
use crate::common::{
    PASSWORD, TestApp, add_user, browser, sign_in, spawn_app, spawn_app_with_smtp,
};

fn refusal(result: Result<Value, Value>) -> String {
    crate::common::refused(&result.unwrap_err()).to_owned()
}

/// A server sending to a sink, its console owner, and the app `demo`.
async fn console_with_sink() -> (TestApp, Op, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_smtp(&sink.url()).await;
    let owner = first_owner(&app).await;
    create_demo(&app, &owner).await;
    (app, owner, sink)
}

async fn create_demo(app: &TestApp, owner: &Op) {
    owner
        .call(
            app,
            ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
}

async fn invite(app: &TestApp, owner: &Op, email: &str) -> Value {
    owner
        .call(
            app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: email.into(),
                roles: None,
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_goes_by_e_mail_and_is_accepted_from_the_message() {
    let (app, owner, sink) = console_with_sink().await;
    let created = invite(&app, &owner, "ada@example.com").await;
    let shown = created["invite_link"].as_str().unwrap();
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "You are invited to Demo");
    let link = mail.link(&format!("{}/a/demo/invite/", app.address));
    assert_eq!(
        link, shown,
        "the e-mail carries the link the console showed once"
    );
    let user = accept_invitation(&app, &link).await;
    let account = app.account(&user.browser, "demo").await.unwrap();
    assert_eq!(account["email"], "ada@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_recovery_link_goes_by_e_mail_as_well() {
    let (app, owner, sink) = console_with_sink().await;
    add_user(&app, "demo", "ada@example.com");
    let id = user_id(&app, "demo", "ada@example.com").await;
    let shown = owner
        .call(
            &app,
            ConsoleRecoveryLink {
                app_id: "demo".into(),
                user_id: id,
            },
        )
        .await
        .unwrap();
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Recover your Demo account");
    assert!(
        mail.text()
            .contains("An administrator sent you a recovery link.")
    );
    assert_eq!(
        mail.link(&format!("{}/a/demo/recover?token=", app.address)),
        shown.as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_the_outbox_page_shows_the_message_with_its_link_withheld() {
    let app = spawn_app().await;
    let owner = first_owner(&app).await;
    create_demo(&app, &owner).await;
    let created = invite(&app, &owner, "ada@example.com").await;
    let outbox = |status: Option<&str>, kind: Option<&str>, to: Option<&str>| ConsoleOutbox {
        app_id: "demo".into(),
        status: status.map(Into::into),
        kind: kind.map(Into::into),
        to: to.map(Into::into),
    };
    let page = owner.call(&app, outbox(None, None, None)).await.unwrap();
    assert_eq!(page["smtp_configured"], false);
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "pending");
    assert_eq!(rows[0]["kind"], "invitation");
    assert_eq!(rows[0]["to"], "ada@example.com");
    // Filters.
    for (filter, expected) in [
        (outbox(Some("sent"), None, None), 0),
        (outbox(None, Some("notice"), None), 0),
        (outbox(None, Some("invitation"), Some("ADA@")), 1),
        (outbox(Some("pending"), None, Some("bob")), 0),
    ] {
        let page = owner.call(&app, filter).await.unwrap();
        assert_eq!(page["rows"].as_array().unwrap().len(), expected);
    }
    let bad = owner
        .call(&app, outbox(Some("lost"), None, None))
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("pending or sent or failed"),
        "{bad}"
    );
    // Opened, it says what it says, but never with its live link (N1): an
    // operator who needs one issues a fresh link, which voids this one.
    let id = rows[0]["id"].as_str().unwrap().to_owned();
    let message = owner
        .call(
            &app,
            ConsoleOpenEmail {
                app_id: "demo".into(),
                id: id.clone(),
            },
        )
        .await
        .unwrap();
    let link = created["invite_link"].as_str().unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(!text.contains(link), "{text}");
    assert!(text.contains("[one-time link withheld]"), "{text}");
    assert_eq!(message["link_withheld"], true);
    assert_eq!(message["user_id"], created["user_id"]);
    let fresh = owner
        .call(
            &app,
            ConsoleInviteUser {
                app_id: "demo".into(),
                user_id: created["user_id"].as_str().unwrap().to_owned(),
            },
        )
        .await
        .unwrap();
    let fresh = fresh.as_str().unwrap();
    assert_ne!(fresh, link);
    let old = app
        .call_json(
            &browser(),
            oneauth::api::hosted::LoadInvitation {
                app_id: "demo".into(),
                token: link.rsplit('/').next().unwrap().to_owned(),
            },
        )
        .await;
    assert!(old.is_err(), "the old link is void: {old:?}");
    accept_invitation(&app, fresh).await;
    // An auditor sees the list but cannot open a message (it may hold a
    // live link) nor resend one.
    let auditor = operator(&app, &owner, "audrey@example.com", "auditor").await;
    auditor.call(&app, outbox(None, None, None)).await.unwrap();
    let open = ConsoleOpenEmail {
        app_id: "demo".into(),
        id: id.clone(),
    };
    assert!(refusal(auditor.call(&app, open).await).contains("read-only"));
    let resend = ConsoleResendEmail {
        app_id: "demo".into(),
        id: id.clone(),
    };
    assert!(refusal(auditor.call(&app, resend.clone()).await).contains("read-only"));
    // A message a sender holds right now is not sent a second time.
    let policy = oneauth::core::mail::sender::Policy::default();
    oneauth::core::mail::outbox::claim(&app.db, &id, policy.lease, policy.first_retry)
        .await
        .unwrap()
        .unwrap();
    assert!(refusal(owner.call(&app, resend.clone()).await).contains("being sent"));
    // A failed message goes back to the queue, from its first attempt.
    app.sql(&format!(
        "UPDATE email_outbox SET status = 'failed', attempts = 8, lease_until = NULL, claimed_by = NULL WHERE id = '{id}'"
    ))
    .await;
    owner.call(&app, resend).await.unwrap();
    let row = &app.outbox("demo").await[0];
    assert_eq!((row.status, row.attempts), (MailStatus::Pending, 0));
    let actions = app.actions("demo").await;
    for action in ["email.opened", "email.resent"] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} in {actions:?}"
        );
    }
    let refused: Vec<_> = crate::common::console::refusals(&app)
        .await
        .into_iter()
        .map(|r| r["attempted"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(refused.contains(&"email.open".to_owned()), "{refused:?}");
    assert!(refused.contains(&"email.resend".to_owned()), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_sets_the_sender_name_and_reply_to_of_its_e_mail() {
    let (app, owner, sink) = console_with_sink().await;
    let settings = |reply_to: &str| ConsoleUpdateApp {
        app_id: "demo".into(),
        name: "Demo".into(),
        brand_color: "#0f766e".into(),
        self_registration: None,
        password_enabled: Some("on".into()),
        passkey_enabled: Some("on".into()),
        require_pkce: Some("on".into()),
        session_idle_secs: "3600".into(),
        session_absolute_secs: "36000".into(),
        access_token_ttl_secs: "600".into(),
        refresh_idle_secs: "86400".into(),
        refresh_absolute_secs: "604800".into(),
        refresh_grace_secs: "0".into(),
        api_audiences: None,
        email_sender_name: Some("Demo Security".into()),
        email_reply_to: Some(reply_to.into()),
        require_verified_email: None,
        notify_new_device: Some("on".into()),
    };
    let error = owner
        .call(&app, settings("support at demo"))
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "email_reply_to");
    owner
        .call(&app, settings("Support@Demo.test"))
        .await
        .unwrap();
    let view = owner
        .call(
            &app,
            ConsoleApp {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(view["email_sender_name"], "Demo Security");
    assert_eq!(view["email_reply_to"], "support@demo.test");
    assert_eq!(view["notify_new_device"], true);
    assert_eq!(view["require_verified_email"], false);
    add_user(&app, "demo", "ada@example.com");
    let browser = browser();
    sign_in(&app, &browser, "demo", "ada@example.com", PASSWORD).await;
    app.call_json(
        &browser,
        oneauth::api::account::ChangePassword {
            app_id: "demo".into(),
            current: Some(PASSWORD.into()),
            new: "a brand new passphrase".into(),
        },
    )
    .await
    .unwrap();
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.header("from"), "Demo Security <no-reply@localhost>");
    assert_eq!(mail.header("reply-to"), "support@demo.test");
    // The HTML part carries the app's colour.
    assert!(mail.html.as_deref().unwrap().contains("#0f766e"));
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_passkey_and_deactivating_an_account_tell_the_user() {
    let (app, owner, sink) = console_with_sink().await;
    let created = invite(&app, &owner, "ada@example.com").await;
    accept_invitation(&app, created["invite_link"].as_str().unwrap()).await;
    let id = user_id(&app, "demo", "ada@example.com").await;
    let passkey: String = {
        use oneauth::entities::passkey;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(id.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    owner
        .call(
            &app,
            ConsoleRemoveUserPasskey {
                app_id: "demo".into(),
                user_id: id.clone(),
                passkey_id: passkey,
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleSetUserActive {
                app_id: "demo".into(),
                user_id: id,
                active: false,
                confirmation: None,
            },
        )
        .await
        .unwrap();
    // The owner's setup link is the first message.
    let subjects: Vec<String> = sink
        .wait_for(4)
        .await
        .iter()
        .filter(|m| m.rcpt_tos == ["ada@example.com"])
        .map(|m| m.subject().to_owned())
        .collect();
    assert_eq!(
        subjects,
        [
            "You are invited to Demo",
            "Demo: A passkey was removed from your account",
            "Demo: Your account was deactivated",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_from_a_new_browser_tells_the_user_when_the_app_asks() {
    let (app, _owner, sink) = console_with_sink().await;
    add_user(&app, "demo", "ada@example.com");
    let browser_of = |agent: &str| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .user_agent(agent)
            .build()
            .unwrap()
    };
    let firefox = browser_of("Firefox/1");
    // Off by default.
    sign_in(&app, &firefox, "demo", "ada@example.com", PASSWORD).await;
    sign_in(
        &app,
        &browser_of("Chrome/2"),
        "demo",
        "ada@example.com",
        PASSWORD,
    )
    .await;
    app.sql("UPDATE app SET notify_new_device = true WHERE id = 'demo'")
        .await;
    // The same browser again: nothing.
    sign_in(&app, &firefox, "demo", "ada@example.com", PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1, "only the bootstrap invitation");
    // N10: another browser that copies Firefox's user agent is still new
    // (what marks a browser is our signed cookie, not what it says of
    // itself), and what it says is quoted as its words, cut short.
    let copycat = browser_of("Firefox/1 Call +1 555 0100 now, or visit https://evil.example/help");
    sign_in(&app, &copycat, "demo", "ada@example.com", PASSWORD).await;
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Demo: New sign-in to your account");
    let text = mail.text();
    assert!(
        text.contains("described itself (unverified) as: \u{201c}Firefox/1 Call +1 555"),
        "{text}"
    );
    assert!(!text.contains("https://evil.example"), "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sink.messages().len(),
        1 + 1,
        "the bootstrap invitation and the notice"
    );
}

/// A server sending to a sink; its app `demo`, open to sign-up and
/// requiring a confirmed address (the CLI's JSON of it); and a browser that
/// just signed up there as ada@example.com.
async fn signed_up_where_addresses_are_confirmed() -> (TestApp, SmtpSink, Value, reqwest::Client) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_smtp(&sink.url()).await;
    let created = app
        .cli(&[
            "app",
            "create",
            "demo",
            "--name",
            "Demo",
            "--redirect-uri",
            "http://localhost:5173/cb",
            "--self-registration",
        ])
        .expect_success()
        .json();
    app.sql("UPDATE app SET require_verified_email = true WHERE id = 'demo'")
        .await;
    let browser = browser();
    app.call_json(
        &browser,
        RegisterWithPassword {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    (app, sink, created, browser)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_address_is_sent_to_confirm_it_before_any_code() {
    let (app, sink, created, browser) = signed_up_where_addresses_are_confirmed().await;
    let client = Client::from_created(&app, &created);
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Confirm your e-mail address for Demo");
    let link = mail.link(&format!("{}/a/demo/verify?token=", app.address));

    // No code yet: the browser goes to the confirmation page, and back.
    let pkce = Pkce::new();
    let response = client.authorize(&browser, &pkce, &[]).await;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/a/demo/verify?return_to="),
        "{location}"
    );
    let back = param(&location, "return_to").unwrap();
    assert!(back.starts_with("/a/demo/oauth/authorize?"), "{back}");
    let silent = client
        .authorize(&browser, &pkce, &[("prompt", "none")])
        .await;
    let location = silent.headers()["location"].to_str().unwrap();
    assert_eq!(
        param(location, "error").as_deref(),
        Some("interaction_required")
    );

    // Asking again sends a new link (and voids the first).
    app.call_json(
        &browser,
        ResendVerification {
            app_id: "demo".into(),
            return_to: Some(back.clone()),
        },
    )
    .await
    .unwrap();
    let messages = sink.wait_for(2).await;
    let fresh = messages[1].link(&format!("{}/a/demo/verify?token=", app.address));
    let stale = ConfirmEmail {
        app_id: "demo".into(),
        token: param(&link, "token").unwrap(),
    };
    assert!(
        app.call_json(&crate::common::browser(), stale)
            .await
            .is_err()
    );

    // The link confirms in a browser signed in to the account (N6: not in
    // any browser that holds the link), once.
    let confirm = ConfirmEmail {
        app_id: "demo".into(),
        token: param(&fresh, "token").unwrap(),
    };
    let elsewhere = app
        .call_json(&crate::common::browser(), confirm.clone())
        .await
        .unwrap_err();
    assert!(
        crate::common::refused(&elsewhere).contains("Sign in to this account"),
        "{elsewhere}"
    );
    let target = app.call_json(&browser, confirm.clone()).await.unwrap();
    assert_eq!(target, "/a/demo/verify?verified=1");
    assert!(app.call_json(&browser, confirm).await.is_err());
    assert!(
        app.actions("demo")
            .await
            .contains(&"email.verified".to_owned())
    );

    // Now the code comes.
    let code = client.code(&browser, &Pkce::new(), &[]).await;
    assert!(!code.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_requests_are_throttled() {
    let (app, _sink, _, browser) = signed_up_where_addresses_are_confirmed().await;
    let resend = || ResendVerification {
        app_id: "demo".into(),
        return_to: None,
    };
    // The sign-up's message counts like a request (N4); two more go.
    for _ in 0..2 {
        app.call_json(&browser, resend()).await.unwrap();
    }
    let error = app.call_json(&browser, resend()).await.unwrap_err();
    assert!(
        crate::common::refused(&error).contains("wait a few minutes"),
        "{error}"
    );
    assert_eq!(app.outbox("demo").await.len(), 3);
    // Signed out, there is nothing to ask for.
    let error = app
        .call_json(&crate::common::browser(), resend())
        .await
        .unwrap_err();
    assert_eq!(error, "SignInRequired");
}

#[tokio::test(flavor = "multi_thread")]
async fn oneauth_email_test_sends_through_the_configured_server() {
    let mut sink = SmtpSink::start().await;
    let app = spawn_app().await;
    let url = sink.url();
    let run = app.cli(&[
        "--smtp-url",
        &url,
        "email",
        "test",
        "--to",
        "ops@example.com",
    ]);
    let run = run.expect_success();
    assert!(
        run.stdout
            .contains("Sent a test message to ops@example.com"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("250"),
        "the server's answer: {}",
        run.stdout
    );
    let mail = sink.wait_for_mail_to("ops@example.com").await;
    assert_eq!(mail.subject(), "1Auth Console: test message");
    assert!(
        app.actions("console")
            .await
            .contains(&"email.tested".to_owned())
    );
    // A server that is down: a sentence and a failure, not a retry later.
    sink.stop();
    app.cli(&[
        "--smtp-url",
        &url,
        "email",
        "test",
        "--to",
        "ops@example.com",
    ])
    .expect_error("was not sent through 127.0.0.1");
    // N11: that one attempt is recorded as one.
    let failed: Vec<_> = app
        .outbox("console")
        .await
        .into_iter()
        .filter(|row| row.status == MailStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 1);
    // Without SMTP, or with a bad address.
    app.cli(&["email", "test", "--to", "ops@example.com"])
        .expect_error("No SMTP server is configured");
    app.cli(&[
        "--smtp-url",
        &url,
        "email",
        "test",
        "--to",
        "not an address",
    ])
    .expect_error("e-mail");
    app.cli(&[
        "--smtp-url",
        &url,
        "email",
        "test",
        "--to",
        "ops@example.com",
        "--app",
        "nope",
    ])
    .expect_error("There is no app \"nope\"");
    app.cli(&[
        "--smtp-url",
        "http://x",
        "email",
        "test",
        "--to",
        "ops@example.com",
    ])
    .expect_error("ONEAUTH_SMTP_URL");
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_tokens_stop_for_an_unconfirmed_address_once_the_app_requires_one() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_smtp(&sink.url()).await;
    let created = app.create_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    let client = Client::from_created(&app, &created);
    let browser = browser();
    sign_in(&app, &browser, "demo", "ada@example.com", PASSWORD).await;
    let tokens = client
        .tokens(&browser, &[("scope", "openid offline_access")])
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    app.sql("UPDATE app SET require_verified_email = true WHERE id = 'demo'")
        .await;
    let (status, body) = client.refresh(&refresh).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("confirm")
    );
    // Once confirmed, the same family goes on.
    app.call_json(
        &browser,
        ResendVerification {
            app_id: "demo".into(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    let link = mail.link(&format!("{}/a/demo/verify?token=", app.address));
    app.call_json(
        &browser,
        ConfirmEmail {
            app_id: "demo".into(),
            token: param(&link, "token").unwrap(),
        },
    )
    .await
    .unwrap();
    let (status, body) = client.refresh(&refresh).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enrolment_link_goes_by_e_mail_and_new_recovery_codes_tell_the_user() {
    let (app, owner, sink) = console_with_sink().await;
    add_user(&app, "demo", "ada@example.com");
    let id = user_id(&app, "demo", "ada@example.com").await;
    let shown = owner
        .call(
            &app,
            oneauth::api::console::users::ConsoleEnrolmentLink {
                app_id: "demo".into(),
                user_id: id,
            },
        )
        .await
        .unwrap();
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Add a passkey to your Demo account");
    assert_eq!(
        mail.link(&format!("{}/a/demo/account?enrol=", app.address)),
        shown.as_str().unwrap()
    );
    let browser = browser();
    sign_in(&app, &browser, "demo", "ada@example.com", PASSWORD).await;
    app.call_json(
        &browser,
        oneauth::api::account::RegenerateRecoveryCodes {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap();
    let messages = sink.wait_for(3).await;
    assert_eq!(
        messages.last().unwrap().subject(),
        "Demo: New recovery codes were created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_with_a_passkey_is_not_recovered_by_e_mail() {
    let (app, owner, sink) = console_with_sink().await;
    let created = invite(&app, &owner, "ada@example.com").await;
    accept_invitation(&app, created["invite_link"].as_str().unwrap()).await;
    app.call_json(
        &browser(),
        oneauth::api::hosted::RequestRecoveryEmail {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
        },
    )
    .await
    .unwrap();
    let mail = sink.wait_for(3).await.pop().unwrap();
    assert_eq!(mail.rcpt_tos, ["ada@example.com"]);
    assert_eq!(mail.subject(), "Recovering your Demo account");
    assert!(!mail.text().contains("token="));
}

/// N1 (second security review): the outbox is no way above one's own
/// level. A global admin sees that a second owner was invited, and that an
/// owner was sent a recovery link, but can neither open nor resend either
/// message, so never holds a link that would make them an owner.
#[tokio::test(flavor = "multi_thread")]
async fn n1_an_admin_cannot_open_or_resend_an_owners_invitation_or_recovery_link() {
    let app = spawn_app().await;
    let owner = first_owner(&app).await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "console".into(),
                email: "second-owner@example.com".into(),
                roles: Some("owner".into()),
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap();
    let invitation = created["invite_link"].as_str().unwrap().to_owned();
    let message_to = |to: &str, kind: &str| ConsoleOutbox {
        app_id: "console".into(),
        status: None,
        kind: Some(kind.into()),
        to: Some(to.into()),
    };
    let page = admin
        .call(&app, message_to("second-owner", "invitation"))
        .await
        .unwrap();
    let id = page["rows"][0]["id"].as_str().unwrap().to_owned();
    let open = ConsoleOpenEmail {
        app_id: "console".into(),
        id: id.clone(),
    };
    let resend = ConsoleResendEmail {
        app_id: "console".into(),
        id: id.clone(),
    };
    assert!(refusal(admin.call(&app, open.clone()).await).contains("above your own"));
    assert!(refusal(admin.call(&app, resend.clone()).await).contains("above your own"));

    // The second owner sets up their account; later an owner sends them a
    // recovery link. The admin cannot open that one either.
    let second = accept_invitation(&app, &invitation).await;
    let second_id = user_id(&app, "console", "second-owner@example.com").await;
    let recovery = owner
        .call(
            &app,
            ConsoleRecoveryLink {
                app_id: "console".into(),
                user_id: second_id,
            },
        )
        .await
        .unwrap();
    let page = admin
        .call(&app, message_to("second-owner", "recovery"))
        .await
        .unwrap();
    let recovery_id = page["rows"][0]["id"].as_str().unwrap().to_owned();
    let open_recovery = ConsoleOpenEmail {
        app_id: "console".into(),
        id: recovery_id,
    };
    assert!(refusal(admin.call(&app, open_recovery.clone()).await).contains("above your own"));

    // Nothing the admin was answered holds either link, and they are still
    // an admin; an owner opening the same messages sees no link either.
    let me = admin
        .call(&app, oneauth::api::console::ConsoleMe {})
        .await
        .unwrap();
    assert_eq!(me["access"], "admin");
    let opened = owner.call(&app, open_recovery).await.unwrap();
    let text = opened["text"].as_str().unwrap();
    assert!(!text.contains(recovery.as_str().unwrap()), "{text}");
    assert!(!text.contains(&invitation));
    drop(second);
    let refusals: Vec<String> = crate::common::console::refusals(&app)
        .await
        .into_iter()
        .map(|r| r["attempted"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(refusals.contains(&"email.open".to_owned()), "{refusals:?}");
    assert!(
        refusals.contains(&"email.resend".to_owned()),
        "{refusals:?}"
    );
}
