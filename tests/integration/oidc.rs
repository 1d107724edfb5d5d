//! The OpenID provider of each app over HTTP: discovery and keys, the code
//! flow with PKCE, the token endpoint's grants, rotating refresh tokens with
//! reuse detection, userinfo, revocation, introspection, logout, role-bound
//! factor policy and the app boundary.

use crate::common;

use common::oauth::{Client, Pkce, assert_exactly_one_won, claims, header, param};
use common::passkey::Device;
use common::{PASSWORD, TestApp, browser, sign_in, spawn_app, spawn_second_server};
use oneauth::api::account::{ChangePassword, FinishAddPasskey, StartAddPasskey};
use oneauth::api::hosted::{FinishPasskeyAssertion, SignOut, StartPasskeyAssertion};
use oneauth::entities::{refresh_token, signing_key, token_family};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    created: Value,
}

impl Setup {
    fn client(&self) -> Client<'_> {
        Client::from_created(&self.app, &self.created)
    }
}

/// App `demo` with a public client and user ada@example.com.
async fn setup() -> Setup {
    setup_with(&[]).await
}

async fn setup_with(flags: &[&str]) -> Setup {
    let (app, created) = common::factors::demo(flags).await;
    Setup { app, created }
}

async fn signed_in_browser(setup: &Setup) -> reqwest::Client {
    let browser = browser();
    sign_in(&setup.app, &browser, "demo", "ada@example.com", PASSWORD).await;
    browser
}

/// Verify a JWT against a JWK set the way a relying party would.
fn verify_with(jwks: &Value, token: &str) -> Result<Value, String> {
    use josekit::jwk::JwkSet;
    use josekit::jws::{ES256, JwsVerifier, RS256};
    let set = JwkSet::from_bytes(jwks.to_string().as_bytes()).map_err(|e| e.to_string())?;
    let kid = header(token)["kid"].as_str().unwrap_or_default().to_owned();
    let jwk = set.get(&kid).into_iter().next().ok_or("no such key")?;
    let verifier: Box<dyn JwsVerifier> = match header(token)["alg"].as_str() {
        Some("RS256") => Box::new(RS256.verifier_from_jwk(jwk).map_err(|e| e.to_string())?),
        _ => Box::new(ES256.verifier_from_jwk(jwk).map_err(|e| e.to_string())?),
    };
    let (payload, _) =
        josekit::jwt::decode_with_verifier(token, verifier.as_ref()).map_err(|e| e.to_string())?;
    Ok(Value::Object(payload.claims_set().clone()))
}

async fn jwks(app: &TestApp, app_id: &str) -> Value {
    app.get(&format!("/a/{app_id}/oauth/jwks"))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_and_keys_describe_the_app_as_its_own_issuer() {
    let setup = setup().await;
    let app = &setup.app;
    let doc: Value = app
        .get("/a/demo/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let issuer = format!("{}/a/demo", app.address);
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{issuer}/oauth/authorize")
    );
    assert_eq!(doc["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/oauth/jwks"));
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{issuer}/oauth/end_session")
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);

    let keys = jwks(app, "demo").await;
    let keys = keys["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(
        algs.contains(&"ES256") && algs.contains(&"RS256"),
        "{algs:?}"
    );
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k["kid"].is_string() && k["use"] == "sig")
    );

    // Private halves are sealed with the master key.
    for key in signing_key::Entity::find().all(&app.db).await.unwrap() {
        assert!(key.private_key_encrypted.starts_with("v1:"));
        assert!(!key.private_key_encrypted.contains("\"d\""));
    }
    // Another app has other keys.
    app.create_app("other", "Other");
    let other = jwks(app, "other").await;
    let other_kids: Vec<&Value> = other["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert!(keys.iter().all(|k| !other_kids.contains(&&k["kid"])));
    assert_eq!(
        app.get("/a/nope/.well-known/openid-configuration")
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_flow_with_pkce_issues_the_designed_tokens() {
    let setup = setup().await;
    let client = setup.client();
    let browser = browser();
    let pkce = Pkce::new();

    // Not signed in: to the hosted sign-in page, with the way back.
    let response = client
        .authorize(&browser, &pkce, &[("login_hint", "ada@example.com")])
        .await;
    assert_eq!(response.status(), 302);
    let login = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(login.starts_with("/a/demo/login?"), "{login}");
    let return_to = param(&login, "return_to").unwrap();
    assert!(
        return_to.starts_with("/a/demo/oauth/authorize?"),
        "{return_to}"
    );
    assert_eq!(
        param(&login, "login_hint").as_deref(),
        Some("ada@example.com")
    );
    let page = setup
        .app
        .get_with(&browser, &login)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("value=\"ada@example.com\""),
        "the e-mail is prefilled"
    );

    sign_in(&setup.app, &browser, "demo", "ada@example.com", PASSWORD).await;
    let response = setup.app.get_with(&browser, &return_to).await;
    assert_eq!(response.status(), 302);
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        callback.starts_with("http://localhost:5173/cb?"),
        "{callback}"
    );
    assert_eq!(param(&callback, "state").as_deref(), Some("st-123"));
    assert_eq!(
        param(&callback, "iss"),
        Some(format!("{}/a/demo", setup.app.address))
    );
    let code = param(&callback, "code").unwrap();

    let (status, tokens) = client.exchange(&code, &pkce).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["scope"], "openid email profile");
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 43);

    let keys = jwks(&setup.app, "demo").await;
    let at = verify_with(&keys, access).expect("the access token verifies against the app's JWKS");
    assert_eq!(header(access)["typ"], "at+jwt");
    assert_eq!(header(access)["alg"], "ES256");
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
        "sid",
        "auth_time",
        "amr",
        "acr",
        "roles",
    ] {
        assert!(at.get(claim).is_some(), "access token lacks {claim}: {at}");
    }
    assert_eq!(at["iss"], format!("{}/a/demo", setup.app.address));
    assert_eq!(at["client_id"], client.client_id);
    assert_eq!(at["amr"], json!(["pwd"]));
    assert_eq!(at["acr"], "pwd");
    assert_eq!(at["roles"], json!([]));

    let id = verify_with(&keys, id_token).expect("the ID token verifies");
    assert_eq!(header(id_token)["alg"], "ES256");
    assert_eq!(id["aud"], client.client_id);
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["sub"], at["sub"]);
    assert!(id["at_hash"].is_string() && id["auth_time"].is_i64());

    let info: Value = client.userinfo(access).await.json().await.unwrap();
    assert_eq!(info["sub"], at["sub"]);
    assert_eq!(info["email"], "ada@example.com");
    assert!(
        setup
            .app
            .actions("demo")
            .await
            .contains(&"token.granted".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_id_tokens_for_clients_that_ask() {
    let setup = setup_with(&["--id-token-alg", "RS256"]).await;
    let browser = signed_in_browser(&setup).await;
    let tokens = setup.client().tokens(&browser, &[]).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(header(id_token)["alg"], "RS256");
    verify_with(&jwks(&setup.app, "demo").await, id_token).unwrap();
    // Access tokens stay ES256.
    assert_eq!(
        header(tokens["access_token"].as_str().unwrap())["alg"],
        "ES256"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_clients_and_redirect_uris_get_an_error_page_not_a_redirect() {
    let setup = setup().await;
    let client = setup.client();
    let pkce = Pkce::new();
    for extra in [
        vec![("redirect_uri", "http://localhost:5173/cb/")],
        vec![("redirect_uri", "http://evil.example/cb")],
        vec![("redirect_uri", "")],
        vec![("client_id", "nope")],
        vec![("client_id", "")],
    ] {
        let response = client.authorize(&browser(), &pkce, &extra).await;
        assert_eq!(response.status(), 400, "{extra:?}");
        assert!(response.headers().get("location").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("data-testid=\"oauth-error\"")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn request_errors_go_back_to_the_client_with_state_and_iss() {
    let setup = setup().await;
    let client = setup.client();
    let pkce = Pkce::new();
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (&[("prompt", "none")], "login_required"),
        (&[("request", "eyJ...")], "request_not_supported"),
    ];
    for (extra, error) in cases {
        let response = client.authorize(&browser(), &pkce, extra).await;
        assert_eq!(response.status(), 302, "{extra:?}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("http://localhost:5173/cb?"),
            "{location}"
        );
        assert_eq!(
            param(location, "error").as_deref(),
            Some(error),
            "{extra:?}: {location}"
        );
        assert_eq!(param(location, "state").as_deref(), Some("st-123"));
        assert!(param(location, "iss").is_some());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_single_use_bound_and_short_lived() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let pkce = Pkce::new();
    let code = client.code(&browser, &pkce, &[]).await;

    // Wrong verifier, wrong redirect URI: refused, the code stays usable.
    let (status, body) = client
        .post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", &Pkce::new().verifier),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = client
        .post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:5173/other"),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_eq!(status, 400);

    let (status, first) = client.exchange(&code, &pkce).await;
    assert_eq!(status, 200);
    // A second use fails and revokes what the first one minted.
    let (status, body) = client.exchange(&code, &pkce).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = client
        .refresh(first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        status, 400,
        "the refresh token of a replayed code is revoked"
    );
    assert!(
        setup
            .app
            .actions("demo")
            .await
            .contains(&"token.code_reuse_detected".to_owned())
    );

    // Expired after 60 s.
    let pkce = Pkce::new();
    let code = client.code(&browser, &pkce, &[]).await;
    setup.app.advance_clock(chrono::Duration::seconds(61));
    let (status, _) = client.exchange(&code, &pkce).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_bound_to_their_client() {
    let setup = setup().await;
    let browser = signed_in_browser(&setup).await;
    let client = setup.client();
    let other = setup
        .app
        .cli(&[
            "app",
            "create",
            "second",
            "--name",
            "Second",
            "--redirect-uri",
            "http://localhost:5173/cb",
        ])
        .expect_success()
        .json();
    // A client of the same app: register a second client by SQL for brevity.
    setup.app.sql(
        "INSERT INTO oauth_client (id, app_id, name, client_type, redirect_uris, post_logout_redirect_uris, id_token_alg, created_at, updated_at) \
         VALUES ('thief', 'demo', 'Thief', 'public', '[\"http://localhost:5173/cb\"]', '[]', 'ES256', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    ).await;
    let _ = other;
    let pkce = Pkce::new();
    let code = client.code(&browser, &pkce, &[]).await;
    let thief = Client {
        client_id: "thief".into(),
        ..Client::from_created(&setup.app, &setup.created)
    };
    let (status, body) = thief.exchange(&code, &pkce).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn confidential_clients_authenticate_and_use_client_credentials() {
    let setup = setup_with(&["--confidential"]).await;
    let client = setup.client();
    let secret = client.secret.clone().unwrap();
    // client_secret_basic (the helper's default).
    let (status, tokens) = client
        .post(
            "token",
            &[("grant_type", "client_credentials"), ("scope", "")],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["sub"], client.client_id);
    assert!(tokens.get("refresh_token").is_none() && tokens.get("id_token").is_none());
    // client_secret_post.
    let response = reqwest::Client::new()
        .post(client.endpoint("token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A wrong secret: 401 invalid_client, with a Basic challenge.
    let wrong = Client {
        secret: Some("nope".into()),
        ..Client::from_created(&setup.app, &setup.created)
    };
    let response = reqwest::Client::new()
        .post(wrong.endpoint("token"))
        .basic_auth(&wrong.client_id, Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // No secret at all from a confidential client.
    let response = reqwest::Client::new()
        .post(client.endpoint("token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // openid needs a user.
    let (status, body) = client
        .post(
            "token",
            &[("grant_type", "client_credentials"), ("scope", "openid")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // And the code flow works with its secret (PKCE still required by default).
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn public_clients_cannot_use_client_credentials() {
    let setup = setup().await;
    let (status, body) = setup
        .client()
        .post("token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = setup
        .client()
        .post("token", &[("grant_type", "password")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_tokens_rotate_and_reuse_kills_the_family() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (status, second) = client.refresh(&first).await;
    assert_eq!(status, 200, "{second}");
    let second_token = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second_token);
    assert!(second["id_token"].is_string() && second["access_token"].is_string());
    let (status, third) = client.refresh(&second_token).await;
    assert_eq!(status, 200);
    let newest = third["refresh_token"].as_str().unwrap().to_owned();

    // The first token again: reuse. Every token of the family dies, the
    // newest included, and it is audited.
    let (status, body) = client.refresh(&first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = client.refresh(&newest).await;
    assert_eq!(status, 400);
    let family = token_family::Entity::find()
        .one(&setup.app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(family.revoked_reason.as_deref(), Some("reuse_detected"));
    assert!(
        setup
            .app
            .actions("demo")
            .await
            .contains(&"token.reuse_detected".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grace_window_covers_only_the_immediate_predecessor() {
    let setup = setup().await;
    setup
        .app
        .sql("UPDATE app SET refresh_grace_secs = 30 WHERE id = 'demo'")
        .await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let first = client.tokens(&browser, &[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, lost) = client.refresh(&first).await; // the client never saw this answer
    let (status, retried) = client.refresh(&first).await;
    assert_eq!(
        status, 200,
        "a retry within the grace window works: {retried}"
    );
    assert_ne!(
        retried["refresh_token"], lost["refresh_token"],
        "the retry gets a successor of its own"
    );
    let (status, next) = client
        .refresh(retried["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{next}");
    // The first token is two steps back now: reuse, and the family dies.
    let (status, _) = client.refresh(&first).await;
    assert_eq!(status, 400);
    let (status, _) = client
        .refresh(next["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 400, "the family died");

    // The lost successor itself is never a way back in either.
    let first = client.tokens(&browser, &[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, lost) = client.refresh(&first).await;
    let (_, retried) = client.refresh(&first).await;
    let (status, _) = client
        .refresh(lost["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 400);
    let (status, _) = client
        .refresh(retried["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 400, "presenting the superseded token is reuse");

    // Without a grace window (the default) a retry is reuse.
    setup
        .app
        .sql("UPDATE app SET refresh_grace_secs = 0 WHERE id = 'demo'")
        .await;
    let first = client.tokens(&browser, &[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, lost) = client.refresh(&first).await;
    assert_eq!(client.refresh(&first).await.0, 400);
    assert_eq!(
        client
            .refresh(lost["refresh_token"].as_str().unwrap())
            .await
            .0,
        400
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_refreshes_exactly_one_succeeds_across_two_processes() {
    let setup = setup().await;
    let second = common::spawn_server_process(&setup.app).await;
    let client = setup.client();
    let other = Client {
        base: second.address.clone(),
        ..Client::from_created(&setup.app, &setup.created)
    };
    let browser = signed_in_browser(&setup).await;
    for _ in 0..3 {
        let token = client.tokens(&browser, &[]).await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (a, b) = tokio::join!(client.refresh(&token), other.refresh(&token));
        let statuses = [a.0, b.0];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{a:?} {b:?}"
        );
        assert!(
            statuses.contains(&400),
            "the loser gets invalid_grant: {a:?} {b:?}"
        );
    }
    // Tokens minted by either process verify against the one JWKS.
    let tokens = client.tokens(&browser, &[]).await;
    let (status, refreshed) = other
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    verify_with(
        &jwks(&setup.app, "demo").await,
        refreshed["access_token"].as_str().unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_refreshes_exactly_one_succeeds_across_two_servers() {
    let setup = setup().await;
    let second_server = spawn_second_server(&setup.app).await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    for _ in 0..3 {
        let token = client.tokens(&browser, &[]).await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let other = Client::from_created(&second_server, &setup.created);
        let (a, b) = tokio::join!(client.refresh(&token), other.refresh(&token));
        let successes = [a.0, b.0].iter().filter(|s| **s == 200).count();
        assert_eq!(successes, 1, "{a:?} {b:?}");
    }
}

/// One code exchanged at once through two servers, four times each: one
/// exchange gets tokens; the others get invalid_grant and leave nothing
/// behind (a loser has already written its family and refresh token when it
/// finds the code spent, and must roll them back).
#[tokio::test(flavor = "multi_thread")]
async fn a_code_exchanged_many_times_at_once_gives_tokens_once() {
    let setup = setup().await;
    let second_server = spawn_second_server(&setup.app).await;
    let client = setup.client();
    let other = Client::from_created(&second_server, &setup.created);
    let browser = signed_in_browser(&setup).await;
    for _ in 0..3 {
        let pkce = Pkce::new();
        let code = client.code(&browser, &pkce, &[]).await;
        let (a, b, c, d) = tokio::join!(
            client.exchange(&code, &pkce),
            other.exchange(&code, &pkce),
            client.exchange(&code, &pkce),
            other.exchange(&code, &pkce),
        );
        let (e, f, g, h) = tokio::join!(
            client.exchange(&code, &pkce),
            other.exchange(&code, &pkce),
            client.exchange(&code, &pkce),
            other.exchange(&code, &pkce),
        );
        assert_exactly_one_won(&[a, b, c, d, e, f, g, h]);
    }
    // Three exchanges won: three families, three refresh tokens, three
    // grants in the audit log; the losers' writes are gone.
    let families = token_family::Entity::find()
        .count(&setup.app.db)
        .await
        .unwrap();
    let tokens = refresh_token::Entity::find()
        .count(&setup.app.db)
        .await
        .unwrap();
    let granted = setup
        .app
        .actions("demo")
        .await
        .iter()
        .filter(|action| *action == "token.granted")
        .count();
    assert_eq!((families, tokens, granted), (3, 3, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn families_end_with_sign_out_password_change_and_revocation() {
    let setup = setup().await;
    let client = setup.client();

    // Sign-out at the hosted page.
    let signed_in = signed_in_browser(&setup).await;
    let token = client.tokens(&signed_in, &[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    setup
        .app
        .call_json(
            &signed_in,
            SignOut {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(client.refresh(&token).await.0, 400);

    // A password change ends the other sessions' families.
    let laptop = signed_in_browser(&setup).await;
    let phone = signed_in_browser(&setup).await;
    let phone_token = client.tokens(&phone, &[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop_token = client.tokens(&laptop, &[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    setup
        .app
        .call_json(
            &laptop,
            ChangePassword {
                app_id: "demo".into(),
                current: Some(PASSWORD.to_string()),
                new: "a whole new passphrase".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(client.refresh(&phone_token).await.0, 400);
    assert_eq!(
        client.refresh(&laptop_token).await.0,
        200,
        "the session that changed it keeps its tokens"
    );

    // Revocation (RFC 7009) of a refresh token kills its family.
    let fresh = browser();
    sign_in(
        &setup.app,
        &fresh,
        "demo",
        "ada@example.com",
        "a whole new passphrase",
    )
    .await;
    let tokens = client.tokens(&fresh, &[]).await;
    let token = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = client
        .post(
            "revoke",
            &[("token", token), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(client.refresh(token).await.0, 400);
    assert!(
        setup
            .app
            .actions("demo")
            .await
            .contains(&"token.revoked".to_owned())
    );
    // Unknown tokens get the same 200.
    assert_eq!(client.post("revoke", &[("token", "nonsense")]).await.0, 200);
}

/// Refresh tokens of the demo app idle out after 5 minutes, and a family
/// ends 10 minutes after its sign-in (the sessions outlast both).
async fn short_refresh_lifetimes(setup: &Setup) {
    setup
        .app
        .sql(
            "UPDATE app SET refresh_idle_secs = 300, refresh_absolute_secs = 600 WHERE id = 'demo'",
        )
        .await;
}

fn refresh_token_of(answer: &Value) -> String {
    answer["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_unused_for_its_idle_lifetime_is_refused() {
    let setup = setup().await;
    short_refresh_lifetimes(&setup).await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let token = refresh_token_of(&client.tokens(&browser, &[]).await);
    setup.app.advance_clock(chrono::Duration::minutes(4));
    let (status, refreshed) = client.refresh(&token).await;
    assert_eq!(status, 200, "{refreshed}");
    setup.app.advance_clock(chrono::Duration::minutes(6));
    assert_eq!(
        client.refresh(&refresh_token_of(&refreshed)).await.0,
        400,
        "idle lifetime"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_family_ends_at_its_absolute_lifetime_however_often_it_is_used() {
    let setup = setup().await;
    short_refresh_lifetimes(&setup).await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let mut token = refresh_token_of(&client.tokens(&browser, &[]).await);
    for _ in 0..2 {
        setup.app.advance_clock(chrono::Duration::minutes(4));
        let (status, refreshed) = client.refresh(&token).await;
        assert_eq!(status, 200, "{refreshed}");
        token = refresh_token_of(&refreshed);
    }
    // Twelve minutes in, each token used within its idle lifetime.
    setup.app.advance_clock(chrono::Duration::minutes(4));
    assert_eq!(client.refresh(&token).await.0, 400, "absolute lifetime");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_users_family_is_refused() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let token = refresh_token_of(&client.tokens(&browser, &[]).await);
    setup
        .app
        .sql("UPDATE app_user SET status = 'deactivated'")
        .await;
    assert_eq!(client.refresh(&token).await.0, 400, "deactivated user");
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_login_and_max_age_ask_for_a_fresh_sign_in() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let pkce = Pkce::new();
    let response = client
        .authorize(&browser, &pkce, &[("prompt", "login")])
        .await;
    let login = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        login.starts_with("/a/demo/login?") && param(&login, "reauth").as_deref() == Some("1"),
        "{login}"
    );
    let back = param(&login, "return_to").unwrap();
    assert!(back.contains("login_after="), "{back}");
    // Coming back without authenticating again: still asked.
    let again = setup.app.get_with(&browser, &back).await;
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/a/demo/login?")
    );
    // After re-authenticating.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    setup
        .app
        .call_json(
            &browser,
            oneauth::api::hosted::ReauthenticateWithPassword {
                app_id: "demo".into(),
                password: PASSWORD.to_string(),
                return_to: None,
            },
        )
        .await
        .unwrap();
    let done = setup.app.get_with(&browser, &back).await;
    let location = done.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://localhost:5173/cb?code="),
        "{location}"
    );

    // max_age: a sign-in older than allowed asks again.
    setup.app.advance_clock(chrono::Duration::minutes(11));
    let response = client
        .authorize(&browser, &Pkce::new(), &[("max_age", "600")])
        .await;
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/a/demo/login?")
    );
    // prompt=none cannot ask: interaction_required.
    let response = client
        .authorize(
            &browser,
            &Pkce::new(),
            &[("max_age", "600"), ("prompt", "none")],
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        param(location, "error").as_deref(),
        Some("interaction_required")
    );
}

/// Give Ada a passkey (signed in as her in `browser`) and return the device.
async fn enrol_passkey(setup: &Setup, browser: &reqwest::Client) -> Device {
    let mut device = Device::new();
    let options = setup
        .app
        .call_json(
            browser,
            StartAddPasskey {
                app_id: "demo".into(),
                enrolment: None,
            },
        )
        .await
        .unwrap();
    let credential = device.create(&setup.app.address, options.as_str().unwrap());
    setup
        .app
        .call_json(
            browser,
            FinishAddPasskey {
                app_id: "demo".into(),
                credential: credential.to_string(),
                name: "Key".into(),
                enrolment: None,
            },
        )
        .await
        .unwrap();
    device
}

async fn passkey_step_up(
    setup: &Setup,
    browser: &reqwest::Client,
    device: &mut Device,
    return_to: &str,
) -> Value {
    let options = setup
        .app
        .call_json(
            browser,
            StartPasskeyAssertion {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    let assertion = device.get(&setup.app.address, options.as_str().unwrap());
    setup
        .app
        .call_json(
            browser,
            FinishPasskeyAssertion {
                app_id: "demo".into(),
                credential: assertion.to_string(),
                return_to: Some(return_to.to_string()),
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_requires_a_passkey_steps_the_user_up_before_any_code() {
    let setup = setup().await;
    setup
        .app
        .cli(&[
            "role",
            "create",
            "--app",
            "demo",
            "admin",
            "--require-passkey",
        ])
        .expect_success();
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    // Ada adds a passkey while no role of hers demands one (a fresh password
    // suffices then); the role comes afterwards.
    let mut device = enrol_passkey(&setup, &browser).await;
    setup.app.grant_role("demo", "ada@example.com", "admin");

    let response = client.authorize(&browser, &Pkce::new(), &[]).await;
    let login = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        login.starts_with("/a/demo/login?"),
        "no code for a password session: {login}"
    );
    assert_eq!(param(&login, "passkey").as_deref(), Some("1"));
    let page = setup
        .app
        .get_with(&browser, &login)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("A passkey is required"), "{page}");

    let back = param(&login, "return_to").unwrap();
    let target = passkey_step_up(&setup, &browser, &mut device, &back).await;
    assert_eq!(target.as_str(), Some(back.as_str()));
    let pkce_back = back.clone();
    let response = setup.app.get_with(&browser, &pkce_back).await;
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    let code = param(&callback, "code").expect("a code after the step-up");
    // The original request's PKCE verifier is unknown here; ask anew instead.
    let _ = code;
    let tokens = client.tokens(&browser, &[]).await;
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!(["admin"]));
    assert_eq!(at["acr"], "phr");
    assert!(at["amr"].as_array().unwrap().contains(&json!("hwk")));
}

/// The refresh grant reads the token, its family, session, user and roles
/// in one statement (a row per role): a refreshed token carries every role
/// held at the time of the refresh, including one granted since.
#[tokio::test(flavor = "multi_thread")]
async fn a_refreshed_token_carries_every_role_held_now() {
    let setup = setup().await;
    for role in ["auditor", "billing", "viewer"] {
        setup
            .app
            .cli(&["role", "create", "--app", "demo", role])
            .expect_success();
    }
    let grant = |role| setup.app.grant_role("demo", "ada@example.com", role);
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["roles"],
        json!([])
    );

    grant("viewer");
    let (status, refreshed) = client
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["roles"],
        json!(["viewer"])
    );

    grant("billing");
    grant("auditor");
    let (status, again) = client
        .refresh(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        claims(again["access_token"].as_str().unwrap())["roles"],
        json!(["auditor", "billing", "viewer"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_drops_out_of_refreshed_tokens_after_its_max_auth_age() {
    let setup = setup().await;
    setup
        .app
        .cli(&[
            "role",
            "create",
            "--app",
            "demo",
            "billing",
            "--max-auth-age",
            "600",
        ])
        .expect_success();
    setup
        .app
        .cli(&["role", "create", "--app", "demo", "viewer"])
        .expect_success();
    for role in ["billing", "viewer"] {
        setup.app.grant_role("demo", "ada@example.com", role);
    }
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["roles"],
        json!(["billing", "viewer"])
    );

    // Eleven minutes later a refresh still works but no longer carries the
    // privileged role.
    setup.app.advance_clock(chrono::Duration::minutes(11));
    let (status, refreshed) = client
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["roles"],
        json!(["viewer"])
    );
    // And a new authorization asks for a fresh sign-in first.
    let response = client.authorize(&browser, &Pkce::new(), &[]).await;
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("/a/demo/login?") && param(location, "reauth").as_deref() == Some("1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn acr_values_phr_needs_a_passkey() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let response = client
        .authorize(&browser, &Pkce::new(), &[("acr_values", "phr")])
        .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        param(location, "passkey").as_deref(),
        Some("1"),
        "{location}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_session_must_enrol_before_any_code() {
    let setup = setup().await;
    setup.app.sql("UPDATE app SET id = id").await;
    let browser = signed_in_browser(&setup).await;
    setup
        .app
        .sql("UPDATE signin_session SET requires_enrolment = true")
        .await;
    let response = setup.client().authorize(&browser, &Pkce::new(), &[]).await;
    assert_eq!(response.headers()["location"], "/a/demo/account");
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_is_for_confidential_clients_and_tells_the_truth() {
    let setup = setup_with(&["--confidential"]).await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let (status, info) = client.post("introspect", &[("token", access)]).await;
    assert_eq!(status, 200);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], client.client_id);
    assert_eq!(info["scope"], "openid email profile");
    let (_, info) = client.post("introspect", &[("token", refresh)]).await;
    assert_eq!(
        (info["active"].clone(), info["token_type"].clone()),
        (json!(true), json!("refresh_token"))
    );
    client.post("revoke", &[("token", refresh)]).await;
    let (_, info) = client.post("introspect", &[("token", refresh)]).await;
    assert_eq!(info, json!({ "active": false }));
    let (_, info) = client.post("introspect", &[("token", "garbage")]).await;
    assert_eq!(info, json!({ "active": false }));

    // A public client may not introspect.
    let public = spawn_app().await;
    let created = public
        .cli(&[
            "app",
            "create",
            "pub",
            "--name",
            "Pub",
            "--redirect-uri",
            "http://localhost:5173/cb",
        ])
        .expect_success()
        .json();
    let (status, body) = Client::from_created(&public, &created)
        .post("introspect", &[("token", access)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

/// A token's signature is checked once a second per process (cached), but
/// whatever it stands on is checked on every request: revoking its grant
/// makes it inactive at once, although it was verified a moment before.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_verified_a_moment_ago_is_inactive_at_once_when_its_grant_is_revoked() {
    let setup = setup_with(&["--confidential"]).await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    for _ in 0..3 {
        let (_, info) = client.post("introspect", &[("token", access)]).await;
        assert_eq!(info["active"], true);
        assert_eq!(client.userinfo(access).await.status(), 200);
    }
    assert_eq!(client.post("revoke", &[("token", refresh)]).await.0, 200);
    let (_, info) = client.post("introspect", &[("token", access)]).await;
    assert_eq!(info, json!({ "active": false }));
    assert_eq!(client.userinfo(access).await.status(), 401);

    // A token changed by one character is not the verified one.
    let mut forged = access.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (_, info) = client.post("introspect", &[("token", &forged)]).await;
    assert_eq!(info, json!({ "active": false }));
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_one_app_are_worthless_at_another() {
    let setup = setup_with(&["--confidential"]).await;
    let browser = signed_in_browser(&setup).await;
    let tokens = setup.client().tokens(&browser, &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let other = setup
        .app
        .cli(&[
            "app",
            "create",
            "other",
            "--name",
            "Other",
            "--redirect-uri",
            "http://localhost:5173/cb",
            "--confidential",
        ])
        .expect_success()
        .json();
    let other = Client::from_created(&setup.app, &other);
    assert_eq!(other.userinfo(access).await.status(), 401);
    let (_, info) = other.post("introspect", &[("token", access)]).await;
    assert_eq!(info, json!({ "active": false }));
    let (_, info) = other.post("introspect", &[("token", refresh)]).await;
    assert_eq!(info, json!({ "active": false }));
    assert_eq!(other.post("revoke", &[("token", refresh)]).await.0, 200);
    assert_eq!(other.refresh(refresh).await.0, 400);
    // ...and the token still works where it belongs.
    assert_eq!(setup.client().refresh(refresh).await.0, 200);
    // It does not verify against the other app's keys.
    assert!(verify_with(&jwks(&setup.app, "other").await, access).is_err());
    assert!(verify_with(&jwks(&setup.app, "demo").await, access).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn userinfo_refuses_bad_tokens() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        client.userinfo(id_token).await.status(),
        401,
        "an ID token is not an access token"
    );
    assert_eq!(client.userinfo("garbage").await.status(), 401);
    let response = reqwest::get(client.endpoint("userinfo")).await.unwrap();
    assert_eq!(response.status(), 401);
    setup
        .app
        .sql("UPDATE app_user SET status = 'deactivated'")
        .await;
    assert_eq!(
        client
            .userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rotation_keeps_old_tokens_valid_until_they_expire() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let before = client.tokens(&browser, &[]).await;
    let old_access = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = header(&old_access)["kid"].clone();

    let rotated = setup
        .app
        .cli(&["key", "rotate", "--app", "demo"])
        .expect_success()
        .json();
    assert_eq!(rotated["active_keys"].as_array().unwrap().len(), 2);
    let published = jwks(&setup.app, "demo").await;
    assert_eq!(
        published["keys"].as_array().unwrap().len(),
        4,
        "old and new keys are published"
    );
    assert_eq!(client.userinfo(&old_access).await.status(), 200);
    let after = client.tokens(&browser, &[]).await;
    assert_ne!(
        header(after["access_token"].as_str().unwrap())["kid"],
        old_kid
    );
    assert!(
        setup
            .app
            .actions("demo")
            .await
            .contains(&"key.rotated".to_owned())
    );

    // Once the old keys' publication ends (their tokens have expired by
    // then), they leave the key set and tokens they signed are refused.
    setup.app.advance_clock(chrono::Duration::hours(1));
    assert_eq!(
        jwks(&setup.app, "demo").await["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(client.userinfo(&old_access).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_initiated_logout_ends_the_session_and_returns_to_a_registered_uri() {
    let setup = setup().await;
    let client = setup.client();
    let browser = signed_in_browser(&setup).await;
    let tokens = client.tokens(&browser, &[]).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // An unregistered URI: refused, nothing ends.
    let response = browser
        .get(client.endpoint("end_session"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "http://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // No hint: the hosted sign-out page asks.
    let response = browser
        .get(client.endpoint("end_session"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/a/demo/logout");

    let response = browser
        .get(client.endpoint("end_session"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "http://localhost:5173/bye"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "http://localhost:5173/bye?state=s1"
    );
    assert_eq!(
        client.refresh(refresh).await.0,
        400,
        "the session's tokens died with it"
    );
    let response = client.authorize(&browser, &Pkce::new(), &[]).await;
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/a/demo/login?"),
        "signed out"
    );
}

// ---------------------------------------------------------------------------
// N7, N8, N9 and the code-reuse item of N11 (second security review).

mod second_review {
    use super::*;
    use crate::common::console::first_owner;
    use oneauth::api::console::clients::{ConsoleCreateClient, ConsoleSetClientDisabled};

    #[tokio::test(flavor = "multi_thread")]
    async fn n7_disabling_a_client_ends_its_access_tokens_and_families() {
        let setup = setup().await;
        let owner = first_owner(&setup.app).await;
        let client = setup.client();
        let ada = signed_in_browser(&setup).await;
        let tokens = client.tokens(&ada, &[]).await;
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        // A resource server: a confidential client that introspects.
        let created = owner
            .call(
                &setup.app,
                ConsoleCreateClient {
                    app_id: "demo".into(),
                    name: "API".into(),
                    client_type: "confidential".into(),
                    redirect_uris: "https://api.example.com/cb".into(),
                    post_logout_redirect_uris: String::new(),
                    id_token_alg: "ES256".into(),
                },
            )
            .await
            .unwrap();
        let api = Client {
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().map(str::to_owned),
            ..setup.client()
        };
        let (_, info) = api.post("introspect", &[("token", &access)]).await;
        assert_eq!(info["active"], true);

        let disabled = |disabled| ConsoleSetClientDisabled {
            app_id: "demo".into(),
            client_id: client.client_id.clone(),
            disabled,
        };
        owner.call(&setup.app, disabled(true)).await.unwrap();
        let (_, info) = api.post("introspect", &[("token", &access)]).await;
        assert_eq!(info, json!({ "active": false }));
        assert_eq!(client.userinfo(&access).await.status(), 401);
        // Enabled again (its secret rotated, say), it gets nothing back.
        owner.call(&setup.app, disabled(false)).await.unwrap();
        let (status, body) = client.refresh(&refresh).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        let (_, info) = api.post("introspect", &[("token", &access)]).await;
        assert_eq!(info, json!({ "active": false }));
        let revoked = token_family::Entity::find()
            .all(&setup.app.db)
            .await
            .unwrap();
        assert!(
            revoked
                .iter()
                .all(|f| f.revoked_reason.as_deref() == Some("client_disabled")),
            "{revoked:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n8_a_login_after_mark_from_before_the_sign_in_never_satisfies_prompt_login() {
        let setup = setup().await;
        let client = setup.client();
        // Anyone (not signed in) asks for prompt=login and keeps the mark
        // the sign-in page was sent with.
        let anonymous = browser();
        let response = client
            .authorize(&anonymous, &Pkce::new(), &[("prompt", "login")])
            .await;
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let back = param(&location, "return_to").unwrap();
        let mark = param(&back, "login_after").expect("a mark");
        // Ada signs in later, in her own browser.
        setup.app.advance_clock(chrono::Duration::seconds(5));
        let ada = signed_in_browser(&setup).await;
        // With Ada's cookie (a thief's copy), the old mark does not skip the
        // re-authentication prompt=login asks for.
        let response = client
            .authorize(
                &ada,
                &Pkce::new(),
                &[("prompt", "login"), ("login_after", mark.as_str())],
            )
            .await;
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/a/demo/login?"), "{location}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n8_a_login_after_mark_is_bound_to_the_browser_that_signs_in_and_expires() {
        let setup = setup().await;
        let client = setup.client();
        let pkce = Pkce::new();
        let browser = browser();
        let response = client
            .authorize(&browser, &pkce, &[("prompt", "login")])
            .await;
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let back = param(&location, "return_to").unwrap();
        // The sign-in in this browser carries the request on...
        let next = setup
            .app
            .call_json(
                &browser,
                oneauth::api::hosted::SignInWithPassword {
                    app_id: "demo".into(),
                    email: "ada@example.com".into(),
                    password: PASSWORD.into(),
                    return_to: Some(back.clone()),
                },
            )
            .await
            .unwrap();
        let next = next.as_str().unwrap().to_owned();
        assert_ne!(next, back, "the mark is bound to the new sign-in");
        // ...and gets its code,
        let response = browser
            .get(format!("{}{next}", setup.app.address))
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap();
        assert!(param(location, "code").is_some(), "{location}");
        // but not twenty minutes later.
        setup.app.advance_clock(chrono::Duration::minutes(20));
        let response = browser
            .get(format!("{}{next}", setup.app.address))
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/a/demo/login?"), "{location}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n9_a_committed_rotation_is_delivered_when_the_step_after_it_fails() {
        let setup = setup().await;
        let client = setup.client();
        let ada = signed_in_browser(&setup).await;
        let tokens = client.tokens(&ada, &[]).await;
        // The session is old enough to be extended by the refresh...
        setup.app.advance_clock(chrono::Duration::minutes(2));
        // ...and extending it fails (a database error after the rotation
        // committed), as a trigger makes every session update fail.
        let fail_session_updates = match crate::common::backend() {
            crate::common::Backend::Sqlite => vec![
                "CREATE TRIGGER fail_session_updates BEFORE UPDATE ON signin_session \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                    .to_owned(),
            ],
            crate::common::Backend::Postgres => vec![
                "CREATE FUNCTION fail_session_updates() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                    .to_owned(),
                "CREATE TRIGGER fail_session_updates BEFORE UPDATE ON signin_session \
                 FOR EACH ROW EXECUTE FUNCTION fail_session_updates()"
                    .to_owned(),
            ],
        };
        for statement in &fail_session_updates {
            setup.app.sql(statement).await;
        }
        let (status, body) = client
            .refresh(tokens["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status, 200, "{body}");
        // The successor works: no reuse, no revoked family, no alarm.
        let (status, body) = client
            .refresh(body["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status, 200, "{body}");
        let actions = setup.app.actions("demo").await;
        assert!(!actions.contains(&"token.reuse_detected".to_owned()));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn n11_two_exchanges_of_one_code_at_once_revoke_what_the_first_got() {
        let setup = setup().await;
        let client = setup.client();
        let ada = signed_in_browser(&setup).await;
        for _ in 0..5 {
            let pkce = Pkce::new();
            let code = client.code(&ada, &pkce, &[]).await;
            let (first, second) =
                tokio::join!(client.exchange(&code, &pkce), client.exchange(&code, &pkce));
            let answers = [first, second];
            assert_exactly_one_won(&answers);
            let winner = answers.iter().find(|(status, _)| *status == 200).unwrap();
            // RFC 6749 §4.1.2: the second use revokes what the first got.
            let (status, body) = client
                .refresh(winner.1["refresh_token"].as_str().unwrap())
                .await;
            assert_eq!(status, 400, "{body}");
        }
    }
}
