//! The audit log in the console: pages, filters, event detail, export and
//! the chain check.

use crate::common;

use common::TestApp;
use common::console::*;
use oneauth::api::console::{audit::*, roles::*, users::*};
use serde_json::Value;

/// The console's owner and the app `demo` with `users` users
/// (`u00@example.com`, ...), each created by the owner.
async fn audited_demo(users: usize) -> (TestApp, Op) {
    let (app, owner) = demo_with_owner().await;
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
