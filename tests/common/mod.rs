//! The one way integration tests start 1Auth: the real router on a random
//! port over a fresh database (zero2prod's `spawn_app`).
//!
//! `ONEAUTH_TEST_BACKEND=postgres` (with `ONEAUTH_TEST_POSTGRES_URL` pointing
//! at a server where the user may create databases) runs every test against
//! its own throw-away PostgreSQL database; otherwise each test gets a fresh
//! SQLite file.

#![allow(dead_code)]

pub mod console;
pub mod dns;
pub mod factors;
pub mod haproxy;
pub mod mail;
pub mod oauth;
pub mod passkey;
pub mod postgres;
pub mod upstream;

use oneauth::core::db::Db;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use leptos::server_fn::ServerFn;
use oneauth::config::{Settings, SettingsArgs};
use oneauth::core::vault::Vault;
use oneauth::server::{open_database, router, serve_connections};
use oneauth::state::AppState;
use sea_orm::ConnectionTrait;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A user of `app_id` with the test password, through the CLI.
/// The sentence of a server function's `Refused` error.
pub fn refused(error: &serde_json::Value) -> &str {
    error["Refused"]
        .as_str()
        .unwrap_or_else(|| panic!("not a refusal: {error}"))
}

/// A server function call ready to send: its path and its input encoded as
/// the page encodes it (`serde_qs`, which the server decodes). Tests that
/// try many different server functions in a loop keep a list of these.
pub struct ServerCall {
    pub path: &'static str,
    pub body: String,
}

impl ServerCall {
    pub fn of<F>(input: F) -> Self
    where
        F: ServerFn + serde::Serialize,
    {
        Self {
            path: F::PATH,
            body: serde_qs::to_string(&input).expect("server function input encodes"),
        }
    }

    /// The request a page would send to the server at `base`, for tests
    /// that add headers (a plain HTML form post, a proxy's address) or
    /// send it from a task of their own.
    pub fn request(&self, client: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
        client
            .post(format!("{base}{}", self.path))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(self.body.clone())
    }
}

/// A server function's JSON answer, or its error's JSON.
pub async fn json_answer(
    response: reqwest::Response,
) -> Result<serde_json::Value, serde_json::Value> {
    let ok = response.status().is_success();
    let body: serde_json::Value = response.json().await.expect("a JSON answer");
    if ok { Ok(body) } else { Err(body) }
}

pub fn add_user(app: &TestApp, app_id: &str, email: &str) {
    app.cli_with_stdin(
        &[
            "user",
            "create",
            "--app",
            app_id,
            "--email",
            email,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    )
    .expect_success();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("ONEAUTH_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("ONEAUTH_TEST_BACKEND must be sqlite or postgres, not {other}"),
    }
}

pub struct TestApp {
    /// `http://localhost:PORT`
    pub address: String,
    /// The master key (base64) this server and its CLI runs share.
    pub master_key: String,
    pub database_url: String,
    pub db: Db,
    /// The server's count of machine tokens not yet in the audit log
    /// (tests flush it instead of waiting for the flusher).
    pub grant_tally: std::sync::Arc<oneauth::core::oidc::grant_tally::GrantTally>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A fresh, migrated, empty database of the selected backend.
pub async fn fresh_database() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = match backend() {
        Backend::Sqlite => format!("sqlite://{}/oneauth.db?mode=rwc", dir.path().display()),
        Backend::Postgres => {
            let admin_url = std::env::var("ONEAUTH_TEST_POSTGRES_URL").expect(
                "ONEAUTH_TEST_BACKEND=postgres needs ONEAUTH_TEST_POSTGRES_URL (scripts/test.sh sets it)",
            );
            let name = format!("oneauth_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("connect to the PostgreSQL test server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create a throw-away test database");
            admin.close().await.ok();
            let mut url = url::Url::parse(&admin_url).expect("a valid PostgreSQL URL");
            url.set_path(&name);
            url.to_string()
        }
    };
    (url, dir)
}

/// A master key of its own for each test deployment (the keys derived
/// from it travel with its database handle, so deployments with different
/// keys live side by side in this process).
pub fn test_master_key() -> String {
    Vault::random().export_key()
}

pub async fn spawn_app() -> TestApp {
    let (database_url, dir) = fresh_database().await;
    spawn_app_on(database_url, dir, None, test_master_key()).await
}

/// Another server process (sharing nothing in memory) on the same database
/// and master key.
pub async fn spawn_second_server(first: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_app_on(
        first.database_url.clone(),
        dir,
        None,
        first.master_key.clone(),
    )
    .await
}

/// A server whose settings `configure` adjusts (trusted proxies, say).
pub async fn spawn_app_with(configure: impl FnOnce(&mut SettingsArgs)) -> TestApp {
    let (database_url, dir) = fresh_database().await;
    spawn_app_configured(database_url, dir, None, test_master_key(), configure).await
}

/// A server that delivers its e-mail to `smtp` (a sink's URL): it looks at
/// the outbox every 50 ms, waits a second after a first failure (doubling)
/// and gives up after three attempts.
pub async fn spawn_app_with_smtp(smtp: &str) -> TestApp {
    let smtp = smtp.to_owned();
    spawn_app_with(move |args| {
        args.smtp.smtp_url = Some(smtp);
        args.smtp.smtp_poll_ms = 50;
        args.smtp.smtp_retry_secs = 1;
        args.smtp.smtp_max_attempts = 3;
    })
    .await
}

/// A server whose public URL is `public_url` (e.g. https, for cookie flags).
pub async fn spawn_app_with_public_url(public_url: &str) -> TestApp {
    let (database_url, dir) = fresh_database().await;
    spawn_app_on(
        database_url,
        dir,
        Some(public_url.to_owned()),
        test_master_key(),
    )
    .await
}

/// A browser-like HTTP client: keeps cookies, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn spawn_app_on(
    database_url: String,
    dir: tempfile::TempDir,
    public_url: Option<String>,
    master_key: String,
) -> TestApp {
    spawn_app_configured(database_url, dir, public_url, master_key, |_| {}).await
}

/// Once per test binary: the metrics recorder (as `serve` installs it),
/// and, when `ONEAUTH_TEST_LOG_FILE` names a file, every log line of the
/// servers this binary runs written there at the level of
/// `ONEAUTH_TEST_LOG` (default debug), for `scripts/scan-logs.py` to read
/// for secrets after the suite (scripts/test.sh does).
fn observe_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        oneauth::telemetry::registry();
        let Some(file) = std::env::var_os("ONEAUTH_TEST_LOG_FILE") else {
            return;
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .expect("open the test log file");
        let filter = std::env::var("ONEAUTH_TEST_LOG").unwrap_or_else(|_| {
            // The servers' own lines; the test client's (reqwest, hyper as
            // a client) and the stand-ins' are not the server's logs.
            "debug,hyper=info,hyper_util=info,h2=info,reqwest=info,cookie_store=info,wiremock=info,rustls=info"
                .to_owned()
        });
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
    });
}

async fn spawn_app_configured(
    database_url: String,
    dir: tempfile::TempDir,
    public_url: Option<String>,
    master_key: String,
    configure: impl FnOnce(&mut SettingsArgs),
) -> TestApp {
    observe_once();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a random port");
    let addr = listener.local_addr().unwrap();
    // localhost, like a real deployment's host name: it is what browsers,
    // cookies and WebAuthn see.
    let address = format!("http://localhost:{}", addr.port());
    let mut args = SettingsArgs {
        database_url: database_url.clone(),
        bind: addr.to_string(),
        public_url: Some(public_url.unwrap_or_else(|| address.clone())),
        site_root: "target/site".to_owned(),
        trusted_proxies: String::new(),
        trust_proxy: None,
        master_key: Some(master_key.clone()),
        master_key_file: Some(dir.path().join("unused.key").display().to_string()),
        password_queue: oneauth::core::passwords::DEFAULT_QUEUE,
        metrics: true,
        // The stand-in providers live on loopback; the SSRF test turns
        // this off.
        allow_private_upstreams: true,
        smtp: Default::default(),
        operations: oneauth::config::OperationsArgs {
            // Organization domains are proved against the stand-in.
            dns_server: Some(dns::server().to_string()),
            ..Default::default()
        },
    };
    configure(&mut args);
    let settings = Settings::from_args(&args).expect("valid test settings");
    let db = open_database(&settings)
        .await
        .expect("open the test database");
    if let Some(smtp) = &settings.smtp {
        oneauth::core::mail::sender::Sender::new(db.clone(), smtp, settings.mail_policy)
            .expect("a usable SMTP configuration")
            .spawn();
    }
    let state = AppState::new(db.clone(), settings);
    let grant_tally = std::sync::Arc::clone(&state.grant_tally);
    tokio::spawn(serve_connections(
        listener,
        router(state),
        std::future::pending(),
        std::time::Duration::from_secs(30),
    ));

    TestApp {
        address,
        master_key,
        database_url,
        db,
        grant_tally,
        http: browser(),
        _dir: dir,
    }
}

/// What a CLI run printed and how it ended.
pub struct CliRun {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {}", self.stdout))
    }

    #[track_caller]
    pub fn expect_success(self) -> Self {
        assert!(
            self.success,
            "oneauth failed: {}\n{}",
            self.stderr, self.stdout
        );
        self
    }

    /// Fails with exactly one `error: ...` sentence and a non-zero code.
    #[track_caller]
    pub fn expect_error(self, fragment: &str) -> Self {
        assert!(!self.success, "oneauth should have failed: {}", self.stdout);
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no `error:` sentence on stderr: {}", self.stderr));
        assert!(
            line.contains(fragment),
            "`{line}` should mention `{fragment}`"
        );
        assert!(
            !self.stderr.contains("panicked"),
            "oneauth panicked: {}",
            self.stderr
        );
        self
    }
}

/// Run the real `oneauth` binary against `database_url`.
pub fn oneauth(database_url: &str, args: &[&str], stdin: Option<&str>) -> CliRun {
    oneauth_with_key(database_url, None, args, stdin)
}

/// The same, with the master key of a test server.
pub fn oneauth_with_key(
    database_url: &str,
    master_key: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
) -> CliRun {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oneauth"));
    if let Some(key) = master_key {
        command.env("ONEAUTH_MASTER_KEY", key);
    }
    let mut child = command
        .args(args)
        .env("ONEAUTH_DATABASE_URL", database_url)
        .env("ONEAUTH_DNS_SERVER", dns::server().to_string())
        .env("ONEAUTH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oneauth");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    CliRun {
        success: status.success(),
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

impl TestApp {
    /// Grant `role` to the user `email` of `app_id`, through the CLI.
    pub fn grant_role(&self, app_id: &str, email: &str, role: &str) {
        self.cli(&["role", "grant", "--app", app_id, "--email", email, role])
            .expect_success();
    }

    /// The CLI against this server's database, master key and public URL.
    pub fn cli(&self, args: &[&str]) -> CliRun {
        let run = oneauth_with_key(
            &self.database_url,
            Some(&self.master_key),
            &self.with_url(args),
            None,
        );
        // Another process changed the database: the server must see it now
        // (a real one sees it within its cache's second).
        self.db.forget_cached();
        run
    }

    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> CliRun {
        let run = oneauth_with_key(
            &self.database_url,
            Some(&self.master_key),
            &self.with_url(args),
            Some(stdin),
        );
        // Another process changed the database: the server must see it now
        // (a real one sees it within its cache's second).
        self.db.forget_cached();
        run
    }

    fn with_url<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut with_url = vec!["--public-url", self.address.as_str()];
        with_url.extend_from_slice(args);
        with_url
    }

    /// `oneauth app create ID --name NAME --redirect-uri http://localhost:5173/cb`
    pub fn create_app(&self, id: &str, name: &str) -> serde_json::Value {
        self.cli(&[
            "app",
            "create",
            id,
            "--name",
            name,
            "--redirect-uri",
            "http://localhost:5173/cb",
        ])
        .expect_success()
        .json()
    }

    /// `oneauth app create ID --confidential`: the app with a confidential
    /// client redirecting to `http://localhost:5173/cb` (its secret shown
    /// once, in the answer).
    pub fn create_confidential_app(&self, id: &str, name: &str) -> serde_json::Value {
        self.cli(&[
            "app",
            "create",
            id,
            "--name",
            name,
            "--redirect-uri",
            "http://localhost:5173/cb",
            "--confidential",
        ])
        .expect_success()
        .json()
    }

    /// Call a server function the way a page does: its own input struct,
    /// form-encoded and POSTed to its path.
    pub async fn call<F>(&self, client: &reqwest::Client, input: F) -> reqwest::Response
    where
        F: ServerFn + serde::Serialize,
    {
        self.send(client, &ServerCall::of(input)).await
    }

    /// Call a server function: its JSON answer, or the error's JSON.
    pub async fn call_json<F>(
        &self,
        client: &reqwest::Client,
        input: F,
    ) -> Result<serde_json::Value, serde_json::Value>
    where
        F: ServerFn + serde::Serialize,
    {
        json_answer(self.call(client, input).await).await
    }

    /// `app_id`'s account page as `client` sees it (its JSON, or the error's).
    pub async fn account(
        &self,
        client: &reqwest::Client,
        app_id: &str,
    ) -> Result<serde_json::Value, serde_json::Value> {
        self.call_json(
            client,
            oneauth::api::account::LoadAccount {
                app_id: app_id.to_owned(),
                enrolment: None,
            },
        )
        .await
    }

    /// Send a call made earlier (one of a list of different server functions).
    pub async fn send(&self, client: &reqwest::Client, call: &ServerCall) -> reqwest::Response {
        call.request(client, &self.address)
            .send()
            .await
            .expect("request succeeds")
    }

    /// POST form fields to a path as they are, for requests no page would
    /// send (a field missing, a forged value, the wrong shape).
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .expect("request succeeds")
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request succeeds")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request succeeds")
    }

    /// Move this server's clock forward: its sign-ins, sessions, links,
    /// codes and tokens age as if that much time had passed.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.db.clock().advance(by);
        // What this process keeps for a second or two (key sets, apps) is
        // read again at the new time.
        self.db.forget_cached();
    }

    /// Record a passkey assertion made just now in every live sign-in (for
    /// tests whose passkeys are rows, not devices).
    pub async fn prove_passkey_now(&self) {
        let now = self
            .db
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        self.sql(&format!(
            "UPDATE signin_session SET passkey_at = '{now}', auth_time = '{now}' WHERE ended_at IS NULL"
        ))
        .await;
    }

    /// `app_id`'s audit events, in chain order.
    pub async fn events(&self, app_id: &str) -> Vec<oneauth::entities::audit_event::Model> {
        use oneauth::entities::audit_event;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        audit_event::Entity::find()
            .filter(audit_event::Column::AppId.eq(app_id))
            .order_by_asc(audit_event::Column::Seq)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// The actions of `app_id`'s audit events, in chain order.
    pub async fn actions(&self, app_id: &str) -> Vec<String> {
        self.events(app_id)
            .await
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    /// The same, each with its details.
    pub async fn actions_with_details(&self, app_id: &str) -> Vec<(String, serde_json::Value)> {
        self.events(app_id)
            .await
            .into_iter()
            .map(|e| (e.action, serde_json::from_str(&e.details).unwrap()))
            .collect()
    }

    /// `app_id`'s outgoing e-mail, oldest first.
    pub async fn outbox(&self, app_id: &str) -> Vec<oneauth::entities::email_outbox::Model> {
        use oneauth::entities::email_outbox;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        email_outbox::Entity::find()
            .filter(email_outbox::Column::AppId.eq(app_id))
            .order_by_asc(email_outbox::Column::CreatedAt)
            .order_by_asc(email_outbox::Column::Id)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// Run raw SQL (tests that tamper with rows, as an attacker with database access would).
    pub async fn sql(&self, statement: &str) {
        self.db
            .writer()
            .execute_unprepared(statement)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
        // The server must see the change now, not when its cache expires.
        self.db.forget_cached();
    }
}

/// Sign a browser in to an app with a password (the hosted page's server
/// function), panicking on failure.
pub async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    app_id: &str,
    email: &str,
    password: &str,
) {
    app.call_json(
        browser,
        oneauth::api::hosted::SignInWithPassword {
            app_id: app_id.to_string(),
            email: email.to_string(),
            password: password.to_string(),
            return_to: None,
        },
    )
    .await
    .expect("sign-in succeeds");
}

/// A password sign-in to `app_id`, posted to `base` (a server process of
/// its own, a balancer) from `client`, ready to send.
pub fn password_sign_in(
    client: &reqwest::Client,
    base: &str,
    app_id: &str,
    email: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    ServerCall::of(oneauth::api::hosted::SignInWithPassword {
        app_id: app_id.into(),
        email: email.to_owned(),
        password: password.to_owned(),
        return_to: None,
    })
    .request(client, base)
}

/// A real `oneauth serve` OS process on the same database and master key as
/// `app`, answering under the same public URL (a second node behind a load
/// balancer). Killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    pub address: String,
}

impl ServerProcess {
    /// `oneauth_password_hashes_total` from its /metrics: the argon2
    /// verifications this process made (the tests running beside it in
    /// the test binary do not count here).
    pub async fn password_hashes(&self) -> u64 {
        let metrics = reqwest::get(format!("{}/metrics", self.address))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("oneauth_password_hashes_total "))
            .and_then(|value| value.trim().parse().ok())
            .expect("the metric is exported")
    }

    /// Kill it outright (SIGKILL): no shutdown, no flush, as a crash or an
    /// OOM killer would.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let _ = self.child.wait();
    }

    /// Its address as `http://localhost:PORT`: the browser cookies of the
    /// test server (host `localhost`, any port) are sent to it too.
    pub fn localhost(&self) -> String {
        self.address.replace("127.0.0.1", "localhost")
    }

    /// Ask it to stop, as an init system does (SIGTERM).
    pub fn terminate(&self) {
        let pid = i32::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with a pid this test started and a constant signal.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM sent");
    }

    /// How it exited, waiting at most `within`; `None` while it runs on.
    pub async fn exit_status(
        &mut self,
        within: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn spawn_server_process(app: &TestApp) -> ServerProcess {
    spawn_server_process_with(app, &[]).await
}

/// The same, with more environment (`LEPTOS_SITE_ROOT`, say).
pub async fn spawn_server_process_with(app: &TestApp, env: &[(&str, &str)]) -> ServerProcess {
    spawn_server_process_logging(app, env, Stdio::inherit()).await
}

/// The same, its log lines (standard error) going to `log`.
pub async fn spawn_server_process_logging(
    app: &TestApp,
    env: &[(&str, &str)],
    log: impl Into<Stdio>,
) -> ServerProcess {
    spawn_server_process_on(
        &app.database_url,
        &app.master_key,
        Some(&app.address),
        env,
        log,
    )
    .await
}

/// A real `oneauth serve` on `database_url` with `master_key`, under
/// `public_url` (its own address when `None`), ready when this returns.
pub async fn spawn_server_process_on(
    database_url: &str,
    master_key: &str,
    public_url: Option<&str>,
    env: &[(&str, &str)],
    log: impl Into<Stdio>,
) -> ServerProcess {
    let port = mail::free_port();
    spawn_server_process_at(port, database_url, master_key, public_url, env, log).await
}

/// The same on `port` (a node restarted where the balancer expects it).
pub async fn spawn_server_process_at(
    port: u16,
    database_url: &str,
    master_key: &str,
    public_url: Option<&str>,
    env: &[(&str, &str)],
    log: impl Into<Stdio>,
) -> ServerProcess {
    let address = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .arg("serve")
        .env("ONEAUTH_DATABASE_URL", database_url)
        .env("ONEAUTH_MASTER_KEY", master_key)
        .env("ONEAUTH_BIND", format!("127.0.0.1:{port}"))
        .env("ONEAUTH_PUBLIC_URL", public_url.unwrap_or(&address))
        .env("ONEAUTH_LOG", "warn")
        .env("ONEAUTH_METRICS", "on")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start oneauth serve");
    let process = ServerProcess { child, address };
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(format!("{}/readyz", process.address)).await
            && response.status() == 200
        {
            return process;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the second server process did not become ready");
}
