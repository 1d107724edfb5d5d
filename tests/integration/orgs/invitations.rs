//! Invitations into an organization: e-mailed through the outbox, bound to
//! the invited address, single use, expiring, revocable and resendable; a
//! new address signs up through the link (self-registration off), an
//! existing account signs in as itself, another account is refused.

use super::{members, shop_with_acme};
use crate::common::console::{accept_invitation, demo_with_owner, user_id};
use crate::common::mail::SmtpSink;
use crate::common::{
    PASSWORD, TestApp, add_user, browser, refused, sign_in, spawn_app, spawn_app_with_smtp,
};
use oneauth::api::console::orgs::{
    ConsoleAddOrgMember, ConsoleCreateOrg, ConsoleEditInvitation, ConsoleInviteToOrg,
    ConsoleOrgInvitations,
};
use oneauth::api::hosted::orgs::AcceptOrgInvitation;
use oneauth::api::hosted::{AcceptInvitationWithPassword, LoadInvitation};
use serde_json::json;

fn invite(app: &TestApp, email: &str, role: &str) -> serde_json::Value {
    app.cli(&[
        "org", "invite", "--app", "shop", "--org", "acme", "--email", email, "--role", role,
    ])
    .expect_success()
    .json()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

async fn load(
    app: &TestApp,
    browser: &reqwest::Client,
    token: &str,
) -> Result<serde_json::Value, serde_json::Value> {
    app.call_json(
        browser,
        LoadInvitation {
            app_id: "shop".into(),
            token: token.into(),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_address_signs_up_through_the_link_and_joins() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_smtp(&sink.url()).await;
    shop_with_acme(&app, &[]);
    let sent = invite(&app, "new@example.com", "admin");
    assert_eq!(sent["roles"], json!(["admin"]));
    let mail = sink.wait_for_mail_to("new@example.com").await;
    assert!(mail.subject().contains("Acme Inc."), "{}", mail.subject());
    let link = mail.link(&format!("{}/a/shop/invite/", app.address));
    assert_eq!(
        link,
        sent["link"].as_str().unwrap(),
        "the printed link is the mailed one"
    );
    let token = token_of(&link);

    let browser = browser();
    let view = load(&app, &browser, &token).await.unwrap();
    assert_eq!(view["email"], "new@example.com");
    assert_eq!(view["org"]["org_slug"], "acme");
    assert_eq!(view["org"]["account_exists"], false);
    // Self-registration is off in `shop`: the invitation is the permission.
    let target = app
        .call_json(
            &browser,
            AcceptInvitationWithPassword {
                app_id: "shop".into(),
                token: token.clone(),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(target, "/a/shop/orgs?joined=acme");
    assert_eq!(
        members(&app),
        vec![("new@example.com".to_string(), vec!["admin".to_string()])]
    );
    let user = oneauth::core::users::find_by_email(
        &app.db,
        &oneauth::types::AppId::parse("shop").unwrap(),
        &oneauth::types::Email::parse("new@example.com").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(user.email_verified, "following the link proved the address");
    // Single use.
    let error = load(&app, &crate::common::browser(), &token)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("invalid"), "{error}");
    let actions = app.actions("shop").await;
    for action in [
        "invitation.sent",
        "user.created",
        "membership.added",
        "invitation.accepted",
        "signin.succeeded",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_address_signs_up_with_a_passkey() {
    let app = spawn_app().await;
    shop_with_acme(&app, &[]);
    let sent = invite(&app, "keys@example.com", "member");
    let invitee = accept_invitation(&app, sent["link"].as_str().unwrap()).await;
    assert_eq!(
        members(&app),
        vec![("keys@example.com".to_string(), vec!["member".to_string()])]
    );
    drop(invitee);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_accepts_as_itself_and_no_other() {
    let app = spawn_app().await;
    shop_with_acme(&app, &["bob@example.com", "cy@example.com"]);
    let sent = invite(&app, "bob@example.com", "member");
    let token = token_of(sent["link"].as_str().unwrap());

    // Signed out: the page asks Bob to sign in; setting up a second
    // account for his address is refused.
    let signed_out = browser();
    let view = load(&app, &signed_out, &token).await.unwrap();
    assert_eq!(view["org"]["account_exists"], true);
    assert!(
        view["org"]["sign_in_href"]
            .as_str()
            .unwrap()
            .starts_with("/a/shop/login?return_to=%2Fa%2Fshop%2Finvite%2F")
    );
    let error = app
        .call_json(
            &signed_out,
            AcceptInvitationWithPassword {
                app_id: "shop".into(),
                token: token.clone(),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("already has an account"),
        "{error}"
    );

    // Signed in as Cy: refused, clearly, and nothing is spent.
    let cy = browser();
    sign_in(&app, &cy, "shop", "cy@example.com", PASSWORD).await;
    let view = load(&app, &cy, &token).await.unwrap();
    assert_eq!(view["org"]["signed_in_as"], "cy@example.com");
    let error = app
        .call_json(
            &cy,
            AcceptOrgInvitation {
                app_id: "shop".into(),
                token: token.clone(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        refused(&error).contains(
            "This invitation is for bob@example.com, but you are signed in as cy@example.com"
        ),
        "{error}"
    );
    assert!(members(&app).is_empty());

    // Signed in as Bob: he joins.
    let bob = browser();
    sign_in(&app, &bob, "shop", "bob@example.com", PASSWORD).await;
    let target = app
        .call_json(
            &bob,
            AcceptOrgInvitation {
                app_id: "shop".into(),
                token: token.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(target, "/a/shop/orgs?joined=acme");
    assert_eq!(
        members(&app),
        vec![("bob@example.com".to_string(), vec!["member".to_string()])]
    );
    let error = app
        .call_json(
            &bob,
            AcceptOrgInvitation {
                app_id: "shop".into(),
                token,
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("invalid"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invitations_are_listed_revoked_resent_and_expire() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_smtp(&sink.url()).await;
    let owner = crate::common::console::first_owner(&app).await;
    owner
        .call(
            &app,
            oneauth::api::console::apps::ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleCreateOrg {
                app_id: "demo".into(),
                slug: "acme".into(),
                name: "Acme".into(),
            },
        )
        .await
        .unwrap();
    let invite = |email: &str| ConsoleInviteToOrg {
        app_id: "demo".into(),
        slug: "acme".into(),
        email: email.into(),
        roles: Some("admin".into()),
    };
    let revoked_link = owner.call(&app, invite("one@example.com")).await.unwrap();
    let resent_link = owner.call(&app, invite("two@example.com")).await.unwrap();
    let expiring_link = owner.call(&app, invite("three@example.com")).await.unwrap();
    let listed = owner
        .call(
            &app,
            ConsoleOrgInvitations {
                app_id: "demo".into(),
                slug: "acme".into(),
            },
        )
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let id_of = |email: &str| {
        listed.iter().find(|i| i["email"] == email).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let edit = |id: String, action: &str| ConsoleEditInvitation {
        app_id: "demo".into(),
        slug: "acme".into(),
        invitation_id: id,
        action: action.into(),
    };
    owner
        .call(&app, edit(id_of("one@example.com"), "revoke"))
        .await
        .unwrap();
    owner
        .call(&app, edit(id_of("two@example.com"), "resend"))
        .await
        .unwrap();

    let check = async |link: &serde_json::Value| {
        let token = token_of(link.as_str().unwrap());
        app.call_json(
            &browser(),
            LoadInvitation {
                app_id: "demo".into(),
                token,
            },
        )
        .await
    };
    assert!(
        check(&revoked_link).await.is_err(),
        "a revoked link stops working"
    );
    assert!(
        check(&resent_link).await.is_err(),
        "a resent invitation's old link stops working"
    );
    let mut to_two: Vec<String> = Vec::new();
    for _ in 0..400 {
        to_two = sink
            .messages()
            .iter()
            .filter(|m| m.rcpt_tos.iter().any(|to| to == "two@example.com"))
            .map(|m| m.link(&format!("{}/a/demo/invite/", app.address)))
            .collect();
        if to_two.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(to_two.len(), 2, "sent, then sent again");
    let resent = to_two
        .into_iter()
        .find(|link| link != resent_link.as_str().unwrap())
        .expect("a new link");
    assert!(check(&json!(resent)).await.is_ok(), "the resent link works");
    // The revoked one is no longer listed; the resent one is, once.
    let listed = owner
        .call(
            &app,
            ConsoleOrgInvitations {
                app_id: "demo".into(),
                slug: "acme".into(),
            },
        )
        .await
        .unwrap();
    let emails: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{listed}");
    assert!(emails.contains(&"two@example.com") && emails.contains(&"three@example.com"));
    assert!(check(&expiring_link).await.is_ok());
    app.advance_clock(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    assert!(
        check(&expiring_link).await.is_err(),
        "seven days later it has expired"
    );
    let actions = app.actions("demo").await;
    assert!(actions.iter().any(|a| a == "invitation.revoked"));
    assert_eq!(
        actions.iter().filter(|a| *a == "invitation.sent").count(),
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_to_a_member_is_refused_and_operators_see_the_sentence() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    owner
        .call(
            &app,
            ConsoleCreateOrg {
                app_id: "demo".into(),
                slug: "acme".into(),
                name: "Acme".into(),
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleAddOrgMember {
                app_id: "demo".into(),
                slug: "acme".into(),
                email: "ada@example.com".into(),
                roles: None,
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleInviteToOrg {
                app_id: "demo".into(),
                slug: "acme".into(),
                email: "ada@example.com".into(),
                roles: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("already a member"), "{error}");
    let error = owner
        .call(
            &app,
            ConsoleInviteToOrg {
                app_id: "demo".into(),
                slug: "acme".into(),
                email: "not an address".into(),
                roles: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not a valid e-mail"), "{error}");
    let _ = user_id(&app, "demo", "ada@example.com").await;
}

/// Two acceptances of one invitation at the same instant: the row's lock
/// lets exactly one through.
#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_accepted_twice_at_once_is_spent_once() {
    let app = spawn_app().await;
    shop_with_acme(&app, &["bob@example.com"]);
    let sent = invite(&app, "bob@example.com", "member");
    let token = token_of(sent["link"].as_str().unwrap());
    let (first, second) = (browser(), browser());
    sign_in(&app, &first, "shop", "bob@example.com", PASSWORD).await;
    sign_in(&app, &second, "shop", "bob@example.com", PASSWORD).await;
    let accept = || AcceptOrgInvitation {
        app_id: "shop".into(),
        token: token.clone(),
    };
    let (a, b) = tokio::join!(
        app.call_json(&first, accept()),
        app.call_json(&second, accept())
    );
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(members(&app).len(), 1);
    let accepted = app
        .actions("shop")
        .await
        .into_iter()
        .filter(|a| a == "invitation.accepted")
        .count();
    assert_eq!(accepted, 1);
}
