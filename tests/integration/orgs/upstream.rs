//! An organization that requires an upstream provider (issue 25, point 3):
//! its invitations are accepted through that provider only. The provider
//! may create the invited account (its provisioning off, self-registration
//! off: the invitation is the permission) only for the very address
//! invited, verified upstream; the membership is created in the write that
//! signs in. A password, a passkey or another account gets nothing.

use serde_json::{Value, json};

use super::shop_with_acme;
use crate::common::upstream::{StandIn, location, sign_in_upstream, sign_in_upstream_with};
use crate::common::{PASSWORD, TestApp, add_user, browser, refused, sign_in, spawn_app};
use oneauth::api::hosted::orgs::AcceptOrgInvitation;
use oneauth::api::hosted::{AcceptInvitationWithPassword, LoadInvitation};

fn invite(app: &TestApp, email: &str, role: &str) -> String {
    let sent = app
        .cli(&[
            "org", "invite", "--app", "shop", "--org", "acme", "--email", email, "--role", role,
        ])
        .expect_success()
        .json();
    sent["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// Accept the invitation `token` through the provider `slug` (the
/// stand-in `stand_in`), which answers with `email` (verified or not) for
/// `sub`.
#[allow(clippy::too_many_arguments)]
async fn invited_through(
    app: &TestApp,
    stand_in: &StandIn,
    slug: &str,
    browser: &reqwest::Client,
    token: &str,
    sub: &str,
    email: &str,
    verified: bool,
) -> reqwest::Response {
    let query = format!("?invitation={token}&return_to=/a/shop/invite/{token}");
    sign_in_upstream_with(
        app,
        browser,
        stand_in,
        "shop",
        slug,
        &query,
        |authorization| stand_in.claims(authorization, sub, email, verified),
    )
    .await
}

/// [`invited_through`] the organization's own provider, `corp`.
async fn through_provider(
    app: &TestApp,
    stand_in: &StandIn,
    browser: &reqwest::Client,
    token: &str,
    sub: &str,
    email: &str,
    verified: bool,
) -> reqwest::Response {
    invited_through(app, stand_in, "corp", browser, token, sub, email, verified).await
}

async fn memberships(app: &TestApp, email: &str) -> Vec<(String, Vec<String>)> {
    let Some(user) = oneauth::core::users::find_by_email(
        &app.db,
        &oneauth::types::AppId::parse("shop").unwrap(),
        &oneauth::types::Email::parse(email).unwrap(),
    )
    .await
    .unwrap() else {
        return Vec::new();
    };
    oneauth::core::orgs::members::of_user(&app.db, &user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(org, m)| (org.slug, oneauth::core::orgs::members::roles_of(&m)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_bound_to_a_provider_takes_its_invitations_through_it_only() {
    let app = spawn_app().await;
    shop_with_acme(&app, &["bob@example.com"]);
    let stand_in = StandIn::start().await;
    // Neither provisioning nor self-registration: only the invitation lets
    // an account be created.
    stand_in.register(&app, "shop", "corp", &[]);
    app.cli(&[
        "org",
        "require-provider",
        "--app",
        "shop",
        "--org",
        "acme",
        "nope",
    ])
    .expect_error("no sign-in provider \"nope\"");
    app.cli(&[
        "org",
        "require-provider",
        "--app",
        "shop",
        "--org",
        "acme",
        "corp",
    ])
    .expect_success();
    let token = invite(&app, "new@example.com", "admin");

    // The page offers the provider, and nothing else.
    let visitor = browser();
    let shown = app
        .call_json(
            &visitor,
            LoadInvitation {
                app_id: "shop".into(),
                token: token.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(shown["password_allowed"], false, "{shown}");
    assert_eq!(shown["passkey_allowed"], false, "{shown}");
    assert_eq!(shown["org"]["provider"][0], "Corp SSO");
    let href = shown["org"]["provider"][1].as_str().unwrap();
    assert!(
        href.starts_with(&format!("/a/shop/upstream/corp/start?invitation={token}")),
        "{href}"
    );
    // A password does not set the invited account up.
    let error = app
        .call_json(
            &visitor,
            AcceptInvitationWithPassword {
                app_id: "shop".into(),
                token: token.clone(),
                password: "a long enough passphrase".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        refused(&error).contains("accepts its members through Corp SSO"),
        "{error}"
    );
    assert!(memberships(&app, "new@example.com").await.is_empty());

    // The provider vouches for another address, or for the invited one
    // without verifying it: no account, the invitation still pending.
    let other = through_provider(
        &app,
        &stand_in,
        &browser(),
        &token,
        "u-eve",
        "eve@example.com",
        true,
    )
    .await;
    assert_ne!(other.status(), 303);
    assert!(
        other
            .text()
            .await
            .unwrap()
            .contains("This invitation is for new@example.com"),
    );
    let unverified = through_provider(
        &app,
        &stand_in,
        &browser(),
        &token,
        "u-new",
        "new@example.com",
        false,
    )
    .await;
    assert_ne!(unverified.status(), 303);
    assert!(
        oneauth::core::users::find_by_email(
            &app.db,
            &oneauth::types::AppId::parse("shop").unwrap(),
            &oneauth::types::Email::parse("new@example.com").unwrap(),
        )
        .await
        .unwrap()
        .is_none()
    );

    // Another provider of the app vouching for the very address does not
    // do: the organization takes its members through Corp SSO.
    let other_provider = StandIn::start().await;
    other_provider.register(&app, "shop", "other", &[]);
    let through_other = invited_through(
        &app,
        &other_provider,
        "other",
        &browser(),
        &token,
        "o-new",
        "new@example.com",
        true,
    )
    .await;
    assert_ne!(through_other.status(), 303);
    assert!(
        through_other
            .text()
            .await
            .unwrap()
            .contains("through Corp SSO"),
        "the page names the provider to use"
    );

    // The invited address, verified: the account, its link, the
    // membership, in one write; the browser lands in the organization.
    let invitee = browser();
    let back = through_provider(
        &app,
        &stand_in,
        &invitee,
        &token,
        "u-new",
        "new@example.com",
        true,
    )
    .await;
    assert_eq!(back.status(), 303);
    assert!(
        location(&back).starts_with("/a/shop/orgs?joined=acme"),
        "{}",
        location(&back)
    );
    assert_eq!(
        memberships(&app, "new@example.com").await,
        [("acme".to_owned(), vec!["admin".to_owned()])]
    );
    assert_eq!(
        app.account(&invitee, "shop").await.unwrap()["email"],
        "new@example.com"
    );
    let events = app.actions_with_details("shop").await;
    let linked = events
        .iter()
        .find(|(a, d)| a == "upstream.linked" && d["upstream_email"] == "new@example.com")
        .expect("the link is recorded");
    assert_eq!(linked.1["how"], "invitation");
    assert!(
        events
            .iter()
            .any(|(a, d)| a == "invitation.accepted" && d["email"] == "new@example.com")
    );
    // Spent: the link does not work twice.
    let again = through_provider(
        &app,
        &stand_in,
        &browser(),
        &token,
        "u-new",
        "new@example.com",
        true,
    )
    .await;
    assert_eq!(again.status(), 303, "the linked account still signs in");
    assert!(
        !location(&again).contains("joined="),
        "{}",
        location(&again)
    );
    let reasons: Vec<Value> = events
        .iter()
        .filter(|(a, _)| a == "signin.failed")
        .map(|(_, d)| d["reason"].clone())
        .collect();
    assert!(
        reasons.contains(&json!("invitation_for_another_address")),
        "{reasons:?}"
    );
    assert!(reasons.contains(&json!("unverified_email")), "{reasons:?}");

    // An existing account signed in with its password is not enough.
    let bob_token = invite(&app, "bob@example.com", "member");
    let bob = browser();
    sign_in(&app, &bob, "shop", "bob@example.com", PASSWORD).await;
    let error = app
        .call_json(
            &bob,
            AcceptOrgInvitation {
                app_id: "shop".into(),
                token: bob_token.clone(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("through Corp SSO"), "{error}");
    assert!(memberships(&app, "bob@example.com").await.is_empty());

    // Without the requirement, the password account may accept.
    app.cli(&[
        "org",
        "require-provider",
        "--app",
        "shop",
        "--org",
        "acme",
        "none",
    ])
    .expect_success();
    app.call_json(
        &bob,
        AcceptOrgInvitation {
            app_id: "shop".into(),
            token: bob_token,
        },
    )
    .await
    .unwrap();
    assert_eq!(memberships(&app, "bob@example.com").await.len(), 1);
    let changes: Vec<Value> = app
        .actions_with_details("shop")
        .await
        .into_iter()
        .filter(|(a, _)| a == "org.provider_required")
        .map(|(_, d)| json!([d["before"], d["after"]]))
        .collect();
    assert_eq!(changes, [json!([null, "corp"]), json!(["corp", null])]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_accepts_through_the_provider_and_deleting_it_unbinds_the_org() {
    let app = spawn_app().await;
    shop_with_acme(&app, &[]);
    add_user(&app, "shop", "carol@example.com");
    app.sql(
        "UPDATE app_user SET email_verified = true WHERE app_id = 'shop' AND email = 'carol@example.com'",
    )
    .await;
    let stand_in = StandIn::start().await;
    stand_in.register(&app, "shop", "corp", &["--auto-link", "on"]);
    app.cli(&[
        "org",
        "require-provider",
        "--app",
        "shop",
        "--org",
        "acme",
        "corp",
    ])
    .expect_success();
    let token = invite(&app, "carol@example.com", "member");
    // Both sides confirmed the address: the identity links to carol's
    // account, and the invitation is spent in the same write.
    let browser = browser();
    let back = through_provider(
        &app,
        &stand_in,
        &browser,
        &token,
        "u-carol",
        "carol@example.com",
        true,
    )
    .await;
    assert_eq!(back.status(), 303);
    assert!(
        location(&back).starts_with("/a/shop/orgs?joined=acme"),
        "{}",
        location(&back)
    );
    assert_eq!(
        memberships(&app, "carol@example.com").await,
        [("acme".to_owned(), vec!["member".to_owned()])]
    );

    app.cli(&["provider", "remove", "--app", "shop", "corp"])
        .expect_success();
    let org = oneauth::core::orgs::find_by_slug(
        &app.db,
        &oneauth::types::AppId::parse("shop").unwrap(),
        &oneauth::types::OrgSlug::parse("acme").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(org.required_provider_id, None);
    let (_, deleted) = app
        .actions_with_details("shop")
        .await
        .into_iter()
        .rfind(|(a, _)| a == "provider.deleted")
        .unwrap();
    assert_eq!(deleted["orgs_unbound"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_bound_organization_is_not_joined_by_its_domain_with_a_mailbox_alone() {
    use oneauth::api::hosted::orgs::{OrgJoin, OrgOffers};
    let app = spawn_app().await;
    shop_with_acme(&app, &["pat@corp.example"]);
    let stand_in = StandIn::start().await;
    stand_in.register(
        &app,
        "shop",
        "corp",
        &["--provisioning", "on", "--allowed-domains", "corp.example"],
    );
    for args in [
        vec![
            "org",
            "require-provider",
            "--app",
            "shop",
            "--org",
            "acme",
            "corp",
        ],
        vec![
            "org",
            "domain",
            "add",
            "--app",
            "shop",
            "--org",
            "acme",
            "corp.example",
        ],
        vec![
            "org",
            "domain",
            "attest",
            "--app",
            "shop",
            "--org",
            "acme",
            "corp.example",
        ],
        vec![
            "org", "domain", "policy", "--app", "shop", "--org", "acme", "offer",
        ],
    ] {
        app.cli(&args).expect_success();
    }
    // Pat's address at corp.example is confirmed, but Pat signs in with a
    // password: someone the directory removed keeps a mailbox for a while.
    app.sql(
        "UPDATE app_user SET email_verified = true WHERE app_id = 'shop' AND email = 'pat@corp.example'",
    )
    .await;
    let pat = browser();
    sign_in(&app, &pat, "shop", "pat@corp.example", PASSWORD).await;
    let offers = app
        .call_json(
            &pat,
            OrgOffers {
                app_id: "shop".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(offers, json!([]));
    let join = OrgJoin {
        app_id: "shop".into(),
        slug: "acme".into(),
    };
    assert!(app.call_json(&pat, join).await.is_err());
    assert!(memberships(&app, "pat@corp.example").await.is_empty());

    // Through the directory (provisioned, linked), the same domain joins
    // automatically under "auto".
    app.cli(&[
        "org", "domain", "policy", "--app", "shop", "--org", "acme", "auto",
    ])
    .expect_success();
    let back = sign_in_upstream(
        &app,
        &browser(),
        &stand_in,
        "shop",
        "corp",
        |authorization| stand_in.claims(authorization, "u-quinn", "quinn@corp.example", true),
    )
    .await;
    assert_eq!(back.status(), 303);
    assert_eq!(
        memberships(&app, "quinn@corp.example").await,
        [("acme".to_owned(), vec!["member".to_owned()])]
    );
}
