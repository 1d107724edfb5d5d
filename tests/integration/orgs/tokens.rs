//! Organizations in tokens: `organization=` is checked against the user's
//! memberships (a non-member gets a page, never a code), a member of
//! several chooses, the claims follow the membership at every refresh, and
//! an organization role's factor policy steps up like an app role's.

use super::{add_member, shop_with_acme};
use crate::common::oauth::{Client, Pkce, claims, param};
use crate::common::{PASSWORD, TestApp, browser, sign_in, spawn_app};
use oneauth::api::hosted::orgs::OrgChoices;
use serde_json::json;

/// The app `shop` with Ada, owner of `acme`, signed in in a browser.
async fn ada_in_acme(app: &TestApp) -> (serde_json::Value, reqwest::Client) {
    let created = shop_with_acme(app, &["ada@example.com", "bob@example.com"]);
    add_member(app, "ada@example.com", &["owner"]);
    let browser = browser();
    sign_in(app, &browser, "shop", "ada@example.com", PASSWORD).await;
    (created, browser)
}

fn org(app: &TestApp, args: &[&str]) {
    let mut all = vec!["org"];
    all.extend_from_slice(args);
    app.cli(&all).expect_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_gets_the_organization_in_both_tokens() {
    let app = spawn_app().await;
    let (created, browser) = ada_in_acme(&app).await;
    org(
        &app,
        &[
            "team", "create", "--app", "shop", "--org", "acme", "Platform",
        ],
    );
    org(
        &app,
        &[
            "team",
            "add",
            "--app",
            "shop",
            "--org",
            "acme",
            "--team",
            "Platform",
            "--email",
            "ada@example.com",
        ],
    );
    let client = Client::from_created(&app, &created);

    // Her only organization is selected without asking.
    let tokens = client.tokens(&browser, &[]).await;
    for token in ["access_token", "id_token"] {
        let claims = claims(tokens[token].as_str().unwrap());
        assert_eq!(claims["org_slug"], "acme", "{token}: {claims}");
        assert_eq!(claims["org_roles"], json!(["owner"]), "{token}");
        assert!(claims["org_id"].as_str().unwrap().len() > 10, "{token}");
        assert!(
            claims.get("teams").is_none(),
            "{token}: teams only when asked"
        );
    }
    // Teams when the client asks for them.
    let tokens = client.tokens(&browser, &[("scope", "openid teams")]).await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["teams"], json!(["Platform"]));

    // Bob belongs to none: no organization claims at all.
    let bob = crate::common::browser();
    sign_in(&app, &bob, "shop", "bob@example.com", PASSWORD).await;
    let tokens = client.tokens(&bob, &[]).await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert!(access.get("org_id").is_none(), "{access}");
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_is_checked_against_the_memberships() {
    let app = spawn_app().await;
    let (created, browser) = ada_in_acme(&app).await;
    org(
        &app,
        &["create", "--app", "shop", "globex", "--name", "Globex"],
    );
    let client = Client::from_created(&app, &created);
    let acme_id = app
        .cli(&["org", "list", "--app", "shop", "--search", "acme"])
        .expect_success()
        .stdout;
    let acme_id: serde_json::Value = serde_json::from_str(acme_id.lines().next().unwrap()).unwrap();

    // A non-member (of an organization that exists, or not) gets a page
    // saying so, never a code, and the page does not tell the two apart.
    let mut pages = Vec::new();
    for named in ["globex", "no-such-org"] {
        let response = client
            .authorize(&browser, &Pkce::new(), &[("organization", named)])
            .await;
        assert_eq!(response.status(), 403, "{named}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Not a member of this organization"), "{page}");
        assert!(!page.contains("code="), "{page}");
        pages.push(page.replace(named, "X"));
    }
    assert_eq!(pages[0], pages[1]);

    // A member names hers by slug or by id.
    for named in ["acme", acme_id["org_id"].as_str().unwrap()] {
        let tokens = client.tokens(&browser, &[("organization", named)]).await;
        assert_eq!(
            claims(tokens["access_token"].as_str().unwrap())["org_slug"],
            "acme"
        );
    }
    // The organization of another app is no organization here.
    let other = app.create_app("other", "Other");
    crate::common::add_user(&app, "other", "ada@example.com");
    app.cli(&[
        "org", "create", "--app", "other", "initech", "--name", "Initech",
    ])
    .expect_success();
    app.cli(&[
        "org",
        "member",
        "add",
        "--app",
        "other",
        "--org",
        "initech",
        "--email",
        "ada@example.com",
    ])
    .expect_success();
    let response = client
        .authorize(&browser, &Pkce::new(), &[("organization", "initech")])
        .await;
    assert_eq!(response.status(), 403);
    drop(other);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_of_several_chooses_and_the_choice_sets_the_claims() {
    let app = spawn_app().await;
    let (created, browser) = ada_in_acme(&app).await;
    org(
        &app,
        &["create", "--app", "shop", "globex", "--name", "Globex"],
    );
    org(
        &app,
        &[
            "member",
            "add",
            "--app",
            "shop",
            "--org",
            "globex",
            "--email",
            "ada@example.com",
            "--role",
            "admin",
        ],
    );
    let client = Client::from_created(&app, &created);
    let pkce = Pkce::new();
    let response = client.authorize(&browser, &pkce, &[]).await;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/a/shop/orgs/choose?return_to="),
        "{location}"
    );
    let return_to = param(&format!("http://x{location}"), "return_to").unwrap();

    // The page lists both (rendered on the server, no script needed).
    let page = browser
        .get(format!("{}{location}", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Acme Inc.") && page.contains("Globex"),
        "{page}"
    );

    let choices = app
        .call_json(
            &browser,
            OrgChoices {
                app_id: "shop".into(),
                return_to: Some(return_to),
            },
        )
        .await
        .unwrap();
    let globex = choices
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "globex")
        .unwrap();
    assert_eq!(globex["roles"], json!(["admin"]));
    let href = globex["href"].as_str().unwrap();
    assert!(href.starts_with("/a/shop/oauth/authorize?") && href.contains("organization=globex"));
    let response = browser
        .get(format!("{}{href}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    let code = param(location, "code").unwrap_or_else(|| panic!("{location}"));
    let (status, tokens) = client.exchange(&code, &pkce).await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["org_slug"], "globex");
    assert_eq!(access["org_roles"], json!(["admin"]));

    // prompt=none cannot ask: interaction_required, back to the client.
    let response = client
        .authorize(&browser, &Pkce::new(), &[("prompt", "none")])
        .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        param(location, "error").as_deref(),
        Some("interaction_required")
    );

    // The organizations scope lists every membership at userinfo.
    let tokens = client
        .tokens(
            &browser,
            &[("organization", "acme"), ("scope", "openid organizations")],
        )
        .await;
    let info: serde_json::Value = client
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = info["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["org_slug"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["acme", "globex"], "{info}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_claims_follow_the_membership_at_every_refresh() {
    let app = spawn_app().await;
    let (created, browser) = ada_in_acme(&app).await;
    add_member(&app, "bob@example.com", &["owner"]);
    let client = Client::from_created(&app, &created);
    let tokens = client
        .tokens(&browser, &[("scope", "openid offline_access")])
        .await;
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let next = async |client: &Client<'_>, refresh: &mut String| {
        let (status, body) = client.refresh(refresh).await;
        assert_eq!(status, 200, "{body}");
        *refresh = body["refresh_token"].as_str().unwrap().to_owned();
        claims(body["access_token"].as_str().unwrap())
    };

    // A role change shows at the next refresh.
    org(
        &app,
        &[
            "member",
            "role",
            "--app",
            "shop",
            "--org",
            "acme",
            "--email",
            "ada@example.com",
            "--role",
            "member",
        ],
    );
    assert_eq!(
        next(&client, &mut refresh).await["org_roles"],
        json!(["member"])
    );
    // A removal drops the organization; the family goes on without it.
    org(
        &app,
        &[
            "member",
            "remove",
            "--app",
            "shop",
            "--org",
            "acme",
            "--email",
            "ada@example.com",
        ],
    );
    let after_removal = next(&client, &mut refresh).await;
    assert!(after_removal.get("org_id").is_none(), "{after_removal}");
    assert!(after_removal.get("org_roles").is_none(), "{after_removal}");

    // A deletion drops it too.
    add_member(&app, "ada@example.com", &["admin"]);
    let tokens = client
        .tokens(
            &browser,
            &[("scope", "openid offline_access"), ("organization", "acme")],
        )
        .await;
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        next(&client, &mut refresh).await["org_roles"],
        json!(["admin"])
    );
    org(
        &app,
        &["delete", "--app", "shop", "acme", "--confirm", "acme"],
    );
    let after_deletion = next(&client, &mut refresh).await;
    assert!(after_deletion.get("org_id").is_none(), "{after_deletion}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_role_that_requires_a_passkey_steps_up() {
    let app = spawn_app().await;
    let (created, browser) = ada_in_acme(&app).await;
    org(
        &app,
        &[
            "role",
            "create",
            "--app",
            "shop",
            "billing",
            "--require-passkey",
        ],
    );
    org(
        &app,
        &[
            "member",
            "role",
            "--app",
            "shop",
            "--org",
            "acme",
            "--email",
            "ada@example.com",
            "--role",
            "owner",
            "--role",
            "billing",
        ],
    );
    let client = Client::from_created(&app, &created);
    let response = client.authorize(&browser, &Pkce::new(), &[]).await;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/a/shop/login?"), "{location}");
    assert!(location.contains("passkey=1"), "{location}");
    // Without the role, the password session is enough again.
    org(
        &app,
        &[
            "member",
            "role",
            "--app",
            "shop",
            "--org",
            "acme",
            "--email",
            "ada@example.com",
            "--role",
            "owner",
        ],
    );
    let tokens = client.tokens(&browser, &[]).await;
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["org_roles"],
        json!(["owner"])
    );
}
