//! The member-facing organization pages' server functions: a member sees
//! only their own organizations; owners and admins manage members,
//! invitations and teams up to their own level; the last owner stays one;
//! changing one's own access needs a recent sign-in.

use super::{add_member, members, shop_with_acme};
use crate::common::console::user_id;
use crate::common::{PASSWORD, TestApp, browser, refused, sign_in, spawn_app};
use oneauth::api::hosted::ReauthenticateWithPassword;
use oneauth::api::hosted::orgs::*;
use serde_json::json;

async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = browser();
    sign_in(app, &browser, "shop", email, PASSWORD).await;
    browser
}

fn set_roles(user_id: &str, roles: &str) -> OrgSetMemberRoles {
    OrgSetMemberRoles {
        app_id: "shop".into(),
        slug: "acme".into(),
        user_id: user_id.into(),
        roles: Some(roles.into()),
    }
}

fn remove(user_id: &str) -> OrgRemoveMember {
    OrgRemoveMember {
        app_id: "shop".into(),
        slug: "acme".into(),
        user_id: user_id.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_of_one_organization_sees_nothing_of_another() {
    let app = spawn_app().await;
    shop_with_acme(&app, &["ada@example.com", "bob@example.com"]);
    add_member(&app, "ada@example.com", &["owner"]);
    app.cli(&[
        "org", "create", "--app", "shop", "globex", "--name", "Globex",
    ])
    .expect_success();
    app.cli(&[
        "org",
        "member",
        "add",
        "--app",
        "shop",
        "--org",
        "globex",
        "--email",
        "bob@example.com",
        "--role",
        "owner",
    ])
    .expect_success();
    app.cli(&[
        "org",
        "team",
        "create",
        "--app",
        "shop",
        "--org",
        "globex",
        "Secret team",
    ])
    .expect_success();
    let ada = signed_in(&app, "ada@example.com").await;
    let mine = app
        .call_json(
            &ada,
            MyOrgs {
                app_id: "shop".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        mine,
        json!([{ "slug": "acme", "name": "Acme Inc.", "roles": ["owner"] }])
    );
    let view = |slug: &str| OrgView {
        app_id: "shop".into(),
        slug: slug.into(),
        query: None,
        after: None,
    };
    let seen = app.call_json(&ada, view("acme")).await.unwrap();
    assert_eq!(seen["members"][0]["email"], "ada@example.com");
    assert_eq!(seen["manages"], true);
    // Globex exists; to Ada it looks exactly like an organization that does not.
    let other = app.call_json(&ada, view("globex")).await.unwrap_err();
    let none = app.call_json(&ada, view("nowhere")).await.unwrap_err();
    assert_eq!(
        other.to_string().replace("globex", "X"),
        none.to_string().replace("nowhere", "X")
    );
    assert!(!other.to_string().contains("Secret"), "{other}");
    // Nor may she change anything in it.
    let bob = user_id(&app, "shop", "bob@example.com").await;
    let error = app
        .call_json(
            &ada,
            OrgSetMemberRoles {
                app_id: "shop".into(),
                slug: "globex".into(),
                user_id: bob,
                roles: Some("member".into()),
            },
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not a member of an organization"),
        "{error}"
    );
    // Signed out: nothing at all.
    let error = app
        .call_json(
            &browser(),
            MyOrgs {
                app_id: "shop".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("SignInRequired"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_and_admins_manage_up_to_their_own_level() {
    let app = spawn_app().await;
    shop_with_acme(
        &app,
        &[
            "ada@example.com",
            "bob@example.com",
            "cy@example.com",
            "dee@example.com",
        ],
    );
    add_member(&app, "ada@example.com", &["owner"]);
    add_member(&app, "bob@example.com", &["admin"]);
    add_member(&app, "cy@example.com", &["member"]);
    add_member(&app, "dee@example.com", &["member"]);
    let (ada, cy, dee) = (
        user_id(&app, "shop", "ada@example.com").await,
        user_id(&app, "shop", "cy@example.com").await,
        user_id(&app, "shop", "dee@example.com").await,
    );
    let bob_browser = signed_in(&app, "bob@example.com").await;
    let cy_browser = signed_in(&app, "cy@example.com").await;

    // A plain member manages nothing.
    let error = app
        .call_json(&cy_browser, set_roles(&dee, "admin"))
        .await
        .unwrap_err();
    assert!(
        refused(&error).contains("Only the organization's owners and admins"),
        "{error}"
    );
    let view = app
        .call_json(
            &cy_browser,
            OrgView {
                app_id: "shop".into(),
                slug: "acme".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(view["manages"], false);
    assert_eq!(view["invitations"], json!([]));

    // An admin grants up to admin, never owner, and cannot touch an owner.
    app.call_json(&bob_browser, set_roles(&dee, "admin"))
        .await
        .unwrap();
    let error = app
        .call_json(&bob_browser, set_roles(&dee, "owner"))
        .await
        .unwrap_err();
    assert!(
        refused(&error).contains("cannot grant the organization role \"owner\""),
        "{error}"
    );
    let error = app
        .call_json(&bob_browser, set_roles(&ada, "member"))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own"), "{error}");
    let error = app.call_json(&bob_browser, remove(&ada)).await.unwrap_err();
    assert!(refused(&error).contains("above your own"), "{error}");
    let invite = |roles: &str| OrgInvite {
        app_id: "shop".into(),
        slug: "acme".into(),
        email: "new@example.com".into(),
        roles: Some(roles.into()),
    };
    let error = app
        .call_json(&bob_browser, invite("owner"))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("\"owner\""), "{error}");
    app.call_json(&bob_browser, invite("admin")).await.unwrap();
    app.call_json(&bob_browser, remove(&cy)).await.unwrap();

    // Teams: an admin makes one and puts members in it; not outsiders.
    app.call_json(
        &bob_browser,
        OrgEditTeam {
            app_id: "shop".into(),
            slug: "acme".into(),
            action: "create".into(),
            team_id: None,
            name: Some("Ops".into()),
            user_id: None,
        },
    )
    .await
    .unwrap();
    let view = app
        .call_json(
            &bob_browser,
            OrgView {
                app_id: "shop".into(),
                slug: "acme".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    let team = view["teams"][0]["id"].as_str().unwrap().to_owned();
    let add = |user: &str| OrgEditTeam {
        app_id: "shop".into(),
        slug: "acme".into(),
        action: "add".into(),
        team_id: Some(team.clone()),
        name: None,
        user_id: Some(user.into()),
    };
    app.call_json(&bob_browser, add(&dee)).await.unwrap();
    let error = app.call_json(&bob_browser, add(&cy)).await.unwrap_err();
    assert!(error.to_string().contains("not a member"), "{error}");
    assert_eq!(view["invitations"][0]["email"], "new@example.com");
    assert_eq!(view["grantable"], json!(["admin", "member"]));

    assert_eq!(
        members(&app),
        vec![
            ("ada@example.com".into(), vec!["owner".into()]),
            ("bob@example.com".into(), vec!["admin".into()]),
            ("dee@example.com".into(), vec!["admin".into()]),
        ]
    );
    let actions = app.actions("shop").await;
    for action in [
        "membership.role_changed",
        "membership.removed",
        "invitation.sent",
        "team.created",
        "team.member_added",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_ones_own_access_needs_a_recent_sign_in_and_the_last_owner_stays() {
    let app = spawn_app().await;
    shop_with_acme(&app, &["ada@example.com", "eve@example.com"]);
    add_member(&app, "ada@example.com", &["owner"]);
    let ada = user_id(&app, "shop", "ada@example.com").await;
    let browser = signed_in(&app, "ada@example.com").await;
    // The last owner cannot step down or leave, fresh or not.
    let error = app
        .call_json(&browser, set_roles(&ada, "member"))
        .await
        .unwrap_err();
    assert!(refused(&error).contains("last owner"), "{error}");
    let error = app.call_json(&browser, remove(&ada)).await.unwrap_err();
    assert!(refused(&error).contains("last owner"), "{error}");

    add_member(&app, "eve@example.com", &["owner"]);
    app.advance_clock(chrono::Duration::minutes(6));
    let error = app
        .call_json(&browser, set_roles(&ada, "member"))
        .await
        .unwrap_err();
    assert!(
        error["ReauthRequired"]
            .as_str()
            .unwrap()
            .contains("recent sign-in"),
        "{error}"
    );
    let error = app.call_json(&browser, remove(&ada)).await.unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");
    app.call_json(
        &browser,
        ReauthenticateWithPassword {
            app_id: "shop".into(),
            password: PASSWORD.into(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    app.call_json(&browser, set_roles(&ada, "admin"))
        .await
        .unwrap();
    app.call_json(&browser, remove(&ada)).await.unwrap();
    assert_eq!(
        members(&app),
        vec![("eve@example.com".into(), vec!["owner".into()])]
    );
    let events = app.actions_with_details("shop").await;
    let left = events
        .iter()
        .find(|(a, _)| a == "membership.removed")
        .unwrap();
    assert_eq!(left.1["self"], true);
}
