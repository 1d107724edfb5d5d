//! The audit chain: every CLI change is recorded; `audit verify` notices an
//! edited, deleted or reordered row; export as JSONL and CSV.

use crate::common;

use common::{Backend, TestApp, backend, spawn_app};
use oneauth::core::audit::{self, Action, Event, Target};
use oneauth::core::write::{self, Actor};
use oneauth::entities::audit_event;
use oneauth::types::AppId;
use serde_json::json;

/// An app with five events: app.created, client.created, role.created,
/// user.created, role.granted.
async fn app_with_history() -> TestApp {
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    app.cli(&["role", "create", "--app", "demo", "admin"])
        .expect_success();
    app.cli(&[
        "user",
        "create",
        "--app",
        "demo",
        "--email",
        "ada@example.com",
        "--role",
        "admin",
    ])
    .expect_success();
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_changes_are_recorded_in_order() {
    let app = app_with_history().await;
    let events = app.events("demo").await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "app.created",
            "client.created",
            "role.created",
            "user.created",
            "role.granted"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(events[0].prev_hash, audit::GENESIS_HASH);
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert!(
        events
            .iter()
            .all(|e| e.actor_type == "cli" && e.actor_label.starts_with("cli:"))
    );
    let created: serde_json::Value = serde_json::from_str(&events[3].details).unwrap();
    assert_eq!(created["after"]["email"], "ada@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_on_an_untouched_log() {
    let app = app_with_history().await;
    let run = app.cli(&["audit", "verify"]).expect_success();
    assert!(
        run.stdout.contains("demo: intact (5 events)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("console: intact (0 events)"),
        "{}",
        run.stdout
    );
    let one = app
        .cli(&["audit", "verify", "--app", "demo"])
        .expect_success();
    assert_eq!(one.stdout.trim(), "demo: intact (5 events)");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_an_edited_row() {
    let app = app_with_history().await;
    app.sql(
        "UPDATE audit_event SET actor_label = 'someone-else' WHERE app_id = 'demo' AND seq = 3",
    )
    .await;
    let run = app.cli(&["audit", "verify"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.contains("demo: BROKEN: event 3 was altered"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("tampered"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_edited_details() {
    let app = app_with_history().await;
    app.sql(
        r#"UPDATE audit_event SET details = '{"role":"owner"}' WHERE app_id = 'demo' AND seq = 5"#,
    )
    .await;
    let run = app.cli(&["audit", "verify", "--app", "demo"]);
    assert!(!run.success);
    assert!(run.stdout.contains("event 5 was altered"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_a_rehashed_edit() {
    // Even someone holding the master key, who edits a row and recomputes
    // its MAC, breaks the link to the next event.
    let app = app_with_history().await;
    let mut events = app.events("demo").await;
    let mut edited = events.remove(1);
    edited.actor_label = "cli:mallory".into();
    let forged = keyed_hash(&app, &edited);
    app.sql(&format!(
        "UPDATE audit_event SET actor_label = 'cli:mallory', hash = '{forged}' WHERE app_id = 'demo' AND seq = 2"
    ))
    .await;
    let run = app.cli(&["audit", "verify", "--app", "demo"]);
    assert!(!run.success);
    assert!(
        run.stdout.contains("event 3 does not follow event 2"),
        "{}",
        run.stdout
    );
}

/// Recompute an event's MAC the way `audit::record` does, with the key
/// derived from the server's master key (which the test holds).
fn keyed_hash(app: &TestApp, event: &audit_event::Model) -> String {
    let key = oneauth::core::vault::Vault::load(Some(&app.master_key), std::path::Path::new("/"))
        .unwrap()
        .derive("audit-chain");
    let fields = json!([
        "1auth-audit-v2",
        event.app_id,
        event.seq,
        event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        event.actor_type,
        event.actor_id,
        event.actor_label,
        event.actor_address,
        event.action,
        event.target_type,
        event.target_id,
        event.details,
        event.prev_hash,
    ]);
    hex::encode(key.mac(fields.to_string().as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_keyed_hash_matches_the_real_one() {
    let app = app_with_history().await;
    for event in app.events("demo").await {
        assert_eq!(keyed_hash(&app, &event), event.hash);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_a_deleted_row() {
    let app = app_with_history().await;
    app.sql("DELETE FROM audit_event WHERE app_id = 'demo' AND seq = 2")
        .await;
    let run = app.cli(&["audit", "verify", "--app", "demo"]);
    assert!(!run.success);
    assert!(
        run.stdout.contains("event 2 is missing (deleted)"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_a_deleted_tail() {
    let app = app_with_history().await;
    app.sql("DELETE FROM audit_event WHERE app_id = 'demo' AND seq >= 4")
        .await;
    let run = app.cli(&["audit", "verify", "--app", "demo"]);
    assert!(!run.success);
    assert!(
        run.stdout
            .contains("the chain ends at event 3 but 5 events were recorded"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_reordered_rows() {
    let app = app_with_history().await;
    // Swap the sequence numbers of events 2 and 3 (via a free number).
    app.sql("UPDATE audit_event SET seq = 1000 WHERE app_id = 'demo' AND seq = 2")
        .await;
    app.sql("UPDATE audit_event SET seq = 2 WHERE app_id = 'demo' AND seq = 3")
        .await;
    app.sql("UPDATE audit_event SET seq = 3 WHERE app_id = 'demo' AND seq = 1000")
        .await;
    let run = app.cli(&["audit", "verify", "--app", "demo"]);
    assert!(!run.success);
    assert!(run.stdout.contains("BROKEN: event 2"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_reports_each_app_separately() {
    let app = app_with_history().await;
    app.create_app("other", "Other");
    app.sql("UPDATE audit_event SET action = 'app.deleted' WHERE app_id = 'demo' AND seq = 1")
        .await;
    let run = app.cli(&["audit", "verify"]);
    assert!(!run.success);
    assert!(run.stdout.contains("demo: BROKEN"), "{}", run.stdout);
    assert!(
        run.stdout.contains("other: intact (2 events)"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_jsonl_and_csv() {
    let app = app_with_history().await;
    let jsonl = app
        .cli(&["audit", "export", "--app", "demo"])
        .expect_success()
        .stdout;
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["action"], "app.created");
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[3]["details"]["after"]["email"], "ada@example.com");
    assert_eq!(lines[4]["prev_hash"], lines[3]["hash"]);

    let csv_text = app
        .cli(&["audit", "export", "--app", "demo", "--format", "csv"])
        .expect_success()
        .stdout;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "app_id");
    assert_eq!(&headers[7], "action");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[4][7], "role.granted");
    let details: serde_json::Value = serde_json::from_str(&rows[4][10]).unwrap();
    assert_eq!(details["role"], "admin");

    // The console app has no events yet: an empty export, not an error.
    let empty = app
        .cli(&["audit", "export", "--app", "console"])
        .expect_success();
    assert!(empty.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_appends_to_one_app_form_one_chain() {
    let app = spawn_app().await;
    app.create_app("busy", "Busy");
    let app_id = AppId::parse("busy").unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = app.db.clone();
        let app_id = app_id.clone();
        tasks.push(tokio::spawn(async move {
            let tx = write::begin(&db, Actor::system()).await.unwrap();
            audit::record(
                &tx,
                Event {
                    app_id: &app_id,
                    actor: &Actor::system(),
                    action: Action::KeyRotated,
                    target: Some(Target::user(i.to_string())),
                    details: json!({ "i": i }),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = audit::verify_chain(&app.db, app.db.deployment(), "busy", None)
        .await
        .unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.events_checked, 22);
}

#[tokio::test(flavor = "multi_thread")]
async fn appends_to_different_apps_do_not_wait_for_each_other() {
    // SQLite has one writer per database file by design; the per-app head row
    // lock matters on PostgreSQL, the scale-out backend.
    if backend() != Backend::Postgres {
        return;
    }
    let app = spawn_app().await;
    app.create_app("alpha", "Alpha");
    app.create_app("beta", "Beta");
    let alpha = AppId::parse("alpha").unwrap();
    let beta = AppId::parse("beta").unwrap();
    let actor = Actor::system();
    let event = |app_id| Event {
        app_id,
        actor: &actor,
        action: Action::KeyRotated,
        target: None,
        details: json!({}),
    };

    // Hold alpha's chain open in one transaction...
    let held = write::begin(&app.db, Actor::system()).await.unwrap();
    audit::record(&held, event(&alpha)).await.unwrap();
    // ...while beta appends and commits.
    let other = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let tx = write::begin(&app.db, Actor::system()).await.unwrap();
        audit::record(&tx, event(&beta)).await.unwrap();
        tx.commit().await.unwrap();
    })
    .await;
    assert!(
        other.is_ok(),
        "an append to beta waited for alpha's transaction"
    );

    // A second append to alpha does wait: that is what keeps one chain.
    let same = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        let tx = write::begin(&app.db, Actor::system()).await.unwrap();
        audit::record(&tx, event(&alpha)).await.unwrap();
        tx.commit().await.unwrap();
    })
    .await;
    assert!(same.is_err(), "two appends to alpha ran at once");
    held.commit().await.unwrap();
    assert!(
        audit::verify_chain(&app.db, app.db.deployment(), "alpha", None)
            .await
            .unwrap()
            .is_intact()
    );
}

/// The deployment (its public URL, vault and the keys derived from the
/// master key) travels with its database handle, not in a process-wide
/// slot: two deployments with different master keys live side by side in
/// this one process, each sealing and chaining under its own key, and a
/// database refuses a key that is not its own before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn two_deployments_with_their_own_master_keys_live_in_one_process() {
    let first = spawn_app().await;
    let second = spawn_app().await;
    assert_ne!(first.master_key, second.master_key);
    for app in [&first, &second] {
        app.create_app("demo", "Demo");
        let checked = app.cli(&["audit", "verify"]).expect_success();
        assert!(
            checked.stdout.contains("demo: intact"),
            "{}",
            checked.stdout
        );
        let report = oneauth::core::audit::verify_chain(&app.db, app.db.deployment(), "demo", None)
            .await
            .unwrap();
        assert_eq!(report.problem, None);
    }
    let database = oneauth::core::db::connect(&first.database_url)
        .await
        .unwrap();
    let wrong =
        oneauth::core::vault::Vault::load(Some(&second.master_key), std::path::Path::new("/"))
            .unwrap();
    let refused = oneauth::core::deployment::start(database, &first.address, wrong).await;
    assert!(
        matches!(
            refused,
            Err(oneauth::core::deployment::DeploymentError::WrongMasterKey)
        ),
        "{refused:?}"
    );
}
