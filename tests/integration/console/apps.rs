//! Apps and their OAuth clients, as owners manage them.

use crate::common;

use common::console::*;
use common::{TestApp, refused};
use oneauth::api::console::{apps::*, clients::*};
use serde_json::{Value, json};

/// The console's owner and the app `billing` they created.
async fn owner_with_billing() -> (TestApp, Op) {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "billing".into(),
                name: "Billing Admin".into(),
            },
        )
        .await
        .unwrap();
    (app, owner)
}

/// A confidential client of `billing`: its id and its secret.
async fn billing_client(app: &TestApp, owner: &Op) -> (String, String) {
    let created = owner
        .call(
            app,
            ConsoleCreateClient {
                app_id: "billing".into(),
                name: "Web".into(),
                client_type: "confidential".into(),
                redirect_uris: "https://billing.example.com/cb\nhttp://localhost:3000/cb".into(),
                post_logout_redirect_uris: "".into(),
                id_token_alg: "RS256".into(),
            },
        )
        .await
        .unwrap();
    (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn billing_clients(app: &TestApp, owner: &Op) -> Value {
    owner
        .call(
            app,
            ConsoleClients {
                app_id: "billing".into(),
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_create_apps_with_valid_unused_ids() {
    let (app, owner) = owner_with_billing().await;
    for (id, reason) in [("Bad Id", "not a valid id"), ("billing", "taken")] {
        let error = owner
            .call(
                &app,
                ConsoleCreateApp {
                    app_id: id.into(),
                    name: "x".into(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error["Invalid"]["field"], "app_id", "{reason}: {error}");
    }
    let apps = owner.call(&app, ConsoleApps {}).await.unwrap();
    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["billing", "console"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn app_settings_are_validated_and_saved() {
    let (app, owner) = owner_with_billing().await;
    let settings = |idle: &'static str| ConsoleUpdateApp {
        app_id: "billing".into(),
        name: "Billing".into(),
        brand_color: "#0f766e".into(),
        self_registration: None,
        password_enabled: Some("on".into()),
        passkey_enabled: Some("on".into()),
        require_pkce: Some("on".into()),
        session_idle_secs: idle.into(),
        session_absolute_secs: "36000".into(),
        access_token_ttl_secs: "600".into(),
        refresh_idle_secs: "86400".into(),
        refresh_absolute_secs: "604800".into(),
        refresh_grace_secs: "5".into(),
        api_audiences: None,
        email_sender_name: None,
        email_reply_to: None,
        require_verified_email: None,
        notify_new_device: None,
    };
    let error = owner.call(&app, settings("5")).await.unwrap_err();
    assert_eq!(error["Invalid"]["field"], "session_idle_secs");
    owner.call(&app, settings("900")).await.unwrap();
    let view = owner
        .call(
            &app,
            ConsoleApp {
                app_id: "billing".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            view["brand_color"].clone(),
            view["access_token_ttl_secs"].clone(),
            view["self_registration"].clone()
        ),
        (json!("#0f766e"), json!(600), json!(false))
    );
    assert_recorded(&app, "billing", None, &["app.updated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confidential_clients_secret_shows_once_and_rotates() {
    let (app, owner) = owner_with_billing().await;
    let (client_id, secret) = billing_client(&app, &owner).await;
    let bad_uri = owner
        .call(
            &app,
            ConsoleCreateClient {
                app_id: "billing".into(),
                name: "Bad".into(),
                client_type: "public".into(),
                redirect_uris: "http://evil.example/cb".into(),
                post_logout_redirect_uris: "".into(),
                id_token_alg: "ES256".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_uri["Invalid"]["field"], "redirect_uris");
    let rotated = owner
        .call(
            &app,
            ConsoleRotateClientSecret {
                app_id: "billing".into(),
                client_id: client_id.clone(),
            },
        )
        .await
        .unwrap();
    let rotated = rotated.as_str().unwrap();
    assert_ne!(rotated, secret);
    // The new secret works at the token endpoint; the old one no longer.
    let client_credentials = |secret: &str| {
        reqwest::Client::new()
            .post(format!("{}/a/billing/oauth/token", app.address))
            .basic_auth(&client_id, Some(secret.to_owned()))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(client_credentials(rotated).await.unwrap().status(), 200);
    assert_eq!(client_credentials(&secret).await.unwrap().status(), 401);
    let clients = billing_clients(&app, &owner).await;
    assert_eq!(clients[0]["redirect_uris"].as_array().unwrap().len(), 2);
    assert!(clients[0]["secret_rotated"].is_string());
    // Listed without any secret.
    assert!(clients[0].get("client_secret").is_none(), "{clients}");
    assert_recorded(
        &app,
        "billing",
        None,
        &["client.created", "client.secret_rotated"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_client_validates_its_uris_like_creating_one() {
    let (app, owner) = owner_with_billing().await;
    let (client_id, _) = billing_client(&app, &owner).await;
    let edit = |redirect: &'static str, post_logout: &'static str| ConsoleUpdateClient {
        app_id: "billing".into(),
        client_id: client_id.clone(),
        name: "Billing web".into(),
        redirect_uris: redirect.into(),
        post_logout_redirect_uris: post_logout.into(),
        id_token_alg: "ES256".into(),
    };
    let error = owner
        .call(&app, edit("https://billing.example.com/cb#frag", ""))
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "redirect_uris", "{error}");
    let error = owner
        .call(
            &app,
            edit("https://billing.example.com/cb", "javascript:alert(1)"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error["Invalid"]["field"], "post_logout_redirect_uris",
        "{error}"
    );
    owner
        .call(
            &app,
            edit(
                "https://billing.example.com/cb",
                "https://billing.example.com/bye",
            ),
        )
        .await
        .unwrap();
    let clients = billing_clients(&app, &owner).await;
    assert_eq!(
        (
            clients[0]["name"].clone(),
            clients[0]["redirect_uris"].clone(),
            clients[0]["post_logout_redirect_uris"].clone(),
            clients[0]["id_token_alg"].clone(),
        ),
        (
            json!("Billing web"),
            json!(["https://billing.example.com/cb"]),
            json!(["https://billing.example.com/bye"]),
            json!("ES256"),
        )
    );
    assert_recorded(&app, "billing", None, &["client.updated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_client_is_refused_at_the_token_endpoint() {
    let (app, owner) = owner_with_billing().await;
    let (client_id, secret) = billing_client(&app, &owner).await;
    let client_credentials = || async {
        reqwest::Client::new()
            .post(format!("{}/a/billing/oauth/token", app.address))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(client_credentials().await, 200);
    owner
        .call(
            &app,
            ConsoleSetClientDisabled {
                app_id: "billing".into(),
                client_id: client_id.clone(),
                disabled: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(client_credentials().await, 401);
    assert_eq!(billing_clients(&app, &owner).await[0]["disabled"], true);
    assert_recorded(&app, "billing", None, &["client.disabled"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_app_has_no_pages_and_the_console_cannot_be_disabled() {
    let (app, owner) = owner_with_billing().await;
    let set_disabled = |app_id: &str, disabled: bool| ConsoleSetAppDisabled {
        app_id: app_id.into(),
        disabled,
    };
    owner
        .call(&app, set_disabled("billing", true))
        .await
        .unwrap();
    assert_eq!(app.get("/a/billing/login").await.status(), 404);
    owner
        .call(&app, set_disabled("billing", false))
        .await
        .unwrap();
    assert_eq!(app.get("/a/billing/login").await.status(), 200);
    let error = owner
        .call(&app, set_disabled("console", true))
        .await
        .unwrap_err();
    assert_eq!(refused(&error), "The console cannot be disabled.");
    assert_recorded(&app, "billing", None, &["app.disabled", "app.enabled"]).await;
}
