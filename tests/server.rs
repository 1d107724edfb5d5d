//! The web server: probes, landing page, hosted login page and 404s.

mod common;

use common::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
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
