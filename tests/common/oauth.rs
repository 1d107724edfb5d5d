//! A small OAuth client for tests: builds authorization requests, follows
//! them with a browser-like HTTP client, and calls the token endpoints.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::TestApp;

/// A PKCE pair (RFC 7636).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = oneauth::core::secrets::random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// The payload of a JWT, unverified (the tests verify separately).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// A query parameter of a URL (absolute or a path).
pub fn param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location)
        .or_else(|_| url::Url::parse(&format!("http://x{location}")))
        .unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Of token requests racing for one grant (a code, a refresh token),
/// exactly one wins and every other is refused as `invalid_grant`.
pub fn assert_exactly_one_won(answers: &[(u16, Value)]) {
    let won = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(won, 1, "exactly one wins: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, body)| *status == 200 || body["error"] == "invalid_grant"),
        "the others are refused: {answers:?}"
    );
}

pub struct Client<'a> {
    pub app: &'a TestApp,
    /// Where requests go (another server process on the same database, say).
    pub base: String,
    pub app_id: String,
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

impl<'a> Client<'a> {
    /// The first client of an app created by `oneauth app create`.
    pub fn from_created(app: &'a TestApp, created: &Value) -> Self {
        Self {
            app,
            base: app.address.clone(),
            app_id: created["app_id"].as_str().unwrap().to_owned(),
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            secret: created["client_secret"].as_str().map(str::to_owned),
            redirect_uri: "http://localhost:5173/cb".to_owned(),
        }
    }

    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/a/{}/oauth/{name}", self.base, self.app_id)
    }

    /// GET /authorize with the usual parameters plus `extra`; a PKCE
    /// challenge is added unless `extra` names one.
    pub async fn authorize(
        &self,
        browser: &reqwest::Client,
        pkce: &Pkce,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", "openid email profile"),
            ("state", "st-123"),
            ("nonce", "n-456"),
        ];
        if !extra.iter().any(|(k, _)| *k == "code_challenge") {
            params.push(("code_challenge", &pkce.challenge));
            params.push(("code_challenge_method", "S256"));
        }
        for (key, value) in extra {
            params.retain(|(k, _)| k != key);
            if !value.is_empty() {
                params.push((key, value));
            }
        }
        browser
            .get(self.endpoint("authorize"))
            .query(&params)
            .send()
            .await
            .unwrap()
    }

    /// A POST to a client-authenticated endpoint: Basic for a confidential
    /// client, client_id in the body for a public one.
    pub async fn post(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let mut request = reqwest::Client::new().post(self.endpoint(endpoint));
        let mut form: Vec<(&str, &str)> = form.to_vec();
        match &self.secret {
            Some(secret) => {
                let basic = STANDARD.encode(format!("{}:{}", self.client_id, secret));
                request = request.header("authorization", format!("Basic {basic}"));
            }
            None => form.push(("client_id", &self.client_id)),
        }
        let response = request.form(&form).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Exchange a code.
    pub async fn exchange(&self, code: &str, pkce: &Pkce) -> (u16, Value) {
        self.post(
            "token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.post(
            "token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// For a signed-in browser: authorize, take the code, exchange it.
    /// For a signed-in browser: authorize and take the code.
    pub async fn code(
        &self,
        browser: &reqwest::Client,
        pkce: &Pkce,
        extra: &[(&str, &str)],
    ) -> String {
        let response = self.authorize(browser, pkce, extra).await;
        assert_eq!(response.status(), 302, "authorize should redirect");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
    }

    pub async fn tokens(&self, browser: &reqwest::Client, extra: &[(&str, &str)]) -> Value {
        let pkce = Pkce::new();
        let code = self.code(browser, &pkce, extra).await;
        let (status, body) = self.exchange(&code, &pkce).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn userinfo(&self, access_token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.endpoint("userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }
}
