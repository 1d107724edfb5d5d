//! A stand-in upstream OpenID provider on loopback (wiremock), whose
//! answers each test writes: its discovery document and keys are served
//! as a real provider's would be, and the token endpoint answers a code
//! with the ID token the test signed. Also the browser's side of an
//! upstream sign-in against 1Auth (start, then the callback).

use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::TestApp;

/// A token request for exactly `code`.
fn form_code(code: &str) -> impl Fn(&wiremock::Request) -> bool + Send + Sync + 'static {
    let code = code.to_owned();
    move |request: &wiremock::Request| {
        url::form_urlencoded::parse(&request.body).any(|(k, v)| k == "code" && v == code)
    }
}

/// A signing key of a provider (or of an attacker).
pub struct SigningKey {
    private: Jwk,
    pub public: Jwk,
}

impl SigningKey {
    pub fn new(kid: &str) -> Self {
        let pair = EcKeyPair::generate(EcCurve::P256).unwrap();
        let (mut private, mut public) = (pair.to_jwk_private_key(), pair.to_jwk_public_key());
        for jwk in [&mut private, &mut public] {
            jwk.set_key_id(kid);
            jwk.set_algorithm("ES256");
            jwk.set_key_use("sig");
        }
        Self { private, public }
    }

    /// `claims` as a JWT of type `typ`, signed with this key.
    pub fn sign(&self, claims: &Value, typ: &str) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(self.private.key_id().unwrap());
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        jwt::encode_with_signer(
            &payload,
            &header,
            &ES256.signer_from_jwk(&self.private).unwrap(),
        )
        .unwrap()
    }
}

pub struct StandIn {
    pub server: MockServer,
    pub issuer: String,
    pub key: SigningKey,
}

/// What the browser was sent to the provider with.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub state: String,
    pub nonce: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
}

impl StandIn {
    pub async fn start() -> Self {
        Self::start_with(json!({})).await
    }

    /// A provider whose discovery document also carries `extra`.
    pub async fn start_with(extra: Value) -> Self {
        let server = MockServer::start().await;
        let issuer = server.uri();
        let key = SigningKey::new("upstream-1");
        let mut metadata = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "backchannel_logout_supported": true,
        });
        if let (Some(metadata), Some(extra)) = (metadata.as_object_mut(), extra.as_object()) {
            metadata.extend(extra.clone());
        }
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(metadata))
            .mount(&server)
            .await;
        let stand_in = Self {
            server,
            issuer,
            key,
        };
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "keys": [Value::Object(stand_in.key.public.as_ref().clone())] }),
            ))
            .mount(&stand_in.server)
            .await;
        stand_in
    }

    /// Serve `keys` as the provider's key set from now on (once per test).
    pub async fn serve_keys(&self, keys: &[&Jwk]) {
        let keys: Vec<Value> = keys
            .iter()
            .map(|k| Value::Object(k.as_ref().clone()))
            .collect();
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": keys })))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// The claims of an ID token for `sub` answering `authorization`.
    pub fn claims(
        &self,
        authorization: &Authorization,
        sub: &str,
        email: &str,
        verified: bool,
    ) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": authorization.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": authorization.nonce,
            "email": email,
            "email_verified": verified,
            "sid": format!("upstream-session-of-{sub}"),
        })
    }

    /// From now on the token endpoint answers `code` with `id_token`.
    pub async fn answer_code(&self, code: &str, id_token: &str) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form_code(code))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("at-{code}"),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            })))
            .mount(&self.server)
            .await;
    }

    /// The token endpoint refuses `code` (expired, reused).
    pub async fn refuse_code(&self, code: &str) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(form_code(code))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant",
            })))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// Register this provider with `app_id` as `slug` (through the CLI).
    pub fn register(&self, app: &TestApp, app_id: &str, slug: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "provider",
            "add",
            "--app",
            app_id,
            slug,
            "--kind",
            "oidc",
            "--name",
            "Corp SSO",
            "--issuer",
            &self.issuer,
            "--client-id",
            "oneauth-client",
            "--client-secret-stdin",
        ];
        args.extend_from_slice(extra);
        app.cli_with_stdin(&args, "upstream-secret\n")
            .expect_success()
            .json()
    }
}

/// Start an upstream sign-in at 1Auth in `browser`; what the browser is sent
/// to the provider with.
pub async fn begin(
    app: &TestApp,
    browser: &reqwest::Client,
    app_id: &str,
    slug: &str,
    query: &str,
) -> Authorization {
    let response = app
        .get_with(
            browser,
            &format!("/a/{app_id}/upstream/{slug}/start{query}"),
        )
        .await;
    assert_eq!(response.status(), 303, "start redirects to the provider");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("response_type"), "code");
    Authorization {
        state: param("state"),
        nonce: param("nonce"),
        client_id: param("client_id"),
        redirect_uri: param("redirect_uri"),
        code_challenge: param("code_challenge"),
    }
}

/// The provider sends the browser back to `slug`'s callback with `query`.
pub async fn come_back(
    app: &TestApp,
    browser: &reqwest::Client,
    app_id: &str,
    slug: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    app.get_with(
        browser,
        &format!("/a/{app_id}/upstream/{slug}/callback?{query}"),
    )
    .await
}

/// A whole upstream sign-in: begin, the provider signs `claims` (made from
/// the authorization by `claims`), the browser comes back with a code.
pub async fn sign_in_upstream(
    app: &TestApp,
    browser: &reqwest::Client,
    stand_in: &StandIn,
    app_id: &str,
    slug: &str,
    claims: impl FnOnce(&Authorization) -> Value,
) -> reqwest::Response {
    sign_in_upstream_with(app, browser, stand_in, app_id, slug, "", claims).await
}

/// [`sign_in_upstream`], begun with `query` (`?return_to=…`,
/// `?invitation=…`).
pub async fn sign_in_upstream_with(
    app: &TestApp,
    browser: &reqwest::Client,
    stand_in: &StandIn,
    app_id: &str,
    slug: &str,
    query: &str,
    claims: impl FnOnce(&Authorization) -> Value,
) -> reqwest::Response {
    let authorization = begin(app, browser, app_id, slug, query).await;
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    let id_token = stand_in.key.sign(&claims(&authorization), "JWT");
    stand_in.answer_code(&code, &id_token).await;
    come_back(
        app,
        browser,
        app_id,
        slug,
        &[("code", &code), ("state", &authorization.state)],
    )
    .await
}

/// Where a redirect answer points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
