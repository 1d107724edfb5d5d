//! The `oneauth` CLI contract of DESIGN.md, through the real binary.

use crate::common;

use common::spawn_app;
use oneauth::entities::{app_user, oauth_client, password_credential, role, role_assignment};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

#[tokio::test(flavor = "multi_thread")]
async fn app_create_prints_the_contract_json() {
    let app = spawn_app().await;
    let out = app.create_app("demo", "Demo");
    assert_eq!(out["app_id"], "demo");
    assert_eq!(out["issuer"], format!("{}/a/demo", app.address));
    let client_id = out["client_id"].as_str().expect("a client_id");
    assert!(
        out.get("client_secret").is_none(),
        "a public client has no secret"
    );

    let client = oauth_client::Entity::find_by_id(client_id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the client is stored");
    assert_eq!(client.app_id, "demo");
    assert_eq!(client.client_type, oneauth::types::ClientType::Public);
    assert_eq!(client.redirect_uris, r#"["http://localhost:5173/cb"]"#);
    assert!(client.secret_hash.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn confidential_clients_get_a_secret_stored_only_as_a_hash() {
    let app = spawn_app().await;
    let out = app
        .cli(&[
            "app",
            "create",
            "billing",
            "--name",
            "Billing",
            "--redirect-uri",
            "https://billing.example.com/cb",
            "--redirect-uri",
            "http://localhost:8080/cb",
            "--confidential",
            "--public-url",
            "https://auth.example.com",
        ])
        .expect_success()
        .json();
    assert_eq!(
        out["issuer"], "https://auth.example.com/a/billing",
        "--public-url given last wins"
    );
    let secret = out["client_secret"]
        .as_str()
        .expect("a secret is shown once");
    assert!(secret.len() >= 43, "256 bits of secret");

    let client = oauth_client::Entity::find_by_id(out["client_id"].as_str().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.client_type, oneauth::types::ClientType::Confidential);
    let stored = client.secret_hash.clone().expect("a hash is stored");
    assert_ne!(stored, secret);
    assert_eq!(stored, oneauth::core::secrets::sha256_hex(secret));
    assert!(oneauth::core::clients::secret_matches(&client, secret));
    assert!(!oneauth::core::clients::secret_matches(&client, "guess"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_get_one_sentence_and_a_non_zero_exit() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "app",
                "create",
                "Demo!",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example/cb",
            ],
            "not a valid app id",
        ),
        (
            &[
                "app",
                "create",
                "other",
                "--name",
                "X",
                "--redirect-uri",
                "http://evil.example/cb",
            ],
            "not a valid redirect URI",
        ),
        (
            &[
                "app",
                "create",
                "demo",
                "--name",
                "Again",
                "--redirect-uri",
                "https://x.example/cb",
            ],
            "already exists",
        ),
        (
            &[
                "user",
                "create",
                "--app",
                "nope",
                "--email",
                "a@example.com",
            ],
            "There is no app with the id \"nope\"",
        ),
        (
            &["user", "create", "--app", "demo", "--email", "not-an-email"],
            "not a valid e-mail address",
        ),
        (
            &[
                "role",
                "grant",
                "--app",
                "demo",
                "--email",
                "ghost@example.com",
                "admin",
            ],
            "There is no user with the e-mail ghost@example.com",
        ),
    ];
    for (args, fragment) in cases {
        app.cli(args).expect_error(fragment);
    }
    app.cli(&[
        "user",
        "create",
        "--app",
        "demo",
        "--email",
        "a@example.com",
        "--role",
        "missing",
    ])
    .expect_error("There is no role \"missing\" in app \"demo\"");
    app.cli(&["audit", "export", "--app", "nope"])
        .expect_error("There is no app");
    app.cli_with_stdin(
        &[
            "user",
            "create",
            "--app",
            "demo",
            "--email",
            "a@example.com",
            "--password-stdin",
        ],
        "short\n",
    )
    .expect_error("at least 8 characters");
    // Nothing was written by the failures.
    let users = app_user::Entity::find().all(&app.db).await.unwrap();
    assert!(users.is_empty(), "{users:?}");
    // Unknown database schemes are refused with a sentence too.
    common::oneauth("mysql://x", &["migrate"], None)
        .expect_error("must start with sqlite: or postgres:");
    // clap's own usage errors exit non-zero.
    let run = app.cli(&["app", "create", "x"]);
    assert!(!run.success && run.code == Some(2), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_create_hashes_the_stdin_password_with_argon2id() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.cli(&[
        "role",
        "create",
        "--app",
        "demo",
        "admin",
        "--require-passkey",
        "--max-auth-age",
        "900",
    ])
    .expect_success();
    let out = app
        .cli_with_stdin(
            &[
                "user",
                "create",
                "--app",
                "demo",
                "--email",
                "Ada@Example.com",
                "--password-stdin",
                "--role",
                "admin",
            ],
            "correct horse battery staple\n",
        )
        .expect_success()
        .json();
    assert_eq!(out["email"], "ada@example.com", "e-mail is normalised");
    let user_id = out["user_id"].as_str().unwrap();

    let credential = password_credential::Entity::find_by_id(user_id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("a password credential");
    assert!(
        credential
            .phc
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        credential.phc
    );
    assert!(!credential.phc.contains("correct horse"));
    let check = oneauth::core::passwords::verify(
        &credential.phc,
        &oneauth::core::passwords::Password::attempt("correct horse battery staple"),
    );
    assert_eq!(
        check,
        oneauth::core::passwords::PasswordCheck::Valid {
            needs_rehash: false
        }
    );

    let admin = role::Entity::find()
        .filter(role::Column::AppId.eq("demo"))
        .filter(role::Column::Name.eq("admin"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(admin.require_passkey);
    assert_eq!(admin.max_auth_age_secs, Some(900));
    let held = oneauth::core::roles::names_held(&app.db, user_id)
        .await
        .unwrap();
    assert_eq!(held, vec!["admin".to_owned()]);

    // Same address, same app: refused whatever the case.
    app.cli(&[
        "user",
        "create",
        "--app",
        "demo",
        "--email",
        "ADA@example.com",
    ])
    .expect_error("already exists in app \"demo\"");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_create_and_grant() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.cli(&[
        "user",
        "create",
        "--app",
        "demo",
        "--email",
        "bob@example.com",
    ])
    .expect_success();
    app.cli(&["role", "create", "--app", "demo", "support"])
        .expect_success();
    app.cli(&["role", "create", "--app", "demo", "support"])
        .expect_error("already exists");
    app.cli(&[
        "role",
        "create",
        "--app",
        "demo",
        "bad",
        "--max-auth-age",
        "0",
    ])
    .expect_error("positive number of seconds");

    let granted = app
        .cli(&[
            "role",
            "grant",
            "--app",
            "demo",
            "--email",
            "bob@example.com",
            "support",
        ])
        .expect_success();
    assert!(
        granted
            .stdout
            .contains("Granted support to bob@example.com")
    );
    let again = app
        .cli(&[
            "role",
            "grant",
            "--app",
            "demo",
            "--email",
            "bob@example.com",
            "support",
        ])
        .expect_success();
    assert!(again.stdout.contains("already holds"));
    let assignments = role_assignment::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(assignments.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_email_in_two_apps_is_two_users() {
    let app = spawn_app().await;
    app.create_app("alpha", "Alpha");
    app.create_app("beta", "Beta");
    let a = app
        .cli(&[
            "user",
            "create",
            "--app",
            "alpha",
            "--email",
            "eve@example.com",
        ])
        .expect_success()
        .json();
    let b = app
        .cli(&[
            "user",
            "create",
            "--app",
            "beta",
            "--email",
            "eve@example.com",
        ])
        .expect_success()
        .json();
    assert_ne!(a["user_id"], b["user_id"]);

    // A role of app beta cannot be granted to a user of app alpha, even by
    // writing the database directly: the composite foreign keys refuse it.
    app.cli(&["role", "create", "--app", "beta", "admin"])
        .expect_success();
    let beta_admin = role::Entity::find()
        .filter(role::Column::AppId.eq("beta"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let cross_app = format!(
        "INSERT INTO role_assignment (app_id, user_id, role_id, created_at) VALUES ('alpha', '{}', '{}', CURRENT_TIMESTAMP)",
        a["user_id"].as_str().unwrap(),
        beta_admin.id
    );
    assert!(
        app.db
            .writer()
            .execute_unprepared(&cross_app)
            .await
            .is_err(),
        "cross-app grant must be refused"
    );
    let relabelled = format!(
        "INSERT INTO role_assignment (app_id, user_id, role_id, created_at) VALUES ('beta', '{}', '{}', CURRENT_TIMESTAMP)",
        a["user_id"].as_str().unwrap(),
        beta_admin.id
    );
    assert!(
        app.db
            .writer()
            .execute_unprepared(&relabelled)
            .await
            .is_err(),
        "mislabelled app must be refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_is_idempotent() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let run = app.cli(&["migrate"]).expect_success();
        assert!(run.stdout.contains("up to date"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_database_is_a_sqlite_file_under_data() {
    if common::backend() != common::Backend::Sqlite {
        return; // the default is SQLite by definition; covered in the SQLite run
    }
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .args([
            "app",
            "create",
            "demo",
            "--name",
            "Demo",
            "--redirect-uri",
            "http://localhost:5173/cb",
        ])
        .current_dir(dir.path())
        .env_remove("ONEAUTH_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/oneauth.db").exists());
}

/// Run `oneauth app create ID` with `user` as $USER, or with no $USER and
/// no $LOGNAME at all (a service or container).
fn create_app_as(app: &common::TestApp, id: &str, user: Option<&str>) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"));
    command
        .args(["app", "create", id, "--name", id])
        .args(["--redirect-uri", "http://localhost:5173/cb"])
        .env("ONEAUTH_DATABASE_URL", &app.database_url)
        .env("ONEAUTH_MASTER_KEY", &app.master_key)
        .env("ONEAUTH_LOG", "warn")
        .env_remove("LOGNAME");
    match user {
        Some(user) => command.env("USER", user),
        None => command.env_remove("USER"),
    };
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_changes_name_the_os_account_behind_them() {
    use oneauth::entities::audit_event;
    let app = spawn_app().await;
    create_app_as(&app, "alpha", Some("alice"));
    create_app_as(&app, "beta", None);
    let actor_of = |app_id: &'static str| {
        let db = app.db.clone();
        async move {
            audit_event::Entity::find()
                .filter(audit_event::Column::AppId.eq(app_id))
                .filter(audit_event::Column::Action.eq("app.created"))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .actor_label
        }
    };
    assert_eq!(actor_of("alpha").await, "cli:alice");
    // Without $USER, the account the process runs as.
    let account = whoami::username().unwrap();
    assert_eq!(actor_of("beta").await, format!("cli:{account}"));
    assert_ne!(account, "unknown");
}

// ---------------------------------------------------------------------------
// N11 (second security review): the master key lives outside the data
// directory by default; secrets on the command line are warned about; an
// address is accepted only if mail can go to it.

#[tokio::test(flavor = "multi_thread")]
async fn n11_the_default_master_key_lives_outside_the_data_directory() {
    if common::backend() != common::Backend::Sqlite {
        return; // a property of the defaults; covered in the SQLite run
    }
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .args([
            "app",
            "create",
            "demo",
            "--name",
            "Demo",
            "--redirect-uri",
            "http://localhost:5173/cb",
        ])
        .current_dir(dir.path())
        .env_remove("ONEAUTH_DATABASE_URL")
        .env_remove("ONEAUTH_MASTER_KEY")
        .env_remove("ONEAUTH_MASTER_KEY_FILE")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/oneauth.db").exists());
    assert!(!dir.path().join("data/master.key").exists());
    let key = home.path().join(".config/oneauth/master.key");
    assert!(key.exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn n11_secrets_on_the_command_line_are_warned_about() {
    let app = spawn_app().await;
    let key = app.master_key.clone();
    let run = common::oneauth(
        &app.database_url,
        &[
            "--master-key",
            &key,
            "--public-url",
            &app.address,
            "app",
            "create",
            "demo",
            "--name",
            "Demo",
            "--redirect-uri",
            "http://localhost:5173/cb",
        ],
        None,
    )
    .expect_success();
    assert!(
        run.stderr
            .contains("a secret was given on the command line")
            && run.stderr.contains("--master-key"),
        "{}",
        run.stderr
    );
    // Through the environment: no warning.
    let run = app
        .cli(&[
            "app",
            "create",
            "shop",
            "--name",
            "Shop",
            "--redirect-uri",
            "http://localhost:5173/cb",
        ])
        .expect_success();
    assert!(!run.stderr.contains("command line"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn n11_an_address_mail_cannot_go_to_is_refused_at_every_entry_point() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.sql("UPDATE app SET self_registration = true WHERE id = 'demo'")
        .await;
    for address in [
        "a<b>@example.com",
        "x(comment)@example.com",
        "two..dots@example.com",
    ] {
        app.cli(&["user", "create", "--app", "demo", "--email", address])
            .expect_error("is not a valid e-mail address");
        let error = app
            .call_json(
                &common::browser(),
                oneauth::api::hosted::RegisterWithPassword {
                    app_id: "demo".into(),
                    email: address.into(),
                    password: "a long enough passphrase".into(),
                    return_to: None,
                },
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("valid e-mail"), "{error}");
    }
    // Nor a quoted local part (it may hold an "@", and spells one mailbox
    // two ways); an ordinary address with the usual punctuation is fine.
    app.cli(&[
        "user",
        "create",
        "--app",
        "demo",
        "--email",
        "\"ceo@corp.example\"@evil.example",
    ])
    .expect_error("is not a valid e-mail address");
    app.cli(&[
        "user",
        "create",
        "--app",
        "demo",
        "--email",
        "o'brien+ops@example.com",
    ])
    .expect_success();
}

/// Issue 24, backups: a copy taken while the server serves restores to an
/// audit chain that verifies against the head exported just before.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_serving_verifies_against_the_head_exported_before_it() {
    use common::{Backend, PASSWORD, add_user, backend, oneauth_with_key, sign_in};
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.display().to_string();
    if backend() == Backend::Postgres {
        app.cli(&["backup", "--to", &copy_arg])
            .expect_error("pg_dump");
        return;
    }
    app.create_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    sign_in(
        &app,
        &common::browser(),
        "demo",
        "ada@example.com",
        PASSWORD,
    )
    .await;
    let heads = dir.path().join("heads.jsonl");
    std::fs::write(&heads, app.cli(&["audit", "head"]).expect_success().stdout).unwrap();

    let made = app.cli(&["backup", "--to", &copy_arg]).expect_success();
    assert!(
        made.stdout.contains("Copied the database to"),
        "{}",
        made.stdout
    );
    // The live database goes on changing; the copy is one moment.
    sign_in(
        &app,
        &common::browser(),
        "demo",
        "ada@example.com",
        PASSWORD,
    )
    .await;

    let verified = oneauth_with_key(
        &format!("sqlite://{}?mode=rwc", copy.display()),
        Some(&app.master_key),
        &[
            "audit",
            "verify",
            "--expect-head",
            &heads.display().to_string(),
        ],
        None,
    )
    .expect_success();
    assert!(
        verified.stdout.contains("demo: intact"),
        "{}",
        verified.stdout
    );
    assert!(
        verified.stdout.contains("console: intact"),
        "{}",
        verified.stdout
    );

    app.cli(&["backup", "--to", &copy_arg])
        .expect_error("exists already");
    assert!(
        app.actions("console")
            .await
            .contains(&"database.backed_up".to_owned())
    );
}
