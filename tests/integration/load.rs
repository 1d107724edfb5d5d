//! Under concurrency, on the selected backend (SQLite or PostgreSQL): many
//! refresh chains and password sign-ins at once lose nothing and never
//! answer 5xx; a database that cannot answer in time is "busy, try again"
//! (503 with Retry-After), never a missing app. Bounded, on loopback; the
//! figures live in `scripts/bench.sh`, not here.

use crate::common;

use common::oauth::{Client, Pkce, assert_exactly_one_won, param};
use common::{PASSWORD, TestApp, add_user, browser, spawn_app};
use oneauth::api::hosted::SignInWithPassword;
use oneauth::entities::audit_event;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;

async fn app_with_client(app: &TestApp) -> Value {
    app.create_confidential_app("demo", "Demo")
}

/// Sign `email` in with a fresh browser, authorize and exchange the code:
/// the status of the first step that failed, or the token response.
async fn password_flow(app: &TestApp, client: &Client<'_>, email: &str) -> Result<Value, u16> {
    let browser = browser();
    let signed_in = app
        .call(
            &browser,
            SignInWithPassword {
                app_id: "demo".into(),
                email: email.to_string(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await;
    if !signed_in.status().is_success() {
        return Err(signed_in.status().as_u16());
    }
    let pkce = Pkce::new();
    let authorized = client.authorize(&browser, &pkce, &[]).await;
    let location = authorized
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Some(code) = param(&location, "code") else {
        return Err(authorized.status().as_u16());
    };
    match client.exchange(&code, &pkce).await {
        (200, tokens) => Ok(tokens),
        (status, _) => Err(status),
    }
}

/// An app `demo` with a confidential client and `chains` refresh tokens of
/// one signed-in user, each the start of its own chain.
async fn refresh_chains(chains: usize) -> (TestApp, Value, Vec<String>) {
    let app = spawn_app().await;
    let created = app_with_client(&app).await;
    add_user(&app, "demo", "ada@example.com");
    let client = Client::from_created(&app, &created);
    let browser = browser();
    common::sign_in(&app, &browser, "demo", "ada@example.com", PASSWORD).await;
    let mut tokens = Vec::new();
    for _ in 0..chains {
        let issued = client.tokens(&browser, &[]).await;
        tokens.push(issued["refresh_token"].as_str().unwrap().to_owned());
    }
    (app, created, tokens)
}

/// A refresh request a spawned task can send on its own (the tests' Client
/// borrows the TestApp, so it cannot move into a task).
#[derive(Clone)]
struct Refresher {
    token_url: String,
    client_id: String,
    secret: Option<String>,
    http: reqwest::Client,
}

impl Refresher {
    fn of(client: &Client<'_>) -> Self {
        Self {
            token_url: client.endpoint("token"),
            client_id: client.client_id.clone(),
            secret: client.secret.clone(),
            http: reqwest::Client::new(),
        }
    }

    /// The status and body of a refresh of `token`.
    async fn refresh(&self, token: &str) -> (u16, Value) {
        let response = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, self.secret.as_deref())
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }
}

/// M6: more refreshes at once than the pool has connections. Before the fix
/// the grant held a connection (on SQLite the write lock) while minting took
/// a second one for the signing key: 10 s stalls, 500s, dead chains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn m6_sixty_four_concurrent_refresh_chains_all_rotate_and_none_dies() {
    const CHAINS: usize = 64;
    const ROTATIONS: usize = 4;
    let (app, created, chains) = refresh_chains(CHAINS).await;
    let client = Client::from_created(&app, &created);
    let refresher = Refresher::of(&client);

    let mut rotations = tokio::task::JoinSet::new();
    for start in chains {
        let refresher = refresher.clone();
        rotations.spawn(async move {
            let mut token = start;
            let mut statuses = Vec::new();
            for _ in 0..ROTATIONS {
                let (status, body) = refresher.refresh(&token).await;
                statuses.push(status);
                match body["refresh_token"].as_str() {
                    Some(next) if status == 200 => token = next.to_owned(),
                    _ => break,
                }
            }
            (statuses, token)
        });
    }
    let mut finals = Vec::new();
    while let Some(done) = rotations.join_next().await {
        let (statuses, token) = done.unwrap();
        assert_eq!(
            statuses,
            vec![200; ROTATIONS],
            "every refresh of every chain succeeds, none is a 5xx"
        );
        finals.push(token);
    }
    // Every chain is still alive: its newest token refreshes once more.
    for token in finals {
        let (status, body) = client.refresh(&token).await;
        assert_eq!(status, 200, "a chain died: {body}");
    }
}

/// Concurrent refreshes read their tokens together: one statement serves
/// the reads waiting when it starts (the database's per-statement overhead
/// was most of its time at a few dozen chains). Each request still gets its
/// own token's rows: every refresh succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_share_their_token_reads() {
    const CHAINS: usize = 64;
    let (app, created, chains) = refresh_chains(CHAINS).await;
    let client = Client::from_created(&app, &created);
    let refresher = Refresher::of(&client);

    let mut refreshes = tokio::task::JoinSet::new();
    for token in chains {
        let refresher = refresher.clone();
        refreshes.spawn(async move { refresher.refresh(&token).await });
    }
    while let Some(done) = refreshes.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
    };
    let reads = counter("oneauth_refresh_reads_total ");
    let statements = counter("oneauth_refresh_read_statements_total ");
    assert_eq!(reads, CHAINS as u64);
    assert!(
        statements < reads,
        "{reads} reads took {statements} statements: none was shared"
    );
}

/// Each of sixteen tokens presented four times at once (a client retrying
/// a refresh it thinks was lost), all 64 in flight together: on PostgreSQL
/// several rotation groups commit at once and a token can sit in two of
/// them. Nothing answers 5xx, each token is spent (one presentation at
/// least gets a successor), and no family forks: at most one successor of
/// each token goes on refreshing (the replays count as reuse).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_presented_many_times_at_once_never_forks_its_family() {
    const CHAINS: usize = 16;
    const PRESENTATIONS: usize = 4;
    let (app, created, chains) = refresh_chains(CHAINS).await;
    let client = Client::from_created(&app, &created);
    let refresher = Refresher::of(&client);

    let mut presentations = tokio::task::JoinSet::new();
    for (chain, token) in chains.iter().enumerate() {
        for _ in 0..PRESENTATIONS {
            let (refresher, token) = (refresher.clone(), token.clone());
            presentations.spawn(async move {
                let (status, body) = refresher.refresh(&token).await;
                (chain, status, body)
            });
        }
    }
    let mut successors = vec![Vec::new(); CHAINS];
    while let Some(done) = presentations.join_next().await {
        let (chain, status, body) = done.unwrap();
        assert!(status < 500, "chain {chain}: {status} {body}");
        if status == 200 {
            successors[chain].push(body["refresh_token"].as_str().unwrap().to_owned());
        }
    }
    for (chain, won) in successors.iter().enumerate() {
        assert!(
            !won.is_empty(),
            "chain {chain}: no presentation got a successor"
        );
        let mut live = 0;
        for successor in won {
            if client.refresh(successor).await.0 == 200 {
                live += 1;
            }
        }
        assert!(live <= 1, "chain {chain} forked into {live} live branches");
    }
}

/// L2: sixteen password sign-ins at once (argon2 on its own bounded pool,
/// outside every transaction), each followed by a code exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn l2_sixteen_concurrent_password_sign_ins_all_succeed() {
    const USERS: usize = 16;
    let app = spawn_app().await;
    let created = app_with_client(&app).await;
    for i in 0..USERS {
        add_user(&app, "demo", &format!("user{i}@example.com"));
    }
    let app = std::sync::Arc::new(app);
    let mut flows = tokio::task::JoinSet::new();
    for i in 0..USERS {
        let (app, created) = (std::sync::Arc::clone(&app), created.clone());
        flows.spawn(async move {
            let client = Client::from_created(&app, &created);
            password_flow(&app, &client, &format!("user{i}@example.com")).await
        });
    }
    let results: Vec<_> = flows.join_all().await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "sign-in flows failed with {failed:?}");
    for tokens in results.into_iter().flatten() {
        assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    }
}

/// Hold every connection a request could read with, so nothing can answer
/// until they are given back.
async fn hold_every_read_connection(app: &TestApp) -> Vec<sea_orm::DatabaseTransaction> {
    let mut held = Vec::new();
    for _ in 0..app.db.read_connections() {
        held.push(app.db.begin().await.unwrap());
    }
    held
}

/// The review saw "404 There is no such app" for an app that exists when
/// the pool timed out: a client library would conclude it is misconfigured.
/// A database that does not answer in time is 503 with Retry-After.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_cannot_answer_is_busy_never_a_missing_app() {
    let app = spawn_app().await;
    let created = app_with_client(&app).await;
    let client = Client::from_created(&app, &created);
    let held = hold_every_read_connection(&app).await;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = http
        .post(client.endpoint("token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials")]);
    let discovery = http.get(format!(
        "{}/a/demo/.well-known/openid-configuration",
        app.address
    ));
    let jwks = http.get(client.endpoint("jwks"));
    let authorize = http.get(format!(
        "{}?response_type=code&client_id={}&redirect_uri=http://localhost:5173/cb&code_challenge={}&code_challenge_method=S256",
        client.endpoint("authorize"),
        client.client_id,
        Pkce::new().challenge
    ));
    let (token, discovery, jwks, authorize) = tokio::join!(
        token.send(),
        discovery.send(),
        jwks.send(),
        authorize.send()
    );
    for (what, response) in [
        ("token", token.unwrap()),
        ("discovery", discovery.unwrap()),
        ("jwks", jwks.unwrap()),
        ("authorize", authorize.unwrap()),
    ] {
        assert_eq!(response.status(), 503, "{what}");
        assert!(
            response.headers().contains_key("retry-after"),
            "{what} says when to retry"
        );
        let body = response.text().await.unwrap();
        assert!(!body.contains("no such app"), "{what}: {body}");
    }

    drop(held);
    assert_eq!(
        app.get("/a/demo/.well-known/openid-configuration")
            .await
            .status(),
        200,
        "served again once connections are free"
    );
    let (status, body) = client
        .post("token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Machine tokens are counted and summarised in the audit chain (one event
/// per client and scope per flush), not chained one by one.
#[tokio::test(flavor = "multi_thread")]
async fn machine_tokens_are_summarised_in_the_audit_chain() {
    let app = spawn_app().await;
    let created = app_with_client(&app).await;
    let client = Client::from_created(&app, &created);
    for _ in 0..5 {
        let (status, body) = client
            .post("token", &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(app.grant_tally.pending(), 5);
    assert_eq!(app.grant_tally.flush(&app.db).await.unwrap(), 1);
    let granted = audit_event::Entity::find()
        .filter(audit_event::Column::AppId.eq("demo"))
        .filter(audit_event::Column::Action.eq("token.granted"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(granted.len(), 1, "one summary event");
    let details: Value = serde_json::from_str(&granted[0].details).unwrap();
    assert_eq!(details["count"], 5);
    assert_eq!(details["grant_type"], "client_credentials");
    assert_eq!(details["client_id"], client.client_id);
    assert!(details["first_at"].is_string() && details["last_at"].is_string());
    assert_eq!(app.grant_tally.pending(), 0);
    assert_eq!(app.grant_tally.flush(&app.db).await.unwrap(), 0);
    app.cli(&["audit", "verify", "--app", "demo"])
        .expect_success();
}

/// A refresh token presented many times at once (a replay racing the
/// client) rotates once: the others are reuse, which revokes the family.
/// Rotations are committed in groups, so the copies may share one group.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_token_presented_eight_times_at_once_rotates_once() {
    let (app, created, chains) = refresh_chains(1).await;
    let client = Client::from_created(&app, &created);
    let refresher = Refresher::of(&client);

    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (refresher, token) = (refresher.clone(), chains[0].clone());
        copies.spawn(async move { refresher.refresh(&token).await });
    }
    // Exactly one copy rotates; the others are refused as reuse.
    let answers = copies.join_all().await;
    assert_exactly_one_won(&answers);
    // Reuse revoked the family: the winner's successor is dead too.
    let (_, rotated) = answers.iter().find(|(status, _)| *status == 200).unwrap();
    let successor = rotated["refresh_token"].as_str().unwrap();
    let (status, body) = client.refresh(successor).await;
    assert_eq!(status, 400, "{body}");
}

/// sea-orm binds the `LIMIT 1` of every single-row read as a parameter, and
/// SQLite (3.51) marks a statement whose LIMIT is a bound parameter stale on
/// each new binding: every such read was parsed and planned again, a
/// sixth of the server's time outside argon2 in a sign-in flow. Built with
/// the query planner stability guarantee (QPSG), a statement keeps its plan
/// whatever is bound, so the prepared-statement cache holds.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_keeps_a_statement_prepared_whatever_its_limit_binds() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/qpsg.db?mode=rwc", dir.path().display());
    let db = oneauth::core::db::connect(&url).await.unwrap();
    let options = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "PRAGMA compile_options",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<_>>();
    assert!(
        options.iter().any(|option| option == "ENABLE_QPSG"),
        "SQLite is built without ENABLE_QPSG (LIBSQLITE3_FLAGS in .cargo/config.toml): {options:?}"
    );
}

/// Which keys are active is read again every second, but a key id's
/// material never changes: its signer and verifier are unsealed and parsed
/// once per process. Before, every request in flight when the second ran
/// out parsed the RSA key again, a tenth of the server's time at 256 refresh
/// chains.
#[tokio::test(flavor = "multi_thread")]
async fn a_signing_key_is_unsealed_and_parsed_once_per_process() {
    use oneauth::core::oidc::keys;
    use oneauth::types::Alg;
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    let first = keys::active(&app.db, &oneauth::types::AppId::parse("demo").unwrap())
        .await
        .unwrap();
    let kid = first.get(Alg::Rs256).unwrap().kid.clone();
    let published = keys::verifier(
        &app.db,
        &oneauth::types::AppId::parse("demo").unwrap(),
        &kid,
    )
    .await
    .unwrap()
    .unwrap();
    tokio::time::sleep(oneauth::core::cache::FRESH_FOR + std::time::Duration::from_millis(100))
        .await;

    let second = keys::active(&app.db, &oneauth::types::AppId::parse("demo").unwrap())
        .await
        .unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&first, &second),
        "the active set is read again once stale"
    );
    for alg in [Alg::Rs256, Alg::Es256] {
        let (before, after) = (first.get(alg).unwrap(), second.get(alg).unwrap());
        assert_eq!(before.kid, after.kid);
        assert!(
            std::ptr::addr_eq(before.signer(), after.signer()),
            "{alg:?}: the key was parsed again"
        );
    }
    let again = keys::verifier(
        &app.db,
        &oneauth::types::AppId::parse("demo").unwrap(),
        &kid,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&published, &again),
        "the verifier was parsed again"
    );
}

/// Busy is known by its type at the server functions too (the architecture
/// review's `Fault`): a database that does not answer in time is answered
/// "busy, try again" (503 with Retry-After), not "something went wrong".
#[tokio::test(flavor = "multi_thread")]
async fn a_server_function_answers_busy_when_the_database_cannot_answer() {
    let app = spawn_app().await;
    app_with_client(&app).await;
    let held = hold_every_read_connection(&app).await;
    let response = app
        .call(
            &common::browser(),
            oneauth::api::hosted::LoadHostedApp {
                app_id: "demo".into(),
            },
        )
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body = response.text().await.unwrap();
    assert!(body.contains("Unavailable"), "{body}");
    drop(held);
}

/// The security review saw /authorize answer a busy database past the app
/// lookup as 500 "something went wrong": a signed-in browser whose session,
/// client or code cannot be read or written in time is answered "busy, try
/// again" like every other endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn authorize_answers_busy_past_the_app_lookup() {
    let app = spawn_app().await;
    let created = app_with_client(&app).await;
    let client = Client::from_created(&app, &created);
    add_user(&app, "demo", "ada@example.com");
    let browser = browser();
    let signed_in = app
        .call(
            &browser,
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await;
    assert!(signed_in.status().is_success());
    // A first authorization caches the app and its client.
    let first = client.authorize(&browser, &Pkce::new(), &[]).await;
    assert_eq!(first.status(), 302, "{:?}", first.headers());

    let held = hold_every_read_connection(&app).await;
    let busy = client.authorize(&browser, &Pkce::new(), &[]).await;
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));
    drop(held);

    let again = client.authorize(&browser, &Pkce::new(), &[]).await;
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    assert!(param(&location, "code").is_some(), "{location}");
}
