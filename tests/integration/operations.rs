//! Running it like production (issue 24): metrics through the registry,
//! request ids in logs and answers, JSON logs, a graceful stop, limits on
//! what a request may carry. The process-wide parts (the metrics recorder,
//! the log format, signals) run in `oneauth serve` processes of their own.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::mail::free_port;
use crate::common::oauth::Client;
use crate::common::{
    PASSWORD, ServerCall, TestApp, add_user, browser, password_sign_in, spawn_app,
    spawn_server_process_logging, spawn_server_process_with,
};
use oneauth::api::hosted::SignInWithPassword;

/// An app `demo` with a confidential client and one user.
async fn demo(app: &TestApp) -> Value {
    let created = app.create_confidential_app("demo", "Demo");
    add_user(app, "demo", "ada@example.com");
    created
}

async fn sign_in(base: &str, password: &str) -> reqwest::Response {
    password_sign_in(&browser(), base, "demo", "ada@example.com", password)
        .send()
        .await
        .unwrap()
}

/// The value of the series whose line starts with `name{` and carries
/// every label of `labels`, or of the plain `name`.
fn series(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let matches = if labels.is_empty() {
            key == name
        } else {
            key.starts_with(&format!("{name}{{")) && labels.iter().all(|l| key.contains(l))
        };
        matches.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_come_from_the_registry_on_their_own_address_or_behind_a_token() {
    let app = spawn_app().await;
    let created = demo(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, "scraper-token-0123456789abcdef\n").unwrap();
    let metrics_port = free_port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let server = spawn_server_process_with(
        &app,
        &[
            ("ONEAUTH_METRICS", "off"),
            ("ONEAUTH_METRICS_BIND", &metrics_bind),
            ("ONEAUTH_METRICS_TOKEN_FILE", token_file.to_str().unwrap()),
        ],
    )
    .await;

    // Traffic: a sign-in that fails, one that succeeds, a refused refresh.
    assert_eq!(
        sign_in(&server.address, "wrong password!").await.status(),
        403
    );
    assert_eq!(sign_in(&server.address, PASSWORD).await.status(), 200);
    let mut client = Client::from_created(&app, &created);
    client.base = server.address.clone();
    let (status, _) = client
        .post(
            "token",
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
        )
        .await;
    assert_eq!(status, 400);

    let scrape = reqwest::get(format!("http://{metrics_bind}/metrics"))
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    let metrics = scrape.text().await.unwrap();
    let has = |name: &str, labels: &[&str]| {
        series(&metrics, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in:\n{metrics}"))
    };
    // HTTP by route template, never the raw path.
    assert_eq!(
        has(
            "oneauth_http_requests_total",
            &[
                "route=\"/a/{app_id}/oauth/token\"",
                "method=\"POST\"",
                "status=\"400\""
            ]
        ),
        1.0
    );
    assert!(!metrics.contains("/a/demo/"), "a raw path in:\n{metrics}");
    assert!(
        has(
            "oneauth_http_request_duration_seconds_count",
            &["route=\"/a/{app_id}/oauth/token\""]
        ) >= 1.0
    );
    assert!(metrics.contains("oneauth_http_request_duration_seconds_bucket{"));
    assert!(metrics.contains("# TYPE oneauth_http_request_duration_seconds histogram"));
    // Sign-ins by method and outcome; the audit appends they made.
    assert_eq!(
        has(
            "oneauth_signins_total",
            &["method=\"password\"", "outcome=\"failed\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "oneauth_signins_total",
            &["method=\"password\"", "outcome=\"succeeded\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "oneauth_audit_events_total",
            &["action=\"signin.succeeded\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "oneauth_token_grants_total",
            &["grant_type=\"refresh_token\"", "outcome=\"invalid_grant\""]
        ),
        1.0
    );
    assert_eq!(has("oneauth_password_hashes_total", &[]), 2.0);
    assert_eq!(has("oneauth_token_reuse_detected_total", &[]), 0.0);
    // Read at scrape time: pools, queues, outbox, caches, the build.
    assert!(metrics.contains("oneauth_db_connections{pool="));
    assert!(metrics.contains("oneauth_db_write_wait_seconds_bucket"));
    assert_eq!(has("oneauth_password_hashes_waiting", &[]), 0.0);
    assert!(series(&metrics, "oneauth_outbox_messages", &["status=\"pending\""]).is_some());
    assert!(series(&metrics, "oneauth_outbox_oldest_pending_age_seconds", &[]).is_some());
    assert!(has("oneauth_cache_lookups_total", &["cache=\"apps\""]) >= 1.0);
    assert_eq!(
        has(
            "oneauth_build_info",
            &[&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(has("oneauth_task_up", &["task=\"cleanup\""]), 1.0);
    assert!(metrics.contains("# HELP oneauth_signins_total "));

    // The metrics listener serves nothing else.
    let other = reqwest::get(format!("http://{metrics_bind}/a/demo/login"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // On the main port: only to the bearer of the token (ONEAUTH_METRICS is
    // off, so even this machine gets nothing without it).
    let main = |token: Option<&str>| {
        let mut request = reqwest::Client::new().get(format!("{}/metrics", server.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(main(None).await.unwrap().status(), 404);
    assert_eq!(
        main(Some("scraper-token-0123456789abcdeX"))
            .await
            .unwrap()
            .status(),
        404
    );
    let with_token = main(Some("scraper-token-0123456789abcdef")).await.unwrap();
    assert_eq!(with_token.status(), 200);
    assert!(
        with_token
            .text()
            .await
            .unwrap()
            .contains("oneauth_signins_total")
    );
}

/// One id per request: in the `x-request-id` answer and on every log line
/// written while it ran, taken from a trusted proxy, with the logs in JSON.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_from_the_proxy_is_on_its_log_lines_and_answer_in_json() {
    let app = spawn_app().await;
    demo(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = spawn_server_process_logging(
        &app,
        &[
            ("ONEAUTH_LOG_FORMAT", "json"),
            ("ONEAUTH_LOG", "info,oneauth=debug"),
            ("ONEAUTH_TRUSTED_PROXIES", "127.0.0.1"),
        ],
        log,
    )
    .await;
    let answer = reqwest::Client::new()
        .get(format!(
            "{}/a/demo/.well-known/openid-configuration",
            server.address
        ))
        .header("x-request-id", "lb-7f3a-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-request-id"], "lb-7f3a-0001");
    // An id no proxy would send (spaces) is replaced.
    let odd = reqwest::Client::new()
        .get(format!("{}/healthz", server.address))
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    let replaced = odd.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(replaced.len(), 32, "{replaced}");
    drop(server);

    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
        })
        .collect();
    assert!(lines.len() > 3, "{text}");
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|span| span["id"] == "lb-7f3a-0001"))
        })
        .collect();
    assert!(!of_request.is_empty(), "no line carries the id:\n{text}");
    for line in &of_request {
        let request = &line["spans"][0];
        assert_eq!(request["name"], "request");
        assert_eq!(
            request["route"],
            "/a/{app_id}/.well-known/openid-configuration"
        );
        assert!(line["timestamp"].is_string() && line["level"].is_string());
    }
}

/// A client is not a trusted proxy: the id it sends is not the one logged
/// (it could make its requests look like someone else's).
#[tokio::test(flavor = "multi_thread")]
async fn a_client_cannot_choose_its_request_id() {
    let app = spawn_app().await;
    let answer = app
        .http
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "someone-elses-id")
        .send()
        .await
        .unwrap();
    let id = answer.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "someone-elses-id");
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// SIGTERM: /readyz answers 503 at once; after the shutdown delay the port
/// is closed while a request in flight still finishes; the machine-token
/// tally is flushed, the mail sender stops, and the process exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_what_is_in_flight_then_exits_zero() {
    let app = spawn_app().await;
    let created = demo(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // A front end whose precompression outlasts the test (brotli at its best
    // level on megabytes of text, in a debug build): a stopping server must
    // not wait for it.
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let mut text = String::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    while text.len() < 6 * 1024 * 1024 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        text.push_str(&format!("var v{} = {};\n", seed % 9973, seed % 1_000_003));
    }
    std::fs::write(site.join("pkg").join("big.js"), text).unwrap();
    let mut server = spawn_server_process_logging(
        &app,
        &[
            ("LEPTOS_SITE_ROOT", site.to_str().unwrap()),
            ("ONEAUTH_SHUTDOWN_DELAY", "2"),
            ("ONEAUTH_SHUTDOWN_GRACE", "20"),
            ("ONEAUTH_LOG", "info"),
            // A sender with nothing to send: it must stop cleanly too.
            ("ONEAUTH_SMTP_URL", "smtp://127.0.0.1:9?security=none"),
        ],
        log,
    )
    .await;
    let mut client = Client::from_created(&app, &created);
    client.base = server.address.clone();
    for _ in 0..3 {
        let (status, body) = client
            .post("token", &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(status, 200, "{body}");
    }

    // A token request in flight: its headers and half its body sent.
    let authority = server.address.trim_start_matches("http://").to_owned();
    let body = "grant_type=client_credentials&scope=";
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            client.client_id,
            client.secret.as_deref().unwrap()
        ))
    };
    let mut in_flight = tokio::net::TcpStream::connect(&authority).await.unwrap();
    in_flight
        .write_all(
            format!(
                "POST /a/demo/oauth/token HTTP/1.1\r\nHost: {authority}\r\n\
                 Authorization: Basic {basic}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n{}",
                body.len(),
                &body[..10]
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.terminate();
    let stopping_at = std::time::Instant::now();
    let mut ready = 0;
    while stopping_at.elapsed() < Duration::from_secs(1) {
        ready = reqwest::get(format!("{}/readyz", server.address))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if ready == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ready, 503, "/readyz answers 503 within a second of SIGTERM");
    // Meanwhile other requests are still served...
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.address))
            .await
            .unwrap()
            .status(),
        200
    );
    // ...until the delay has passed and the port is closed.
    let mut refused = false;
    while stopping_at.elapsed() < Duration::from_secs(6) {
        if tokio::net::TcpStream::connect(&authority).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "no new connection after the shutdown delay");
    assert!(
        server.exit_status(Duration::ZERO).await.is_none(),
        "the process waits for the request in flight"
    );

    // The request in flight completes with a real answer.
    in_flight.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");

    let Some(status) = server.exit_status(Duration::from_secs(15)).await else {
        panic!(
            "the server did not exit once drained; its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap()
        );
    };
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("the e-mail sender stopped"), "{log}");
    // All four machine tokens reached the audit log (the last flush ran).
    let issued: i64 = app
        .events("demo")
        .await
        .iter()
        .filter(|event| event.action == "token.granted")
        .map(|event| {
            serde_json::from_str::<Value>(&event.details).unwrap()["count"]
                .as_i64()
                .unwrap()
        })
        .sum();
    assert_eq!(issued, 4, "{log}");
    app.cli(&["audit", "verify", "--app", "demo"])
        .expect_success();
}

/// A body or a head larger than any real request is refused before it is
/// handled: 413 and 431, not a 5xx, and the server goes on.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_and_headers_are_refused_early() {
    let app = spawn_app().await;
    demo(&app).await;
    let token = format!("{}/a/demo/oauth/token", app.address);
    let big_body = reqwest::Client::new()
        .post(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type={}", "x".repeat(2 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(big_body.status(), 413);
    let server_fn = ServerCall::of(SignInWithPassword {
        app_id: "demo".into(),
        email: "ada@example.com".to_owned(),
        password: "x".repeat(2 * 1024 * 1024),
        return_to: None,
    })
    .request(&reqwest::Client::new(), &app.address)
    .send()
    .await
    .unwrap();
    assert_eq!(server_fn.status(), 413);

    let big_cookie = reqwest::Client::new()
        .get(format!("{}/healthz", app.address))
        .header("cookie", format!("a={}", "b".repeat(40 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(big_cookie.status(), 431);
    let mut many = reqwest::Client::new().get(format!("{}/healthz", app.address));
    for n in 0..150 {
        many = many.header(format!("x-filler-{n}"), "1");
    }
    assert_eq!(many.send().await.unwrap().status(), 431);

    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// A token request with the client's Basic credentials; its status, its
/// Retry-After (if any) and how long the answer took.
async fn timed_token_request(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
) -> (u16, bool, Duration) {
    let started = std::time::Instant::now();
    let answer = http
        .post(format!("{base}/a/demo/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    match answer {
        Ok(answer) => (
            answer.status().as_u16(),
            answer.headers().contains_key("retry-after"),
            started.elapsed(),
        ),
        Err(_) => (0, false, started.elapsed()),
    }
}

/// A PostgreSQL that restarts under load: within a second `/readyz` fails
/// and requests are answered 503 with Retry-After (none hangs, none is a
/// 500); when the database is back the server serves again by itself.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_restart_under_load_is_answered_503_then_recovered_from() {
    if crate::common::backend() != crate::common::Backend::Postgres {
        eprintln!("PostgreSQL only: the suite's PostgreSQL run covers it");
        return;
    }
    let postgres = crate::common::postgres::PrivatePostgres::start();
    let url = postgres.database("oneauth_outage").await;
    let key = crate::common::test_master_key();
    let created = crate::common::oneauth_with_key(
        &url,
        Some(&key),
        &[
            "app",
            "create",
            "demo",
            "--name",
            "Demo",
            "--redirect-uri",
            "http://localhost:5173/cb",
            "--confidential",
        ],
        None,
    )
    .expect_success()
    .json();
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let server = crate::common::spawn_server_process_on(
        &url,
        &key,
        None,
        &[],
        std::process::Stdio::inherit(),
    )
    .await;
    let base = server.address.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();

    let began = std::time::Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Requests arrive every 40 ms whatever happens to the earlier ones (a
    // request in flight when the database goes away may wait for the pool
    // on its own; the ones arriving after must not).
    let arrivals = {
        let (http, base, id, secret, stop) = (
            http.clone(),
            base.clone(),
            client_id.clone(),
            secret.clone(),
            std::sync::Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut load = tokio::task::JoinSet::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let (http, base, id, secret) =
                    (http.clone(), base.clone(), id.clone(), secret.clone());
                load.spawn(async move {
                    let at = began.elapsed();
                    let (status, retry_after, took) =
                        timed_token_request(&http, &base, &id, &secret).await;
                    (at, status, retry_after, took)
                });
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            let mut answers = Vec::new();
            while let Some(done) = load.join_next().await {
                answers.push(done.unwrap());
            }
            answers
        })
    };
    let readiness = {
        let (http, base, stop) = (http.clone(), base.clone(), std::sync::Arc::clone(&stop));
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let at = began.elapsed();
                let status = http
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                seen.push((at, status));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };

    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::task::block_in_place(|| postgres.stop());
    let stopped_at = began.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarting_at = began.elapsed();
    tokio::task::block_in_place(|| postgres.start_again());
    let restarted_at = began.elapsed();
    // Served again without a restart of 1Auth.
    let mut recovered_at = None;
    for _ in 0..200 {
        let (status, _, _) = timed_token_request(&http, &base, &client_id, &secret).await;
        if status == 200 {
            recovered_at = Some(began.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let answers = arrivals.await.unwrap();
    let readiness = readiness.await.unwrap();
    let recovered_at = recovered_at.expect("the server serves again once PostgreSQL is back");
    assert!(
        recovered_at - restarted_at < Duration::from_secs(5),
        "served again {:?} after the database came back",
        recovered_at - restarted_at
    );

    // No answer but 200 or 503 with Retry-After, ever.
    for (at, status, retry_after, took) in &answers {
        assert!(
            *status == 200 || (*status == 503 && *retry_after),
            "at {at:?}: {status} (Retry-After: {retry_after}) after {took:?}"
        );
    }
    // Once the outage is a second old, every answer is a 503 within a second.
    let during: Vec<_> = answers
        .iter()
        .filter(|(at, ..)| *at > stopped_at + Duration::from_secs(1) && *at < restarting_at)
        .collect();
    assert!(
        during.len() > 10,
        "{} requests during the outage",
        during.len()
    );
    for (at, status, _, took) in &during {
        assert_eq!(*status, 503, "at {at:?}");
        assert!(
            *took < Duration::from_secs(1),
            "at {at:?}: answered after {took:?}"
        );
    }
    // Readiness fails within a second of the stop, and is ready again.
    let first_unready = readiness
        .iter()
        .find(|(at, status)| *at >= stopped_at && *status == 503)
        .map(|(at, _)| *at)
        .expect("/readyz failed during the outage");
    assert!(first_unready - stopped_at < Duration::from_secs(1));
    assert_eq!(readiness.last().unwrap().1, 200, "ready again");
    // Nothing was lost that was acknowledged: the chain verifies.
    crate::common::oneauth_with_key(&url, Some(&key), &["audit", "verify"], None).expect_success();
}
