//! Organizations in the console: operators manage them within their access,
//! the last owner of an organization stays one whoever tries, and two
//! concurrent demotions of its last two owners leave exactly one.

use crate::common::console::{demo_with_owner, operator, refusals, user_id};
use crate::common::{add_user, refused};
use oneauth::api::console::orgs::*;
use oneauth::api::console::users::{ConsoleDeleteUser, ConsoleSetUserActive};

fn roles(names: &[&str]) -> Option<String> {
    Some(names.join(","))
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_manage_organizations_with_paging_and_search() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    for n in 0..53 {
        owner
            .call(
                &app,
                ConsoleCreateOrg {
                    app_id: "demo".into(),
                    slug: format!("org-{n:02}"),
                    name: format!("Organization {n}"),
                },
            )
            .await
            .unwrap();
    }
    let error = owner
        .call(
            &app,
            ConsoleCreateOrg {
                app_id: "demo".into(),
                slug: "org-00".into(),
                name: "Twice".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");

    let first = owner
        .call(
            &app,
            ConsoleOrgs {
                app_id: "demo".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first["total"], 53);
    assert_eq!(first["orgs"].as_array().unwrap().len(), 50);
    assert_eq!(first["next"], "org-49");
    let second = owner
        .call(
            &app,
            ConsoleOrgs {
                app_id: "demo".into(),
                query: None,
                after: Some("org-49".into()),
            },
        )
        .await
        .unwrap();
    let slugs: Vec<&str> = second["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["org-50", "org-51", "org-52"]);
    assert!(second["next"].is_null());
    // Search matches the slug or the name, case-insensitively.
    let found = owner
        .call(
            &app,
            ConsoleOrgs {
                app_id: "demo".into(),
                query: Some("ORGANIZATION 1".into()),
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(found["orgs"].as_array().unwrap().len(), 11, "{found}");

    // Members, renaming, typed deletion.
    owner
        .call(
            &app,
            ConsoleAddOrgMember {
                app_id: "demo".into(),
                slug: "org-07".into(),
                email: "ada@example.com".into(),
                roles: roles(&["admin"]),
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleAddOrgMember {
                app_id: "demo".into(),
                slug: "org-07".into(),
                email: "nobody@example.com".into(),
                roles: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no user"), "{error}");
    owner
        .call(
            &app,
            ConsoleRenameOrg {
                app_id: "demo".into(),
                slug: "org-07".into(),
                name: "Seven".into(),
            },
        )
        .await
        .unwrap();
    let page = owner
        .call(
            &app,
            ConsoleOrgMembers {
                app_id: "demo".into(),
                slug: "org-07".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page["org"]["name"], "Seven");
    assert_eq!(page["members"][0]["email"], "ada@example.com");
    assert_eq!(page["members"][0]["roles"], serde_json::json!(["admin"]));
    let error = owner
        .call(
            &app,
            ConsoleDeleteOrg {
                app_id: "demo".into(),
                slug: "org-07".into(),
                confirmation: "org-7".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("Type the organization's slug"),
        "{error}"
    );
    let said = owner
        .call(
            &app,
            ConsoleDeleteOrg {
                app_id: "demo".into(),
                slug: "org-07".into(),
                confirmation: "org-07".into(),
            },
        )
        .await
        .unwrap();
    assert!(said.as_str().unwrap().contains("1 memberships"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_change_organizations_only_within_their_access() {
    let (app, owner) = demo_with_owner().await;
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
    let auditor = operator(&app, &owner, "auditor@example.com", "auditor").await;
    let listed = auditor
        .call(
            &app,
            ConsoleOrgs {
                app_id: "demo".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    let error = auditor
        .call(
            &app,
            ConsoleCreateOrg {
                app_id: "demo".into(),
                slug: "evil".into(),
                name: "Evil".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("read-only"), "{error}");

    // An admin of another app does not learn that demo exists.
    owner
        .call(
            &app,
            oneauth::api::console::apps::ConsoleCreateApp {
                app_id: "other".into(),
                name: "Other".into(),
            },
        )
        .await
        .unwrap();
    let scoped = operator(&app, &owner, "other-admin@example.com", "admin:other").await;
    let error = scoped
        .call(
            &app,
            ConsoleOrgs {
                app_id: "demo".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no app called"), "{error}");
    let attempts: Vec<_> = refusals(&app)
        .await
        .into_iter()
        .map(|r| r["attempted"].as_str().unwrap().to_owned())
        .collect();
    assert!(attempts.contains(&"org.create".to_owned()), "{attempts:?}");
    assert!(attempts.contains(&"org.list".to_owned()), "{attempts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_org_owner_is_not_demoted_removed_deactivated_or_deleted() {
    let (app, owner) = demo_with_owner().await;
    add_user(&app, "demo", "ada@example.com");
    add_user(&app, "demo", "bob@example.com");
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
    for (email, role) in [("ada@example.com", "owner"), ("bob@example.com", "admin")] {
        owner
            .call(
                &app,
                ConsoleAddOrgMember {
                    app_id: "demo".into(),
                    slug: "acme".into(),
                    email: email.into(),
                    roles: roles(&[role]),
                },
            )
            .await
            .unwrap();
    }
    let ada = user_id(&app, "demo", "ada@example.com").await;
    let attempts = [
        crate::common::ServerCall::of(ConsoleSetOrgMemberRoles {
            app_id: "demo".into(),
            slug: "acme".into(),
            user_id: ada.clone(),
            roles: roles(&["member"]),
        }),
        crate::common::ServerCall::of(ConsoleRemoveOrgMember {
            app_id: "demo".into(),
            slug: "acme".into(),
            user_id: ada.clone(),
        }),
        crate::common::ServerCall::of(ConsoleSetUserActive {
            app_id: "demo".into(),
            user_id: ada.clone(),
            active: false,
            confirmation: None,
        }),
        crate::common::ServerCall::of(ConsoleDeleteUser {
            app_id: "demo".into(),
            user_id: ada.clone(),
            confirmation: None,
        }),
    ];
    for call in attempts {
        let error = owner.send(&app, &call).await.unwrap_err();
        assert!(
            refused(&error).contains("last owner of this organization"),
            "{}: {error}",
            call.path
        );
    }
    let recorded = refusals(&app)
        .await
        .into_iter()
        .filter(|r| {
            r["reason"]
                .as_str()
                .unwrap()
                .contains("last owner of this organization")
        })
        .count();
    assert_eq!(recorded, 4);
    // A deactivated co-owner does not count: Bob made owner, then
    // deactivated, leaves Ada the last active owner.
    let bob = user_id(&app, "demo", "bob@example.com").await;
    owner
        .call(
            &app,
            ConsoleSetOrgMemberRoles {
                app_id: "demo".into(),
                slug: "acme".into(),
                user_id: bob.clone(),
                roles: roles(&["owner"]),
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleSetUserActive {
                app_id: "demo".into(),
                user_id: bob,
                active: false,
                confirmation: None,
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleSetOrgMemberRoles {
                app_id: "demo".into(),
                slug: "acme".into(),
                user_id: ada,
                roles: roles(&["member"]),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("last owner"), "{error}");
}

/// Two operators demote the organization's last two owners at the same
/// instant: the organization's row lock serialises them, so exactly one
/// demotion goes through and one owner is left, every round.
#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_demotions_of_the_last_two_org_owners_one_succeeds() {
    let (app, owner) = demo_with_owner().await;
    let second = operator(&app, &owner, "second@example.com", "owner").await;
    add_user(&app, "demo", "ada@example.com");
    add_user(&app, "demo", "bob@example.com");
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
    for email in ["ada@example.com", "bob@example.com"] {
        owner
            .call(
                &app,
                ConsoleAddOrgMember {
                    app_id: "demo".into(),
                    slug: "acme".into(),
                    email: email.into(),
                    roles: roles(&["owner"]),
                },
            )
            .await
            .unwrap();
    }
    let ada = user_id(&app, "demo", "ada@example.com").await;
    let bob = user_id(&app, "demo", "bob@example.com").await;
    let demote = |user_id: &str| ConsoleSetOrgMemberRoles {
        app_id: "demo".into(),
        slug: "acme".into(),
        user_id: user_id.to_owned(),
        roles: roles(&["member"]),
    };
    for round in 0..6 {
        let (first, other) = tokio::join!(
            owner.call(&app, demote(&ada)),
            second.call(&app, demote(&bob))
        );
        let outcomes = [&first, &other];
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "round {round}: {first:?} {other:?}"
        );
        let failed = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
        assert!(refused(failed).contains("last owner"), "{failed}");
        let page = owner
            .call(
                &app,
                ConsoleOrgMembers {
                    app_id: "demo".into(),
                    slug: "acme".into(),
                    query: None,
                    after: None,
                },
            )
            .await
            .unwrap();
        let owners: Vec<&str> = page["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["roles"].as_array().unwrap().iter().any(|r| r == "owner"))
            .map(|m| m["user_id"].as_str().unwrap())
            .collect();
        assert_eq!(owners.len(), 1, "round {round}: {page}");
        // Make the demoted one an owner again for the next round.
        let demoted = if owners[0] == ada { &bob } else { &ada };
        owner
            .call(
                &app,
                ConsoleSetOrgMemberRoles {
                    app_id: "demo".into(),
                    slug: "acme".into(),
                    user_id: demoted.clone(),
                    roles: roles(&["owner"]),
                },
            )
            .await
            .unwrap();
    }
}
