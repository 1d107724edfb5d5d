//! Signing in through upstream identity providers (issue 23), against a
//! stand-in OpenID provider on loopback whose answers each test writes:
//! provisioning, linking that cannot be hijacked, claim-to-role mapping,
//! back-channel logout, and every attack path the issue names.

use std::sync::Arc;

use reqwest::cookie::Jar;
use serde_json::{Value, json};

use crate::common::oauth::{Client, Pkce, param};
use crate::common::upstream::{
    Authorization, SigningKey, StandIn, begin, come_back, location, sign_in_upstream,
};
use crate::common::{PASSWORD, TestApp, add_user, sign_in, spawn_app, spawn_app_with};

/// A browser whose cookie jar the test can write to (to replay a cookie).
fn browser_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (client, jar)
}

/// The value `response` set for cookie `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

struct Setup {
    app: TestApp,
    stand_in: StandIn,
    created: Value,
}

/// App `demo` with the stand-in registered as `corp` (with `extra` flags).
async fn setup(extra: &[&str]) -> Setup {
    setup_with_roles(&[], extra).await
}

/// [`setup`], with roles of `demo` created first (`role create` arguments).
async fn setup_with_roles(roles: &[&[&str]], extra: &[&str]) -> Setup {
    let app = spawn_app().await;
    let created = app.create_app("demo", "Demo");
    for role in roles {
        let mut args = vec!["role", "create", "--app", "demo"];
        args.extend_from_slice(role);
        app.cli(&args).expect_success();
    }
    let stand_in = StandIn::start().await;
    stand_in.register(&app, "demo", "corp", extra);
    Setup {
        app,
        stand_in,
        created,
    }
}

/// Mark the address of `email` in `demo` as confirmed (as its link would).
async fn confirm_address(app: &TestApp, email: &str) {
    app.sql(&format!(
        "UPDATE app_user SET email_verified = true WHERE app_id = 'demo' AND email = '{email}'"
    ))
    .await;
}

async fn links_of(app: &TestApp, subject: &str) -> usize {
    use oneauth::entities::external_identity;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    external_identity::Entity::find()
        .filter(external_identity::Column::Subject.eq(subject))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}

/// The reasons of the app's `signin.failed` events, oldest first.
async fn failure_reasons(app: &TestApp) -> Vec<String> {
    app.actions_with_details("demo")
        .await
        .into_iter()
        .filter(|(action, _)| action == "signin.failed")
        .map(|(_, details)| details["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn signed_in_email(app: &TestApp, browser: &reqwest::Client) -> Option<String> {
    app.account(browser, "demo")
        .await
        .ok()
        .map(|view| view["email"].as_str().unwrap().to_owned())
}

fn verified(stand_in: &StandIn, sub: &str, email: &str) -> impl FnOnce(&Authorization) -> Value {
    verified_with(stand_in, sub, email, json!({}))
}

/// [`verified`], with `extra` claims (groups, say).
fn verified_with(
    stand_in: &StandIn,
    sub: &str,
    email: &str,
    extra: Value,
) -> impl FnOnce(&Authorization) -> Value {
    let issuer = stand_in.issuer.clone();
    let (sub, email) = (sub.to_owned(), email.to_owned());
    move |authorization| {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": issuer, "sub": sub, "aud": authorization.client_id, "iat": now,
            "exp": now + 300, "nonce": authorization.nonce, "email": email,
            "email_verified": true, "sid": format!("sid-{sub}"),
        });
        if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            claims.extend(extra);
        }
        claims
    }
}

#[tokio::test]
async fn provisioning_creates_an_account_for_an_allowed_domain_and_continues_the_authorize_request()
{
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let client = Client::from_created(&s.app, &s.created);
    let browser = crate::common::browser();

    // The client's /authorize sends the browser to sign in; it picks the
    // provider button, which carries the request along.
    let pkce = Pkce::new();
    let login = location(&client.authorize(&browser, &pkce, &[]).await);
    let return_to = param(&login, "return_to").expect("the login page keeps the request");
    let query = format!(
        "?return_to={}",
        url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
    );
    let authorization = begin(&s.app, &browser, "demo", "corp", &query).await;
    assert_eq!(
        authorization.redirect_uri,
        format!("{}/a/demo/upstream/corp/callback", s.app.address)
    );
    let claims = verified(&s.stand_in, "upstream-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c1", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "c1"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(back.status(), 303);
    let next = location(&back);
    assert!(next.starts_with("/a/demo/oauth/authorize?"), "{next}");

    // The authorization request finishes with a code for the new account.
    let response = s.app.get_with(&browser, &next).await;
    let redirect = location(&response);
    let code = param(&redirect, "code").unwrap_or_else(|| panic!("no code in {redirect}"));
    let (status, tokens) = client.exchange(&code, &pkce).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = crate::common::oauth::claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["email"], "ada@example.com");
    assert_eq!(id_token["amr"], json!(["ext"]));

    let actions = s.app.actions_with_details("demo").await;
    assert!(
        actions
            .iter()
            .any(|(a, d)| a == "user.created" && d["after"]["email"] == "ada@example.com")
    );
    assert!(
        actions
            .iter()
            .any(|(a, d)| a == "upstream.linked" && d["how"] == "provisioned")
    );
    assert!(actions.iter().any(|(a, d)| a == "signin.succeeded"
        && d["method"] == "upstream"
        && d["provider"] == "corp"));
}

#[tokio::test]
async fn provisioning_refuses_a_foreign_domain_and_an_unverified_address() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let browser = crate::common::browser();
    let foreign = sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "someone", "someone@elsewhere.example"),
    )
    .await;
    assert_eq!(foreign.status(), 403);
    assert!(
        foreign
            .text()
            .await
            .unwrap()
            .contains("Accounts of this e-mail domain cannot sign in here.")
    );

    let unverified = sign_in_upstream(&s.app, &browser, &s.stand_in, "demo", "corp", |a| {
        s.stand_in.claims(a, "eve", "eve@example.com", false)
    })
    .await;
    assert_eq!(unverified.status(), 400);
    assert_eq!(
        failure_reasons(&s.app).await,
        vec!["domain_not_allowed", "unverified_email"]
    );
    assert_eq!(
        links_of(&s.app, "someone").await + links_of(&s.app, "eve").await,
        0
    );
    assert_eq!(signed_in_email(&s.app, &browser).await, None);
}

#[tokio::test]
async fn without_provisioning_an_unknown_identity_is_asked_to_sign_in_first() {
    let s = setup(&[]).await;
    let browser = crate::common::browser();
    let back = sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "nobody", "nobody@example.com"),
    )
    .await;
    assert_eq!(back.status(), 303);
    assert!(location(&back).starts_with("/a/demo/login?link_pending=1"));
    assert_eq!(links_of(&s.app, "nobody").await, 0);
    assert_eq!(signed_in_email(&s.app, &browser).await, None);
}

#[tokio::test]
async fn auto_link_needs_the_upstream_and_the_account_to_vouch_for_the_address() {
    let s = setup(&["--auto-link", "on"]).await;
    add_user(&s.app, "demo", "ada@example.com");
    add_user(&s.app, "demo", "bob@example.com");
    confirm_address(&s.app, "ada@example.com").await;

    // The upstream does not vouch for Ada's address: no link.
    let browser = crate::common::browser();
    let unverified = sign_in_upstream(&s.app, &browser, &s.stand_in, "demo", "corp", |a| {
        s.stand_in
            .claims(a, "up-ada-unverified", "ada@example.com", false)
    })
    .await;
    assert!(location(&unverified).starts_with("/a/demo/login?link_pending=1"));
    assert_eq!(links_of(&s.app, "up-ada-unverified").await, 0);

    // Bob never confirmed his address here (anyone may have registered it).
    let browser = crate::common::browser();
    let unconfirmed = sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-bob", "bob@example.com"),
    )
    .await;
    assert!(location(&unconfirmed).starts_with("/a/demo/login?link_pending=1"));
    assert_eq!(links_of(&s.app, "up-bob").await, 0);
    assert_eq!(signed_in_email(&s.app, &browser).await, None);

    // Both vouch: linked, signed in, told by e-mail.
    let browser = crate::common::browser();
    let linked = sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@example.com"),
    )
    .await;
    assert_eq!(location(&linked), "/a/demo/account");
    assert_eq!(
        signed_in_email(&s.app, &browser).await.as_deref(),
        Some("ada@example.com")
    );
    let actions = s.app.actions_with_details("demo").await;
    assert!(actions.iter().any(|(a, d)| a == "upstream.linked"
        && d["how"] == "auto_link"
        && d["subject"] == "up-ada"));
    let outbox = s.app.outbox("demo").await;
    assert!(
        outbox
            .iter()
            .any(|m| m.to_address == "ada@example.com" && m.subject.contains("Corp SSO")),
        "a security notice tells Ada"
    );
}

#[tokio::test]
async fn a_linked_identity_keeps_its_account_whatever_address_the_upstream_reports_later() {
    let s = setup(&["--auto-link", "on"]).await;
    add_user(&s.app, "demo", "ada@example.com");
    add_user(&s.app, "demo", "bob@example.com");
    confirm_address(&s.app, "ada@example.com").await;
    confirm_address(&s.app, "bob@example.com").await;
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@example.com"),
    )
    .await;

    // The upstream account now claims Bob's address: it is still Ada.
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "bob@example.com"),
    )
    .await;
    assert_eq!(
        signed_in_email(&s.app, &browser).await.as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(links_of(&s.app, "up-ada").await, 1);
}

#[tokio::test]
async fn a_link_confirmation_replayed_for_a_second_upstream_account_links_nothing() {
    let s = setup(&[]).await;
    add_user(&s.app, "demo", "ada@example.com");
    let (browser, jar) = browser_with_jar();
    let base = url::Url::parse(&s.app.address).unwrap();

    // Ada comes back from the provider; no account is linked to it yet.
    let back = sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@corp.example"),
    )
    .await;
    let pending = set_cookie(&back, "oneauth_upstream_link").expect("the pending link is kept");
    let login = s
        .app
        .get_with(&browser, &location(&back))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        login.contains("Sign in with your existing account first"),
        "the page says why"
    );

    // She signs in with her password and confirms the link on her account page.
    sign_in(&s.app, &browser, "demo", "ada@example.com", PASSWORD).await;
    let view = s.app.account(&browser, "demo").await.unwrap();
    assert_eq!(view["pending_link"]["provider"], "Corp SSO");
    let confirm = oneauth::api::account::ConfirmUpstreamLink {
        app_id: "demo".into(),
    };
    s.app.call_json(&browser, confirm).await.expect("linked");
    assert_eq!(links_of(&s.app, "up-ada").await, 1);
    let view = s.app.account(&browser, "demo").await.unwrap();
    assert_eq!(view["linked"][0]["provider"], "Corp SSO");

    // The confirmation presented again (another upstream account's owner
    // replaying it, say) links nothing more: it was spent, and it only ever
    // named up-ada.
    let second = sign_in_upstream(
        &s.app,
        &crate::common::browser(),
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-mallory", "mallory@corp.example"),
    )
    .await;
    assert!(set_cookie(&second, "oneauth_upstream_link").is_some());
    jar.add_cookie_str(&format!("oneauth_upstream_link={pending}; Path=/"), &base);
    let replay = s
        .app
        .call_json(
            &browser,
            oneauth::api::account::ConfirmUpstreamLink {
                app_id: "demo".into(),
            },
        )
        .await
        .expect_err("a spent confirmation is refused");
    assert!(
        crate::common::refused(&replay).contains("already used"),
        "{replay}"
    );
    assert_eq!(links_of(&s.app, "up-mallory").await, 0);
    assert_eq!(links_of(&s.app, "up-ada").await, 1);
}

#[tokio::test]
async fn linking_from_the_account_page_needs_a_fresh_sign_in_and_links_the_account_that_asked() {
    let s = setup(&[]).await;
    add_user(&s.app, "demo", "ada@example.com");
    let browser = crate::common::browser();
    sign_in(&s.app, &browser, "demo", "ada@example.com", PASSWORD).await;
    let view = s.app.account(&browser, "demo").await.unwrap();
    assert_eq!(view["linkable"][0]["slug"], "corp");

    let authorization = begin(&s.app, &browser, "demo", "corp", "?link=1").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@corp.example")(&authorization);
    s.stand_in
        .answer_code("link-code", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "link-code"), ("state", &authorization.state)],
    )
    .await;
    // Nothing is linked by the redirect alone (a link started cross-site
    // would otherwise link whoever is signed in upstream): the account page
    // asks, and the user confirms with a same-origin POST.
    assert_eq!(location(&back), "/a/demo/account");
    assert_eq!(links_of(&s.app, "up-ada").await, 0);
    let view = s.app.account(&browser, "demo").await.unwrap();
    assert_eq!(view["pending_link"]["email"], "ada@corp.example");
    s.app
        .call_json(
            &browser,
            oneauth::api::account::ConfirmUpstreamLink {
                app_id: "demo".into(),
            },
        )
        .await
        .expect("linked");
    assert_eq!(links_of(&s.app, "up-ada").await, 1);

    // A stale sign-in cannot start a link.
    s.app.advance_clock(chrono::Duration::minutes(10));
    let stale = s
        .app
        .get_with(&browser, "/a/demo/upstream/corp/start?link=1")
        .await;
    assert!(
        location(&stale).starts_with("/a/demo/login?reauth="),
        "{}",
        location(&stale)
    );
}

#[tokio::test]
async fn unlinking_keeps_the_last_way_in_and_needs_a_fresh_sign_in() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@example.com"),
    )
    .await;
    let view = s.app.account(&browser, "demo").await.unwrap();
    let link_id = view["linked"][0]["id"].as_str().unwrap().to_owned();
    let refused = s
        .app
        .call_json(
            &browser,
            oneauth::api::account::UnlinkUpstream {
                app_id: "demo".into(),
                link_id: link_id.clone(),
            },
        )
        .await
        .expect_err("the only way in stays");
    assert!(
        crate::common::refused(&refused).contains("last way to sign in"),
        "{refused}"
    );
    assert_eq!(links_of(&s.app, "up-ada").await, 1);
}

// ---- attack paths -------------------------------------------------------

#[tokio::test]
async fn tampered_state_is_refused() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let browser = crate::common::browser();
    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    let tampered = format!("{}x", authorization.state);
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "c"), ("state", &tampered)],
    )
    .await;
    assert_eq!(back.status(), 400);
    assert!(
        back.text()
            .await
            .unwrap()
            .contains("This sign-in request is unknown, expired or was already used.")
    );
    assert_eq!(failure_reasons(&s.app).await, vec!["bad_state"]);
    assert_eq!(links_of(&s.app, "up-ada").await, 0);
}

#[tokio::test]
async fn replayed_state_is_refused() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let (browser, jar) = browser_with_jar();
    let base = url::Url::parse(&s.app.address).unwrap();
    let start = s
        .app
        .get_with(&browser, "/a/demo/upstream/corp/start")
        .await;
    let flow_cookie = set_cookie(&start, "oneauth_upstream").unwrap();
    let to_provider = url::Url::parse(&location(&start)).unwrap();
    let get = |name: &str| {
        to_provider
            .query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    };
    let authorization = Authorization {
        state: get("state"),
        nonce: get("nonce"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        code_challenge: get("code_challenge"),
    };
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    let callback = [("code", "c"), ("state", authorization.state.as_str())];
    let first = come_back(&s.app, &browser, "demo", "corp", &callback).await;
    assert_eq!(first.status(), 303);

    // The same answer and the same cookie again, from another browser (the
    // provider, a stand-in, would even accept the code twice).
    let (replayer, replay_jar) = browser_with_jar();
    replay_jar.add_cookie_str(&format!("oneauth_upstream={flow_cookie}; Path=/"), &base);
    let _ = jar;
    let replay = come_back(&s.app, &replayer, "demo", "corp", &callback).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(failure_reasons(&s.app).await, vec!["bad_state"]);
    assert_eq!(signed_in_email(&s.app, &replayer).await, None);
}

#[tokio::test]
async fn an_id_token_signed_with_another_key_is_refused() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let browser = crate::common::browser();
    // The attacker's key claims the provider's key id.
    let forged = SigningKey::new("upstream-1");
    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c", &forged.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "c"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(back.status(), 400);

    // A key id the provider never published: its keys are fetched again
    // once (it may have rotated), and the token is still refused.
    let unknown = SigningKey::new("rotated-away");
    let before = jwks_fetches(&s.stand_in).await;
    let browser = crate::common::browser();
    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c2", &unknown.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "c2"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(back.status(), 400);
    assert_eq!(
        jwks_fetches(&s.stand_in).await - before,
        1,
        "one refetch, no more"
    );
    assert_eq!(
        failure_reasons(&s.app).await,
        vec!["bad_signature", "bad_signature"]
    );
    assert_eq!(links_of(&s.app, "up-ada").await, 0);
}

async fn jwks_fetches(stand_in: &StandIn) -> usize {
    stand_in
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/jwks")
        .count()
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_with_one_refetch() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    // Warm the cache with the old key set.
    let browser = crate::common::browser();
    begin(&s.app, &browser, "demo", "corp", "").await;
    let rotated = SigningKey::new("upstream-2");
    s.stand_in
        .serve_keys(&[&s.stand_in.key.public, &rotated.public])
        .await;
    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c", &rotated.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "c"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(back.status(), 303);
    assert_eq!(
        signed_in_email(&s.app, &browser).await.as_deref(),
        Some("ada@example.com")
    );
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let browser = crate::common::browser();
    let back = sign_in_upstream(&s.app, &browser, &s.stand_in, "demo", "corp", |a| {
        let mut claims = s.stand_in.claims(a, "up-ada", "ada@example.com", true);
        claims["iss"] = json!("https://evil.example");
        claims
    })
    .await;
    assert_eq!(back.status(), 400);
    assert_eq!(failure_reasons(&s.app).await, vec!["wrong_issuer"]);
}

#[tokio::test]
async fn a_nonce_from_another_flow_is_refused() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let victim = crate::common::browser();
    let attacker = crate::common::browser();
    let victims = begin(&s.app, &victim, "demo", "corp", "").await;
    let attackers = begin(&s.app, &attacker, "demo", "corp", "").await;
    // An ID token minted for the attacker's flow, injected into the victim's.
    let claims = verified(&s.stand_in, "up-mallory", "mallory@example.com")(&attackers);
    s.stand_in
        .answer_code("c", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &victim,
        "demo",
        "corp",
        &[("code", "c"), ("state", &victims.state)],
    )
    .await;
    assert_eq!(back.status(), 400);
    assert_eq!(failure_reasons(&s.app).await, vec!["nonce_mismatch"]);
    assert_eq!(signed_in_email(&s.app, &victim).await, None);
}

#[tokio::test]
async fn mix_up_a_code_from_provider_a_at_provider_bs_callback_is_refused() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let other = StandIn::start().await;
    other.register(
        &s.app,
        "demo",
        "partner",
        &["--provisioning", "on", "--allowed-domains", "example.com"],
    );
    let browser = crate::common::browser();
    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("c", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    // The answer to corp's request arrives at partner's callback.
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "partner",
        &[("code", "c"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(back.status(), 400);
    assert!(back.text().await.unwrap().contains("another provider"));
    assert_eq!(failure_reasons(&s.app).await, vec!["wrong_provider"]);
    assert_eq!(token_calls(&other).await, 0, "the code went to nobody");
    assert_eq!(token_calls(&s.stand_in).await, 0);
}

async fn token_calls(stand_in: &StandIn) -> usize {
    stand_in
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count()
}

#[tokio::test]
async fn the_iss_response_parameter_is_checked_where_the_provider_advertises_it() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    let stand_in =
        StandIn::start_with(json!({ "authorization_response_iss_parameter_supported": true }))
            .await;
    stand_in.register(
        &app,
        "demo",
        "corp",
        &["--provisioning", "on", "--allowed-domains", "example.com"],
    );
    for iss in [Some("https://evil.example"), None] {
        let browser = crate::common::browser();
        let authorization = begin(&app, &browser, "demo", "corp", "").await;
        let claims = verified(&stand_in, "up-ada", "ada@example.com")(&authorization);
        stand_in
            .answer_code("c", &stand_in.key.sign(&claims, "JWT"))
            .await;
        let mut query = vec![("code", "c"), ("state", authorization.state.as_str())];
        if let Some(iss) = iss {
            query.push(("iss", iss));
        }
        let back = come_back(&app, &browser, "demo", "corp", &query).await;
        assert_eq!(back.status(), 400, "iss {iss:?}");
    }
    let browser = crate::common::browser();
    let authorization = begin(&app, &browser, "demo", "corp", "").await;
    let claims = verified(&stand_in, "up-ada", "ada@example.com")(&authorization);
    stand_in
        .answer_code("c2", &stand_in.key.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &app,
        &browser,
        "demo",
        "corp",
        &[
            ("code", "c2"),
            ("state", &authorization.state),
            ("iss", &stand_in.issuer),
        ],
    )
    .await;
    assert_eq!(back.status(), 303);
}

#[tokio::test]
async fn denied_consent_a_refused_code_and_a_disabled_provider_end_on_a_page() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let browser = crate::common::browser();
    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    let denied = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("error", "access_denied"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(denied.status(), 400);
    assert!(
        denied
            .text()
            .await
            .unwrap()
            .contains("cancelled or refused at Corp SSO")
    );

    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    s.stand_in.refuse_code("old").await;
    let refused = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "old"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(refused.status(), 400);

    let authorization = begin(&s.app, &browser, "demo", "corp", "").await;
    s.app
        .cli(&[
            "provider",
            "update",
            "--app",
            "demo",
            "corp",
            "--enabled",
            "off",
        ])
        .expect_success();
    let disabled = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "c"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(disabled.status(), 400);
    assert_eq!(
        failure_reasons(&s.app).await,
        vec!["upstream_denied", "code_rejected", "provider_disabled"]
    );
}

#[tokio::test]
async fn an_unreachable_provider_ends_on_a_page_not_a_500() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    app.cli_with_stdin(
        &[
            "provider",
            "add",
            "--app",
            "demo",
            "gone",
            "--kind",
            "oidc",
            "--issuer",
            &format!("http://127.0.0.1:{port}"),
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        "s\n",
    )
    .expect_success();
    let response = app.get("/a/demo/upstream/gone/start").await;
    assert_eq!(response.status(), 502);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("could not be reached")
    );
}

#[tokio::test]
async fn ssrf_a_provider_at_a_private_address_is_never_fetched() {
    let app = spawn_app_with(|args| args.allow_private_upstreams = false).await;
    app.create_app("demo", "Demo");
    let stand_in = StandIn::start().await;
    stand_in.register(&app, "demo", "corp", &[]);
    let response = app.get("/a/demo/upstream/corp/start").await;
    assert_eq!(response.status(), 502);
    assert!(
        stand_in
            .server
            .received_requests()
            .await
            .unwrap()
            .is_empty(),
        "the server must not have probed the loopback address"
    );
    // The CLI's test says why, in a sentence (and touches nothing either).
    app.cli(&["provider", "test", "--app", "demo", "corp"])
        .expect_error("private or local address");
    assert!(
        stand_in
            .server
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
    // A host name that resolves to loopback is refused the same way.
    app.cli_with_stdin(
        &[
            "provider",
            "update",
            "--app",
            "demo",
            "corp",
            "--issuer",
            &stand_in.issuer.replace("127.0.0.1", "localhost"),
        ],
        "",
    )
    .expect_success();
    app.cli(&["provider", "test", "--app", "demo", "corp"])
        .expect_error("private or local address");
    assert!(
        stand_in
            .server
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- roles and policy ----------------------------------------------------

#[tokio::test]
async fn mapped_roles_follow_the_upstream_groups_and_leave_manual_grants_alone() {
    let s = setup_with_roles(
        &[&["admin"], &["auditor"]],
        &[
            "--provisioning",
            "on",
            "--allowed-domains",
            "example.com",
            "--map-role",
            "groups=platform-admins:admin",
            "--map-role",
            "groups=auditors:auditor",
        ],
    )
    .await;
    let with_groups = |groups: Value| {
        verified_with(
            &s.stand_in,
            "up-ada",
            "ada@example.com",
            json!({ "groups": groups }),
        )
    };
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        with_groups(json!(["staff", "platform-admins"])),
    )
    .await;
    let roles = held_roles(&s.app).await;
    assert_eq!(roles, vec!["admin"]);
    // An operator grants auditor by hand: the mapping never takes it.
    s.app.grant_role("demo", "ada@example.com", "auditor");

    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        with_groups(json!(["staff"])),
    )
    .await;
    assert_eq!(held_roles(&s.app).await, vec!["auditor"]);
    let actions = s.app.actions_with_details("demo").await;
    assert!(
        actions.iter().any(|(a, d)| a == "role.granted"
            && d["role"] == "admin"
            && d["mapped_from"] == "corp")
    );
    assert!(
        actions.iter().any(|(a, d)| a == "role.revoked"
            && d["role"] == "admin"
            && d["reason"] == "claim_gone")
    );
}

async fn held_roles(app: &TestApp) -> Vec<String> {
    let user = {
        use oneauth::entities::app_user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        app_user::Entity::find()
            .filter(app_user::Column::Email.eq("ada@example.com"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    oneauth::core::roles::names_held(&app.db, &user.id)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_passkey_role_still_steps_up_after_an_upstream_sign_in() {
    let s = setup_with_roles(
        &[&["admin", "--require-passkey"]],
        &[
            "--provisioning",
            "on",
            "--allowed-domains",
            "example.com",
            "--map-role",
            "groups=ops:admin",
        ],
    )
    .await;
    let browser = crate::common::browser();
    sign_in_upstream(&s.app, &browser, &s.stand_in, "demo", "corp", |a| {
        let mut claims = s.stand_in.claims(a, "up-ada", "ada@example.com", true);
        claims["groups"] = json!(["ops"]);
        // The upstream says it used a hardware key: not trusted by default.
        claims["amr"] = json!(["hwk", "mfa"]);
        claims
    })
    .await;
    let client = Client::from_created(&s.app, &s.created);
    let response = client.authorize(&browser, &Pkce::new(), &[]).await;
    let login = location(&response);
    assert!(
        login.starts_with("/a/demo/login?"),
        "no code without a passkey here: {login}"
    );
    assert_eq!(param(&login, "passkey").as_deref(), Some("1"));
    let actions = s.app.actions_with_details("demo").await;
    assert!(
        actions
            .iter()
            .any(|(a, d)| a == "signin.succeeded" && d["upstream_amr"] == json!(["hwk", "mfa"]))
    );
}

// ---- back-channel logout -------------------------------------------------

#[tokio::test]
async fn back_channel_logout_ends_the_session_and_its_refresh_family() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    let client = Client::from_created(&s.app, &s.created);
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@example.com"),
    )
    .await;
    let tokens = client
        .tokens(&browser, &[("scope", "openid email offline_access")])
        .await;
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    let now = chrono::Utc::now().timestamp();
    let logout = |jti: &str, key: &SigningKey, sid: &str| {
        key.sign(
            &json!({
                "iss": s.stand_in.issuer, "aud": "oneauth-client", "iat": now, "exp": now + 120,
                "jti": jti, "sid": sid,
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            }),
            "logout+jwt",
        )
    };
    let endpoint = "/a/demo/upstream/corp/backchannel_logout";
    // A token signed by someone else changes nothing.
    let forged = s
        .app
        .post_form(
            &s.app.http,
            endpoint,
            &[(
                "logout_token",
                &logout("j0", &SigningKey::new("upstream-1"), "sid-up-ada"),
            )],
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert!(signed_in_email(&s.app, &browser).await.is_some());

    let token = logout("j1", &s.stand_in.key, "sid-up-ada");
    let accepted = s
        .app
        .post_form(&s.app.http, endpoint, &[("logout_token", &token)])
        .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        signed_in_email(&s.app, &browser).await,
        None,
        "the session ended"
    );
    let (status, body) = client.refresh(&refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let replayed = s
        .app
        .post_form(&s.app.http, endpoint, &[("logout_token", &token)])
        .await;
    assert_eq!(replayed.status(), 400, "a logout token is single use");
    let actions = s.app.actions_with_details("demo").await;
    assert!(
        actions
            .iter()
            .any(|(a, d)| a == "upstream.logged_out" && d["sessions_ended"] == 1)
    );
}

// ---- operators ----------------------------------------------------------

#[tokio::test]
async fn the_cli_manages_providers_and_never_shows_or_logs_the_secret() {
    let s = setup_with_roles(&[&["admin"]], &["--map-role", "groups=ops:admin"]).await;
    s.app
        .cli_with_stdin(
            &[
                "provider",
                "update",
                "--app",
                "demo",
                "corp",
                "--map-role",
                "groups=x:missing",
            ],
            "",
        )
        .expect_error("which this app does not have");
    let listed = s
        .app
        .cli(&["provider", "list", "--app", "demo"])
        .expect_success();
    assert!(!listed.stdout.contains("upstream-secret"));
    let listed = listed.json();
    assert_eq!(listed[0]["provider"], "corp");
    assert_eq!(listed[0]["role_mappings"], json!(["groups=ops:admin"]));
    assert_eq!(
        listed[0]["callback_url"],
        format!("{}/a/demo/upstream/corp/callback", s.app.address)
    );
    s.app
        .cli(&[
            "--allow-private-upstreams",
            "on",
            "provider",
            "test",
            "--app",
            "demo",
            "corp",
        ])
        .expect_success();
    s.app
        .cli_with_stdin(
            &[
                "provider",
                "update",
                "--app",
                "demo",
                "corp",
                "--client-secret-stdin",
                "--auto-link",
                "on",
            ],
            "a-new-secret\n",
        )
        .expect_success();
    s.app
        .cli(&[
            "provider",
            "add",
            "--app",
            "demo",
            "bad",
            "--kind",
            "saml",
            "--client-id",
            "x",
        ])
        .expect_error("is not a provider kind");
    s.app
        .cli(&[
            "provider",
            "add",
            "--app",
            "demo",
            "bad",
            "--kind",
            "oidc",
            "--client-id",
            "x",
        ])
        .expect_error("issuer URL");
    s.app
        .cli_with_stdin(
            &[
                "provider",
                "update",
                "--app",
                "demo",
                "corp",
                "--provisioning",
                "on",
            ],
            "",
        )
        .expect_error("allowed domains");
    s.app
        .cli(&["provider", "remove", "--app", "demo", "corp"])
        .expect_success();
    assert!(
        s.app
            .cli(&["provider", "list", "--app", "demo"])
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );

    let events = s.app.actions_with_details("demo").await;
    let changes: Vec<&str> = events
        .iter()
        .filter(|(a, _)| a.starts_with("provider."))
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(
        changes,
        vec!["provider.created", "provider.updated", "provider.deleted"]
    );
    for (action, details) in &events {
        let text = details.to_string();
        assert!(
            !text.contains("upstream-secret") && !text.contains("a-new-secret"),
            "{action}: {text}"
        );
    }
    let updated = &events
        .iter()
        .find(|(a, _)| a == "provider.updated")
        .unwrap()
        .1;
    assert_eq!(updated["client_secret"], "replaced");
}

// ---- presets against local stand-ins (recorded answers) ------------------

mod presets {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{confirm_address, failure_reasons, links_of, signed_in_email};
    use crate::common::upstream::{SigningKey, begin, come_back, location};
    use crate::common::{add_user, spawn_app};

    /// GitHub's answers as recorded from its REST API (trimmed).
    async fn github(emails: serde_json::Value) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .and(header("accept", "application/json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
                "scope": "read:user,user:email",
                "token_type": "bearer",
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/user"))
            .and(header(
                "authorization",
                "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                "type": "User", "site_admin": false, "name": "The Octocat",
                "company": "@github", "email": "octocat@github.com",
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/user/emails"))
            .respond_with(ResponseTemplate::new(200).set_body_json(emails))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn a_github_account_whose_only_matching_email_is_unverified_links_nothing() {
        let app = spawn_app().await;
        app.create_app("demo", "Demo");
        add_user(&app, "demo", "ada@example.com");
        confirm_address(&app, "ada@example.com").await;
        let unverified = github(json!([
            { "email": "ada@example.com", "primary": true, "verified": false, "visibility": "private" },
            { "email": "octocat@users.noreply.github.com", "primary": false, "verified": true, "visibility": null },
        ]))
        .await;
        let base = unverified.uri();
        app.cli_with_stdin(
            &[
                "provider",
                "add",
                "--app",
                "demo",
                "github",
                "--kind",
                "github",
                "--name",
                "GitHub",
                "--issuer",
                &base,
                "--api-url",
                &format!("{base}/api"),
                "--client-id",
                "Iv1.8a61f9b3a7aba766",
                "--client-secret-stdin",
                "--auto-link",
                "on",
            ],
            "github-secret\n",
        )
        .expect_success();
        let browser = crate::common::browser();
        let authorization = begin(&app, &browser, "demo", "github", "").await;
        let back = come_back(
            &app,
            &browser,
            "demo",
            "github",
            &[("code", "gh-code"), ("state", &authorization.state)],
        )
        .await;
        assert!(
            location(&back).starts_with("/a/demo/login?link_pending=1"),
            "{}",
            location(&back)
        );
        assert_eq!(links_of(&app, "583231").await, 0);
        assert_eq!(signed_in_email(&app, &browser).await, None);
        let token_request = &unverified.received_requests().await.unwrap()[0];
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&token_request.body)
            .into_owned()
            .collect();
        assert!(
            form.contains(&(
                "code_verifier".into(),
                form.iter()
                    .find(|(k, _)| k == "code_verifier")
                    .unwrap()
                    .1
                    .clone()
            ))
        );
        assert!(form.contains(&("client_secret".into(), "github-secret".into())));

        // With the address verified and primary, the accounts link.
        let verified = github(json!([
            { "email": "ada@example.com", "primary": true, "verified": true, "visibility": "private" },
        ]))
        .await;
        let base = verified.uri();
        app.cli(&[
            "provider",
            "update",
            "--app",
            "demo",
            "github",
            "--issuer",
            &base,
            "--api-url",
            &format!("{base}/api"),
        ])
        .expect_success();
        let browser = crate::common::browser();
        let authorization = begin(&app, &browser, "demo", "github", "").await;
        assert!(authorization.nonce.is_empty(), "GitHub takes no nonce");
        let back = come_back(
            &app,
            &browser,
            "demo",
            "github",
            &[("code", "gh-code"), ("state", &authorization.state)],
        )
        .await;
        assert_eq!(location(&back), "/a/demo/account");
        assert_eq!(
            signed_in_email(&app, &browser).await.as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(links_of(&app, "583231").await, 1);
    }

    /// Entra ID's multi-tenant ("organizations") endpoints, recorded shape.
    struct Entra {
        server: MockServer,
        key: SigningKey,
    }

    impl Entra {
        async fn start() -> Self {
            let server = MockServer::start().await;
            let base = server.uri();
            let key = SigningKey::new("entra-key-1");
            Mock::given(method("GET"))
                .and(path("/organizations/v2.0/.well-known/openid-configuration"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "token_endpoint": format!("{base}/organizations/oauth2/v2.0/token"),
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                    "jwks_uri": format!("{base}/organizations/discovery/v2.0/keys"),
                    "response_modes_supported": ["query", "fragment", "form_post"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                    "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "issuer": format!("{base}/{{tenantid}}/v2.0"),
                    "request_uri_parameter_supported": false,
                    "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                    "authorization_endpoint": format!("{base}/organizations/oauth2/v2.0/authorize"),
                    "http_logout_supported": true,
                    "frontchannel_logout_supported": true,
                    "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
                    "tenant_region_scope": null,
                    "cloud_instance_name": "microsoftonline.com",
                })))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/organizations/discovery/v2.0/keys"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "keys": [serde_json::Value::Object(key.public.as_ref().clone())],
                })))
                .mount(&server)
                .await;
            Self { server, key }
        }

        fn issuer_of(&self, tenant: &str) -> String {
            format!("{}/{tenant}/v2.0", self.server.uri())
        }

        async fn answer(&self, code: &str, claims: serde_json::Value) {
            let code = code.to_owned();
            Mock::given(method("POST"))
                .and(path("/organizations/oauth2/v2.0/token"))
                .and(move |request: &wiremock::Request| {
                    url::form_urlencoded::parse(&request.body)
                        .any(|(k, v)| k == "code" && v == code)
                })
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "token_type": "Bearer", "scope": "openid profile email", "expires_in": 3599,
                    "access_token": "eyJ0eXAiOiJKV1Qi.entra.access",
                    "id_token": self.key.sign(&claims, "JWT"),
                })))
                .mount(&self.server)
                .await;
        }
    }

    async fn entra_app(extra: &[&str]) -> (crate::common::TestApp, Entra) {
        let app = spawn_app().await;
        app.create_app("demo", "Demo");
        let entra = Entra::start().await;
        let mut args = vec![
            "provider",
            "add",
            "--app",
            "demo",
            "entra",
            "--kind",
            "entra",
            "--name",
            "Microsoft",
            "--client-id",
            "6731de76-14a6-49ae-97bc-6eba6914391e",
            "--client-secret-stdin",
        ];
        let issuer = format!("{}/organizations/v2.0", entra.server.uri());
        args.extend_from_slice(&["--issuer", &issuer]);
        args.extend_from_slice(extra);
        app.cli_with_stdin(&args, "entra-secret\n").expect_success();
        (app, entra)
    }

    fn entra_claims(
        entra: &Entra,
        nonce: &str,
        tenant: &str,
        oid: &str,
        email: &str,
    ) -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "ver": "2.0", "iss": entra.issuer_of(tenant), "sub": format!("pairwise-{oid}"),
            "aud": "6731de76-14a6-49ae-97bc-6eba6914391e", "exp": now + 3600, "iat": now,
            "nbf": now, "nonce": nonce, "name": "Ada", "preferred_username": email,
            "email": email, "oid": oid, "tid": tenant,
        })
    }

    #[tokio::test]
    async fn an_entra_token_whose_email_names_another_user_signs_in_as_nobody_else() {
        let (app, entra) = entra_app(&["--auto-link", "on"]).await;
        add_user(&app, "demo", "ada@example.com");
        confirm_address(&app, "ada@example.com").await;
        // Any tenant's administrator can give an account Ada's address.
        let browser = crate::common::browser();
        let authorization = begin(&app, &browser, "demo", "entra", "").await;
        let mut claims = entra_claims(
            &entra,
            &authorization.nonce,
            "attacker-tenant",
            "o-mallory",
            "ada@example.com",
        );
        claims["email_verified"] = json!(true);
        entra.answer("e1", claims).await;
        let back = come_back(
            &app,
            &browser,
            "demo",
            "entra",
            &[("code", "e1"), ("state", &authorization.state)],
        )
        .await;
        assert!(
            location(&back).starts_with("/a/demo/login?link_pending=1"),
            "{}",
            location(&back)
        );
        assert_eq!(signed_in_email(&app, &browser).await, None);
        assert_eq!(links_of(&app, "attacker-tenant:o-mallory").await, 0);
    }

    #[tokio::test]
    async fn an_entra_identity_is_its_tenant_and_object_id_and_its_issuer_its_tenants() {
        let (app, entra) =
            entra_app(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
        // A token whose issuer names another tenant than its `tid`.
        let browser = crate::common::browser();
        let authorization = begin(&app, &browser, "demo", "entra", "").await;
        let mut claims = entra_claims(&entra, &authorization.nonce, "t1", "o1", "ada@example.com");
        claims["iss"] = json!(entra.issuer_of("t2"));
        claims["xms_edov"] = json!(true);
        entra.answer("e1", claims).await;
        let back = come_back(
            &app,
            &browser,
            "demo",
            "entra",
            &[("code", "e1"), ("state", &authorization.state)],
        )
        .await;
        assert_eq!(back.status(), 400);
        assert_eq!(failure_reasons(&app).await, vec!["wrong_issuer"]);

        // Its own tenant's issuer, and a domain its owner verified: provisioned
        // as tid:oid.
        let browser = crate::common::browser();
        let authorization = begin(&app, &browser, "demo", "entra", "").await;
        let mut claims = entra_claims(&entra, &authorization.nonce, "t1", "o1", "ada@example.com");
        claims["xms_edov"] = json!(true);
        entra.answer("e2", claims).await;
        let back = come_back(
            &app,
            &browser,
            "demo",
            "entra",
            &[("code", "e2"), ("state", &authorization.state)],
        )
        .await;
        assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
        assert_eq!(links_of(&app, "t1:o1").await, 1);
    }
}

// ---- "staff only through our directory" -----------------------------------

#[tokio::test]
async fn a_required_provider_refuses_other_ways_in_for_those_it_covers() {
    let s = setup_with_roles(
        &[&["admin"]],
        &["--auto-link", "on", "--required-for", "role:admin"],
    )
    .await;
    add_user(&s.app, "demo", "ada@example.com");
    add_user(&s.app, "demo", "bob@example.com");
    confirm_address(&s.app, "ada@example.com").await;
    s.app.grant_role("demo", "ada@example.com", "admin");

    // Ada holds admin: her password opens nothing, whatever it proves.
    let attempt = s
        .app
        .call_json(
            &crate::common::browser(),
            oneauth::api::hosted::SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await
        .expect_err("admins go through the directory");
    assert_eq!(
        crate::common::refused(&attempt),
        "Sign in to this app through Corp SSO."
    );
    // Bob holds no such role.
    sign_in(
        &s.app,
        &crate::common::browser(),
        "demo",
        "bob@example.com",
        PASSWORD,
    )
    .await;
    // Through the directory, Ada gets in.
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@example.com"),
    )
    .await;
    assert_eq!(
        signed_in_email(&s.app, &browser).await.as_deref(),
        Some("ada@example.com")
    );
    assert!(
        failure_reasons(&s.app)
            .await
            .contains(&"provider_required".to_owned())
    );

    // Required for everyone: Bob's password too.
    s.app
        .cli(&[
            "provider",
            "update",
            "--app",
            "demo",
            "corp",
            "--required-for",
            "everyone",
        ])
        .expect_success();
    let attempt = s
        .app
        .call_json(
            &crate::common::browser(),
            oneauth::api::hosted::SignInWithPassword {
                app_id: "demo".into(),
                email: "bob@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await
        .expect_err("everyone goes through the directory");
    assert_eq!(
        crate::common::refused(&attempt),
        "Sign in to this app through Corp SSO."
    );
    s.app
        .cli(&[
            "provider",
            "update",
            "--app",
            "demo",
            "corp",
            "--required-for",
            "none",
        ])
        .expect_success();
    sign_in(
        &s.app,
        &crate::common::browser(),
        "demo",
        "bob@example.com",
        PASSWORD,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn console_owners_keep_a_passkey_path_when_the_directory_is_required() {
    use crate::common::console::{Op, operator, with_owner};
    let (app, owner) = with_owner().await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let stand_in = StandIn::start().await;
    stand_in.register(&app, "console", "staff", &["--required-for", "everyone"]);

    // The directory is down, or the operator's account there is broken:
    // an owner's passkey still opens the console, recorded as break-glass.
    let mut owner_again = Op {
        browser: crate::common::browser(),
        device: owner.device,
    };
    let next = owner_again.reauthenticate(&app, "/console").await;
    assert_eq!(next, "/console");
    let events = app.actions_with_details("console").await;
    assert!(
        events
            .iter()
            .any(|(a, d)| a == "signin.succeeded" && d["break_glass"] == true)
    );

    // An admin's passkey does not.
    let mut admin_again = Op {
        browser: crate::common::browser(),
        device: admin.device,
    };
    let options = admin_again
        .call(
            &app,
            oneauth::api::hosted::StartPasskeyAssertion {
                app_id: "console".into(),
            },
        )
        .await
        .unwrap();
    let assertion = admin_again
        .device
        .get(&app.address, options.as_str().unwrap());
    let refused = admin_again
        .call(
            &app,
            oneauth::api::hosted::FinishPasskeyAssertion {
                app_id: "console".into(),
                credential: assertion.to_string(),
                return_to: None,
            },
        )
        .await
        .expect_err("only owners break the glass");
    assert_eq!(
        crate::common::refused(&refused),
        "Sign in to this app through Corp SSO."
    );
}

#[tokio::test]
async fn failed_upstream_callbacks_from_one_address_are_throttled_and_stop_being_recorded() {
    let s = setup(&[]).await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let back = come_back(
            &s.app,
            &s.app.http,
            "demo",
            "corp",
            &[("code", "x"), ("state", "forged")],
        )
        .await;
        statuses.push(back.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    // Past the lock nothing is written: the log cannot be grown anonymously.
    assert_eq!(failure_reasons(&s.app).await.len(), 30);
}

#[tokio::test]
async fn an_identity_linked_to_one_account_cannot_be_linked_to_another() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    sign_in_upstream(
        &s.app,
        &crate::common::browser(),
        &s.stand_in,
        "demo",
        "corp",
        verified(&s.stand_in, "up-ada", "ada@example.com"),
    )
    .await;
    add_user(&s.app, "demo", "bob@example.com");
    let browser = crate::common::browser();
    sign_in(&s.app, &browser, "demo", "bob@example.com", PASSWORD).await;
    let authorization = begin(&s.app, &browser, "demo", "corp", "?link=1").await;
    let claims = verified(&s.stand_in, "up-ada", "ada@example.com")(&authorization);
    s.stand_in
        .answer_code("bob-link", &s.stand_in.key.sign(&claims, "JWT"))
        .await;
    let back = come_back(
        &s.app,
        &browser,
        "demo",
        "corp",
        &[("code", "bob-link"), ("state", &authorization.state)],
    )
    .await;
    assert_eq!(back.status(), 400);
    assert!(
        back.text()
            .await
            .unwrap()
            .contains("already linked to another account")
    );
    assert_eq!(links_of(&s.app, "up-ada").await, 1);
    assert_eq!(
        signed_in_email(&s.app, &browser).await.as_deref(),
        Some("bob@example.com")
    );
}

// ---- second look (review of this change) ----------------------------------

#[tokio::test]
async fn a_user_bound_to_one_directory_does_not_get_in_through_another() {
    let s = setup_with_roles(
        &[&["admin"]],
        &["--auto-link", "on", "--required-for", "role:admin"],
    )
    .await;
    let github_like = StandIn::start().await;
    github_like.register(&s.app, "demo", "other", &["--auto-link", "on"]);
    add_user(&s.app, "demo", "ada@example.com");
    confirm_address(&s.app, "ada@example.com").await;
    s.app.grant_role("demo", "ada@example.com", "admin");
    let browser = crate::common::browser();
    let back = sign_in_upstream(
        &s.app,
        &browser,
        &github_like,
        "demo",
        "other",
        verified(&github_like, "ada-elsewhere", "ada@example.com"),
    )
    .await;
    assert_eq!(back.status(), 400);
    assert!(
        back.text()
            .await
            .unwrap()
            .contains("Sign in to this app through Corp SSO.")
    );
    assert_eq!(signed_in_email(&s.app, &browser).await, None);
}

#[tokio::test]
async fn sign_up_opens_no_session_where_the_directory_is_required() {
    let s = setup(&["--required-for", "everyone"]).await;
    s.app
        .sql("UPDATE app SET self_registration = true WHERE id = 'demo'")
        .await;
    s.app.db.forget_cached();
    let refused = s
        .app
        .call_json(
            &crate::common::browser(),
            oneauth::api::hosted::RegisterWithPassword {
                app_id: "demo".into(),
                email: "new@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await
        .expect_err("no session but through the directory");
    assert_eq!(
        crate::common::refused(&refused),
        "Sign in to this app through Corp SSO."
    );
}

#[tokio::test]
async fn an_operators_grant_of_a_mapped_role_outlives_the_claim_and_removing_the_provider_ends_its_sessions()
 {
    let s = setup_with_roles(
        &[&["admin"], &["auditor"]],
        &[
            "--provisioning",
            "on",
            "--allowed-domains",
            "example.com",
            "--map-role",
            "groups=ops:admin",
            "--map-role",
            "groups=ops:auditor",
        ],
    )
    .await;
    let with_groups = |groups: Value| {
        verified_with(
            &s.stand_in,
            "up-ada",
            "ada@example.com",
            json!({ "groups": groups }),
        )
    };
    sign_in_upstream(
        &s.app,
        &crate::common::browser(),
        &s.stand_in,
        "demo",
        "corp",
        with_groups(json!(["ops"])),
    )
    .await;
    assert_eq!(held_roles(&s.app).await, vec!["admin", "auditor"]);
    // An operator makes admin Ada's own.
    s.app.grant_role("demo", "ada@example.com", "admin");
    let browser = crate::common::browser();
    sign_in_upstream(
        &s.app,
        &browser,
        &s.stand_in,
        "demo",
        "corp",
        with_groups(json!([])),
    )
    .await;
    assert_eq!(
        held_roles(&s.app).await,
        vec!["admin"],
        "the rule took back only its own grant"
    );

    s.app
        .cli(&["provider", "remove", "--app", "demo", "corp"])
        .expect_success();
    assert_eq!(
        signed_in_email(&s.app, &browser).await,
        None,
        "its sessions ended"
    );
    assert_eq!(held_roles(&s.app).await, vec!["admin"]);
}

#[tokio::test]
async fn provisioning_answers_an_unverified_address_the_same_whether_or_not_an_account_has_it() {
    let s = setup(&["--provisioning", "on", "--allowed-domains", "example.com"]).await;
    add_user(&s.app, "demo", "ada@example.com");
    let mut pages = Vec::new();
    for (sub, email) in [
        ("probe-1", "ada@example.com"),
        ("probe-2", "nobody@example.com"),
    ] {
        let back = sign_in_upstream(
            &s.app,
            &crate::common::browser(),
            &s.stand_in,
            "demo",
            "corp",
            |a| s.stand_in.claims(a, sub, email, false),
        )
        .await;
        pages.push((back.status(), location(&back), back.text().await.unwrap()));
    }
    assert_eq!(pages[0], pages[1]);
}

#[tokio::test]
async fn rules_on_claims_a_stranger_can_set_are_refused() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.cli(&["role", "create", "--app", "demo", "admin"])
        .expect_success();
    app.cli_with_stdin(
        &[
            "provider",
            "add",
            "--app",
            "demo",
            "gh",
            "--kind",
            "github",
            "--client-id",
            "x",
            "--client-secret-stdin",
            "--map-role",
            "company=@acme:admin",
        ],
        "s\n",
    )
    .expect_error("a rule may only read login or id");
    app.cli_with_stdin(
        &[
            "provider",
            "add",
            "--app",
            "demo",
            "entra",
            "--kind",
            "entra",
            "--issuer",
            "https://login.microsoftonline.com/organizations/v2.0",
            "--client-id",
            "x",
            "--client-secret-stdin",
            "--map-role",
            "roles=Admin:admin",
        ],
        "s\n",
    )
    .expect_error("multi-tenant");
    app.cli_with_stdin(
        &[
            "provider",
            "add",
            "--app",
            "demo",
            "gh",
            "--kind",
            "github",
            "--client-id",
            "x",
            "--client-secret-stdin",
            "--map-role",
            "login=octocat:admin",
        ],
        "s\n",
    )
    .expect_success();
}
