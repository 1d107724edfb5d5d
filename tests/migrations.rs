//! The schema's history: a database migrated by the schema that landed
//! first is brought up to date by the later, appended migrations, and each
//! of those goes down and up again (SQLite and PostgreSQL alike).

mod common;

use common::{Backend, backend, fresh_database};
use migration::{Migrator, MigratorTrait};
use oneauth::core::db;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// The definition of index `name`, or `None` when there is none.
async fn index_definition(db: &DatabaseConnection, name: &str) -> Option<String> {
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
    Migrator::up(&db, Some(9)).await.unwrap();
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

    // And down again to the first definitions, then up.
    Migrator::down(&db, Some(1)).await.unwrap();
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
