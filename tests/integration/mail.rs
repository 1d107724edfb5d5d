//! E-mail through a real SMTP server on loopback (aiosmtpd): what is sent,
//! how it survives a mail server that is down, and that nothing is sent
//! twice or for a change that did not happen.

use oneauth::api::account::ChangePassword;
use oneauth::api::hosted::{RedeemRecoveryLink, RequestRecoveryEmail};
use oneauth::core::mail::sender::{Policy, Security, Sender, SmtpConfig};
use oneauth::core::mail::{outbox, templates::Content};
use oneauth::core::write::{self, Actor};
use oneauth::types::{MailKind, MailStatus};

use crate::common::mail::SmtpSink;
use crate::common::oauth::{Client, param};
use crate::common::{
    PASSWORD, TestApp, add_user, browser, sign_in, spawn_app_with_smtp, spawn_server_process_with,
};

async fn request_recovery(app: &TestApp, email: &str) -> serde_json::Value {
    app.call_json(
        &browser(),
        RequestRecoveryEmail {
            app_id: "demo".into(),
            email: email.into(),
        },
    )
    .await
    .expect("the request is answered")
}

async fn demo_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_smtp(&sink.url()).await;
    app.create_app("demo", "Demo Panel");
    add_user(&app, "demo", "ada@example.com");
    (app, sink)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_link_is_delivered_with_the_right_headers_and_signs_in_once() {
    let (app, sink) = demo_with_sink().await;
    request_recovery(&app, "Ada@Example.com").await;
    let mail = sink.wait_for_mail_to("ada@example.com").await;

    assert_eq!(mail.header("from"), "Demo Panel <no-reply@localhost>");
    assert_eq!(mail.header("to"), "ada@example.com");
    assert_eq!(mail.subject(), "Recover your Demo Panel account");
    assert_eq!(mail.header("auto-submitted"), "auto-generated");
    let row = &wait_for_row(&app, |row| row.status == MailStatus::Sent).await;
    assert_eq!(mail.header("message-id"), format!("<{}@localhost>", row.id));
    assert!(
        mail.header("content-type")
            .starts_with("multipart/alternative")
    );
    let link = mail.link(&format!("{}/a/demo/recover?token=", app.address));
    assert!(
        mail.html
            .as_deref()
            .unwrap()
            .contains(&link.replace('&', "&amp;"))
    );
    // The outbox says it went, with the server's answer; its bodies are
    // sealed (the link is a secret until used).
    assert_eq!(row.status, MailStatus::Sent);
    assert_eq!(row.kind, MailKind::Recovery);
    assert!(
        row.smtp_response.as_deref().unwrap().starts_with("250"),
        "{row:?}"
    );
    assert!(!row.body_text.contains("token="), "stored sealed");

    // The link signs in once; the account must then enrol a new factor.
    let token = param(&link, "token").unwrap();
    let browser = browser();
    let redeem = RedeemRecoveryLink {
        app_id: "demo".into(),
        token: token.clone(),
    };
    let target = app.call_json(&browser, redeem.clone()).await.unwrap();
    assert_eq!(target, "/a/demo/account");
    let account = app.account(&browser, "demo").await.unwrap();
    assert_eq!(account["requires_enrolment"], true, "{account}");
    let again = app
        .call_json(&crate::common::browser(), redeem)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("invalid"), "{again}");
    let actions = app.actions("demo").await;
    assert!(actions.contains(&"recovery_link.issued".to_owned()));
    assert!(actions.contains(&"recovery_link.used".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_requests_answer_the_same_for_unknown_addresses_and_send_nothing() {
    let (app, sink) = demo_with_sink().await;
    let known = request_recovery(&app, "ada@example.com").await;
    let unknown = request_recovery(&app, "nobody@example.com").await;
    assert_eq!(known, unknown);
    sink.wait_for(1).await;
    let outbox = app.outbox("demo").await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to_address, "ada@example.com");
    // A deactivated account is not told apart either.
    app.sql("UPDATE app_user SET status = 'deactivated' WHERE email = 'ada@example.com'")
        .await;
    assert_eq!(request_recovery(&app, "ada@example.com").await, known);
    assert_eq!(app.outbox("demo").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_requests_are_throttled_per_address_and_per_client() {
    let (app, _sink) = demo_with_sink().await;
    let first = request_recovery(&app, "ada@example.com").await;
    for _ in 0..5 {
        assert_eq!(request_recovery(&app, "ada@example.com").await, first);
    }
    assert_eq!(
        app.outbox("demo").await.len(),
        3,
        "three per address a quarter hour"
    );
    // One client asking for many addresses is held back too (known or not).
    for n in 0..10 {
        request_recovery(&app, &format!("someone{n}@example.com")).await;
    }
    add_user(&app, "demo", "bob@example.com");
    request_recovery(&app, "bob@example.com").await;
    assert_eq!(
        app.outbox("demo").await.len(),
        3,
        "the client used up its requests"
    );
    // A quarter of an hour later, both may ask again.
    app.advance_clock(chrono::Duration::minutes(16));
    request_recovery(&app, "bob@example.com").await;
    assert_eq!(app.outbox("demo").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_waits_while_the_mail_server_is_down_and_goes_when_it_is_back() {
    let mut sink = SmtpSink::stopped();
    let app = spawn_app_with_smtp(&sink.url()).await;
    app.create_app("demo", "Demo Panel");
    add_user(&app, "demo", "ada@example.com");
    request_recovery(&app, "ada@example.com").await;
    // The first attempt fails and is scheduled again, with the reason.
    let row = wait_for_row(&app, |row| row.attempts >= 1 && row.last_error.is_some()).await;
    assert_eq!(row.status, MailStatus::Pending);
    assert!(row.next_attempt_at > row.created_at);
    sink.resume().await;
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Recover your Demo Panel account");
    let row = wait_for_row(&app, |row| row.status == MailStatus::Sent).await;
    assert!(row.attempts >= 2, "{row:?}");
    // Nothing more is sent.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_is_given_up_after_the_last_attempt_and_audited() {
    let sink = SmtpSink::stopped();
    let app = spawn_app_with_smtp(&sink.url()).await;
    app.create_app("demo", "Demo Panel");
    add_user(&app, "demo", "ada@example.com");
    request_recovery(&app, "ada@example.com").await;
    // Three attempts (1 s, then 2 s apart): the clock moves the waits along.
    for _ in 0..20 {
        if app.outbox("demo").await[0].status == MailStatus::Failed {
            break;
        }
        app.advance_clock(chrono::Duration::seconds(5));
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    let row = &app.outbox("demo").await[0];
    assert_eq!(row.status, MailStatus::Failed, "{row:?}");
    assert_eq!(row.attempts, 3);
    let failed: Vec<_> = app
        .actions_with_details("demo")
        .await
        .into_iter()
        .filter(|(action, _)| action == "email.failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].1["attempts"], 3);
    assert_eq!(failed[0].1["to"], "ada@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_change_sends_nothing() {
    let (app, sink) = demo_with_sink().await;
    let demo = oneauth::core::apps::find(&app.db, &oneauth::types::AppId::parse("demo").unwrap())
        .await
        .unwrap()
        .unwrap();
    let tx = write::begin(&app.db, Actor::system()).await.unwrap();
    outbox::enqueue(
        &tx,
        &demo,
        "ada@example.com",
        None,
        &Content::Test,
        tx.now + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    // A committed one goes, and only it.
    let tx = write::begin(&app.db, Actor::system()).await.unwrap();
    outbox::enqueue(
        &tx,
        &demo,
        "bob@example.com",
        None,
        &Content::Test,
        tx.now + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mail = sink.wait_for_mail_to("bob@example.com").await;
    assert_eq!(mail.subject(), "Demo Panel: test message");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(app.outbox("demo").await.len(), 1);
}

/// A sender of this test process, on `app`'s database.
fn sender(app: &TestApp, sink: &SmtpSink) -> Sender {
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: Security::None,
        user: None,
        password: None,
        from: "no-reply@localhost".parse().unwrap(),
    };
    Sender::new(app.db.clone(), &smtp, Policy::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_whose_sender_was_killed_mid_send_is_sent_by_another() {
    // A server without SMTP: the message waits for the senders of this test.
    let app = crate::common::spawn_app().await;
    app.create_app("demo", "Demo Panel");
    add_user(&app, "demo", "ada@example.com");
    request_recovery(&app, "ada@example.com").await;
    // An SMTP server that accepts the connection and never answers: the
    // first process is caught mid-send...
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = hanging.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            open.push(socket);
        }
    });
    let url = format!("smtp://127.0.0.1:{port}?security=none");
    let first = spawn_server_process_with(
        &app,
        &[
            ("ONEAUTH_SMTP_URL", url.as_str()),
            ("ONEAUTH_SMTP_POLL_MS", "20"),
        ],
    )
    .await;
    let claimed = wait_for_row(&app, |row| row.claimed_by.is_some()).await;
    assert_eq!((claimed.status, claimed.attempts), (MailStatus::Pending, 1));
    // ...and killed there.
    drop(first);
    held.abort();
    // Another process leaves it alone while the dead one's lease holds...
    let sink = SmtpSink::start().await;
    let other = sender(&app, &sink);
    assert_eq!(other.deliver_due().await.unwrap(), 0);
    // ...and sends it once the lease (and the back-off after it) has run out.
    let Policy {
        lease, first_retry, ..
    } = Policy::default();
    app.advance_clock(lease + first_retry + chrono::Duration::seconds(1));
    assert_eq!(other.deliver_due().await.unwrap(), 1);
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Recover your Demo Panel account");
    let row = &app.outbox("demo").await[0];
    assert_eq!((row.status, row.attempts), (MailStatus::Sent, 2));
    assert!(row.claimed_by.is_none() && row.lease_until.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_server_processes_never_send_the_same_message_twice() {
    let app = crate::common::spawn_app().await;
    app.create_app("demo", "Demo Panel");
    let sink = SmtpSink::start().await;
    let demo = oneauth::core::apps::find(&app.db, &oneauth::types::AppId::parse("demo").unwrap())
        .await
        .unwrap()
        .unwrap();
    const MESSAGES: usize = 40;
    let tx = write::begin(&app.db, Actor::system()).await.unwrap();
    for n in 0..MESSAGES {
        outbox::enqueue(
            &tx,
            &demo,
            &format!("user{n}@example.com"),
            None,
            &Content::Test,
            tx.now + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let env = [
        ("ONEAUTH_SMTP_URL", sink.url()),
        ("ONEAUTH_SMTP_POLL_MS", "20".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = spawn_server_process_with(&app, &env).await;
    let second = spawn_server_process_with(&app, &env).await;
    let messages = sink.wait_for(MESSAGES).await;
    // Let any duplicate arrive before counting.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let messages = if sink.messages().len() > messages.len() {
        sink.messages()
    } else {
        messages
    };
    let mut ids: Vec<&str> = messages.iter().map(|m| m.header("message-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES);
    assert_eq!(messages.len(), MESSAGES, "no message twice");
    assert!(
        app.outbox("demo")
            .await
            .iter()
            .all(|row| row.status == MailStatus::Sent && row.attempts == 1)
    );
    drop((first, second));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_tells_the_user() {
    let (app, sink) = demo_with_sink().await;
    let browser = browser();
    sign_in(&app, &browser, "demo", "ada@example.com", PASSWORD).await;
    app.call_json(
        &browser,
        ChangePassword {
            app_id: "demo".into(),
            current: Some(PASSWORD.into()),
            new: "a brand new passphrase".into(),
        },
    )
    .await
    .unwrap();
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Demo Panel: Your password was changed");
    assert!(
        mail.text()
            .contains("The password of your Demo Panel account was changed.")
    );
    mail.link(&format!("{}/a/demo/account", app.address));
    assert!(!mail.text().contains("passphrase"), "no secret in a notice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_refresh_token_tells_the_user() {
    let (app, sink) = demo_with_sink().await;
    let client_json = app.create_app("shop", "Shop");
    add_user(&app, "shop", "ada@example.com");
    let client = Client::from_created(&app, &client_json);
    let browser = browser();
    sign_in(&app, &browser, "shop", "ada@example.com", PASSWORD).await;
    let tokens = client
        .tokens(&browser, &[("scope", "openid offline_access")])
        .await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = client.refresh(first).await;
    assert_eq!(status, 200);
    let (status, _) = client.refresh(first).await;
    assert_eq!(status, 400, "reuse");
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(
        mail.subject(),
        "Shop: We signed an application out of your account"
    );
    assert!(mail.text().contains("Shop"));
}

/// The app's only outbox row once `done` holds for it.
async fn wait_for_row(
    app: &TestApp,
    done: impl Fn(&oneauth::entities::email_outbox::Model) -> bool,
) -> oneauth::entities::email_outbox::Model {
    for _ in 0..200 {
        if let Some(row) = app.outbox("demo").await.into_iter().next()
            && done(&row)
        {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the outbox row never got there: {:?}",
        app.outbox("demo").await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn e_mail_is_no_way_around_a_passkey_a_role_demands() {
    let (app, sink) = demo_with_sink().await;
    app.cli(&[
        "role",
        "create",
        "--app",
        "demo",
        "approver",
        "--require-passkey",
    ])
    .expect_success();
    app.grant_role("demo", "ada@example.com", "approver");
    let known = request_recovery(&app, "ada@example.com").await;
    assert_eq!(known, request_recovery(&app, "nobody@example.com").await);
    // Whoever reads Ada's mailbox learns how to recover, not a way in.
    let mail = sink.wait_for_mail_to("ada@example.com").await;
    assert_eq!(mail.subject(), "Recovering your Demo Panel account");
    assert!(mail.text().contains("cannot be recovered by e-mail"));
    assert!(!mail.text().contains("token="), "{}", mail.text());
    assert!(
        !app.actions("demo")
            .await
            .contains(&"recovery_link.issued".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_link_the_user_asked_for_never_vouches_for_a_passkey_a_role_demands() {
    // A user without a passkey asks for a link; later an operator gives
    // them a role that demands one. The link no longer opens the account
    // (N2: what made it acceptable is checked again when it is used): only
    // an operator's link or enrolment link vouches for that first passkey.
    let (app, _sink) = demo_with_sink().await;
    request_recovery(&app, "ada@example.com").await;
    let row = &app.outbox("demo").await[0];
    let text = outbox::open(app.db.deployment(), row).unwrap().text;
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/recover?token="))
        .unwrap()
        .to_owned();
    app.cli(&[
        "role",
        "create",
        "--app",
        "demo",
        "approver",
        "--require-passkey",
    ])
    .expect_success();
    app.grant_role("demo", "ada@example.com", "approver");
    let browser = browser();
    let error = app
        .call_json(
            &browser,
            RedeemRecoveryLink {
                app_id: "demo".into(),
                token: param(&link, "token").unwrap(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        crate::common::refused(&error).contains("protected by a passkey"),
        "{error}"
    );
    assert!(app.account(&browser, "demo").await.is_err());
    assert!(
        !app.actions("demo")
            .await
            .contains(&"recovery_link.used".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_whose_link_expired_before_it_could_go_is_not_sent() {
    let mut sink = SmtpSink::stopped();
    let app = spawn_app_with_smtp(&sink.url()).await;
    app.create_app("demo", "Demo Panel");
    add_user(&app, "demo", "ada@example.com");
    request_recovery(&app, "ada@example.com").await;
    wait_for_row(&app, |row| row.attempts >= 1).await;
    // The mail server comes back after the hour the link lived.
    app.advance_clock(chrono::Duration::minutes(61));
    sink.resume().await;
    let row = wait_for_row(&app, |row| row.status == MailStatus::Failed).await;
    assert!(row.last_error.unwrap().contains("expired"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sink.messages().is_empty(), "a dead link is not sent");
}

// ---------------------------------------------------------------------------
// N4 (second security review): sign-ups and every mail they cause are
// throttled, and one app's backlog never holds another app's security mail.

mod n4 {
    use super::*;
    use oneauth::api::hosted::RegisterWithPassword;
    use oneauth::types::AppId;

    #[tokio::test(flavor = "multi_thread")]
    async fn n4_fifty_sign_ups_from_one_client_leave_at_most_the_limit_in_the_outbox() {
        let (app, _) = crate::common::factors::demo(&["--self-registration"]).await;
        let mut refused = Vec::new();
        for n in 0..50 {
            let answer = app
                .call_json(
                    &browser(),
                    RegisterWithPassword {
                        app_id: "demo".into(),
                        email: format!("stranger{n}@example.org"),
                        password: "a long enough passphrase".into(),
                        return_to: None,
                    },
                )
                .await;
            if let Err(error) = answer {
                refused.push(crate::common::refused(&error).to_owned());
            }
        }
        let limit = oneauth::core::throttle::SIGNUPS_PER_CLIENT.max_failures as usize;
        let mail_limit = oneauth::core::throttle::MAIL_PER_CLIENT.max_failures as usize;
        let outbox = app.outbox("demo").await;
        assert!(
            outbox.len() <= mail_limit.min(limit),
            "{} messages",
            outbox.len()
        );
        assert_eq!(refused.len(), 50 - limit, "{refused:?}");
        assert!(
            refused.iter().all(|r| r.contains("Too many attempts")),
            "{refused:?}"
        );
        let actions = app.actions("demo").await;
        assert_eq!(
            actions.iter().filter(|a| *a == "user.registered").count(),
            limit
        );
        assert_eq!(actions.iter().filter(|a| *a == "signup.locked").count(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n4_a_recovery_link_goes_before_another_apps_thousand_verification_messages() {
        // A server without a sender of its own: this test's sender works
        // the queue, one batch at a time.
        let app = crate::common::spawn_app().await;
        app.create_app("demo", "Demo Panel");
        app.create_app("spam", "Open Sign-up");
        add_user(&app, "demo", "ada@example.com");
        let spam = oneauth::core::apps::find(&app.db, &AppId::parse("spam").unwrap())
            .await
            .unwrap()
            .unwrap();
        let tx = write::begin(&app.db, Actor::system()).await.unwrap();
        for n in 0..1000 {
            outbox::enqueue(
                &tx,
                &spam,
                &format!("stranger{n}@example.org"),
                None,
                &Content::Verification {
                    link: format!("{}/a/spam/verify?token=t{n}", app.address),
                },
                tx.now + chrono::Duration::hours(24),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        // The backlog was there first; Ada's recovery link comes after.
        app.advance_clock(chrono::Duration::seconds(1));
        request_recovery(&app, "ada@example.com").await;
        let sink = SmtpSink::start().await;
        sender(&app, &sink).deliver_due().await.unwrap();
        let mail = sink.wait_for_mail_to("ada@example.com").await;
        assert_eq!(mail.subject(), "Recover your Demo Panel account");
        assert_eq!(
            sink.messages()[0].subject(),
            "Recover your Demo Panel account",
            "sent first"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n4_apps_take_turns_in_the_queue() {
        let app = crate::common::spawn_app().await;
        app.create_app("demo", "Demo Panel");
        app.create_app("busy", "Busy");
        let busy = oneauth::core::apps::find(&app.db, &AppId::parse("busy").unwrap())
            .await
            .unwrap()
            .unwrap();
        let demo = oneauth::core::apps::find(&app.db, &AppId::parse("demo").unwrap())
            .await
            .unwrap()
            .unwrap();
        let tx = write::begin(&app.db, Actor::system()).await.unwrap();
        for n in 0..100 {
            outbox::enqueue(
                &tx,
                &busy,
                &format!("user{n}@example.org"),
                None,
                &Content::Test,
                tx.now + chrono::Duration::hours(1),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        app.advance_clock(chrono::Duration::seconds(1));
        let tx = write::begin(&app.db, Actor::system()).await.unwrap();
        let late = outbox::enqueue(
            &tx,
            &demo,
            "ada@example.com",
            None,
            &Content::Test,
            tx.now + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let due = outbox::due(&app.db, 20).await.unwrap();
        assert_eq!(due.len(), 20);
        assert!(due[..2].contains(&late.id), "{due:?}");
    }
}

// ---------------------------------------------------------------------------
// N6 (second security review): confirming an address is no gift to whoever
// registered it.

mod n6 {
    use super::*;
    use crate::common::refused;
    use oneauth::api::hosted::{ConfirmEmail, DisownEmail, LoadConfirmation};

    use crate::common::factors::{register, verification_token};

    async fn verified(app: &TestApp, email: &str) -> bool {
        let id = crate::common::console::user_id(app, "demo", email).await;
        oneauth::core::users::find(&app.db, "demo", &id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n6_a_pre_registered_address_is_not_confirmed_by_its_owner_and_can_be_disowned() {
        let (app, _) = crate::common::factors::demo(&["--self-registration"]).await;
        // An attacker signs up with the victim's address and waits.
        let attacker = browser();
        register(&app, &attacker, "victim@corp.example").await;
        let token = verification_token(&app, "victim@corp.example").await;
        // The victim opens the link: the page says what it is about.
        let victim = browser();
        let shown = app
            .call_json(
                &victim,
                LoadConfirmation {
                    app_id: "demo".into(),
                    token: token.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(shown["email"], "victim@corp.example");
        assert_eq!(shown["self_registered"], true);
        assert_eq!(shown["signed_in_to_it"], false);
        assert!(
            shown["how"].as_str().unwrap().contains("signing up"),
            "{shown}"
        );
        // Pressing "confirm" without the account's sign-in confirms nothing.
        let error = app
            .call_json(
                &victim,
                ConfirmEmail {
                    app_id: "demo".into(),
                    token: token.clone(),
                },
            )
            .await
            .unwrap_err();
        assert!(
            refused(&error).contains("Sign in to this account"),
            "{error}"
        );
        assert!(!verified(&app, "victim@corp.example").await);
        // "This wasn't me" closes the account, ends the attacker's session,
        // and is recorded.
        app.call_json(
            &victim,
            DisownEmail {
                app_id: "demo".into(),
                token: token.clone(),
            },
        )
        .await
        .unwrap();
        assert!(app.account(&attacker, "demo").await.is_err());
        let actions = app.actions("demo").await;
        for action in ["email.disowned", "user.deactivated"] {
            assert!(
                actions.contains(&action.to_owned()),
                "{action} in {actions:?}"
            );
        }
        assert!(
            app.outbox("demo")
                .await
                .iter()
                .any(|row| row.to_address == "victim@corp.example" && row.kind == MailKind::Notice)
        );
        // The link is spent.
        assert!(
            app.call_json(
                &victim,
                LoadConfirmation {
                    app_id: "demo".into(),
                    token,
                },
            )
            .await
            .is_err()
        );
    }

    /// The path a pre-registration takes otherwise: the address's owner
    /// recovers the account by e-mail, sets a password of their own and
    /// confirms the address. What the intruder set up before (their
    /// password) does not survive the confirmation.
    #[tokio::test(flavor = "multi_thread")]
    async fn n6_an_owner_who_recovers_a_pre_registered_address_keeps_none_of_the_intruders_factors()
    {
        let (app, _) = crate::common::factors::demo(&["--self-registration"]).await;
        let intruder = browser();
        register(&app, &intruder, "victim@corp.example").await;
        let token = verification_token(&app, "victim@corp.example").await;
        // The owner of the address recovers the account by e-mail...
        let victim = browser();
        app.call_json(
            &victim,
            RequestRecoveryEmail {
                app_id: "demo".into(),
                email: "victim@corp.example".into(),
            },
        )
        .await
        .unwrap();
        let row = app
            .outbox("demo")
            .await
            .into_iter()
            .rfind(|row| row.kind == MailKind::Recovery)
            .unwrap();
        let text = outbox::open(app.db.deployment(), &row).unwrap().text;
        let link = text
            .split_whitespace()
            .find(|w| w.contains("/recover?token="))
            .unwrap()
            .to_owned();
        app.call_json(
            &victim,
            RedeemRecoveryLink {
                app_id: "demo".into(),
                token: param(&link, "token").unwrap(),
            },
        )
        .await
        .unwrap();
        // ...which takes the account over: the intruder's password goes at
        // once (they cannot add a factor of theirs while the owner enrols)...
        let intruder_again = app
            .call_json(
                &browser(),
                oneauth::api::hosted::SignInWithPassword {
                    app_id: "demo".into(),
                    email: "victim@corp.example".into(),
                    password: "a long enough passphrase".into(),
                    return_to: None,
                },
            )
            .await;
        assert!(intruder_again.is_err(), "{intruder_again:?}");
        // ...cannot confirm before it has a factor of its own...
        let error = app
            .call_json(
                &victim,
                ConfirmEmail {
                    app_id: "demo".into(),
                    token: token.clone(),
                },
            )
            .await
            .unwrap_err();
        assert!(refused(&error).contains("first"), "{error}");
        // ...adds one (a passkey), and confirms.
        crate::common::factors::add_passkey(
            &app,
            &victim,
            "demo",
            &mut crate::common::passkey::Device::new(),
            None,
        )
        .await
        .unwrap();
        app.call_json(
            &victim,
            ConfirmEmail {
                app_id: "demo".into(),
                token,
            },
        )
        .await
        .unwrap();
        assert!(verified(&app, "victim@corp.example").await);
        // The intruder's password is gone with the confirmation.
        let refused_sign_in = app
            .call_json(
                &browser(),
                oneauth::api::hosted::SignInWithPassword {
                    app_id: "demo".into(),
                    email: "victim@corp.example".into(),
                    password: "a long enough passphrase".into(),
                    return_to: None,
                },
            )
            .await;
        assert!(refused_sign_in.is_err(), "{refused_sign_in:?}");
        let (_, details) = app
            .actions_with_details("demo")
            .await
            .into_iter()
            .rfind(|(action, _)| action == "recovery_link.used")
            .unwrap();
        assert_eq!(details["factors_dropped"]["password"], true, "{details}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n6_confirming_a_self_registered_address_ends_the_accounts_other_sessions() {
        let (app, _) = crate::common::factors::demo(&["--self-registration"]).await;
        let own = browser();
        register(&app, &own, "pat@example.com").await;
        let token = verification_token(&app, "pat@example.com").await;
        let elsewhere = browser();
        sign_in(
            &app,
            &elsewhere,
            "demo",
            "pat@example.com",
            "a long enough passphrase",
        )
        .await;
        let shown = app
            .call_json(
                &own,
                LoadConfirmation {
                    app_id: "demo".into(),
                    token: token.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(shown["signed_in_to_it"], true);
        app.call_json(
            &own,
            ConfirmEmail {
                app_id: "demo".into(),
                token,
            },
        )
        .await
        .unwrap();
        assert!(verified(&app, "pat@example.com").await);
        assert!(app.account(&own, "demo").await.is_ok());
        assert!(app.account(&elsewhere, "demo").await.is_err());
    }
}

/// N11 (second security review): anyone can type an address on the
/// recovery page, so the request is recorded as an anonymous one from the
/// client's address, not as the account owner's own action.
#[tokio::test(flavor = "multi_thread")]
async fn n11_a_recovery_request_is_recorded_as_anonymous() {
    let (app, _sink) = demo_with_sink().await;
    request_recovery(&app, "ada@example.com").await;
    let issued = app
        .events("demo")
        .await
        .into_iter()
        .find(|event| event.action == "recovery_link.issued")
        .expect("the link was issued");
    assert_eq!(issued.actor_type, "anonymous");
    assert_eq!(issued.actor_id, None);
    let details: serde_json::Value = serde_json::from_str(&issued.details).unwrap();
    assert_eq!(details["requested_by"], "anonymous");
}
