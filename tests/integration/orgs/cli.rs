//! `oneauth org …`: organizations, members, custom roles and teams from
//! the shell, every change audited, every refusal one sentence.

use super::{add_member, members, shop_with_acme};
use crate::common::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_manages_organizations_members_roles_and_teams() {
    let app = spawn_app().await;
    shop_with_acme(
        &app,
        &["ada@example.com", "bob@example.com", "cy@example.com"],
    );
    let created = app
        .cli(&[
            "org", "create", "--app", "shop", "globex", "--name", "Globex",
        ])
        .expect_success()
        .json();
    assert_eq!(created["slug"], "globex");
    app.cli(&["org", "create", "--app", "shop", "acme", "--name", "Again"])
        .expect_error("already exists");
    app.cli(&[
        "org",
        "create",
        "--app",
        "shop",
        "Not A Slug",
        "--name",
        "X",
    ])
    .expect_error("not a valid organization slug");
    app.cli(&["org", "create", "--app", "nowhere", "x1", "--name", "X"])
        .expect_error("nowhere");

    add_member(&app, "ada@example.com", &["owner"]);
    add_member(&app, "bob@example.com", &[]);
    app.cli(&[
        "org",
        "member",
        "add",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "bob@example.com",
    ])
    .expect_error("already a member");
    app.cli(&[
        "org",
        "member",
        "add",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "cy@example.com",
        "--role",
        "billing",
    ])
    .expect_error("no organization role \"billing\"");
    app.cli(&[
        "org",
        "role",
        "create",
        "--app",
        "shop",
        "billing",
        "--require-passkey",
        "--max-auth-age",
        "600",
    ])
    .expect_success();
    app.cli(&["org", "role", "create", "--app", "shop", "admin"])
        .expect_error("built-in");
    add_member(&app, "cy@example.com", &["billing", "member"]);
    app.cli(&[
        "org",
        "member",
        "role",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "bob@example.com",
        "--role",
        "admin",
    ])
    .expect_success();
    assert_eq!(
        members(&app),
        vec![
            ("ada@example.com".into(), vec!["owner".into()]),
            ("bob@example.com".into(), vec!["admin".into()]),
            (
                "cy@example.com".into(),
                vec!["billing".into(), "member".into()]
            ),
        ]
    );

    // Teams: only members of the organization join them.
    app.cli(&[
        "org", "team", "create", "--app", "shop", "--org", "acme", "Platform",
    ])
    .expect_success();
    app.cli(&[
        "org", "team", "create", "--app", "shop", "--org", "acme", "Platform",
    ])
    .expect_error("already exists");
    app.cli(&[
        "org",
        "team",
        "add",
        "--app",
        "shop",
        "--org",
        "acme",
        "--team",
        "Platform",
        "--email",
        "bob@example.com",
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
        "ada@example.com",
    ])
    .expect_success();
    app.cli(&[
        "org",
        "team",
        "add",
        "--app",
        "shop",
        "--org",
        "globex",
        "--team",
        "Platform",
        "--email",
        "ada@example.com",
    ])
    .expect_error("no such team");

    // Deleting a custom role takes it from its holders.
    app.cli(&["org", "role", "delete", "--app", "shop", "billing"])
        .expect_success();
    assert_eq!(members(&app)[2].1, vec!["member".to_string()]);

    // Removing a member takes them out of the organization's teams too.
    app.cli(&[
        "org",
        "member",
        "remove",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "bob@example.com",
    ])
    .expect_success();
    let events = app.actions_with_details("shop").await;
    let removed = events
        .iter()
        .find(|(a, _)| a == "membership.removed")
        .unwrap();
    assert_eq!(removed.1["teams_left"], 1);

    // Deletion needs the slug typed again, and says what went with it.
    app.cli(&["org", "delete", "--app", "shop", "acme", "--confirm", "acm"])
        .expect_error("--confirm");
    let deleted = app
        .cli(&[
            "org",
            "delete",
            "--app",
            "shop",
            "acme",
            "--confirm",
            "acme",
        ])
        .expect_success();
    assert!(
        deleted.stdout.contains("2 memberships"),
        "{}",
        deleted.stdout
    );
    let listed = app
        .cli(&["org", "list", "--app", "shop"])
        .expect_success()
        .stdout;
    assert!(
        !listed.contains("\"acme\"") && listed.contains("\"globex\""),
        "{listed}"
    );

    let events = app.actions_with_details("shop").await;
    let deleted = events.iter().find(|(a, _)| a == "org.deleted").unwrap();
    assert_eq!(deleted.1["removed"]["memberships"], 2);
    assert_eq!(deleted.1["removed"]["teams"], 1);
    assert_eq!(deleted.1["before"]["slug"], "acme");
    for action in [
        "org.created",
        "membership.added",
        "membership.role_changed",
        "membership.removed",
        "org_role.created",
        "org_role.deleted",
        "team.created",
        "team.member_added",
        "org.deleted",
    ] {
        assert!(events.iter().any(|(a, _)| a == action), "{action}");
    }
    app.cli(&["audit", "verify", "--app", "shop"])
        .expect_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_org_owner_stays_an_owner_from_the_cli() {
    let app = spawn_app().await;
    shop_with_acme(&app, &["ada@example.com", "bob@example.com"]);
    add_member(&app, "ada@example.com", &["owner"]);
    add_member(&app, "bob@example.com", &["admin"]);
    app.cli(&[
        "org",
        "member",
        "role",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "ada@example.com",
        "--role",
        "admin",
    ])
    .expect_error("last owner of this organization");
    app.cli(&[
        "org",
        "member",
        "remove",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "ada@example.com",
    ])
    .expect_error("last owner of this organization");
    // With a second owner, the first may step down.
    app.cli(&[
        "org",
        "member",
        "role",
        "--app",
        "shop",
        "--org",
        "acme",
        "--email",
        "bob@example.com",
        "--role",
        "owner",
    ])
    .expect_success();
    app.cli(&[
        "org",
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
    ])
    .expect_success();
    assert_eq!(
        members(&app),
        vec![
            ("ada@example.com".into(), vec!["member".into()]),
            ("bob@example.com".into(), vec!["owner".into()]),
        ]
    );
}
