//! Crash safety (issue 24, point 4): a `oneauth serve` killed with SIGKILL
//! in the middle of a mixed write load (sign-ins, code exchanges, refresh
//! grants, console changes that send mail, the outbox being sent) loses
//! nothing it acknowledged, leaves no half-applied change, and a server
//! started again on the same database verifies its audit chains and sends
//! what was left in the outbox. On SQLite and on PostgreSQL (the suite runs
//! on each).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oneauth::api::console::users::ConsoleCreateUser;
use oneauth::core::secrets::sha256_hex;
use oneauth::entities::{app_user, email_outbox, refresh_token};
use oneauth::types::MailStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::common::console::first_owner;
use crate::common::mail::SmtpSink;
use crate::common::oauth::{Client, Pkce};
use crate::common::{
    PASSWORD, ServerCall, add_user, browser, password_sign_in, sign_in, spawn_app,
    spawn_server_process_with,
};

/// What the killed server acknowledged, by kind.
#[derive(Default)]
struct Acknowledged {
    sign_ins: Vec<String>,
    refresh_tokens: Vec<String>,
    users_created: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_write_load_loses_nothing_it_acknowledged() {
    let sink = SmtpSink::start().await;
    let app = spawn_app().await;
    let created = app.create_confidential_app("demo", "Demo");
    for n in 0..8 {
        add_user(&app, "demo", &format!("user{n}@example.com"));
    }
    let owner = Arc::new(first_owner(&app).await);
    let smtp = sink.url();
    let mut server = spawn_server_process_with(
        &app,
        &[
            ("ONEAUTH_SMTP_URL", smtp.as_str()),
            ("ONEAUTH_SMTP_POLL_MS", "50"),
            ("ONEAUTH_SMTP_RETRY_SECS", "1"),
        ],
    )
    .await;
    let base = server.localhost();

    // Codes minted by the test's own server (its browser signed in), to be
    // exchanged at the one that will die; and refresh chains to follow.
    let client = Client::from_created(&app, &created);
    let user_browser = browser();
    sign_in(&app, &user_browser, "demo", "user0@example.com", PASSWORD).await;
    let mut codes = Vec::new();
    for _ in 0..40 {
        let pkce = Pkce::new();
        codes.push((client.code(&user_browser, &pkce, &[]).await, pkce));
    }
    let mut chains = Vec::new();
    for _ in 0..4 {
        let tokens = client.tokens(&user_browser, &[]).await;
        chains.push(tokens["refresh_token"].as_str().unwrap().to_owned());
    }

    let running = Arc::new(AtomicBool::new(true));
    let acknowledged = Arc::new(std::sync::Mutex::new(Acknowledged::default()));
    let mut load = tokio::task::JoinSet::new();
    // Password sign-ins.
    {
        let (running, acknowledged, base) = (running.clone(), acknowledged.clone(), base.clone());
        load.spawn(async move {
            let mut n = 0;
            while running.load(Ordering::SeqCst) {
                let email = format!("user{}@example.com", n % 8);
                n += 1;
                let answer = password_sign_in(&browser(), &base, "demo", &email, PASSWORD)
                    .send()
                    .await;
                if answer.is_ok_and(|a| a.status() == 200) {
                    acknowledged.lock().unwrap().sign_ins.push(email);
                }
            }
        });
    }
    // Code exchanges.
    {
        let (running, acknowledged, base) = (running.clone(), acknowledged.clone(), base.clone());
        let mut exchanging = Client::from_created(&app, &created);
        exchanging.base = base.replace("localhost", "127.0.0.1");
        let (client_id, secret) = (exchanging.client_id.clone(), exchanging.secret.clone());
        let token_url = exchanging.endpoint("token");
        load.spawn(async move {
            for (code, pkce) in codes {
                if !running.load(Ordering::SeqCst) {
                    break;
                }
                let answer = reqwest::Client::new()
                    .post(&token_url)
                    .basic_auth(&client_id, secret.as_deref())
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", "http://localhost:5173/cb"),
                        ("code_verifier", pkce.verifier.as_str()),
                    ])
                    .send()
                    .await;
                if let Ok(answer) = answer
                    && answer.status() == 200
                    && let Ok(body) = answer.json::<Value>().await
                {
                    let token = body["refresh_token"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().refresh_tokens.push(token);
                }
            }
        });
    }
    // Refresh chains.
    for first in chains {
        let (running, acknowledged) = (running.clone(), acknowledged.clone());
        let mut refreshing = Client::from_created(&app, &created);
        refreshing.base = base.replace("localhost", "127.0.0.1");
        let (client_id, secret) = (refreshing.client_id.clone(), refreshing.secret.clone());
        let token_url = refreshing.endpoint("token");
        load.spawn(async move {
            let mut current = first;
            while running.load(Ordering::SeqCst) {
                let answer = reqwest::Client::new()
                    .post(&token_url)
                    .basic_auth(&client_id, secret.as_deref())
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", current.as_str()),
                    ])
                    .send()
                    .await;
                match answer {
                    Ok(answer) if answer.status() == 200 => {
                        let Ok(body) = answer.json::<Value>().await else {
                            break;
                        };
                        current = body["refresh_token"].as_str().unwrap().to_owned();
                        acknowledged
                            .lock()
                            .unwrap()
                            .refresh_tokens
                            .push(current.clone());
                    }
                    _ => break,
                }
            }
        });
    }
    // Console changes, each writing an invitation to the outbox.
    {
        let (running, acknowledged, base, owner) = (
            running.clone(),
            acknowledged.clone(),
            base.clone(),
            owner.clone(),
        );
        load.spawn(async move {
            let mut n = 0;
            while running.load(Ordering::SeqCst) {
                let email = format!("invited{n}@example.com");
                n += 1;
                let answer = ServerCall::of(ConsoleCreateUser {
                    app_id: "demo".into(),
                    email: email.clone(),
                    roles: None,
                    invite: Some("on".into()),
                })
                .request(&owner.browser, &base)
                .send()
                .await;
                if answer.is_ok_and(|a| a.status() == 200) {
                    acknowledged.lock().unwrap().users_created.push(email);
                }
            }
        });
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    running.store(false, Ordering::SeqCst);
    while load.join_next().await.is_some() {}
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(
        !acknowledged.sign_ins.is_empty()
            && !acknowledged.refresh_tokens.is_empty()
            && !acknowledged.users_created.is_empty(),
        "the load ran: {} sign-ins, {} refresh tokens, {} users",
        acknowledged.sign_ins.len(),
        acknowledged.refresh_tokens.len(),
        acknowledged.users_created.len()
    );

    // Nothing acknowledged is missing.
    for token in &acknowledged.refresh_tokens {
        let found = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
            .one(&app.db)
            .await
            .unwrap();
        assert!(found.is_some(), "an acknowledged refresh token was lost");
    }
    let events = app.actions_with_details("demo").await;
    let recorded = app.events("demo").await;
    for email in acknowledged.sign_ins.iter().collect::<BTreeSet<_>>() {
        let acked = acknowledged.sign_ins.iter().filter(|e| *e == email).count();
        let signed_in = recorded
            .iter()
            .filter(|event| event.action == "signin.succeeded" && event.actor_label == *email)
            .count();
        assert!(
            signed_in >= acked,
            "{email}: {acked} sign-ins acknowledged, {signed_in} recorded"
        );
    }
    let users = app_user::Entity::find()
        .filter(app_user::Column::AppId.eq("demo"))
        .all(&app.db)
        .await
        .unwrap();
    let outbox = email_outbox::Entity::find()
        .filter(email_outbox::Column::AppId.eq("demo"))
        .all(&app.db)
        .await
        .unwrap();
    for email in &acknowledged.users_created {
        assert!(
            users.iter().any(|u| u.email.as_str() == email),
            "{email}: an acknowledged user was lost"
        );
    }
    // No half-applied change: every created user has its event and its
    // invitation, every invitation its user.
    let created_events: BTreeSet<String> = events
        .iter()
        .filter(|(action, _)| action == "user.created")
        .filter_map(|(_, details)| details["after"]["email"].as_str().map(str::to_owned))
        .collect();
    for user in users
        .iter()
        .filter(|u| u.email.as_str().starts_with("invited"))
    {
        assert!(
            created_events.contains(user.email.as_str()),
            "{}: a user without its audit event",
            user.email.as_str()
        );
        assert!(
            outbox.iter().any(|m| m.to_address == user.email.as_str()),
            "{}: a user without its invitation",
            user.email.as_str()
        );
    }
    for message in &outbox {
        assert!(
            users.iter().any(|u| u.email.as_str() == message.to_address),
            "{}: an invitation without its user",
            message.to_address
        );
    }

    // A server started again on the same database: the chains verify, and
    // every message left in the outbox goes out (a message the dead server
    // handed over but had not marked sent may arrive twice: at least once).
    let restarted = spawn_server_process_with(
        &app,
        &[
            ("ONEAUTH_SMTP_URL", smtp.as_str()),
            ("ONEAUTH_SMTP_POLL_MS", "50"),
            ("ONEAUTH_SMTP_RETRY_SECS", "1"),
        ],
    )
    .await;
    app.cli(&["audit", "verify"]).expect_success();
    // A message the dead server had claimed waits for its claim (the lease,
    // and the attempt's time moved on) to run out before another sender
    // takes it: run it out now instead of waiting minutes.
    app.sql(
        "UPDATE email_outbox SET lease_until = NULL, next_attempt_at = created_at \
         WHERE status = 'pending'",
    )
    .await;
    let mut pending = usize::MAX;
    for _ in 0..600 {
        pending = email_outbox::Entity::find()
            .filter(email_outbox::Column::AppId.eq("demo"))
            .filter(email_outbox::Column::Status.ne(MailStatus::Sent))
            .all(&app.db)
            .await
            .unwrap()
            .len();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if pending != 0 {
        let left: Vec<_> = email_outbox::Entity::find()
            .filter(email_outbox::Column::Status.ne(MailStatus::Sent))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| {
                (
                    m.status,
                    m.attempts,
                    m.next_attempt_at,
                    m.lease_until,
                    m.last_error,
                )
            })
            .collect();
        panic!("messages left unsent after the restart: {left:?}");
    }
    let received: BTreeSet<String> = sink
        .messages()
        .iter()
        .flat_map(|mail| mail.rcpt_tos.clone())
        .collect();
    for message in &outbox {
        assert!(
            received.contains(&message.to_address),
            "{} never received its invitation",
            message.to_address
        );
    }
    drop(restarted);
}
