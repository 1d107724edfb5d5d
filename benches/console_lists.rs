//! How fast the console's lists answer over a large install: 100,000 users
//! and 1,000,000 audit events in one app. Prints the median time of each
//! query the console pages run (keyset-paged, index-backed).
//!
//!     cargo bench --features ssr --bench console_lists
//!     ONEAUTH_BENCH_DATABASE_URL=postgres://... cargo bench --features ssr --bench console_lists
//!
//! The default database is a fresh SQLite file in a temporary directory.

mod support;

use std::time::Instant;

use chrono::Utc;
use oneauth::core::admin::audit_log::{self, Filter};
use oneauth::core::write::Actor;
use oneauth::core::{apps, db, users, write};
use oneauth::entities::{app_user, audit_event};
use oneauth::types::{AppId, DisplayName, UserStatus};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseBackend, EntityTrait};
use support::{RUNS, operator, time};

const USERS: usize = 100_000;
const EVENTS: usize = 1_000_000;
#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("ONEAUTH_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()));
    let database = db::connect(&url).await.expect("connect");
    db::migrate(&database).await.expect("migrate");
    let db = oneauth::core::deployment::start(
        database,
        "http://localhost:3000",
        oneauth::core::vault::Vault::random(),
    )
    .await
    .expect("the deployment");

    let seeding = Instant::now();
    let tx = write::begin(&db, Actor::system()).await.unwrap();
    apps::create(
        &tx,
        apps::NewApp {
            id: AppId::parse("bench").unwrap(),
            name: DisplayName::parse("Bench").unwrap(),
            self_registration: false,
            api_audiences: Vec::new(),
            client: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let now = Utc::now();
    for chunk in (0..USERS).collect::<Vec<_>>().chunks(1000) {
        let tx = db::begin_write(&db).await.unwrap();
        let rows = chunk.iter().map(|i| app_user::ActiveModel {
            id: Set(format!("user-{i:06}")),
            app_id: Set(AppId::parse("bench").unwrap()),
            email: Set(format!("user{i:06}@example.com")),
            email_verified: Set(false),
            display_name: Set(None),
            status: Set(UserStatus::Active),
            deactivated_at: Set(None),
            last_sign_in_at: Set(None),
            device_epoch: Set(0),
            device_marks: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        });
        app_user::Entity::insert_many(rows)
            .exec_without_returning(&tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let actions = [
        "signin.succeeded",
        "signin.failed",
        "user.created",
        "role.granted",
        "token.granted",
    ];
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(2000) {
        let tx = db::begin_write(&db).await.unwrap();
        let rows = chunk.iter().map(|i| audit_event::ActiveModel {
            app_id: Set(AppId::parse("bench").unwrap()),
            // Event 1 is the app.created of apps::create.
            seq: Set(*i as i64 + 2),
            occurred_at: Set(now - chrono::Duration::seconds((EVENTS - i) as i64)),
            actor_type: Set("user".into()),
            actor_id: Set(Some(format!("user-{:06}", i % USERS))),
            actor_label: Set(format!("user{:06}@example.com", i % USERS)),
            actor_address: Set(Some("127.0.0.1".into())),
            action: Set(actions[i % actions.len()].into()),
            target_type: Set(Some("user".into())),
            target_id: Set(Some(format!("user-{:06}", (i * 7) % USERS))),
            details: Set("{}".into()),
            prev_hash: Set("0".repeat(64)),
            hash: Set("0".repeat(64)),
            ..Default::default()
        });
        audit_event::Entity::insert_many(rows)
            .exec_without_returning(&tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    println!(
        "seeded {USERS} users and {EVENTS} audit events in {:.1} s ({url})",
        seeding.elapsed().as_secs_f64()
    );
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // What autovacuum does within a minute of a bulk insert. Without
        // statistics the planner takes the time-range page for one row and
        // sorts 100,000 (~35 ms instead of ~0.5 ms), a plan no live install keeps.
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
    println!("median of {RUNS} runs:");

    let op = operator();
    time("users: first page", || async {
        users::page(&db, "bench", None, None, 50)
            .await
            .unwrap()
            .len()
    })
    .await;
    time("users: page after user050000", || async {
        users::page(&db, "bench", None, Some("user050000@example.com"), 50)
            .await
            .unwrap()
            .len()
    })
    .await;
    time("users: search \"user0999\" (contains)", || async {
        users::page(&db, "bench", Some("user0999"), None, 50)
            .await
            .unwrap()
            .len()
    })
    .await;
    time("users: count", || async {
        users::count(&db, "bench").await.unwrap() as usize
    })
    .await;

    let all = Filter {
        app_id: Some(AppId::parse("bench").unwrap()),
        ..Default::default()
    };
    time("audit: newest page of the app", || async {
        audit_log::page(&db, &op, &all, None).await.unwrap().len()
    })
    .await;
    time("audit: page before event 500,000", || async {
        audit_log::page(&db, &op, &all, Some(500_000))
            .await
            .unwrap()
            .len()
    })
    .await;
    let by_action = Filter {
        action: Some("signin.failed".into()),
        ..all.clone()
    };
    time("audit: action = signin.failed", || async {
        audit_log::page(&db, &op, &by_action, None)
            .await
            .unwrap()
            .len()
    })
    .await;
    let by_prefix = Filter {
        action: Some("signin.".into()),
        ..all.clone()
    };
    time("audit: action prefix signin.", || async {
        audit_log::page(&db, &op, &by_prefix, None)
            .await
            .unwrap()
            .len()
    })
    .await;
    let by_actor = Filter {
        actor: Some("user012345@example.com".into()),
        ..all.clone()
    };
    time("audit: actor = one user", || async {
        audit_log::page(&db, &op, &by_actor, None)
            .await
            .unwrap()
            .len()
    })
    .await;
    let by_target = Filter {
        target: Some("user-000700".into()),
        ..all.clone()
    };
    time("audit: target = one user", || async {
        audit_log::page(&db, &op, &by_target, None)
            .await
            .unwrap()
            .len()
    })
    .await;
    let by_time = Filter {
        from: Some(now - chrono::Duration::seconds(600_000)),
        to: Some(now - chrono::Duration::seconds(500_000)),
        ..all.clone()
    };
    time("audit: a time range in the middle", || async {
        audit_log::page(&db, &op, &by_time, None)
            .await
            .unwrap()
            .len()
    })
    .await;
    let everywhere = Filter::default();
    time("audit: newest page across apps", || async {
        audit_log::page(&db, &op, &everywhere, None)
            .await
            .unwrap()
            .len()
    })
    .await;
}
