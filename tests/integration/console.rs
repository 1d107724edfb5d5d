//! The operator console's permissions and guardrails, through its server
//! functions: bootstrap, owner/admin/auditor and app-scoped operators, the
//! last owner, self-demotion, grants above one's own access, and the audit
//! log (filters, paging, export, chain check).

use crate::common;

use common::console::*;
use common::{PASSWORD, ServerCall, TestApp, add_user, browser, refused, spawn_app};
use oneauth::api::account::ChangePassword;
use oneauth::api::console::{apps::*, audit::*, clients::*, roles::*, users::*, *};
use oneauth::api::hosted::{
    AcceptInvitationWithPassword, FinishPasskeyAssertion, RedeemRecoveryLink, SignInWithPassword,
    StartInvitationPasskey, StartPasskeyAssertion,
};
use oneauth::entities::{audit_event, token_family};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_makes_one_owner_through_a_one_time_link() {
    let app = spawn_app().await;
    let link = bootstrap_link(&app, "Owner@Example.com");
    assert!(
        link.starts_with(&format!("{}/a/console/invite/", app.address)),
        "{link}"
    );
    let token = link.rsplit('/').next().unwrap();

    // The link names the owner and demands a passkey: no password-only setup.
    let view = load_setup_link(&app, &link).await.unwrap();
    assert_eq!(view["email"], "owner@example.com");
    assert_eq!(view["needs_passkey"], true);
    let error = app
        .call_json(
            &browser(),
            AcceptInvitationWithPassword {
                app_id: "console".into(),
                token: token.to_string(),
                password: PASSWORD.to_string(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("needs a passkey"));

    // A password may be chosen beside the passkey; a weak one is refused
    // beside its field before the passkey ceremony starts.
    let error = app
        .call_json(
            &browser(),
            StartInvitationPasskey {
                app_id: "console".into(),
                token: token.to_string(),
                password: Some("short".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "password", "{error}");

    let owner = accept_invitation_with(&app, &link, Some(PASSWORD)).await;
    let me = owner.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(me["email"], "owner@example.com");
    assert_eq!(me["access"], "owner");
    let owner_id = user_id(&app, "console", "owner@example.com").await;
    let detail = owner
        .call(
            &app,
            ConsoleUser {
                app_id: "console".into(),
                user_id: owner_id.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(detail["has_password"], true, "{detail}");
    assert_eq!(detail["passkeys"].as_array().unwrap().len(), 1);

    // Once used, the link is dead; a second bootstrap is refused.
    let again = load_setup_link(&app, &link).await.unwrap_err();
    assert!(again["NotFound"].as_str().unwrap().contains("already used"));
    app.cli(&["bootstrap", "--email", "other@example.com"])
        .expect_error("already has an owner");
    assert_recorded(
        &app,
        "console",
        None,
        &[
            "console.bootstrapped",
            "invitation.issued",
            "invitation.accepted",
            "passkey.added",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_links_expire_and_bootstrap_reissues_until_an_owner_can_sign_in() {
    let app = spawn_app().await;
    let link = bootstrap_link(&app, "owner@example.com");
    app.sql("UPDATE action_token SET expires_at = '2000-01-01T00:00:00+00:00'")
        .await;
    let error = load_setup_link(&app, &link).await.unwrap_err();
    assert!(error["NotFound"].is_string());

    // Nobody can sign in yet, so bootstrap runs again: a fresh link.
    let fresh = bootstrap_link(&app, "owner@example.com");
    assert_eq!(
        load_setup_link(&app, &fresh).await.unwrap()["email"],
        "owner@example.com"
    );

    // A mistyped address is corrected the same way: the pending owner loses
    // the role and their link, and only the new link works.
    let corrected = bootstrap_link(&app, "boss@example.com");
    assert!(load_setup_link(&app, &fresh).await.unwrap_err()["NotFound"].is_string());
    let boss = accept_invitation_with(&app, &corrected, None).await;
    let pending_id = user_id(&app, "console", "owner@example.com").await;
    let pending = boss
        .call(
            &app,
            ConsoleUser {
                app_id: "console".into(),
                user_id: pending_id.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(pending["roles"], json!([]), "{pending}");
    assert_recorded(&app, "console", Some("cli"), &["role.revoked"]).await;

    // An owner who can sign in ends it.
    app.cli(&["bootstrap", "--email", "owner@example.com"])
        .expect_error("already has an owner (boss@example.com)");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_needs_a_passkey_session_and_a_console_role() {
    let (app, owner) = with_owner().await;
    // The owner sets a password, then signs in with it alone elsewhere.
    owner
        .call(
            &app,
            ChangePassword {
                app_id: "console".into(),
                current: None,
                new: "owner's long passphrase".into(),
            },
        )
        .await
        .unwrap();
    let password_only = browser();
    app.call_json(
        &password_only,
        SignInWithPassword {
            app_id: "console".into(),
            email: "owner@example.com".into(),
            password: "owner's long passphrase".into(),
            return_to: None,
        },
    )
    .await
    .unwrap();
    let error = app
        .call_json(&password_only, ConsoleApps {})
        .await
        .unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");

    // A console user without a console role sees nothing.
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "console".into(),
                email: "nobody@example.com".into(),
                roles: None,
                invite: Some("on".into()),
            },
        )
        .await
        .unwrap();
    let nobody = accept_invitation(&app, created["invite_link"].as_str().unwrap()).await;
    let error = nobody.call(&app, ConsoleApps {}).await.unwrap_err();
    assert_eq!(
        refused(&error),
        "This account has no access to the console."
    );
    // And nobody at all.
    assert_eq!(
        app.call_json(&browser(), ConsoleApps {}).await.unwrap_err(),
        json!("SignInRequired")
    );
}

/// The console's owner and the app `billing` they created.
async fn owner_with_billing() -> (TestApp, Op) {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "billing".into(),
                name: "Billing Admin".into(),
            },
        )
        .await
        .unwrap();
    (app, owner)
}

/// A confidential client of `billing`: its id and its secret.
async fn billing_client(app: &TestApp, owner: &Op) -> (String, String) {
    let created = owner
        .call(
            app,
            ConsoleCreateClient {
                app_id: "billing".into(),
                name: "Web".into(),
                client_type: "confidential".into(),
                redirect_uris: "https://billing.example.com/cb\nhttp://localhost:3000/cb".into(),
                post_logout_redirect_uris: "".into(),
                id_token_alg: "RS256".into(),
            },
        )
        .await
        .unwrap();
    (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn billing_clients(app: &TestApp, owner: &Op) -> Value {
    owner
        .call(
            app,
            ConsoleClients {
                app_id: "billing".into(),
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_create_apps_with_valid_unused_ids() {
    let (app, owner) = owner_with_billing().await;
    for (id, reason) in [("Bad Id", "not a valid id"), ("billing", "taken")] {
        let error = owner
            .call(
                &app,
                ConsoleCreateApp {
                    app_id: id.into(),
                    name: "x".into(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error["Invalid"]["field"], "app_id", "{reason}: {error}");
    }
    let apps = owner.call(&app, ConsoleApps {}).await.unwrap();
    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["billing", "console"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn app_settings_are_validated_and_saved() {
    let (app, owner) = owner_with_billing().await;
    let settings = |idle: &'static str| ConsoleUpdateApp {
        app_id: "billing".into(),
        name: "Billing".into(),
        brand_color: "#0f766e".into(),
        self_registration: None,
        password_enabled: Some("on".into()),
        passkey_enabled: Some("on".into()),
        require_pkce: Some("on".into()),
        session_idle_secs: idle.into(),
        session_absolute_secs: "36000".into(),
        access_token_ttl_secs: "600".into(),
        refresh_idle_secs: "86400".into(),
        refresh_absolute_secs: "604800".into(),
        refresh_grace_secs: "5".into(),
        api_audiences: None,
    };
    let error = owner.call(&app, settings("5")).await.unwrap_err();
    assert_eq!(error["Invalid"]["field"], "session_idle_secs");
    owner.call(&app, settings("900")).await.unwrap();
    let view = owner
        .call(
            &app,
            ConsoleApp {
                app_id: "billing".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            view["brand_color"].clone(),
            view["access_token_ttl_secs"].clone(),
            view["self_registration"].clone()
        ),
        (json!("#0f766e"), json!(600), json!(false))
    );
    assert_recorded(&app, "billing", None, &["app.updated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confidential_clients_secret_shows_once_and_rotates() {
    let (app, owner) = owner_with_billing().await;
    let (client_id, secret) = billing_client(&app, &owner).await;
    let bad_uri = owner
        .call(
            &app,
            ConsoleCreateClient {
                app_id: "billing".into(),
                name: "Bad".into(),
                client_type: "public".into(),
                redirect_uris: "http://evil.example/cb".into(),
                post_logout_redirect_uris: "".into(),
                id_token_alg: "ES256".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_uri["Invalid"]["field"], "redirect_uris");
    let rotated = owner
        .call(
            &app,
            ConsoleRotateClientSecret {
                app_id: "billing".into(),
                client_id: client_id.clone(),
            },
        )
        .await
        .unwrap();
    let rotated = rotated.as_str().unwrap();
    assert_ne!(rotated, secret);
    // The new secret works at the token endpoint; the old one no longer.
    let client_credentials = |secret: &str| {
        reqwest::Client::new()
            .post(format!("{}/a/billing/oauth/token", app.address))
            .basic_auth(&client_id, Some(secret.to_owned()))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(client_credentials(rotated).await.unwrap().status(), 200);
    assert_eq!(client_credentials(&secret).await.unwrap().status(), 401);
    let clients = billing_clients(&app, &owner).await;
    assert_eq!(clients[0]["redirect_uris"].as_array().unwrap().len(), 2);
    assert!(clients[0]["secret_rotated"].is_string());
    // Listed without any secret.
    assert!(clients[0].get("client_secret").is_none(), "{clients}");
    assert_recorded(
        &app,
        "billing",
        None,
        &["client.created", "client.secret_rotated"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_client_validates_its_uris_like_creating_one() {
    let (app, owner) = owner_with_billing().await;
    let (client_id, _) = billing_client(&app, &owner).await;
    let edit = |redirect: &'static str, post_logout: &'static str| ConsoleUpdateClient {
        app_id: "billing".into(),
        client_id: client_id.clone(),
        name: "Billing web".into(),
        redirect_uris: redirect.into(),
        post_logout_redirect_uris: post_logout.into(),
        id_token_alg: "ES256".into(),
    };
    let error = owner
        .call(&app, edit("https://billing.example.com/cb#frag", ""))
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "redirect_uris", "{error}");
    let error = owner
        .call(
            &app,
            edit("https://billing.example.com/cb", "javascript:alert(1)"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error["Invalid"]["field"], "post_logout_redirect_uris",
        "{error}"
    );
    owner
        .call(
            &app,
            edit(
                "https://billing.example.com/cb",
                "https://billing.example.com/bye",
            ),
        )
        .await
        .unwrap();
    let clients = billing_clients(&app, &owner).await;
    assert_eq!(
        (
            clients[0]["name"].clone(),
            clients[0]["redirect_uris"].clone(),
            clients[0]["post_logout_redirect_uris"].clone(),
            clients[0]["id_token_alg"].clone(),
        ),
        (
            json!("Billing web"),
            json!(["https://billing.example.com/cb"]),
            json!(["https://billing.example.com/bye"]),
            json!("ES256"),
        )
    );
    assert_recorded(&app, "billing", None, &["client.updated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_client_is_refused_at_the_token_endpoint() {
    let (app, owner) = owner_with_billing().await;
    let (client_id, secret) = billing_client(&app, &owner).await;
    let client_credentials = || async {
        reqwest::Client::new()
            .post(format!("{}/a/billing/oauth/token", app.address))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(client_credentials().await, 200);
    owner
        .call(
            &app,
            ConsoleSetClientDisabled {
                app_id: "billing".into(),
                client_id: client_id.clone(),
                disabled: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(client_credentials().await, 401);
    assert_eq!(billing_clients(&app, &owner).await[0]["disabled"], true);
    assert_recorded(&app, "billing", None, &["client.disabled"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_app_has_no_pages_and_the_console_cannot_be_disabled() {
    let (app, owner) = owner_with_billing().await;
    let set_disabled = |app_id: &str, disabled: bool| ConsoleSetAppDisabled {
        app_id: app_id.into(),
        disabled,
    };
    owner
        .call(&app, set_disabled("billing", true))
        .await
        .unwrap();
    assert_eq!(app.get("/a/billing/login").await.status(), 404);
    owner
        .call(&app, set_disabled("billing", false))
        .await
        .unwrap();
    assert_eq!(app.get("/a/billing/login").await.status(), 200);
    let error = owner
        .call(&app, set_disabled("console", true))
        .await
        .unwrap_err();
    assert_eq!(refused(&error), "The console cannot be disabled.");
    assert_recorded(&app, "billing", None, &["app.disabled", "app.enabled"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_cannot_grant_owner_and_auditors_change_nothing() {
    let (app, owner) = with_owner().await;
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let auditor = operator(&app, &owner, "auditor@example.com", "auditor").await;

    // The admin manages apps...
    admin
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "shop".into(),
                name: "Shop".into(),
            },
        )
        .await
        .unwrap();
    // ...but cannot make anyone an owner (a role above their own).
    let auditor_id = user_id(&app, "console", "auditor@example.com").await;
    let error = admin
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "console".into(),
                user_id: auditor_id.to_string(),
                role: "owner".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own access"), "{error}");
    let error = admin
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "console".into(),
                email: "x@example.com".into(),
                roles: Some("owner".into()),
                invite: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own access"));
    // Granting what they hold is fine.
    admin
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "console".into(),
                user_id: auditor_id.to_string(),
                role: "admin".into(),
            },
        )
        .await
        .unwrap();
    admin
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "console".into(),
                user_id: auditor_id.to_string(),
                role: "admin".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap();

    // The auditor reads everything and changes nothing.
    auditor.call(&app, ConsoleApps {}).await.unwrap();
    auditor
        .call(
            &app,
            ConsoleAudit {
                query: None,
                before: None,
            },
        )
        .await
        .unwrap();
    let writes = [
        ServerCall::of(ConsoleCreateApp {
            app_id: "nope".into(),
            name: "Nope".into(),
        }),
        ServerCall::of(ConsoleSetAppDisabled {
            app_id: "shop".into(),
            disabled: true,
        }),
        ServerCall::of(ConsoleCreateUser {
            app_id: "shop".into(),
            email: "u@example.com".into(),
            roles: None,
            invite: None,
        }),
        ServerCall::of(ConsoleCreateRole {
            app_id: "shop".into(),
            name: "support".into(),
            description: None,
            require_passkey: None,
            max_auth_age_secs: None,
        }),
    ];
    for call in writes {
        let error = auditor.send(&app, &call).await.unwrap_err();
        let reason = refused(&error);
        assert!(
            reason.contains("read-only") || reason.contains("Only global admins"),
            "{}: {reason}",
            call.path
        );
    }
    let recorded = refusals(&app).await;
    assert!(
        recorded.len() >= 6,
        "every refusal is audited: {recorded:?}"
    );
    assert!(recorded.iter().any(|r| r["attempted"] == "role.grant"
        && r["reason"].as_str().unwrap().contains("above your own")));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_scoped_operator_sees_nothing_of_other_apps() {
    let (app, owner) = with_owner().await;
    for (id, name) in [("demo", "Demo"), ("secret", "Secret")] {
        owner
            .call(
                &app,
                ConsoleCreateApp {
                    app_id: id.to_string(),
                    name: name.to_string(),
                },
            )
            .await
            .unwrap();
    }
    let scoped = operator(&app, &owner, "demo-admin@example.com", "admin:demo").await;
    let apps = scoped.call(&app, ConsoleApps {}).await.unwrap();
    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["demo"]);
    scoped
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: "u@example.com".into(),
                roles: None,
                invite: None,
            },
        )
        .await
        .unwrap();

    // Another app does not exist, as far as they can tell.
    let error = scoped
        .call(
            &app,
            ConsoleApp {
                app_id: "secret".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["NotFound"], "There is no app called \"secret\".");
    let error = scoped
        .call(
            &app,
            ConsoleUsers {
                app_id: "secret".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string());
    // Their audit view holds only demo's events.
    let page = scoped
        .call(
            &app,
            ConsoleAudit {
                query: None,
                before: None,
            },
        )
        .await
        .unwrap();
    assert!(
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["app_id"] == "demo")
    );
    let error = scoped
        .call(
            &app,
            ConsoleAudit {
                query: Some(AuditQuery {
                    app_id: Some("secret".into()),
                    ..Default::default()
                }),
                before: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string());
    // No apps of their own making, no operators.
    assert!(
        refused(
            &scoped
                .call(
                    &app,
                    ConsoleCreateApp {
                        app_id: "mine".into(),
                        name: "Mine".into()
                    }
                )
                .await
                .unwrap_err()
        )
        .contains("Only global")
    );
    let error = scoped
        .call(
            &app,
            ConsoleUsers {
                app_id: "console".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string());
    // Refusals about the other app are recorded in the console's chain.
    let secret_events = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq("secret"))
        .filter(audit_event::Column::Action.eq("console.refused"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(secret_events.is_empty());
    assert!(refusals(&app).await.iter().any(|r| r["app_id"] == "secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_stays_an_owner() {
    let (app, owner) = with_owner().await;
    let me = user_id(&app, "console", "owner@example.com").await;
    for call in [
        ServerCall::of(ConsoleRevokeRole {
            app_id: "console".into(),
            user_id: me.to_string(),
            role: "owner".into(),
            confirmation: Some("owner@example.com".into()),
        }),
        ServerCall::of(ConsoleSetUserActive {
            app_id: "console".into(),
            user_id: me.to_string(),
            active: false,
            confirmation: Some("owner@example.com".into()),
        }),
        ServerCall::of(ConsoleDeleteUser {
            app_id: "console".into(),
            user_id: me.to_string(),
            confirmation: Some("owner@example.com".into()),
        }),
    ] {
        let error = owner.send(&app, &call).await.unwrap_err();
        assert!(
            refused(&error).contains("last owner"),
            "{}: {error}",
            call.path
        );
    }
    let me_view = owner.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(me_view["access"], "owner");
    assert!(
        refusals(&app)
            .await
            .iter()
            .filter(|r| r["reason"].as_str().unwrap().contains("last owner"))
            .count()
            >= 3
    );

    // An admin cannot remove the owner either (and cannot touch the role).
    let admin = operator(&app, &owner, "admin@example.com", "admin").await;
    let error = admin
        .call(
            &app,
            ConsoleSetUserActive {
                app_id: "console".into(),
                user_id: me.to_string(),
                active: false,
                confirmation: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own"), "{error}");
    let error = admin
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "console".into(),
                user_id: me.to_string(),
                role: "owner".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("above your own access"));

    // The same holds for an app's own "owner" role.
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "owner".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: "boss@example.com".into(),
                roles: Some("owner".into()),
                invite: None,
            },
        )
        .await
        .unwrap();
    let boss = created["user_id"].as_str().unwrap();
    let error = owner
        .call(
            &app,
            ConsoleDeleteUser {
                app_id: "demo".into(),
                user_id: boss.to_string(),
                confirmation: None,
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("last owner"));
    let error = owner
        .call(
            &app,
            ConsoleDeleteRole {
                app_id: "demo".into(),
                name: "owner".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(refused(&error).contains("still has holders"));
}

#[tokio::test(flavor = "multi_thread")]
async fn demoting_oneself_needs_a_fresh_sign_in_and_typed_confirmation() {
    let (app, mut owner) = with_owner().await;
    let second = operator(&app, &owner, "second@example.com", "owner").await;
    let me = user_id(&app, "console", "owner@example.com").await;
    let revoke = |confirmation: &'static str| ConsoleRevokeRole {
        app_id: "console".into(),
        user_id: (me.clone()).to_string(),
        role: "owner".into(),
        confirmation: Some(confirmation.to_string()),
    };

    let error = owner
        .call(&app, revoke("owner@example.org"))
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "confirmation");
    // An hour later the sign-in is no longer fresh: the change is refused
    // until the operator confirms it's them...
    app.age_sign_ins().await;
    let error = owner
        .call(&app, revoke("owner@example.com"))
        .await
        .unwrap_err();
    assert!(error["ReauthRequired"].is_string(), "{error}");
    // ...with their passkey on the console's sign-in page (this owner has no
    // password, so the page offers none), which sends them back to the
    // console page they came from...
    let user_page = format!("/console/apps/console/users/{me}");
    let reauth_page = app
        .get_with(
            &owner.browser,
            &format!("/a/console/login?reauth=1&return_to={user_page}"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        reauth_page.contains("Confirm it&#x27;s you") || reauth_page.contains("Confirm it's you"),
        "{reauth_page}"
    );
    assert!(!reauth_page.contains(r#"name="password""#), "{reauth_page}");
    assert_eq!(owner.reauthenticate(&app, &user_page).await, user_page);
    // ...and then the demotion goes through.
    owner.call(&app, revoke("owner@example.com")).await.unwrap();
    let still = second.call(&app, ConsoleMe {}).await.unwrap();
    assert_eq!(still["access"], "owner");
    let recorded = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq("console"))
        .filter(audit_event::Column::Action.eq("role.revoked"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demotion is audited");
    assert_eq!(recorded.actor_label, "owner@example.com");
}

/// The demo app with the console's owner and Ada, who signed in with her
/// password and holds a refresh token.
struct Demo {
    app: TestApp,
    owner: Op,
    created: Value,
    ada: String,
    ada_browser: reqwest::Client,
    refresh: String,
}

async fn demo_with_ada() -> Demo {
    let (app, owner) = with_owner().await;
    let created = app.create_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    let ada = user_id(&app, "demo", "ada@example.com").await;
    let ada_browser = browser();
    common::sign_in(&app, &ada_browser, "demo", "ada@example.com", PASSWORD).await;
    let client = common::oauth::Client::from_created(&app, &created);
    let tokens = client.tokens(&ada_browser, &[]).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    Demo {
        app,
        owner,
        created,
        ada,
        ada_browser,
        refresh,
    }
}

impl Demo {
    /// `user{i}@example.com` for each `i`, created by the owner.
    async fn add_users(&self, count: usize) {
        for i in 0..count {
            self.owner
                .call(
                    &self.app,
                    ConsoleCreateUser {
                        app_id: "demo".into(),
                        email: format!("user{i}@example.com"),
                        roles: None,
                        invite: None,
                    },
                )
                .await
                .unwrap();
        }
    }

    /// The console's user page of `user_id`, as the owner sees it.
    async fn detail(&self, user_id: &str) -> Value {
        self.owner
            .call(
                &self.app,
                ConsoleUser {
                    app_id: "demo".into(),
                    user_id: user_id.to_owned(),
                },
            )
            .await
            .unwrap()
    }

    async fn set_active(&self, user_id: &str, active: bool) {
        self.owner
            .call(
                &self.app,
                ConsoleSetUserActive {
                    app_id: "demo".into(),
                    user_id: user_id.to_owned(),
                    active,
                    confirmation: None,
                },
            )
            .await
            .unwrap();
    }

    async fn assert_recorded(&self, actions: &[&str]) {
        assert_recorded(&self.app, "demo", Some("operator"), actions).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_search_users_and_see_their_sessions_and_history() {
    let demo = demo_with_ada().await;
    demo.add_users(3).await;
    let page = demo
        .owner
        .call(
            &demo.app,
            ConsoleUsers {
                app_id: "demo".into(),
                query: Some("user1".into()),
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 4);
    let detail = demo.detail(&demo.ada).await;
    assert_eq!(detail["has_password"], true);
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 1);
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "signin.succeeded")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_removed_by_an_operator_signs_nobody_in() {
    let demo = demo_with_ada().await;
    demo.add_users(2).await;
    // A fresh invitation for an existing user (the first one was lost);
    // user1 sets up a passkey with it.
    let user1 = user_id(&demo.app, "demo", "user1@example.com").await;
    let link = demo
        .owner
        .call(
            &demo.app,
            ConsoleInviteUser {
                app_id: "demo".into(),
                user_id: user1.clone(),
            },
        )
        .await
        .unwrap();
    let mut user1_op = accept_invitation(&demo.app, link.as_str().unwrap()).await;
    // A lost device: the operator removes the passkey.
    let passkey_id = demo.detail(&user1).await["passkeys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    demo.owner
        .call(
            &demo.app,
            ConsoleRemoveUserPasskey {
                app_id: "demo".into(),
                user_id: user1.clone(),
                passkey_id: passkey_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(demo.detail(&user1).await["passkeys"], json!([]));
    // The device no longer signs anyone in.
    let stranger = browser();
    let options = demo
        .app
        .call_json(
            &stranger,
            StartPasskeyAssertion {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    let assertion = user1_op
        .device
        .get(&demo.app.address, options.as_str().unwrap());
    let error = demo
        .app
        .call_json(
            &stranger,
            FinishPasskeyAssertion {
                app_id: "demo".into(),
                credential: assertion,
                return_to: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["Refused"].is_string(), "{error}");
    demo.assert_recorded(&["invitation.issued", "passkey.removed"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_of_another_user_is_not_found_and_nothing_is_removed() {
    let demo = demo_with_ada().await;
    demo.add_users(2).await;
    let user1 = user_id(&demo.app, "demo", "user1@example.com").await;
    let link = demo
        .owner
        .call(
            &demo.app,
            ConsoleInviteUser {
                app_id: "demo".into(),
                user_id: user1.clone(),
            },
        )
        .await
        .unwrap();
    accept_invitation(&demo.app, link.as_str().unwrap()).await;
    let passkey_id = demo.detail(&user1).await["passkeys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let error = demo
        .owner
        .call(
            &demo.app,
            ConsoleRemoveUserPasskey {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
                passkey_id,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string(), "{error}");
    assert_eq!(
        demo.detail(&user1).await["passkeys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivation_ends_sessions_and_refresh_tokens_at_once() {
    let demo = demo_with_ada().await;
    demo.set_active(&demo.ada, false).await;
    let client = common::oauth::Client::from_created(&demo.app, &demo.created);
    assert_eq!(client.refresh(&demo.refresh).await.0, 400);
    assert!(
        token_family::Entity::find()
            .all(&demo.app.db)
            .await
            .unwrap()
            .iter()
            .all(|f| f.revoked_at.is_some())
    );
    assert_eq!(demo.detail(&demo.ada).await["sessions"], json!([]));
    // The right password no longer signs her in, and says no more than a
    // wrong one.
    let error = demo
        .app
        .call_json(
            &browser(),
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        error["Refused"],
        "The e-mail address or the credentials are not right."
    );
    demo.assert_recorded(&["user.deactivated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reactivated_user_signs_in_again() {
    let demo = demo_with_ada().await;
    demo.set_active(&demo.ada, false).await;
    demo.set_active(&demo.ada, true).await;
    common::sign_in(&demo.app, &browser(), "demo", "ada@example.com", PASSWORD).await;
    demo.assert_recorded(&["user.deactivated", "user.reactivated"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_a_user_out_everywhere_ends_every_session() {
    let demo = demo_with_ada().await;
    common::sign_in(&demo.app, &browser(), "demo", "ada@example.com", PASSWORD).await;
    let ended = demo
        .owner
        .call(
            &demo.app,
            ConsoleSignOutUser {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert_eq!(demo.detail(&demo.ada).await["sessions"], json!([]));
    let account = demo
        .app
        .call_json(
            &demo.ada_browser,
            oneauth::api::account::LoadAccount {
                app_id: "demo".into(),
                enrolment: None,
            },
        )
        .await;
    assert!(account.is_err(), "signed out: {account:?}");
    demo.assert_recorded(&["user.signed_out_everywhere"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_link_signs_in_once_and_asks_for_a_new_factor() {
    let demo = demo_with_ada().await;
    let link = demo
        .owner
        .call(
            &demo.app,
            ConsoleRecoveryLink {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
            },
        )
        .await
        .unwrap();
    let token = oneauth_param(link.as_str().unwrap(), "token");
    let recovered = browser();
    let redeem = || RedeemRecoveryLink {
        app_id: "demo".into(),
        token: token.clone(),
    };
    let target = demo.app.call_json(&recovered, redeem()).await.unwrap();
    assert_eq!(target, "/a/demo/account");
    let view = demo
        .app
        .call_json(
            &recovered,
            oneauth::api::account::LoadAccount {
                app_id: "demo".into(),
                enrolment: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(view["requires_enrolment"], true);
    assert!(
        demo.app.call_json(&browser(), redeem()).await.is_err(),
        "one use"
    );
    demo.assert_recorded(&["recovery_link.issued"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_user_leaves_the_app() {
    let demo = demo_with_ada().await;
    demo.add_users(3).await;
    demo.owner
        .call(
            &demo.app,
            ConsoleDeleteUser {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
                confirmation: None,
            },
        )
        .await
        .unwrap();
    let page = demo
        .owner
        .call(
            &demo.app,
            ConsoleUsers {
                app_id: "demo".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    let client = common::oauth::Client::from_created(&demo.app, &demo.created);
    assert_eq!(client.refresh(&demo.refresh).await.0, 400);
    demo.assert_recorded(&["user.deleted"]).await;
}

fn oneauth_param(url: &str, name: &str) -> String {
    common::oauth::param(url, name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_are_managed_and_granted() {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "billing".into(),
                description: Some("Invoices".into()),
                require_passkey: Some("on".into()),
                max_auth_age_secs: Some("900".into()),
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "x".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: Some("-5".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error["Invalid"]["field"], "max_auth_age_secs");
    owner
        .call(
            &app,
            ConsoleUpdateRole {
                app_id: "demo".into(),
                name: "billing".into(),
                description: Some("All invoices".into()),
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    let roles = owner
        .call(
            &app,
            ConsoleRoles {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(roles[0]["description"], "All invoices");
    assert_eq!(roles[0]["require_passkey"], false);

    let created = owner
        .call(
            &app,
            ConsoleCreateUser {
                app_id: "demo".into(),
                email: "u@example.com".into(),
                roles: None,
                invite: None,
            },
        )
        .await
        .unwrap();
    let user = created["user_id"].as_str().unwrap();
    owner
        .call(
            &app,
            ConsoleGrantRole {
                app_id: "demo".into(),
                user_id: user.to_string(),
                role: "billing".into(),
            },
        )
        .await
        .unwrap();
    let detail = owner
        .call(
            &app,
            ConsoleUser {
                app_id: "demo".into(),
                user_id: user.to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(detail["roles"], json!(["billing"]));
    owner
        .call(
            &app,
            ConsoleRevokeRole {
                app_id: "demo".into(),
                user_id: user.to_string(),
                role: "billing".into(),
                confirmation: None,
            },
        )
        .await
        .unwrap();
    owner
        .call(
            &app,
            ConsoleDeleteRole {
                app_id: "demo".into(),
                name: "billing".into(),
            },
        )
        .await
        .unwrap();
    let error = owner
        .call(
            &app,
            ConsoleDeleteRole {
                app_id: "console".into(),
                name: "auditor".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused(&error), "Built-in roles cannot be deleted.");
}

/// The console's owner and the app `demo` with `users` users
/// (`u00@example.com`, ...), each created by the owner.
async fn audited_demo(users: usize) -> (TestApp, Op) {
    let (app, owner) = with_owner().await;
    owner
        .call(
            &app,
            ConsoleCreateApp {
                app_id: "demo".into(),
                name: "Demo".into(),
            },
        )
        .await
        .unwrap();
    for i in 0..users {
        owner
            .call(
                &app,
                ConsoleCreateUser {
                    app_id: "demo".into(),
                    email: format!("u{i:02}@example.com"),
                    roles: None,
                    invite: None,
                },
            )
            .await
            .unwrap();
    }
    (app, owner)
}

/// One page of the audit log through the console.
async fn audit_page(app: &TestApp, owner: &Op, query: AuditQuery, before: Option<i64>) -> Value {
    owner
        .call(
            app,
            ConsoleAudit {
                query: Some(query),
                before,
            },
        )
        .await
        .unwrap()
}

fn actions_of(page: &Value) -> Vec<&str> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_pages_newest_first_fifty_at_a_time() {
    let (app, owner) = audited_demo(60).await;
    let demo = || AuditQuery {
        app_id: Some("demo".into()),
        ..Default::default()
    };
    let first = audit_page(&app, &owner, demo(), None).await;
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 50);
    assert!(events[0]["id"].as_i64() > events[1]["id"].as_i64());
    let second = audit_page(&app, &owner, demo(), first["next"].as_i64()).await;
    assert!(second["events"].as_array().unwrap().len() >= 10);
    assert!(second["events"][0]["id"].as_i64() < events[49]["id"].as_i64());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_filters_by_action_actor_target_and_time() {
    let (app, owner) = audited_demo(60).await;
    let created = audit_page(
        &app,
        &owner,
        AuditQuery {
            app_id: Some("demo".into()),
            action: Some("user.created".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    assert!(actions_of(&created).iter().all(|a| *a == "user.created"));
    // A prefix ending in a dot matches every action of that noun.
    let prefixed = audit_page(
        &app,
        &owner,
        AuditQuery {
            action: Some("app.".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    assert!(!actions_of(&prefixed).is_empty());
    assert!(actions_of(&prefixed).iter().all(|a| a.starts_with("app.")));
    let by_actor = audit_page(
        &app,
        &owner,
        AuditQuery {
            actor: Some("owner@example.com".into()),
            app_id: Some("demo".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    assert_eq!(by_actor["events"].as_array().unwrap().len(), 50);
    let target = user_id(&app, "demo", "u07@example.com").await;
    let by_target = audit_page(
        &app,
        &owner,
        AuditQuery {
            target: Some(target),
            ..Default::default()
        },
        None,
    )
    .await;
    assert_eq!(by_target["events"].as_array().unwrap().len(), 1);
    let future = audit_page(
        &app,
        &owner,
        AuditQuery {
            from: Some("2999-01-01".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    assert!(future["events"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_date_filter_is_answered_beside_its_field() {
    let (app, owner) = audited_demo(0).await;
    let bad = owner
        .call(
            &app,
            ConsoleAudit {
                query: Some(AuditQuery {
                    from: Some("yesterday".into()),
                    ..Default::default()
                }),
                before: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad["Invalid"]["field"], "from");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_row_names_what_it_is_about_even_under_after() {
    let (app, owner) = audited_demo(2).await;
    let created = audit_page(
        &app,
        &owner,
        AuditQuery {
            action: Some("user.created".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    assert_eq!(
        created["events"][0]["summary"], "email: u01@example.com",
        "{}",
        created["events"][0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_detail_of_an_update_shows_before_and_after() {
    let (app, owner) = audited_demo(0).await;
    let role = |require_passkey: Option<String>| ConsoleUpdateRole {
        app_id: "demo".into(),
        name: "ops".into(),
        description: None,
        require_passkey,
        max_auth_age_secs: None,
    };
    owner
        .call(
            &app,
            ConsoleCreateRole {
                app_id: "demo".into(),
                name: "ops".into(),
                description: None,
                require_passkey: None,
                max_auth_age_secs: None,
            },
        )
        .await
        .unwrap();
    owner.call(&app, role(Some("on".into()))).await.unwrap();
    let updated = audit_page(
        &app,
        &owner,
        AuditQuery {
            action: Some("role.updated".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    let detail = owner
        .call(
            &app,
            ConsoleAuditEvent {
                id: updated["events"][0]["id"].as_i64().unwrap(),
            },
        )
        .await
        .unwrap();
    assert!(
        detail["before"]
            .as_str()
            .unwrap()
            .contains("\"require_passkey\": false")
    );
    assert!(
        detail["after"]
            .as_str()
            .unwrap()
            .contains("\"require_passkey\": true")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_export_the_filtered_log_as_csv_and_json_lines() {
    let (app, owner) = audited_demo(60).await;
    let csv = owner
        .browser
        .get(format!(
            "{}/console/audit/export?format=csv&app=demo&action=user.created",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("1auth-audit.csv")
    );
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 61, "a header and 60 events");
    assert!(text.lines().skip(1).all(|l| l.contains("user.created")));
    let jsonl = owner
        .browser
        .get(format!(
            "{}/console/audit/export?format=jsonl&app=demo&actor=owner@example.com",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jsonl.lines().count(), 61, "the app and its 60 users");
    assert!(
        jsonl.lines().all(
            |l| serde_json::from_str::<Value>(l).unwrap()["actor_label"] == "owner@example.com"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_signed_out_exports_the_log() {
    let (app, _owner) = audited_demo(0).await;
    let anonymous = reqwest::get(format!("{}/console/audit/export", app.address))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_finds_an_edited_event_in_the_chain() {
    let (app, owner) = audited_demo(3).await;
    let verify = || ConsoleVerifyChain {
        app_id: "demo".into(),
    };
    let chain = owner.call(&app, verify()).await.unwrap();
    assert_eq!(chain["problem"], Value::Null);
    app.sql("UPDATE audit_event SET actor_label = 'mallory' WHERE app_id = 'demo' AND seq = 3")
        .await;
    let chain = owner.call(&app, verify()).await.unwrap();
    assert_eq!(
        chain["problem"],
        "event 3 was altered after it was recorded"
    );
}
