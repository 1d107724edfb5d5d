//! `oneauth master-key rotate --new-key-file F` (issue 24): every sealed
//! secret sealed again, every audit chain re-keyed verifiably, in one
//! transaction, on SQLite and PostgreSQL; a process with the old key
//! refuses to write afterwards; a rotation that fails changes nothing.

use oneauth::core::db::Deployment;
use oneauth::core::mail::outbox;
use oneauth::core::upstream::providers;
use oneauth::core::vault::Vault;
use oneauth::entities::{email_outbox, identity_provider, signing_key};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::common::oauth::Client;
use crate::common::{
    PASSWORD, TestApp, add_user, browser, oneauth_with_key, spawn_app, spawn_server_process_with,
};
use oneauth::api::hosted::{RequestRecoveryEmail, SignInWithPassword};

/// An app with something sealed of each kind: a signing key (a token was
/// minted), a provider's client secret, and a message in the outbox.
async fn sealed_everything(app: &TestApp) -> Value {
    let created = app.create_confidential_app("demo", "Demo");
    let client = Client::from_created(app, &created);
    let (status, body) = client
        .post("token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200, "{body}");
    app.cli_with_stdin(
        &[
            "provider",
            "add",
            "--app",
            "demo",
            "corp",
            "--kind",
            "oidc",
            "--issuer",
            "https://login.example.com",
            "--client-id",
            "one-auth",
            "--client-secret-stdin",
        ],
        "the-upstream-secret\n",
    )
    .expect_success();
    add_user(app, "demo", "ada@example.com");
    app.call_json(
        &browser(),
        RequestRecoveryEmail {
            app_id: "demo".into(),
            email: "ada@example.com".into(),
        },
    )
    .await
    .expect("the request is answered");
    assert_eq!(app.outbox("demo").await.len(), 1, "a message waits, sealed");
    created
}

fn deployment_of(app: &TestApp, key: &str) -> Deployment {
    Deployment::new(
        &app.address,
        Vault::load(Some(key), std::path::Path::new("")).unwrap(),
    )
}

/// Everything sealed opens with `deployment`'s key.
async fn all_open_with(app: &TestApp, deployment: &Deployment) -> (usize, usize, usize) {
    let keys = signing_key::Entity::find().all(&app.db).await.unwrap();
    for key in &keys {
        assert!(
            deployment
                .vault
                .open(
                    &format!("signing_key:{}", key.id),
                    &key.private_key_encrypted
                )
                .is_ok(),
            "signing key {}",
            key.id
        );
    }
    let providers_found = identity_provider::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    for provider in &providers_found {
        use secrecy::ExposeSecret;
        let secret = providers::client_secret(deployment, provider).expect("the secret opens");
        assert_eq!(secret.expose_secret(), "the-upstream-secret");
    }
    let messages = email_outbox::Entity::find().all(&app.db).await.unwrap();
    for message in &messages {
        outbox::open(deployment, message).expect("the message opens");
    }
    (keys.len(), providers_found.len(), messages.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_master_key_reseals_every_secret_and_rekeys_the_chains() {
    let app = spawn_app().await;
    let created = sealed_everything(&app).await;
    let old = deployment_of(&app, &app.master_key);
    let (keys, provider_secrets, messages) = all_open_with(&app, &old).await;
    assert!(
        keys >= 1 && provider_secrets == 1,
        "{keys} {provider_secrets}"
    );
    let heads_before = app.cli(&["audit", "head"]).expect_success().stdout;

    // A server already running with the old key, as in a deployment.
    let old_server = spawn_server_process_with(&app, &[]).await;

    let dir = tempfile::tempdir().unwrap();
    let new_key_file = dir.path().join("master.key.new");
    let rotated = app
        .cli(&[
            "master-key",
            "rotate",
            "--new-key-file",
            new_key_file.to_str().unwrap(),
        ])
        .expect_success();
    assert!(
        rotated.stdout.contains(&format!(
            "{keys} signing keys, 1 provider secrets and {messages} outbox bodies"
        )),
        "{}",
        rotated.stdout
    );
    // The new key file was made, for this user only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&new_key_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let new_key = std::fs::read_to_string(&new_key_file).unwrap();
    let new = deployment_of(&app, new_key.trim());
    all_open_with(&app, &new).await;
    let key = signing_key::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        old.vault
            .open(
                &format!("signing_key:{}", key.id),
                &key.private_key_encrypted
            )
            .is_err(),
        "the old key no longer opens what was sealed again"
    );

    // The old key is refused at start; the new one verifies every chain.
    oneauth_with_key(
        &app.database_url,
        Some(&app.master_key),
        &["audit", "verify"],
        None,
    )
    .expect_error("master key");
    let verified = oneauth_with_key(
        &app.database_url,
        Some(new_key.trim()),
        &["audit", "verify"],
        None,
    )
    .expect_success();
    assert!(verified.stdout.contains("demo"), "{}", verified.stdout);
    // Verifiably: each chain's last event names the head it had, which is
    // the head exported before the rotation.
    for line in heads_before.lines() {
        let head: Value = serde_json::from_str(line).unwrap();
        let app_id = head["app_id"].as_str().unwrap();
        let events = app.events(app_id).await;
        let last = events.last().unwrap();
        assert_eq!(last.action, "master_key.rotated");
        let details: Value = serde_json::from_str(&last.details).unwrap();
        assert_eq!(details["old_head"]["seq"], head["seq"], "{app_id}");
        assert_eq!(details["old_head"]["hash"], head["hash"], "{app_id}");
        assert_eq!(details["events_rekeyed"], head["seq"], "{app_id}");
    }

    // The server that kept the old key takes itself out: /readyz and every
    // request answer 503 within seconds, until it is restarted.
    let mut out = false;
    for _ in 0..50 {
        let ready = reqwest::get(format!("{}/readyz", old_server.address))
            .await
            .unwrap();
        if ready.status() == 503 {
            assert!(
                ready
                    .text()
                    .await
                    .unwrap()
                    .contains("master key was rotated")
            );
            out = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(out, "the old-key server still says it is ready");
    let mut old_client = Client::from_created(&app, &created);
    old_client.base = old_server.address.clone();
    let (status, _) = old_client
        .post("token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 503);

    // A server still running with the old key refuses to write...
    let refused = app
        .call(
            &browser(),
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await;
    assert_ne!(refused.status(), 200);
    let signed_in_events = app
        .events("demo")
        .await
        .iter()
        .filter(|e| e.action == "signin.succeeded")
        .count();
    assert_eq!(signed_in_events, 0, "the old-key server recorded nothing");
    // ...and one started with the new key serves with the same signing key.
    let server = spawn_server_process_with(&app, &[("ONEAUTH_MASTER_KEY", new_key.trim())]).await;
    let mut client = Client::from_created(&app, &created);
    client.base = server.address.clone();
    let (status, body) = client
        .post("token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200, "{body}");
}

/// One secret the current key cannot open (sealed by someone else): the
/// rotation stops, says which, and nothing changed.
#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_that_fails_half_way_changes_nothing() {
    let app = spawn_app().await;
    sealed_everything(&app).await;
    let old = deployment_of(&app, &app.master_key);
    let stranger = Vault::random();
    let provider = identity_provider::Entity::find()
        .filter(identity_provider::Column::Slug.eq("corp"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let foreign = stranger.seal(&format!("upstream_secret:{}", provider.id), b"x");
    app.sql(&format!(
        "UPDATE identity_provider SET client_secret_encrypted = '{foreign}' WHERE id = '{}'",
        provider.id
    ))
    .await;
    let heads_before = app.cli(&["audit", "head"]).expect_success().stdout;
    let keys_before: Vec<_> = signing_key::Entity::find().all(&app.db).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let new_key_file = dir.path().join("new.key");
    app.cli(&[
        "master-key",
        "rotate",
        "--new-key-file",
        new_key_file.to_str().unwrap(),
    ])
    .expect_error("The client secret of provider \"corp\" could not be opened");

    // Nothing moved: same heads, same sealed keys, the old key still opens
    // them and verifies the chains.
    assert_eq!(
        app.cli(&["audit", "head"]).expect_success().stdout,
        heads_before
    );
    assert_eq!(
        signing_key::Entity::find().all(&app.db).await.unwrap(),
        keys_before
    );
    for key in &keys_before {
        assert!(
            old.vault
                .open(
                    &format!("signing_key:{}", key.id),
                    &key.private_key_encrypted
                )
                .is_ok()
        );
    }
    app.cli(&["audit", "verify"]).expect_success();
    // The same key twice is no rotation.
    let same = dir.path().join("same.key");
    std::fs::write(&same, &app.master_key).unwrap();
    app.cli(&[
        "master-key",
        "rotate",
        "--new-key-file",
        same.to_str().unwrap(),
    ])
    .expect_error("nothing to rotate");
}
