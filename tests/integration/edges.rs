//! No input makes a 5xx or a panic (issue 24, point 7): every route of the
//! router walked with odd methods, queries, bodies and cookies, and the
//! parsers at the edge fed random input through their real entry points
//! (the HTTP endpoints, the settings), with proptest.
//!
//! A handler that panicked would answer 500 (the router's catch-panic
//! layer), so "no 5xx" covers panics too.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use crate::common::{TestApp, add_user, spawn_app};

/// The paths of the protocol routes, read from the sources like the
/// layers test reads imports (axum cannot list a router's routes), and
/// the pages' and server functions' from the app itself.
fn every_route() -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for dir in ["http", "server"] {
        for file in crate::layers::rust_files(&crate::layers::src().join(dir)) {
            paths.extend(routes_in(&std::fs::read_to_string(&file).unwrap()));
        }
    }
    paths.extend(oneauth::server::app_paths());
    assert!(paths.len() > 60, "too few routes found: {paths:?}");
    assert!(paths.contains("/a/{app_id}/oauth/token"));
    paths
}

/// The paths of `.route("PATH"` in a source (also with the path on the
/// next line).
fn routes_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        if let Some(quoted) = rest.trim_start().strip_prefix('"')
            && let Some(end) = quoted.find('"')
        {
            found.push(quoted[..end].to_owned());
        }
    }
    found
}

/// `template` with each `{param}` replaced by `value` (a catch-all
/// `{*rest}` too).
fn fill(template: &str, app_id: &str, value: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        let name = &rest[open + 1..close - 1];
        path.push_str(if name == "app_id" { app_id } else { value });
        rest = &rest[close..];
    }
    path.push_str(rest);
    path
}

/// A deployment with something to find: an app with a confidential client,
/// a user, a role and an upstream provider.
async fn populated() -> TestApp {
    let app = spawn_app().await;
    app.create_confidential_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    app.cli(&["role", "create", "--app", "demo", "admin"])
        .expect_success();
    app
}

const QUERIES: &[&str] = &[
    "",
    "?%ff%fe=%00&&=&a[]=1&a[]=2&cursor=%ff&limit=-1&page=99999999999999999999",
    "?response_type=code&client_id=%00&redirect_uri=javascript:alert(1)&scope=openid%20%ff\
     &state=x&code_challenge=&code_challenge_method=plain&prompt=none%20login&max_age=-5\
     &nonce=&resource=::&organization=../../x&return_to=//evil.example/&request=eyJ.eyJ.x",
    "?state=..%2f..&code=&iss=http://evil.example&error=access_denied&error_description=%0d%0a",
];

const BODIES: &[(&str, &str)] = &[
    (
        "application/x-www-form-urlencoded",
        "%ff%fe=&&&=%00&grant_type=&a=1&a=2",
    ),
    (
        "application/x-www-form-urlencoded",
        "grant_type=refresh_token&refresh_token=eyJhbGciOiJub25lIn0.eyJ9.&client_id=x&client_secret=",
    ),
    ("application/json", "{\"a\":[1,{\"b\":null}],\"app_id\":{}}"),
    ("application/json", "{"),
    ("text/plain", "\u{0}\u{1}binary\u{fffd}"),
];

const COOKIES: &str = "oneauth_session=%ff%00garbage; oneauth_device_demo=a.b.c.d; \
     oneauth_passkey_auth=v1:!!!; oneauth_upstream_flow=v1:AAAA; oneauth_link=v1:; \
     login_after_demo=9999999999999999999999";

/// Assert the answer is no 5xx; its status.
async fn expect_no_server_error(
    response: Result<reqwest::Response, reqwest::Error>,
    what: &str,
) -> u16 {
    let response = response.unwrap_or_else(|err| panic!("{what}: the connection failed: {err}"));
    let status = response.status();
    assert!(
        status.as_u16() < 500,
        "{what}: {status}: {}",
        response.text().await.unwrap_or_default()
    );
    status.as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_malformed_requests_without_a_server_error() {
    let app = populated().await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let routes = every_route();
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"];
    let mut requests = 0;
    let mut handled = 0;
    for template in &routes {
        for (app_id, value) in [("demo", "x"), ("nope", "%ff%00"), ("console", "..")] {
            let path = fill(template, app_id, value);
            for (n, query) in QUERIES.iter().enumerate() {
                for method in methods {
                    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                    let url = format!("{}{path}{query}", app.address);
                    // Every body for a POST, one of them in turn otherwise.
                    let bodies = if method == reqwest::Method::POST {
                        BODIES.to_vec()
                    } else {
                        vec![BODIES[(n + requests) % BODIES.len()]]
                    };
                    for (content_type, body) in bodies {
                        let mut request = plain
                            .request(method.clone(), &url)
                            .header("origin", &app.address)
                            .header("content-type", content_type)
                            .header("authorization", "Basic %%%")
                            .body(body);
                        if n % 2 == 1 {
                            request = request.header("cookie", COOKIES);
                        }
                        let what = format!("{method} {url} {body:?}");
                        let status = expect_no_server_error(request.send().await, &what).await;
                        requests += 1;
                        // Past routing: not "no such route" nor "wrong method".
                        if !matches!(status, 404 | 405) {
                            handled += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(requests > 2000, "{requests} requests");
    assert!(
        handled > 2000,
        "only {handled} of {requests} requests reached a handler"
    );
    // Still serving, and the audit chain still verifies.
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.cli(&["audit", "verify", "--app", "demo"])
        .expect_success();
}

/// Run `cases` random cases of `strategy` against `check`, which sends one
/// request each (proptest's runner is synchronous; the requests are not).
async fn property<S>(cases: u32, strategy: S, check: impl Fn(S::Value) -> reqwest::RequestBuilder)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let mut drawn = Vec::new();
    for _ in 0..cases {
        drawn.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    for input in drawn {
        let what = format!("{input:?}");
        expect_no_server_error(check(input).send().await, &what).await;
    }
}

/// Text with the characters parsers trip on: controls, separators, quotes,
/// percent signs, non-ASCII and very long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,64}",
        "[=&%:/?#@\\[\\]{}\"'\\\\ \\t.+,;]{0,32}",
        "[a-zA-Z0-9_\\-]{200,400}",
        proptest::collection::vec(any::<u8>(), 0..48)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn parsers_at_the_edge_take_random_input_without_a_server_error() {
    let app = populated().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = app.address.clone();

    // The authorization request's query.
    property(
        96,
        proptest::collection::vec((hostile_text(), hostile_text()), 0..8),
        |pairs| {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .finish();
            http.get(format!("{base}/a/demo/oauth/authorize?{query}"))
        },
    )
    .await;

    // The token form and the Basic header.
    property(
        96,
        (
            proptest::collection::vec((hostile_text(), hostile_text()), 0..6),
            hostile_text(),
        ),
        |(pairs, basic)| {
            let mut request = http.post(format!("{base}/a/demo/oauth/token")).form(&pairs);
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&format!("Basic {basic}")) {
                request = request.header("authorization", value);
            }
            request
        },
    )
    .await;

    // A bearer token: random JOSE header and claims, signed with nonsense.
    let json = proptest::collection::btree_map(
        prop_oneof![
            Just("alg".to_owned()),
            Just("kid".to_owned()),
            Just("typ".to_owned()),
            Just("exp".to_owned()),
            Just("iss".to_owned()),
            Just("aud".to_owned()),
            Just("sub".to_owned()),
            hostile_text()
        ],
        prop_oneof![
            hostile_text().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            Just(serde_json::Value::Null),
            Just(serde_json::json!(["x", 1])),
        ],
        0..6,
    );
    property(
        96,
        (json.clone(), json, hostile_text()),
        |(header, claims, signature)| {
            use base64::Engine;
            let encode = |value: &serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
            };
            let token = format!(
                "{}.{}.{}",
                encode(&serde_json::json!(header)),
                encode(&serde_json::json!(claims)),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
            );
            http.get(format!("{base}/a/demo/oauth/userinfo"))
                .bearer_auth(token)
        },
    )
    .await;

    // E-mail addresses and return targets, through the hosted sign-in.
    property(
        96,
        (hostile_text(), hostile_text()),
        |(email, return_to)| {
            crate::common::ServerCall::of(oneauth::api::hosted::SignInWithPassword {
                app_id: "demo".into(),
                email,
                password: "wrong password!".to_owned(),
                return_to: Some(return_to),
            })
            .request(&http, &base)
        },
    )
    .await;
    property(64, hostile_text(), |return_to| {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &return_to)
            .finish();
        http.get(format!("{base}/a/demo/login?{query}"))
    })
    .await;

    // A paging cursor and a search, in the console's users list (as its
    // owner, so the cursor is read).
    let owner = crate::common::console::first_owner(&app).await;
    property(64, (hostile_text(), hostile_text()), |(cursor, search)| {
        crate::common::ServerCall::of(oneauth::api::console::users::ConsoleUsers {
            app_id: "demo".into(),
            query: Some(search),
            after: Some(cursor),
        })
        .request(&owner.browser, &base)
    })
    .await;
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    /// The SMTP URL and the trusted proxies are parsed at start-up: any
    /// text is a setting or a sentence, never a panic.
    #[test]
    fn settings_parse_any_smtp_url_and_proxy_list(
        url in prop_oneof![
            hostile_text(),
            (hostile_text(), hostile_text(), any::<u16>(), hostile_text()).prop_map(
                |(user, host, port, security)| format!("smtp://{user}@{host}:{port}?security={security}")
            ),
        ],
        proxies in prop_oneof![
            hostile_text(),
            proptest::collection::vec((any::<[u8; 4]>(), 0u8..40), 0..4).prop_map(|nets| {
                nets.iter()
                    .map(|(ip, bits)| format!("{}.{}.{}.{}/{bits}", ip[0], ip[1], ip[2], ip[3]))
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        ],
    ) {
        let mut args = oneauth::config::SettingsArgs {
            database_url: oneauth::config::DEFAULT_DATABASE_URL.to_owned(),
            bind: oneauth::config::DEFAULT_BIND.to_owned(),
            public_url: Some("https://auth.example.com".to_owned()),
            site_root: oneauth::config::DEFAULT_SITE_ROOT.to_owned(),
            trusted_proxies: proxies,
            trust_proxy: None,
            master_key: None,
            master_key_file: None,
            password_queue: 4,
            metrics: false,
            allow_private_upstreams: false,
            smtp: Default::default(),
            operations: Default::default(),
        };
        args.smtp.smtp_url = Some(url);
        match oneauth::config::Settings::from_args(&args) {
            Ok(_) => {}
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    /// An e-mail address parses to itself: parsing what came out gives the
    /// same address (one spelling per identity).
    #[test]
    fn an_email_address_parses_to_a_fixed_point(raw in hostile_text()) {
        if let Ok(email) = oneauth::types::Email::parse(&raw) {
            let again = oneauth::types::Email::parse(email.as_str()).expect("its own form parses");
            prop_assert_eq!(again.as_str(), email.as_str());
        }
    }

    /// A return target is always a path inside the app, whatever was asked.
    #[test]
    fn a_return_target_never_leaves_the_app(requested in hostile_text()) {
        let target = oneauth::return_to::safe_return_to("demo", Some(&requested));
        prop_assert!(target.starts_with("/a/demo/"), "{}", target);
        prop_assert!(!target.contains("//") && !target.contains(".."), "{}", target);
        prop_assert!(!target.contains('\\') , "{}", target);
    }
}
