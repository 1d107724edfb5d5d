//! The web server: probes, landing page, hosted login page and 404s.

use crate::common;

use common::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn landing_page_links_to_the_console_sign_in() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("href=\"/a/console/login\""), "{html}");
    assert!(html.contains("Every application is its own security boundary."));
    // The page loads the hydration script and the stylesheet.
    assert!(html.contains("/pkg/oneauth.js"));
    assert!(html.contains("/pkg/oneauth.css"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_login_page_shows_the_apps_display_name() {
    let app = spawn_app().await;
    app.create_app("demo", "Demo Admin");

    let page = app.get("/a/demo/login").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Demo Admin"), "{html}");
    assert!(
        html.contains("<title>Sign in to Demo Admin · 1Auth</title>"),
        "{html}"
    );
    assert!(html.contains("--brand: #4f46e5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_is_a_hosted_app_too() {
    let app = spawn_app().await;
    let html = app.get("/a/console/login").await.text().await.unwrap();
    assert!(html.contains("1Auth Console"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_app_gets_a_clear_404() {
    let app = spawn_app().await;
    for path in ["/a/nope/login", "/a/NOT-valid!/login"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), 404, "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains("There is no app called"), "{html}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_app_is_not_served() {
    let app = spawn_app().await;
    app.create_app("gone", "Gone");
    app.sql("UPDATE app SET disabled_at = CURRENT_TIMESTAMP WHERE id = 'gone'")
        .await;
    assert_eq!(app.get("/a/gone/login").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_get_the_404_page() {
    let app = spawn_app().await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status(), 404);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("There is nothing at this address.")
    );
}

/// The front end goes out precompressed (brotli or gzip, as the browser
/// accepts), made by `oneauth serve` at start-up, and compressed on the fly
/// until its copies exist; a file whose name carries
/// its content's hash may be cached forever, any other is revalidated.
#[tokio::test(flavor = "multi_thread")]
async fn front_end_files_are_served_precompressed_and_cached_by_their_hashed_names() {
    let app = spawn_app().await;
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = b"\0asm fake module body ".repeat(4000);
    let hashed = "oneauth.rJ2cTtWb4tvl1gIcS3yC0Q.wasm";
    std::fs::write(pkg.join(hashed), &wasm).unwrap();
    std::fs::write(
        pkg.join("oneauth.css"),
        "body { color: black; }".repeat(100),
    )
    .unwrap();
    let server = common::spawn_server_process_with(
        &app,
        &[("LEPTOS_SITE_ROOT", site.path().to_str().unwrap())],
    )
    .await;
    // The copies are written in the background after start-up.
    for _ in 0..100 {
        if pkg.join(format!("{hashed}.gz")).exists() && pkg.join(format!("{hashed}.br")).exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let http = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let get = |name: &str, encoding: &str| {
        http.get(format!("{}/pkg/{name}", server.address))
            .header("accept-encoding", encoding)
            .send()
    };
    for (accepted, expected) in [
        ("br, gzip", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        let response = get(hashed, accepted).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            expected,
            "Accept-Encoding: {accepted}"
        );
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let body = response.bytes().await.unwrap();
        match expected {
            Some(_) => assert!(
                body.len() < wasm.len() / 10,
                "compressed: {} bytes",
                body.len()
            ),
            None => assert_eq!(body.as_ref(), wasm.as_slice()),
        }
    }
    let plain = get("oneauth.css", "br").await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert_eq!(plain.headers()["content-encoding"], "br");
    assert_eq!(get("missing.js", "br").await.unwrap().status(), 404);

    // A file without copies yet (a build replaced while serving, or one the
    // background pass has not reached) is compressed on the fly.
    let late = "late.Zk3cTtWb4tvl1gIcS3yC0Q.js";
    let script = "console.log('a late chunk');\n".repeat(500);
    std::fs::write(pkg.join(late), &script).unwrap();
    let response = get(late, "gzip").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let body = response.bytes().await.unwrap();
    assert!(
        body.len() < script.len() / 10,
        "compressed: {} bytes",
        body.len()
    );
    let mut unpacked = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(body.as_ref()),
        &mut unpacked,
    )
    .unwrap();
    assert_eq!(unpacked, script);
}

/// A new browser session goes in only where its id is free: were a random
/// id ever to collide, the newcomer gets another id and the existing
/// session is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_browser_session_never_takes_an_existing_id() {
    use oneauth::http::session_store::DbSessionStore;
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};

    let app = spawn_app().await;
    let store = DbSessionStore::new(app.db.clone());
    let record = |who: &str, id: Id| Record {
        id,
        data: [("who".to_owned(), serde_json::json!(who))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    let mut first = record("ada", Id::default());
    store.create(&mut first).await.unwrap();
    let mut second = record("eve", first.id);
    store.create(&mut second).await.unwrap();

    assert_ne!(second.id, first.id);
    let who = |record: Option<Record>| record.unwrap().data["who"].clone();
    assert_eq!(who(store.load(&first.id).await.unwrap()), "ada");
    assert_eq!(who(store.load(&second.id).await.unwrap()), "eve");
}

/// Starting a server beside one that renders pages must not stall them.
/// Generating Leptos's route list sets a process-wide flag in
/// leptos_server under which a resource first polled meanwhile waits
/// forever (leptos-rs/leptos#4773); each server built its router with a
/// fresh route list, so a page rendered while another server started (the
/// tests run many servers in one process) could hang for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_render_while_other_servers_start() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = spawn_app().await;
    app.create_app("demo", "Demo");
    let pages = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let started = AtomicBool::new(false);
    let start_servers = async {
        for _ in 0..30 {
            common::spawn_second_server(&app).await;
        }
        started.store(true, Ordering::SeqCst);
    };
    let render_pages = async {
        let mut rendered = 0;
        while !started.load(Ordering::SeqCst) {
            let page = pages
                .get(format!("{}/a/demo/login", app.address))
                .send()
                .await
                .expect("the page answers");
            let html = page.text().await.expect("the page renders to its end");
            assert!(html.contains("Sign in to Demo"), "{html}");
            rendered += 1;
        }
        rendered
    };
    let ((), rendered) = tokio::join!(start_servers, render_pages);
    assert!(rendered > 0);
}

/// N11 (second security review): /metrics is off unless it is turned on,
/// so a proxy on the same host cannot publish it by accident; when on, it
/// answers only a client on this machine that no proxy forwarded.
#[tokio::test(flavor = "multi_thread")]
async fn n11_metrics_are_off_unless_turned_on() {
    let off = common::spawn_app_with(|args| args.metrics = false).await;
    assert_eq!(off.get("/metrics").await.status(), 404);
    let on = spawn_app().await;
    assert_eq!(on.get("/metrics").await.status(), 200);
    let forwarded = on
        .http
        .get(format!("{}/metrics", on.address))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 404);
}
