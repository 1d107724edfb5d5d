//! Organizations at scale: 10,000 organizations and 100,000 memberships in
//! one app. Prints the median server time of each console list page and of
//! the organization picker, and what organization claims add to minting a
//! token (access and ID token, ES256): with the claims in hand, and with
//! the membership read that the token endpoint does before minting.
//!
//!     cargo bench --features ssr --bench organizations
//!     ONEAUTH_BENCH_DATABASE_URL=postgres://... cargo bench --features ssr --bench organizations
//!
//! The default database is a fresh SQLite file in a temporary directory.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use oneauth::core::admin::orgs as admin_orgs;
use oneauth::core::oidc::minting::{self, Authentication, Grant};
use oneauth::core::oidc::scope::Scope;
use oneauth::core::orgs::{claims, members};
use oneauth::core::sessions::FactorTimes;
use oneauth::core::write::Actor;
use oneauth::core::{apps, db, write};
use oneauth::entities::{app_user, membership, oauth_client, organization, team, team_member};
use oneauth::types::{AppId, DisplayName, OrgSlug, UserStatus};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseBackend, EntityTrait};
use support::{RUNS, median, operator, time};

const ORGS: usize = 10_000;
const USERS: usize = 100_000;
/// Each user is a member of one organization (ten per organization); the
/// picker's user is in six.
const PICKER_ORGS: usize = 6;
const MINTS: usize = 2_000;
const REFRESHES: usize = 500;

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
    let app_id = AppId::parse("bench").unwrap();

    let seeding = Instant::now();
    let tx = write::begin(&db, Actor::system()).await.unwrap();
    apps::create(
        &tx,
        apps::NewApp {
            id: app_id.clone(),
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
            app_id: Set(app_id.clone()),
            email: Set(format!("user{i:06}@example.com")),
            email_verified: Set(true),
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
    for chunk in (0..ORGS).collect::<Vec<_>>().chunks(1000) {
        let tx = db::begin_write(&db).await.unwrap();
        let rows = chunk.iter().map(|i| organization::ActiveModel {
            id: Set(format!("org-id-{i:05}")),
            app_id: Set(app_id.clone()),
            slug: Set(format!("org-{i:05}")),
            name: Set(format!("Organization {i}")),
            search_name: Set(format!("organization {i}")),
            domain_policy: Set("none".into()),
            required_provider_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
        organization::Entity::insert_many(rows)
            .exec_without_returning(&tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let membership_of = |user: usize, org: usize, roles: &str| membership::ActiveModel {
        app_id: Set(app_id.clone()),
        organization_id: Set(format!("org-id-{org:05}")),
        user_id: Set(format!("user-{user:06}")),
        org_roles: Set(roles.to_owned()),
        created_at: Set(now),
    };
    for chunk in (0..USERS).collect::<Vec<_>>().chunks(2000) {
        let tx = db::begin_write(&db).await.unwrap();
        let rows = chunk.iter().map(|i| {
            // The first member of each organization owns it.
            let roles = if i / ORGS == 0 {
                r#"["owner"]"#
            } else {
                r#"["member"]"#
            };
            membership_of(*i, i % ORGS, roles)
        });
        membership::Entity::insert_many(rows)
            .exec_without_returning(&tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // The picker's user (user-000000, owner of org-00000) is in five more.
    let tx = db::begin_write(&db).await.unwrap();
    membership::Entity::insert_many(
        (1..PICKER_ORGS).map(|org| membership_of(0, org * 1000, r#"["admin","member"]"#)),
    )
    .exec_without_returning(&tx)
    .await
    .unwrap();
    // Three teams in org-00000, the token's user in two of them.
    for t in 0..3 {
        team::Entity::insert(team::ActiveModel {
            id: Set(format!("team-{t}")),
            app_id: Set(app_id.clone()),
            organization_id: Set("org-id-00000".into()),
            name: Set(format!("Team {t}")),
            created_at: Set(now),
        })
        .exec_without_returning(&tx)
        .await
        .unwrap();
        if t < 2 {
            team_member::Entity::insert(team_member::ActiveModel {
                app_id: Set(app_id.clone()),
                team_id: Set(format!("team-{t}")),
                user_id: Set("user-000000".into()),
                created_at: Set(now),
            })
            .exec_without_returning(&tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    println!(
        "seeded {USERS} users, {ORGS} organizations and {} memberships in {:.1} s ({url})",
        USERS + PICKER_ORGS - 1,
        seeding.elapsed().as_secs_f64()
    );
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // What autovacuum does within a minute of a bulk insert (since
        // PostgreSQL 13 inserts alone trigger it): statistics, hint bits
        // and the visibility map the counts' index-only scans read.
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    }
    println!("median of {RUNS} runs:");

    let op = operator();
    let acme = OrgSlug::parse("org-00000").unwrap();
    time("console: organizations, first page (+ total)", || async {
        admin_orgs::page(&db, &op, &app_id, None, None)
            .await
            .unwrap()
            .0
            .len()
    })
    .await;
    time("console: organizations, page after org-05000", || async {
        admin_orgs::page(&db, &op, &app_id, None, Some("org-05000"))
            .await
            .unwrap()
            .0
            .len()
    })
    .await;
    time(
        "console: organizations, search \"organization 999\"",
        || async {
            admin_orgs::page(&db, &op, &app_id, Some("organization 999"), None)
                .await
                .unwrap()
                .0
                .len()
        },
    )
    .await;
    time("console: members of one organization (+ total)", || async {
        admin_orgs::members(&db, &op, &app_id, &acme, None, None)
            .await
            .unwrap()
            .0
            .len()
    })
    .await;
    time("console: members, search \"user000\"", || async {
        admin_orgs::members(&db, &op, &app_id, &acme, Some("user000"), None)
            .await
            .unwrap()
            .0
            .len()
    })
    .await;
    time(
        "console: pending invitations of one organization",
        || async {
            admin_orgs::invitations(&db, &op, &app_id, &acme)
                .await
                .unwrap()
                .len()
        },
    )
    .await;
    time("console: teams of one organization", || async {
        admin_orgs::teams(&db, &op, &app_id, &acme)
            .await
            .unwrap()
            .len()
    })
    .await;
    time("console: organization roles", || async {
        admin_orgs::roles(&db, &op, &app_id).await.unwrap().len()
    })
    .await;
    time("picker: the organizations of a user in six", || async {
        members::of_user(&db, "user-000000").await.unwrap().len()
    })
    .await;

    // Minting: the same grant, with and without organization claims.
    oneauth::core::oidc::keys::ensure(&db, &app_id)
        .await
        .unwrap();
    let keys = oneauth::core::oidc::keys::active(&db, &app_id)
        .await
        .unwrap();
    let app = apps::find(&db, &app_id).await.unwrap().unwrap();
    let user = oneauth::core::users::find(&db, "bench", "user-000000")
        .await
        .unwrap()
        .unwrap();
    let client = oauth_client::Model {
        id: "bench-client".into(),
        app_id: app_id.clone(),
        name: "Bench".into(),
        client_type: oneauth::types::ClientType::Public,
        secret_hash: None,
        redirect_uris: "[]".into(),
        post_logout_redirect_uris: "[]".into(),
        id_token_alg: oneauth::types::Alg::Es256,
        secret_rotated_at: None,
        disabled_at: None,
        created_at: now,
        updated_at: now,
    };
    let scope = Scope::parse("openid email teams").unwrap();
    let authentication = Authentication {
        sid: "bench-session".into(),
        auth_time: now,
        amr: vec!["hwk".into()],
        acr: "phr".into(),
    };
    let factors = FactorTimes {
        passkey: Some(now),
        ..Default::default()
    };
    let roles = vec!["admin".to_owned()];
    let grant = |org: Option<&claims::OrgClaims>| {
        let org = org.cloned();
        let (app, client, user, scope, authentication, roles, keys) =
            (&app, &client, &user, &scope, &authentication, &roles, &keys);
        move || {
            let grant = Grant {
                issuer: "http://localhost:3000/a/bench",
                app,
                client,
                user: Some(user),
                authentication: Some(authentication),
                scope,
                roles,
                nonce: Some("n"),
                resource: None,
                issued_at: Utc::now(),
                family_id: Some("family"),
                org: org.as_ref(),
            };
            let (access, _) = minting::mint_access_token(keys, &grant).unwrap();
            minting::mint_id_token(keys, &grant, &access).unwrap();
        }
    };
    let standing = claims::standing(&db, &app_id, "org-id-00000", "user-000000", true)
        .await
        .unwrap()
        .unwrap();
    let in_hand = standing.claims(&factors, now);
    let sample = |mut mint: Box<dyn FnMut()>| {
        let mut samples = Vec::with_capacity(MINTS);
        for _ in 0..MINTS {
            let started = Instant::now();
            mint();
            samples.push(started.elapsed());
        }
        median(samples)
    };
    let without = sample(Box::new(grant(None)));
    let with = sample(Box::new(grant(Some(&in_hand))));
    let mut with_read = Vec::with_capacity(MINTS);
    let mint_with = grant(Some(&in_hand));
    for _ in 0..MINTS {
        let started = Instant::now();
        let read = claims::standing(&db, &app_id, "org-id-00000", "user-000000", true)
            .await
            .unwrap()
            .unwrap()
            .claims(&factors, now);
        std::hint::black_box(read);
        mint_with();
        with_read.push(started.elapsed());
    }
    let with_read = median(with_read);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |d: Duration| (d.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0;
    println!("minting an access and an ID token, median of {MINTS}:");
    println!(
        "{:<52} {:>9.3} ms",
        "without organization claims",
        ms(without)
    );
    println!(
        "{:<52} {:>9.3} ms  ({:+.1} %)",
        "with org_id, org_slug, org_roles, teams (in hand)",
        ms(with),
        pct(with)
    );
    println!(
        "{:<52} {:>9.3} ms  ({:+.1} %)",
        "with the membership and teams read first",
        ms(with_read),
        pct(with_read)
    );

    refresh_end_to_end(&db, &app, &client, now).await;
}

/// The refresh grant end to end, as the token endpoint runs it (the
/// batched read, the checks, minting both tokens, the grouped rotation),
/// for a chain of a family without an organization and one issued for
/// org-00000 (owner, with teams under the scope): what the organization
/// costs where tokens are minted.
async fn refresh_end_to_end(
    db: &db::Db,
    app: &oneauth::entities::app::Model,
    client: &oauth_client::Model,
    now: chrono::DateTime<Utc>,
) {
    use oneauth::core::oidc::grant_tally::GrantTally;
    use oneauth::core::oidc::grants::{self, Issuer};
    use oneauth::core::oidc::refresh_reads::RefreshReads;
    use oneauth::core::oidc::rotation::Rotations;
    use oneauth::entities::{authorization_code, refresh_token, signin_session, token_family};

    // Writes go through the write connection (SQLite's read pool refuses them).
    let tx = db::begin_write(db).await.unwrap();
    oauth_client::Entity::insert(sea_orm::IntoActiveModel::into_active_model(client.clone()))
        .exec_without_returning(&tx)
        .await
        .unwrap();
    let session = support::passkey_session(
        app.id.clone(),
        "user-000000",
        now,
        now + chrono::Duration::days(30),
    );
    signin_session::Entity::insert(sea_orm::IntoActiveModel::into_active_model(session.clone()))
        .exec_without_returning(&tx)
        .await
        .unwrap();
    // A family of each kind, opened as a code exchange opens one.
    let chain = |organization: Option<&str>| {
        let code = authorization_code::Model {
            code_hash: String::new(),
            app_id: app.id.clone(),
            client_id: client.id.clone(),
            user_id: "user-000000".into(),
            signin_session_id: session.id.clone(),
            redirect_uri: String::new(),
            scope: "openid email teams offline_access".into(),
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            auth_time: now,
            amr: r#"["hwk"]"#.into(),
            acr: "phr".into(),
            roles: "[]".into(),
            expires_at: now,
            used_at: None,
            resource: None,
            token_family_id: None,
            organization_id: organization.map(str::to_owned),
            created_at: now,
        };
        oneauth::core::token_families::open(app, &code, &session, now)
    };
    let (plain, with_org) = (chain(None), chain(Some("org-id-00000")));
    let mut tokens = Vec::new();
    for opened in [plain, with_org] {
        token_family::Entity::insert(opened.family)
            .exec_without_returning(&tx)
            .await
            .unwrap();
        refresh_token::Entity::insert(opened.first_row)
            .exec_without_returning(&tx)
            .await
            .unwrap();
        tokens.push(opened.first_token);
    }
    tx.commit().await.unwrap();
    let (refresh_reads, rotations, tally) = (
        RefreshReads::start(db.clone()),
        Rotations::start(db.clone()),
        GrantTally::default(),
    );
    let issuer = Issuer {
        db,
        issuer: "http://localhost:3000/a/bench",
        app,
        tally: &tally,
        refresh_reads: &refresh_reads,
        rotations: &rotations,
    };
    // Alternate the two chains, so both see the same database state.
    let mut samples = [Vec::with_capacity(REFRESHES), Vec::with_capacity(REFRESHES)];
    for round in 0..REFRESHES * 2 {
        let which = round % 2;
        let started = Instant::now();
        let response = grants::refresh(&issuer, client, &tokens[which], None, None)
            .await
            .unwrap();
        samples[which].push(started.elapsed());
        if which == 1 {
            let claims = response.id_token.as_deref().unwrap();
            std::hint::black_box(claims);
        }
        tokens[which] = response.refresh_token.unwrap();
    }
    let [plain, with_org] = samples.map(median);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "the refresh grant end to end (read, checks, both tokens, rotation), median of {REFRESHES}:"
    );
    println!(
        "{:<52} {:>9.3} ms",
        "a family without an organization",
        ms(plain)
    );
    println!(
        "{:<52} {:>9.3} ms  ({:+.1} %)",
        "a family of org-00000 (org_id, org_roles, teams)",
        ms(with_org),
        (with_org.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0
    );
}
