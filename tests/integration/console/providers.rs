//! An app's sign-in providers in the console: who may configure them, the
//! secret that is never shown, rules that cannot grant above one's access,
//! and an operator unlinking a user's upstream account.

use crate::common;

use common::console::*;
use common::upstream::{StandIn, sign_in_upstream};
use common::{TestApp, refused};
use oneauth::api::console::providers::*;
use serde_json::json;

fn save(app_id: &str, slug: &str, issuer: &str, creating: bool) -> ConsoleSaveProvider {
    ConsoleSaveProvider {
        app_id: app_id.into(),
        creating: creating.then(|| "1".into()),
        slug: slug.into(),
        name: "Corp SSO".into(),
        kind: "oidc".into(),
        issuer: Some(issuer.into()),
        api_url: None,
        client_id: "oneauth-client".into(),
        client_secret: creating.then(|| "upstream-secret".into()),
        scopes: None,
        auto_link: None,
        provisioning: Some("on".into()),
        allowed_domains: Some("example.com".into()),
        role_mappings: Some("groups=ops:billing".into()),
        trust_upstream_mfa: None,
        enabled: Some("on".into()),
    }
}

async fn providers_of(app: &TestApp, op: &Op, app_id: &str) -> serde_json::Value {
    op.call(
        app,
        ConsoleProviders {
            app_id: app_id.into(),
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_configures_a_provider_whose_secret_is_never_shown_again() {
    let (app, owner) = demo_with_owner().await;
    owner
        .call(
            &app,
            oneauth::api::console::roles::ConsoleCreateRole {
                app_id: "demo".into(),
                name: "billing".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    let stand_in = StandIn::start().await;
    owner
        .call(&app, save("demo", "corp", &stand_in.issuer, true))
        .await
        .unwrap();
    let listed = providers_of(&app, &owner, "demo").await;
    assert_eq!(listed[0]["slug"], "corp");
    assert_eq!(listed[0]["role_mappings"], "groups=ops:billing");
    assert_eq!(
        listed[0]["callback_url"],
        format!("{}/a/demo/upstream/corp/callback", app.address)
    );
    assert!(!listed.to_string().contains("upstream-secret"));

    // Saved again without a secret: the stored one stays, and works.
    let mut changed = save("demo", "corp", &stand_in.issuer, false);
    changed.name = "Corp directory".into();
    owner.call(&app, changed).await.unwrap();
    let browser = common::browser();
    let back = sign_in_upstream(&app, &browser, &stand_in, "demo", "corp", |a| {
        let mut claims = stand_in.claims(a, "up-ada", "ada@example.com", true);
        claims["groups"] = json!(["ops"]);
        claims
    })
    .await;
    assert_eq!(back.status(), 303);
    let basic = stand_in
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/token")
        .unwrap()
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode("oneauth-client:upstream-secret");
    assert_eq!(
        basic,
        format!("Basic {expected}"),
        "the secret kept its value"
    );

    // A bad rule is answered beside its field.
    let mut bad = save("demo", "corp", &stand_in.issuer, false);
    bad.role_mappings = Some("groups:billing".into());
    let error = owner.call(&app, bad).await.unwrap_err();
    assert_eq!(error["Invalid"]["field"], "role_mappings");

    let events = app.actions_with_details("demo").await;
    assert!(events.iter().any(|(a, d)| a == "provider.updated"
        && d["client_secret"] == "unchanged"
        && d["after"]["display_name"] == "Corp directory"));
    for (_, details) in &events {
        assert!(!details.to_string().contains("upstream-secret"));
    }

    // The user page lists the link; the operator unlinks it only while
    // another way in remains (here none: refused).
    let user = user_id(&app, "demo", "ada@example.com").await;
    let detail = owner
        .call(
            &app,
            oneauth::api::console::users::ConsoleUser {
                app_id: "demo".into(),
                user_id: user.clone(),
            },
        )
        .await
        .unwrap();
    let links = &detail["links"];
    assert_eq!(links[0]["provider"], "Corp directory");
    let error = owner
        .call(
            &app,
            ConsoleUnlink {
                app_id: "demo".into(),
                user_id: user.clone(),
                link_id: links[0]["id"].as_str().unwrap().into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("last way to sign in"), "{error}");

    owner
        .call(
            &app,
            ConsoleDeleteProvider {
                app_id: "demo".into(),
                slug: "corp".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        providers_of(&app, &owner, "demo")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_recorded(
        &app,
        "demo",
        None,
        &["provider.created", "provider.updated", "provider.deleted"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auditors_read_providers_and_only_owners_configure_the_consoles_own() {
    let (app, owner) = demo_with_owner().await;
    let stand_in = StandIn::start().await;
    owner
        .call(&app, save("demo", "corp", &stand_in.issuer, true))
        .await
        .unwrap_err();
    // (the rule names a role demo does not have yet: create it, then retry)
    owner
        .call(
            &app,
            oneauth::api::console::roles::ConsoleCreateRole {
                app_id: "demo".into(),
                name: "billing".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    owner
        .call(&app, save("demo", "corp", &stand_in.issuer, true))
        .await
        .unwrap();

    let auditor = operator(&app, &owner, "auditor@example.com", "auditor").await;
    assert_eq!(
        providers_of(&app, &auditor, "demo").await[0]["slug"],
        "corp"
    );
    let error = auditor
        .call(
            &app,
            ConsoleDeleteProvider {
                app_id: "demo".into(),
                slug: "corp".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("read-only"), "{error}");

    // How operators sign in is the owners' alone; and a rule can never hand
    // out a console role above the operator's own.
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let mut console = save("console", "staff", &stand_in.issuer, true);
    console.role_mappings = Some("groups=it:owner".into());
    let error = admin.call(&app, console).await.unwrap_err();
    assert!(refused(&error).contains("Only an owner"), "{error}");
    let mut console = save("console", "staff", &stand_in.issuer, true);
    console.role_mappings = Some("groups=it:admin".into());
    owner.call(&app, console).await.unwrap();
    assert!(refusals(&app).await.len() >= 2);
}
