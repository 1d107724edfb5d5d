//! The schema's history: a database migrated by the schema that landed
//! first is brought up to date by the later, appended migrations, and each
//! of those goes down and up again (SQLite and PostgreSQL alike).

use crate::common;

use common::{Backend, backend, fresh_database};
use migration::{Migrator, MigratorTrait};
use oneauth::core::db;
use oneauth::core::db::Database;
use sea_orm::{ConnectionTrait, Statement};

/// The definition of index `name`, or `None` when there is none.
async fn index_definition(db: &Database, name: &str) -> Option<String> {
    let (sql, column) = match backend() {
        Backend::Sqlite => (
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1",
            "sql",
        ),
        Backend::Postgres => (
            "SELECT indexdef FROM pg_indexes WHERE indexname = $1",
            "indexdef",
        ),
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [name.into()],
        ))
        .await
        .unwrap()?;
    Some(row.try_get::<String>("", column).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_filter_indexes_move_to_the_id_and_back() {
    let (url, _dir) = fresh_database().await;
    let db = db::connect(&url).await.unwrap();
    // The schema as it first landed (000001..000009).
    Migrator::up(db.writer(), Some(9)).await.unwrap();
    let actor = index_definition(&db, "ix_audit_event_actor").await.unwrap();
    assert!(
        actor.contains("actor_id") && actor.contains("occurred_at"),
        "{actor}"
    );
    assert_eq!(
        index_definition(&db, "ix_audit_event_app_actor").await,
        None
    );

    // Brought up to date: every filter column is followed by the id.
    db::migrate(&db).await.unwrap();
    for name in [
        "ix_audit_event_app",
        "ix_audit_event_app_action",
        "ix_audit_event_app_actor",
        "ix_audit_event_app_target",
        "ix_audit_event_action",
        "ix_audit_event_actor",
        "ix_audit_event_target",
    ] {
        let definition = index_definition(&db, name).await.unwrap_or_default();
        assert!(
            definition.contains("id)") || definition.contains("\"id\")"),
            "{name}: {definition}"
        );
    }
    let actor = index_definition(&db, "ix_audit_event_actor").await.unwrap();
    assert!(actor.contains("actor_label"), "{actor}");
    assert!(index_definition(&db, "ix_audit_event_time").await.is_some());

    // And down again to the first definitions (undoing 000010 and every
    // migration after it), then up.
    let after_000010 = Migrator::migrations().len() as u32 - 9;
    Migrator::down(db.writer(), Some(after_000010))
        .await
        .unwrap();
    assert_eq!(index_definition(&db, "ix_audit_event_app").await, None);
    let actor = index_definition(&db, "ix_audit_event_actor").await.unwrap();
    assert!(actor.contains("actor_id"), "{actor}");
    db::migrate(&db).await.unwrap();
    assert!(
        index_definition(&db, "ix_audit_event_app_actor")
            .await
            .is_some()
    );
}

/// 000011 adds the per-factor times of sign-in sessions and backfills live
/// sessions with the factor they were opened with (and nothing else: a
/// re-authentication recorded only as a merged time is not attributed).
#[tokio::test(flavor = "multi_thread")]
async fn sessions_get_their_opening_factor_time_and_the_step_goes_down_and_up() {
    let (url, _dir) = fresh_database().await;
    let db = db::connect(&url).await.unwrap();
    Migrator::up(db.writer(), Some(10)).await.unwrap();
    let now = "'2026-11-26T10:00:00+00:00'";
    let statements = [
        format!(
            "INSERT INTO app (id, name, created_at, updated_at) VALUES ('demo', 'Demo', {now}, {now})"
        ),
        format!(
            "INSERT INTO app_user (id, app_id, email, created_at, updated_at) VALUES ('u1', 'demo', 'ada@example.com', {now}, {now})"
        ),
    ];
    for statement in statements {
        db.writer().execute_unprepared(&statement).await.unwrap();
    }
    for (id, amr) in [
        ("s-pwd", r#"["pwd","hwk","user","mfa"]"#),
        ("s-hwk", r#"["hwk","user","mfa"]"#),
        ("s-otp", r#"["otp"]"#),
    ] {
        db.writer().execute_unprepared(&format!(
            "INSERT INTO signin_session (id, app_id, user_id, amr, acr, auth_time, last_seen_at, idle_expires_at, absolute_expires_at, created_at) \
             VALUES ('{id}', 'demo', 'u1', '{amr}', 'phr', {now}, {now}, {now}, {now}, '2026-11-26T09:00:00+00:00')"
        ))
        .await
        .unwrap();
    }
    db::migrate(&db).await.unwrap();
    let opened = |column: &'static str| {
        let db = &db;
        async move {
            let rows = db
                .query_all_raw(Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT id FROM signin_session WHERE {column} IS NOT NULL ORDER BY id"),
                ))
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.try_get::<String>("", "id").unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(opened("password_at").await, ["s-pwd"]);
    assert_eq!(opened("passkey_at").await, ["s-hwk"]);
    assert_eq!(opened("recovery_at").await, ["s-otp"]);
    Migrator::down(db.writer(), Some(1)).await.unwrap();
    db::migrate(&db).await.unwrap();
    assert_eq!(opened("passkey_at").await, ["s-hwk"], "down and up again");
}

/// Three servers of one deployment started at once all migrate the same
/// fresh database: one migrates, the others wait for it (an advisory lock
/// on PostgreSQL) and find nothing left to do; none fails.
#[tokio::test(flavor = "multi_thread")]
async fn three_processes_migrating_one_database_at_once_all_succeed() {
    let (url, _dir) = fresh_database().await;
    let started: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
                .arg("migrate")
                .env("ONEAUTH_DATABASE_URL", &url)
                .env("ONEAUTH_LOG", "warn")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start oneauth migrate")
        })
        .collect();
    for child in started {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let database = db::connect(&url).await.unwrap();
    let applied = database
        .query_one_raw(Statement::from_string(
            database.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(applied as usize, Migrator::migrations().len());
}
