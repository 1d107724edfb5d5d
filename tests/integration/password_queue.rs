//! A full password-hashing queue answers "busy, try again" (503 with
//! Retry-After) at once, instead of every sign-in waiting for seconds; the
//! account refused that way is not penalised. The hashing pool is per
//! process, so the queue that fills is a real `oneauth serve` of its own
//! (started with `ONEAUTH_PASSWORD_QUEUE=0`): the other tests of this binary
//! keep theirs.

use oneauth::api::hosted::SignInWithPassword;

use crate::common::{
    PASSWORD, ServerCall, ServerProcess, add_user, browser, spawn_app, spawn_server_process_with,
};

async fn sign_in(server: &ServerProcess, email: &str) -> reqwest::Response {
    ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: email.to_string(),
        password: PASSWORD.to_string(),
        return_to: None,
    })
    .request(&browser(), &server.address)
    .send()
    .await
    .expect("request succeeds")
}

/// `oneauth_password_hashes_refused_total` from the server's /metrics.
async fn hashes_refused(server: &ServerProcess) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", server.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("oneauth_password_hashes_refused_total "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the metric is exported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saturated_password_queue_answers_503_with_retry_after() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    const USERS: usize = 24;
    for i in 0..USERS {
        add_user(&app, "demo", &format!("user{i}@example.com"));
    }
    // No hash may wait: beyond one running per core, a sign-in is refused.
    let server = std::sync::Arc::new(
        spawn_server_process_with(&app, &[("ONEAUTH_PASSWORD_QUEUE", "0")]).await,
    );

    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..USERS {
        let server = std::sync::Arc::clone(&server);
        attempts.spawn(async move {
            let email = format!("user{i}@example.com");
            let response = sign_in(&server, &email).await;
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
    assert!(hashes_refused(&server).await >= busy.len() as u64);

    // Refused for load, not for the password: each signs in on retry, and
    // nothing was counted against them.
    for email in busy {
        let response = sign_in(&server, &email).await;
        let status = response.status();
        assert!(
            status.is_success(),
            "{email} signs in on retry: {status} {}",
            response.text().await.unwrap()
        );
    }
}
