//! Verified domains (issue 25, point 1): a domain is proved by its DNS TXT
//! record, checked through a stand-in DNS server, or attested by an
//! operator, both audited; a user who confirms an address at a verified
//! domain is offered to join, joins, or nothing, by the organization's
//! policy. Only a *confirmed* address counts.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::console::{Op, demo_with_owner, operator, refusals};
use crate::common::factors::{register, verification_token};
use crate::common::{TestApp, browser, dns, refused};
use oneauth::api::console::orgs::*;
use oneauth::api::hosted::ConfirmEmail;
use oneauth::api::hosted::orgs::{OrgJoin, OrgOffers};

/// A domain no other test (of this binary or the other backend's) uses:
/// the stand-in DNS zone is shared.
fn unique_domain(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{label}-{}-{}.example",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The organization `slug`'s domains and provider, as `by` sees them in the
/// console.
async fn access(app: &TestApp, by: &Op, slug: &str) -> serde_json::Value {
    by.call(
        app,
        ConsoleOrgAccess {
            app_id: "demo".into(),
            slug: slug.into(),
        },
    )
    .await
    .unwrap()
}

fn edit(slug: &str, action: &str, domain: &str) -> ConsoleEditOrgDomain {
    ConsoleEditOrgDomain {
        app_id: "demo".into(),
        slug: slug.into(),
        action: action.into(),
        domain: Some(domain.into()),
        confirmation: None,
        policy: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_proves_a_domain_by_its_txt_record_or_attests_it_and_both_are_audited() {
    let (app, owner) = demo_with_owner().await;
    for slug in ["acme", "globex"] {
        owner
            .call(
                &app,
                ConsoleCreateOrg {
                    app_id: "demo".into(),
                    slug: slug.into(),
                    name: slug.to_uppercase(),
                },
            )
            .await
            .unwrap();
    }
    let domain = unique_domain("acme");
    owner
        .call(&app, edit("acme", "add", &domain))
        .await
        .unwrap();
    // Claimed twice, or not a domain at all: a sentence on the field.
    let twice = owner
        .call(&app, edit("acme", "add", &domain))
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("already claimed"), "{twice}");
    let bad = owner
        .call(&app, edit("acme", "add", "not a domain"))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("is not a domain name"), "{bad}");

    let view = access(&app, &owner, "acme").await;
    let row = &view["domains"][0];
    assert_eq!(row["domain"], domain.as_str());
    assert!(row["verified"].is_null());
    let (name, value) = (
        row["record_name"].as_str().unwrap().to_owned(),
        row["record_value"].as_str().unwrap().to_owned(),
    );
    assert_eq!(name, format!("_oneauth-challenge.{domain}"));
    assert!(value.starts_with("oneauth-domain-verification="), "{value}");

    // Nothing published, then a wrong value: not verified, and the page
    // says which record to publish.
    let missing = owner
        .call(&app, edit("acme", "check", &domain))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains(&name), "{missing}");
    assert!(missing.to_string().contains(&value), "{missing}");
    dns::publish_txt(&name, "oneauth-domain-verification=someone-elses");
    dns::publish_txt(&name, "v=spf1 -all");
    assert!(
        owner
            .call(&app, edit("acme", "check", &domain))
            .await
            .is_err()
    );
    dns::publish_txt(&name, &value);
    owner
        .call(&app, edit("acme", "check", &domain))
        .await
        .unwrap();
    let view = access(&app, &owner, "acme").await;
    assert_eq!(view["domains"][0]["verified_by"], "dns");

    // Another organization of the app cannot have the same domain
    // verified, even with its own record published.
    owner
        .call(&app, edit("globex", "add", &domain))
        .await
        .unwrap();
    let globex = access(&app, &owner, "globex").await;
    dns::publish_txt(
        &name,
        globex["domains"][0]["record_value"].as_str().unwrap(),
    );
    let taken = owner
        .call(&app, edit("globex", "check", &domain))
        .await
        .unwrap_err();
    assert!(
        taken
            .to_string()
            .contains("already verified for another organization"),
        "{taken}"
    );
    let mut attest = edit("globex", "attest", &domain);
    attest.confirmation = Some(domain.clone());
    let taken = owner.call(&app, attest).await.unwrap_err();
    assert!(
        taken.to_string().contains("another organization"),
        "{taken}"
    );

    // An attestation needs the domain typed again, and names its operator.
    let other = unique_domain("globex");
    owner
        .call(&app, edit("globex", "add", &other))
        .await
        .unwrap();
    let mut attest = edit("globex", "attest", &other);
    attest.confirmation = Some("globex.example".into());
    let untyped = owner.call(&app, attest.clone()).await.unwrap_err();
    assert!(
        untyped.to_string().contains(&format!("Type {other}")),
        "{untyped}"
    );
    attest.confirmation = Some(other.to_uppercase());
    owner.call(&app, attest).await.unwrap();

    let events = app.events("demo").await;
    let verified: Vec<_> = events
        .iter()
        .filter(|e| e.action == "org_domain.verified")
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details).unwrap();
            (
                details["domain"].as_str().unwrap().to_owned(),
                details["method"].as_str().unwrap().to_owned(),
                e.actor_label.clone(),
            )
        })
        .collect();
    assert_eq!(
        verified,
        [
            (
                domain.clone(),
                "dns".to_owned(),
                "owner@example.com".to_owned()
            ),
            (
                other.clone(),
                "attested".to_owned(),
                "owner@example.com".to_owned()
            ),
        ]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "org_domain.added")
            .count(),
        3
    );
    // An auditor sees the domains and changes none.
    let auditor = operator(&app, &owner, "auditor@example.com", "auditor").await;
    access(&app, &auditor, "acme").await;
    let error = auditor
        .call(&app, edit("acme", "remove", &domain))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("read-only"), "{error}");
    let error = auditor
        .call(&app, edit("acme", "check", &domain))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("read-only"), "{error}");
    let recorded = refusals(&app).await;
    for attempted in ["org_domain.remove", "org_domain.check"] {
        assert!(
            recorded.iter().any(|r| r["attempted"] == attempted),
            "{attempted}: {recorded:?}"
        );
    }

    // Removing the claim is audited; the policy change too.
    let mut policy = edit("acme", "policy", "");
    policy.policy = Some("sometimes".into());
    let bad = owner.call(&app, policy.clone()).await.unwrap_err();
    assert!(bad.to_string().contains("none, offer or auto"), "{bad}");
    policy.policy = Some("auto".into());
    owner.call(&app, policy).await.unwrap();
    owner
        .call(&app, edit("acme", "remove", &domain))
        .await
        .unwrap();
    let actions = app.actions("demo").await;
    assert!(actions.contains(&"org_domain.removed".to_owned()));
    assert!(actions.contains(&"org.domain_policy_changed".to_owned()));
}

/// Confirm `email`'s address from the link mailed to it, signed in in
/// `browser` (as registering left it).
async fn confirm(app: &TestApp, browser: &reqwest::Client, email: &str) {
    let token = verification_token(app, email).await;
    app.call_json(
        browser,
        ConfirmEmail {
            app_id: "demo".into(),
            token,
        },
    )
    .await
    .unwrap();
}

async fn offers(app: &TestApp, browser: &reqwest::Client) -> Vec<String> {
    app.call_json(
        browser,
        OrgOffers {
            app_id: "demo".into(),
        },
    )
    .await
    .unwrap()
    .as_array()
    .unwrap()
    .iter()
    .map(|o| o["slug"].as_str().unwrap().to_owned())
    .collect()
}

fn org(app: &TestApp, slug: &str, domain: &str, policy: &str) {
    app.cli(&["org", "create", "--app", "demo", slug, "--name", slug])
        .expect_success();
    app.cli(&[
        "org", "domain", "add", "--app", "demo", "--org", slug, domain,
    ])
    .expect_success();
    app.cli(&[
        "org", "domain", "policy", "--app", "demo", "--org", slug, policy,
    ])
    .expect_success();
}

/// The organizations `email` is a member of, by slug.
async fn memberships(app: &TestApp, email: &str) -> Vec<String> {
    let id = crate::common::console::user_id(app, "demo", email).await;
    oneauth::core::orgs::members::of_user(&app.db, &id)
        .await
        .unwrap()
        .into_iter()
        .map(|(org, _)| org.slug)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_address_at_a_verified_domain_is_offered_or_joins_by_the_policy() {
    let (app, _) = crate::common::factors::demo(&["--self-registration"]).await;
    let (offered, automatic, unproved, closed) = (
        unique_domain("offer"),
        unique_domain("auto"),
        unique_domain("unproved"),
        unique_domain("closed"),
    );
    org(&app, "acme", &offered, "offer");
    org(&app, "beta", &automatic, "auto");
    org(&app, "gamma", &unproved, "auto");
    org(&app, "delta", &closed, "none");
    // acme proves its domain through the CLI and the DNS; beta and delta
    // are attested; gamma's claim stays unproved.
    let listed = app
        .cli(&["org", "domain", "list", "--app", "demo", "--org", "acme"])
        .expect_success()
        .stdout;
    let claim: serde_json::Value = serde_json::from_str(listed.lines().nth(1).unwrap()).unwrap();
    app.cli(&[
        "org", "domain", "check", "--app", "demo", "--org", "acme", &offered,
    ])
    .expect_error("No TXT record at _oneauth-challenge.");
    dns::publish_txt(
        claim["txt_name"].as_str().unwrap(),
        claim["txt_value"].as_str().unwrap(),
    );
    app.cli(&[
        "org", "domain", "check", "--app", "demo", "--org", "acme", &offered,
    ])
    .expect_success();
    for (slug, domain) in [("beta", &automatic), ("delta", &closed)] {
        app.cli(&[
            "org", "domain", "attest", "--app", "demo", "--org", slug, domain,
        ])
        .expect_success();
    }

    // Before the address is confirmed, nothing is offered and joining is
    // refused: anyone can type an address at acme's domain.
    let pat = browser();
    let pat_email = format!("pat@{offered}");
    register(&app, &pat, &pat_email).await;
    assert!(offers(&app, &pat).await.is_empty());
    let join = OrgJoin {
        app_id: "demo".into(),
        slug: "acme".into(),
    };
    assert!(app.call_json(&pat, join.clone()).await.is_err());
    assert!(memberships(&app, &pat_email).await.is_empty());

    confirm(&app, &pat, &pat_email).await;
    // "offer": not joined yet, but offered; joining makes a member.
    assert!(memberships(&app, &pat_email).await.is_empty());
    assert_eq!(offers(&app, &pat).await, ["acme"]);
    app.call_json(&pat, join.clone()).await.unwrap();
    assert_eq!(memberships(&app, &pat_email).await, ["acme"]);
    assert!(offers(&app, &pat).await.is_empty());
    assert!(app.call_json(&pat, join).await.is_err(), "joined twice");
    // Another organization's name is not a way in.
    let sneaky = OrgJoin {
        app_id: "demo".into(),
        slug: "delta".into(),
    };
    assert!(app.call_json(&pat, sneaky).await.is_err());

    // "auto": confirming the address joins, in the same write.
    let sam = browser();
    let sam_email = format!("sam@{automatic}");
    register(&app, &sam, &sam_email).await;
    assert!(memberships(&app, &sam_email).await.is_empty());
    confirm(&app, &sam, &sam_email).await;
    assert_eq!(memberships(&app, &sam_email).await, ["beta"]);

    // An unproved claim and the "none" policy give nothing.
    for email in [format!("uma@{unproved}"), format!("cy@{closed}")] {
        let user = browser();
        register(&app, &user, &email).await;
        confirm(&app, &user, &email).await;
        assert!(memberships(&app, &email).await.is_empty(), "{email}");
        assert!(offers(&app, &user).await.is_empty(), "{email}");
    }

    let details = app.actions_with_details("demo").await;
    let joined: Vec<_> = details
        .iter()
        .filter(|(action, d)| action == "membership.added" && d["via"] == "domain")
        .map(|(_, d)| (d["org"].as_str().unwrap(), d["email"].as_str().unwrap()))
        .collect();
    assert_eq!(
        joined,
        [("acme", pat_email.as_str()), ("beta", sam_email.as_str())]
    );
    let (_, confirmed) = details
        .iter()
        .rfind(|(action, d)| action == "email.verified" && d["email"] == sam_email.as_str())
        .unwrap();
    assert_eq!(confirmed["orgs_joined"], serde_json::json!(["beta"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_domain_cli_answers_bad_input_with_a_sentence() {
    let (app, _) = crate::common::factors::demo(&[]).await;
    app.cli(&["org", "create", "--app", "demo", "acme", "--name", "Acme"])
        .expect_success();
    let domain = unique_domain("cli");
    app.cli(&[
        "org", "domain", "add", "--app", "demo", "--org", "acme", "exa mple",
    ])
    .expect_error("is not a domain name");
    app.cli(&[
        "org", "domain", "attest", "--app", "demo", "--org", "acme", &domain,
    ])
    .expect_error("has not claimed the domain");
    app.cli(&[
        "org", "domain", "policy", "--app", "demo", "--org", "acme", "maybe",
    ])
    .expect_error("none, offer or auto");
    app.cli(&[
        "org", "domain", "add", "--app", "demo", "--org", "nope", &domain,
    ])
    .expect_error("There is no organization");
    // An internationalised domain is kept in its one ASCII spelling.
    let added = app
        .cli(&[
            "org",
            "domain",
            "add",
            "--app",
            "demo",
            "--org",
            "acme",
            "Bücher.example",
        ])
        .expect_success()
        .json();
    assert_eq!(added["domain"], "xn--bcher-kva.example");
    app.cli(&[
        "org",
        "domain",
        "add",
        "--app",
        "demo",
        "--org",
        "acme",
        "xn--bcher-kva.example",
    ])
    .expect_error("already claimed");
}
