//! Organizations inside an app (issue 25): the CLI, the console, and the
//! per-organization guardrails under concurrency, on SQLite and PostgreSQL.

mod cli;
mod console;
mod domains;
mod invitations;
mod members;
mod tokens;
mod upstream;

use crate::common::{TestApp, add_user};

/// The app `shop` with the users `emails` (password sign-in) and the
/// organization `acme`, through the CLI; what `app create` printed.
pub fn shop_with_acme(app: &TestApp, emails: &[&str]) -> serde_json::Value {
    let created = app.create_app("shop", "Shop");
    for email in emails {
        add_user(app, "shop", email);
    }
    app.cli(&[
        "org",
        "create",
        "--app",
        "shop",
        "acme",
        "--name",
        "Acme Inc.",
    ])
    .expect_success();
    created
}

/// `oneauth org member add` with `roles`.
pub fn add_member(app: &TestApp, email: &str, roles: &[&str]) {
    let mut args = vec![
        "org", "member", "add", "--app", "shop", "--org", "acme", "--email", email,
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    app.cli(&args).expect_success();
}

/// The members of `acme` as `oneauth org member list` prints them: (e-mail, roles).
pub fn members(app: &TestApp) -> Vec<(String, Vec<String>)> {
    app.cli(&["org", "member", "list", "--app", "shop", "--org", "acme"])
        .expect_success()
        .stdout
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let roles = row["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            (row["email"].as_str().unwrap().to_owned(), roles)
        })
        .collect()
}
