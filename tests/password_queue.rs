//! A full password-hashing queue answers "busy, try again" (503 with
//! Retry-After) at once, instead of every sign-in waiting for seconds; the
//! account refused that way is not penalised. Its own test binary: the
//! hashing pool is per process, and this test empties its queue.

mod common;

use common::{PASSWORD, add_user, browser, spawn_app_with};
use leptos::server_fn::ServerFn;
use oneauth::api::hosted::SignInWithPassword;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saturated_password_queue_answers_503_with_retry_after() {
    // No hash may wait: beyond one running per core, a sign-in is refused.
    let app = spawn_app_with(|settings| settings.password_queue = 0).await;
    app.create_app("demo", "Demo");
    const USERS: usize = 24;
    for i in 0..USERS {
        add_user(&app, "demo", &format!("user{i}@example.com"));
    }
    let refused_before = oneauth::core::passwords::hashes_refused();

    let app = std::sync::Arc::new(app);
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..USERS {
        let app = std::sync::Arc::clone(&app);
        attempts.spawn(async move {
            let email = format!("user{i}@example.com");
            let response = app
                .call(
                    &browser(),
                    SignInWithPassword::PATH,
                    &[
                        ("app_id", "demo"),
                        ("email", &email),
                        ("password", PASSWORD),
                    ],
                )
                .await;
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").cloned();
            let body = response.text().await.unwrap();
            (email, status, retry_after, body)
        });
    }
    let mut busy = Vec::new();
    for (email, status, retry_after, body) in attempts.join_all().await {
        match status {
            200 => {}
            503 => {
                assert!(retry_after.is_some(), "a 503 says when to retry");
                assert!(body.contains("Unavailable"), "{body}");
                busy.push(email);
            }
            other => panic!("{email}: {other} {body}"),
        }
    }
    assert!(
        !busy.is_empty(),
        "{USERS} hashes at once with no queue: some must be refused"
    );
    assert!(oneauth::core::passwords::hashes_refused() >= refused_before + busy.len());

    // Refused for load, not for the password: each signs in on retry, and
    // nothing was counted against them.
    for email in busy {
        app.call_json(
            &browser(),
            SignInWithPassword::PATH,
            &[
                ("app_id", "demo"),
                ("email", &email),
                ("password", PASSWORD),
            ],
        )
        .await
        .unwrap_or_else(|err| panic!("{email} signs in on retry: {err}"));
    }
}
