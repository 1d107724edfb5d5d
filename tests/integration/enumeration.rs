//! No user enumeration at sign-in: an unknown e-mail and a wrong password
//! get the same answer after the same work. The work is counted by a
//! `oneauth serve` of its own (its /metrics), so the argon2 verifications
//! of the other tests running beside it do not count.

use crate::common;

use common::{ServerCall, browser, spawn_app, spawn_server_process};
use oneauth::api::hosted::SignInWithPassword;

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_and_wrong_password_look_and_cost_the_same() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.cli_with_stdin(
        &[
            "user",
            "create",
            "--app",
            "demo",
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
        "correct horse battery staple\n",
    )
    .expect_success();
    let server = spawn_server_process(&app).await;
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let before = server.password_hashes().await;
        let response = ServerCall::of(SignInWithPassword {
            app_id: "demo".into(),
            email: email.to_string(),
            password: "wrong password!".into(),
            return_to: None,
        })
        .request(&browser(), &server.address)
        .send()
        .await
        .unwrap();
        // Exactly one argon2 verification on every path (a dummy one when
        // there is no such user): the expensive part costs the same.
        assert_eq!(
            server.password_hashes().await - before,
            1,
            "verifications for {email}"
        );
        answers.push((response.status(), response.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 403);
    assert!(
        answers[0]
            .1
            .contains("The e-mail address or the credentials are not right.")
    );

    // What is not an e-mail address at all is a form error, answered before
    // any work (M2: it reaches neither the database nor the audit log); its
    // shape is public, so this tells nobody who is registered.
    let before = server.password_hashes().await;
    let response = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "not even an address".into(),
        password: "wrong password!".into(),
        return_to: None,
    })
    .request(&browser(), &server.address)
    .send()
    .await
    .unwrap();
    assert_eq!(server.password_hashes().await - before, 0);
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("valid e-mail"));
}
