//! What this process knows of its upstream providers: their discovery
//! documents and keys, fetched through [`Outbound`] and kept a few minutes;
//! and the exchange of a callback's code for a verified [`Identity`].
//! Keys are fetched again once when a token names a key we do not have
//! (the provider rotated), never more per sign-in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use openidconnect::{AuthorizationCode, OAuth2TokenResponse, PkceCodeVerifier};
use secrecy::{ExposeSecret, SecretString};

use super::flow::{self, Discovered, Endpoints, Pending, Refusal};
use super::outbound::{Outbound, OutboundError};
use super::providers::{self, Kind};
use super::{Identity, UpstreamFailure};
use crate::entities::identity_provider;

/// How long a provider's documents are used before they are fetched again.
const FRESH_FOR: Duration = Duration::from_secs(300);

/// A provider's documents, cached per process.
pub struct Directory {
    outbound: Outbound,
    cache: Mutex<HashMap<String, (Instant, Arc<Endpoints>)>>,
}

impl Directory {
    pub fn new(outbound: Outbound) -> Self {
        Self {
            outbound,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The cache key: a changed configuration is another provider.
    fn key(provider: &identity_provider::Model) -> String {
        format!("{}@{}", provider.id, provider.updated_at.timestamp_micros())
    }

    /// The provider's endpoints (and keys), from the cache when fresh.
    pub async fn endpoints(
        &self,
        provider: &identity_provider::Model,
    ) -> Result<Arc<Endpoints>, String> {
        let key = Self::key(provider);
        if let Some((at, endpoints)) = self.cache.lock().expect("cache lock").get(&key)
            && at.elapsed() < FRESH_FOR
        {
            return Ok(endpoints.clone());
        }
        let endpoints = Arc::new(self.fetch(provider).await?);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(key, (Instant::now(), endpoints.clone()));
        Ok(endpoints)
    }

    /// Fetch the provider's documents now (`provider test`, a new key).
    pub async fn fetch(&self, provider: &identity_provider::Model) -> Result<Endpoints, String> {
        let base = provider
            .issuer_url
            .clone()
            .ok_or_else(|| "the provider has no issuer URL".to_owned())?;
        let kind = providers::kind_of(provider);
        if kind == Kind::Github {
            let web = url::Url::parse(&format!("{base}/")).map_err(|e| e.to_string())?;
            let api = provider
                .api_url
                .as_deref()
                .unwrap_or("https://api.github.com");
            let api = url::Url::parse(&format!("{api}/")).map_err(|e| e.to_string())?;
            return Ok(Endpoints::Github { web, api });
        }
        let discovery_url = flow::discovery_url(&base);
        let body = self
            .outbound
            .get(&discovery_url, None)
            .await
            .map_err(|err| {
                format!("its discovery document ({discovery_url}) could not be fetched: {err}")
            })?;
        let (metadata, iss_parameter_supported) = flow::parse_discovery(kind, &base, &body)?;
        let jwks_uri = metadata.jwks_uri().url().to_string();
        let keys = self
            .outbound
            .get(&jwks_uri, None)
            .await
            .map_err(|err| format!("its keys ({jwks_uri}) could not be fetched: {err}"))?;
        let jwks = flow::parse_jwks(&keys)?;
        if jwks.keys().is_empty() {
            return Err(format!("its key set ({jwks_uri}) holds no keys"));
        }
        Ok(Endpoints::Oidc(Box::new(Discovered {
            metadata: metadata.set_jwks(jwks),
            iss_parameter_supported,
            jwks_uri,
        })))
    }

    /// Fetch the keys again (a token named a key we did not have).
    async fn refresh_keys(
        &self,
        provider: &identity_provider::Model,
    ) -> Result<Arc<Endpoints>, String> {
        let endpoints = Arc::new(self.fetch(provider).await?);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(Self::key(provider), (Instant::now(), endpoints.clone()));
        Ok(endpoints)
    }

    /// A sentence on what works and what does not (`oneauth provider test`).
    pub async fn test(&self, provider: &identity_provider::Model) -> Result<String, String> {
        match self.fetch(provider).await? {
            Endpoints::Oidc(discovered) => Ok(format!(
                "The provider answers: issuer {}, {} signing key(s), authorization at {}.",
                discovered.metadata.issuer().as_str(),
                discovered.metadata.jwks().keys().len(),
                discovered.metadata.authorization_endpoint().as_str()
            )),
            Endpoints::Github { web, api } => {
                // The API's root answers without a token.
                self.outbound
                    .get(api.as_str(), None)
                    .await
                    .map_err(|err| format!("the GitHub API ({api}) could not be reached: {err}"))?;
                Ok(format!(
                    "GitHub answers: sign-in at {web}login/oauth/authorize, API at {api}."
                ))
            }
        }
    }

    /// Exchange the callback's `code` and verify what comes back: the
    /// identity the provider vouches for.
    #[allow(clippy::too_many_arguments)]
    pub async fn identity(
        &self,
        provider: &identity_provider::Model,
        endpoints: Arc<Endpoints>,
        secret: &SecretString,
        pending: &Pending,
        code: String,
        redirect_uri: &str,
        now: DateTime<Utc>,
    ) -> Result<Identity, UpstreamFailure> {
        match endpoints.as_ref() {
            Endpoints::Oidc(discovered) => {
                self.oidc_identity(
                    provider,
                    discovered,
                    secret,
                    pending,
                    code,
                    redirect_uri,
                    now,
                )
                .await
            }
            Endpoints::Github { web, api } => {
                self.github_identity(provider, web, api, secret, pending, code, redirect_uri)
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn oidc_identity(
        &self,
        provider: &identity_provider::Model,
        discovered: &Discovered,
        secret: &SecretString,
        pending: &Pending,
        code: String,
        redirect_uri: &str,
        now: DateTime<Utc>,
    ) -> Result<Identity, UpstreamFailure> {
        let client = flow::oidc_client(provider, discovered, secret, redirect_uri)
            .map_err(|_| UpstreamFailure::BadToken)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| UpstreamFailure::BadToken)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.outbound)
            .await
            .map_err(token_failure)?;
        let mut identity =
            match flow::verify_id_token(provider, discovered, &client, &response, pending, now) {
                Ok(identity) => identity,
                Err(Refusal::UnknownKey) => {
                    // The provider may have rotated its keys: fetch them once.
                    let fresh = self
                        .refresh_keys(provider)
                        .await
                        .map_err(|_| UpstreamFailure::Unreachable)?;
                    let Endpoints::Oidc(fresh) = fresh.as_ref() else {
                        return Err(UpstreamFailure::BadToken);
                    };
                    let client = flow::oidc_client(provider, fresh, secret, redirect_uri)
                        .map_err(|_| UpstreamFailure::BadToken)?;
                    match flow::verify_id_token(provider, fresh, &client, &response, pending, now) {
                        Ok(identity) => identity,
                        Err(Refusal::UnknownKey) => return Err(UpstreamFailure::BadSignature),
                        Err(Refusal::Failed(failure)) => return Err(failure),
                    }
                }
                Err(Refusal::Failed(failure)) => return Err(failure),
            };
        // OpenID Connect Core §5.4: claims may come from userinfo instead
        // (oidc-provider, for one, keeps the ID token to `sub` when an
        // access token is issued): the address, and any claim a rule reads.
        let missing = identity.email.is_none()
            || providers::rules_of(provider)
                .iter()
                .any(|rule| !identity.claims.contains_key(&rule.claim));
        if missing && let Some(userinfo) = discovered.metadata.userinfo_endpoint() {
            let body = self
                .outbound
                .get(userinfo.as_str(), Some(response.access_token().secret()))
                .await
                .map_err(outbound_failure)?;
            let claims: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&body).map_err(|_| UpstreamFailure::BadToken)?;
            flow::merge_userinfo(&mut identity, claims)?;
        }
        Ok(identity)
    }

    #[allow(clippy::too_many_arguments)]
    async fn github_identity(
        &self,
        provider: &identity_provider::Model,
        web: &url::Url,
        api: &url::Url,
        secret: &SecretString,
        pending: &Pending,
        code: String,
        redirect_uri: &str,
    ) -> Result<Identity, UpstreamFailure> {
        let token_url = web
            .join("login/oauth/access_token")
            .map_err(|_| UpstreamFailure::BadToken)?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &provider.client_id)
            .append_pair("client_secret", secret.expose_secret())
            .append_pair("code_verifier", &pending.pkce_verifier)
            .finish();
        let request = openidconnect::http::Request::builder()
            .method(openidconnect::http::Method::POST)
            .uri(token_url.as_str())
            .header(openidconnect::http::header::ACCEPT, "application/json")
            .header(
                openidconnect::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form.into_bytes())
            .map_err(|_| UpstreamFailure::BadToken)?;
        let response = self
            .outbound
            .send(request)
            .await
            .map_err(outbound_failure)?;
        // GitHub answers a refused code with 200 and an `error` field.
        let answer: serde_json::Value =
            serde_json::from_slice(response.body()).map_err(|_| UpstreamFailure::BadToken)?;
        let Some(token) = answer.get("access_token").and_then(|t| t.as_str()) else {
            return Err(UpstreamFailure::CodeRejected);
        };
        let user = self
            .outbound
            .get(
                api.join("user")
                    .map_err(|_| UpstreamFailure::BadToken)?
                    .as_str(),
                Some(token),
            )
            .await
            .map_err(outbound_failure)?;
        let emails = self
            .outbound
            .get(
                api.join("user/emails")
                    .map_err(|_| UpstreamFailure::BadToken)?
                    .as_str(),
                Some(token),
            )
            .await
            .map_err(outbound_failure)?;
        // The identity comes from the API: its base is the issuer, so
        // pointing the API elsewhere never reaches the accounts linked so far.
        flow::github_identity(api.as_str(), &user, &emails)
    }
}

fn outbound_failure(err: OutboundError) -> UpstreamFailure {
    tracing::info!(%err, "an upstream call failed");
    UpstreamFailure::Unreachable
}

fn token_failure<T: openidconnect::ErrorResponse + 'static>(
    err: openidconnect::RequestTokenError<OutboundError, T>,
) -> UpstreamFailure {
    use openidconnect::RequestTokenError;
    match err {
        RequestTokenError::ServerResponse(_) => UpstreamFailure::CodeRejected,
        RequestTokenError::Request(err) => outbound_failure(err),
        other => {
            tracing::info!(err = %other, "an upstream token answer was refused");
            UpstreamFailure::BadToken
        }
    }
}
