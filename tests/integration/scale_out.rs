//! Scale-out (issue 24, point 5): three `oneauth serve` processes on one
//! PostgreSQL behind a real HAProxy (from Debian, started here, checking
//! `/readyz`). A mixed workload meets no 5xx; refresh families keep one
//! winner per race and detect reuse across processes; throttling counts
//! across them; each e-mail goes once; the chains verify. A change made
//! through one node is honoured by every node within a second. A rolling
//! restart of the three drops no request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oneauth::api::console::clients::{ConsoleRotateClientSecret, ConsoleSetClientDisabled};
use oneauth::api::console::roles::ConsoleUpdateRole;
use oneauth::api::console::users::ConsoleSetUserActive;
use oneauth::api::hosted::RequestRecoveryEmail;
use serde_json::Value;

use crate::common::console::{first_owner, user_id};
use crate::common::haproxy::Haproxy;
use crate::common::mail::{SmtpSink, free_port};
use crate::common::oauth::{Pkce, assert_exactly_one_won, header, param};
use crate::common::{
    Backend, PASSWORD, ServerCall, ServerProcess, TestApp, add_user, backend, browser,
    password_sign_in, refused, spawn_app, spawn_server_process_at,
};

const NODES: usize = 3;

/// The deployment: the test's own server (for the CLI, the database and
/// the console owner's session), the three nodes and the balancer.
struct Deployment {
    app: TestApp,
    nodes: Vec<Option<ServerProcess>>,
    ports: Vec<u16>,
    proxy_port: u16,
    _proxy: Option<Haproxy>,
    sink: SmtpSink,
    client_id: String,
    secret: String,
}

impl Deployment {
    /// The balancer: the nodes' public URL.
    fn base(&self) -> String {
        format!("http://localhost:{}", self.proxy_port)
    }

    async fn start_node(&self, n: usize) -> ServerProcess {
        let smtp = self.sink.url();
        spawn_server_process_at(
            self.ports[n],
            &self.app.database_url,
            &self.app.master_key,
            Some(&self.base()),
            &[
                ("ONEAUTH_TRUSTED_PROXIES", "127.0.0.1"),
                ("ONEAUTH_SMTP_URL", smtp.as_str()),
                ("ONEAUTH_SMTP_POLL_MS", "50"),
                ("ONEAUTH_SHUTDOWN_DELAY", "1"),
                ("ONEAUTH_SHUTDOWN_GRACE", "10"),
            ],
            std::process::Stdio::inherit(),
        )
        .await
    }

    /// A token request through the balancer (or to node `node` alone).
    async fn token(
        &self,
        node: Option<usize>,
        form: &[(&str, &str)],
        secret: &str,
    ) -> (u16, Value) {
        token(&self.base(), node, &self.client_id, secret, form).await
    }
}

async fn token(
    base: &str,
    node: Option<usize>,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/a/demo/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(form);
    if let Some(node) = node {
        request = request.header("x-test-node", (node + 1).to_string());
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(err) => (0, Value::String(err.to_string())),
    }
}

async fn deployment() -> Deployment {
    let app = spawn_app().await;
    let created = app.create_confidential_app("demo", "Demo");
    app.cli(&["role", "create", "--app", "demo", "admin"])
        .expect_success();
    for n in 0..12 {
        add_user(&app, "demo", &format!("user{n}@example.com"));
    }
    app.grant_role("demo", "user0@example.com", "admin");
    let sink = SmtpSink::start().await;
    let ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let proxy_port = free_port();
    let mut deployment = Deployment {
        app,
        nodes: Vec::new(),
        ports: ports.clone(),
        proxy_port,
        _proxy: None,
        sink,
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        secret: created["client_secret"].as_str().unwrap().to_owned(),
    };
    for n in 0..NODES {
        let node = deployment.start_node(n).await;
        deployment.nodes.push(Some(node));
    }
    deployment._proxy = Some(Haproxy::start(proxy_port, &ports).await);
    deployment
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_behind_haproxy_serve_as_one() {
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only: several processes share one PostgreSQL");
        return;
    }
    let mut d = deployment().await;
    let base = d.base();

    // A mixed workload through the balancer: machine tokens, sign-ins,
    // recovery mail for ten users; no answer is a 5xx.
    let mut load = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let (base, id, secret) = (base.clone(), d.client_id.clone(), d.secret.clone());
        load.spawn(async move {
            let mut statuses = Vec::new();
            for round in 0..15 {
                let status = if (worker + round) % 2 == 0 {
                    token(
                        &base,
                        None,
                        &id,
                        &secret,
                        &[("grant_type", "client_credentials")],
                    )
                    .await
                    .0
                } else {
                    let email = format!("user{}@example.com", 1 + (worker + round) % 11);
                    password_sign_in(&browser(), &base, "demo", &email, PASSWORD)
                        .send()
                        .await
                        .map(|a| a.status().as_u16())
                        .unwrap_or(0)
                };
                statuses.push(status);
            }
            statuses
        });
    }
    for n in 2..12 {
        let answer = ServerCall::of(RequestRecoveryEmail {
            app_id: "demo".into(),
            email: format!("user{n}@example.com"),
        })
        .request(&browser(), &base)
        .send()
        .await
        .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let mut statuses = BTreeMap::new();
    while let Some(done) = load.join_next().await {
        for status in done.unwrap() {
            *statuses.entry(status).or_insert(0) += 1;
        }
    }
    assert_eq!(
        statuses.keys().copied().collect::<Vec<u16>>(),
        vec![200],
        "{statuses:?}"
    );
    // Each message once, though three senders watch the outbox.
    let mail = d.sink.wait_for(10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mail = if d.sink.messages().len() > mail.len() {
        d.sink.messages()
    } else {
        mail
    };
    assert_eq!(mail.len(), 10, "each e-mail sent once");

    // Refresh families: two refreshes of one token at once (round robin
    // sends them to different nodes): one winner; the old token presented
    // later is reuse, seen by another node, and ends the family.
    let user = browser();
    let signed_in = password_sign_in(&user, &base, "demo", "user1@example.com", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    for _ in 0..5 {
        let refresh = code_flow(&d, &user).await;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (a, b) = tokio::join!(
            d.token(None, &form, &d.secret),
            d.token(None, &form, &d.secret),
        );
        assert_exactly_one_won(&[a.clone(), b.clone()]);
        let winner = if a.0 == 200 { a.1 } else { b.1 };
        let successor = winner["refresh_token"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_millis(300)).await;
        for node in 0..NODES {
            let (status, body) = d
                .token(
                    Some(node),
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                    &d.secret,
                )
                .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_grant"))
            );
        }
        let (status, _) = d
            .token(
                Some(2),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &successor),
                ],
                &d.secret,
            )
            .await;
        assert_eq!(status, 400, "the family ended with the reuse");
    }
    assert!(
        d.app
            .actions("demo")
            .await
            .contains(&"token.reuse_detected".to_owned())
    );

    // Throttling counts across nodes: five failures round robin lock the
    // account everywhere.
    for _ in 0..5 {
        let answer = password_sign_in(
            &browser(),
            &base,
            "demo",
            "user11@example.com",
            "guess guess",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(answer.status(), 403);
    }
    for node in 0..NODES {
        let answer = password_sign_in(&browser(), &base, "demo", "user11@example.com", PASSWORD)
            .header("x-test-node", (node + 1).to_string())
            .send()
            .await
            .unwrap();
        let error: Value = answer.json().await.unwrap();
        assert!(
            refused(&error).starts_with("Too many failed attempts"),
            "{error}"
        );
    }

    // Changes through node 1, honoured by every node within a second.
    let owner = first_owner(&d.app).await;
    let through_node_1 = |call: ServerCall| {
        call.request(&owner.browser, &base)
            .header("x-test-node", "1")
            .send()
    };
    let mut took = BTreeMap::new();
    // A rotated secret: the old one is refused everywhere.
    let rotated = through_node_1(ServerCall::of(ConsoleRotateClientSecret {
        app_id: "demo".into(),
        client_id: d.client_id.clone(),
    }))
    .await
    .unwrap();
    assert_eq!(rotated.status(), 200);
    let new_secret: String = rotated.json().await.unwrap();
    let old_secret = std::mem::replace(&mut d.secret, new_secret);
    took.insert(
        "secret rotated",
        everywhere_within(|node| {
            let d = &d;
            let old_secret = old_secret.clone();
            async move {
                d.token(
                    Some(node),
                    &[("grant_type", "client_credentials")],
                    &old_secret,
                )
                .await
                .0 == 401
            }
        })
        .await,
    );
    // Signing keys rotated (by the CLI, another process): every node signs
    // with the new key.
    let (_, before) = d
        .token(Some(0), &[("grant_type", "client_credentials")], &d.secret)
        .await;
    let old_kid = header(before["access_token"].as_str().unwrap())["kid"].clone();
    d.app
        .cli(&["key", "rotate", "--app", "demo"])
        .expect_success();
    took.insert(
        "signing key rotated",
        everywhere_within(|node| {
            let (d, old_kid) = (&d, old_kid.clone());
            async move {
                let (_, body) = d
                    .token(
                        Some(node),
                        &[("grant_type", "client_credentials")],
                        &d.secret,
                    )
                    .await;
                body["access_token"]
                    .as_str()
                    .is_some_and(|jwt| header(jwt)["kid"] != old_kid)
            }
        })
        .await,
    );
    // A role's policy tightened: its holder, signed in with a password, no
    // longer gets a code without a passkey.
    let holder = browser();
    let answer = password_sign_in(&holder, &base, "demo", "user0@example.com", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    for node in 0..NODES {
        assert!(authorize_gives_a_code(&d, &holder, node).await);
    }
    let tightened = through_node_1(ServerCall::of(ConsoleUpdateRole {
        app_id: "demo".into(),
        name: "admin".into(),
        description: None,
        require_passkey: Some("on".into()),
        max_auth_age_secs: None,
    }))
    .await
    .unwrap();
    assert_eq!(
        tightened.status(),
        200,
        "{}",
        tightened.text().await.unwrap()
    );
    took.insert(
        "role policy tightened",
        everywhere_within(|node| {
            let (d, holder) = (&d, &holder);
            async move { !authorize_gives_a_code(d, holder, node).await }
        })
        .await,
    );
    // A user deactivated: their refresh token stops working everywhere.
    let refresh = code_flow(&d, &user).await;
    let deactivated = through_node_1(ServerCall::of(ConsoleSetUserActive {
        app_id: "demo".into(),
        user_id: user_id(&d.app, "demo", "user1@example.com").await,
        active: false,
        confirmation: None,
    }))
    .await
    .unwrap();
    assert_eq!(
        deactivated.status(),
        200,
        "{}",
        deactivated.text().await.unwrap()
    );
    took.insert(
        "user deactivated",
        everywhere_within(|node| {
            let (d, refresh) = (&d, refresh.clone());
            async move {
                d.token(
                    Some(node),
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                    &d.secret,
                )
                .await
                .0 == 400
            }
        })
        .await,
    );
    // A client disabled: refused everywhere.
    let disabled = through_node_1(ServerCall::of(ConsoleSetClientDisabled {
        app_id: "demo".into(),
        client_id: d.client_id.clone(),
        disabled: true,
    }))
    .await
    .unwrap();
    assert_eq!(disabled.status(), 200);
    took.insert(
        "client disabled",
        everywhere_within(|node| {
            let d = &d;
            async move {
                d.token(
                    Some(node),
                    &[("grant_type", "client_credentials")],
                    &d.secret,
                )
                .await
                .0 == 401
            }
        })
        .await,
    );
    eprintln!("honoured by every node after: {took:?}");
    for (change, after) in &took {
        assert!(*after <= Duration::from_millis(1250), "{change}: {after:?}");
    }
    let enabled = through_node_1(ServerCall::of(ConsoleSetClientDisabled {
        app_id: "demo".into(),
        client_id: d.client_id.clone(),
        disabled: false,
    }))
    .await
    .unwrap();
    assert_eq!(enabled.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A rolling restart under load: each node in turn stops (SIGTERM: its
    // /readyz fails, the balancer takes it out, it finishes what it has)
    // and comes back on its port; no request fails.
    let running = Arc::new(AtomicBool::new(true));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (base, id, secret, running) = (
            base.clone(),
            d.client_id.clone(),
            d.secret.clone(),
            running.clone(),
        );
        load.spawn(async move {
            let mut answers = Vec::new();
            while running.load(Ordering::SeqCst) {
                answers.push(
                    token(
                        &base,
                        None,
                        &id,
                        &secret,
                        &[("grant_type", "client_credentials")],
                    )
                    .await,
                );
            }
            answers
        });
    }
    for n in 0..NODES {
        let mut node = d.nodes[n].take().unwrap();
        node.terminate();
        let status = node
            .exit_status(Duration::from_secs(20))
            .await
            .expect("the node stops");
        assert!(status.success(), "{status:?}");
        d.nodes[n] = Some(d.start_node(n).await);
        // The balancer's checks see it up again (rise 2, every 200 ms).
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    running.store(false, Ordering::SeqCst);
    let mut answers = Vec::new();
    while let Some(done) = load.join_next().await {
        answers.extend(done.unwrap());
    }
    let failed: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(answers.len() > 100, "{} requests", answers.len());
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        answers.len()
    );

    // One audit chain per app, verified.
    d.app.cli(&["audit", "verify"]).expect_success();
}

/// Sign-in done in `browser`: authorize through the balancer and exchange
/// the code; the refresh token.
async fn code_flow(d: &Deployment, browser: &reqwest::Client) -> String {
    let pkce = Pkce::new();
    let answer = authorize(d, browser, &pkce, None).await;
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let code = param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"));
    let (status, body) = d
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:5173/cb"),
                ("code_verifier", &pkce.verifier),
            ],
            &d.secret,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn authorize(
    d: &Deployment,
    browser: &reqwest::Client,
    pkce: &Pkce,
    node: Option<usize>,
) -> reqwest::Response {
    let mut request = browser
        .get(format!("{}/a/demo/oauth/authorize", d.base()))
        .query(&[
            ("response_type", "code"),
            ("client_id", d.client_id.as_str()),
            ("redirect_uri", "http://localhost:5173/cb"),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
    if let Some(node) = node {
        request = request.header("x-test-node", (node + 1).to_string());
    }
    request.send().await.unwrap()
}

async fn authorize_gives_a_code(d: &Deployment, browser: &reqwest::Client, node: usize) -> bool {
    let answer = authorize(d, browser, &Pkce::new(), Some(node)).await;
    answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("http://localhost:5173/cb") && l.contains("code="))
}

/// How long until `holds` is true on every node (polled every 50 ms, at
/// most 5 s).
async fn everywhere_within<F, Fut>(holds: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    let mut pending: Vec<usize> = (0..NODES).collect();
    while !pending.is_empty() && started.elapsed() < Duration::from_secs(5) {
        let mut still = Vec::new();
        for node in pending {
            if !holds(node).await {
                still.push(node);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(pending.is_empty(), "nodes {pending:?} never saw the change");
    started.elapsed()
}
