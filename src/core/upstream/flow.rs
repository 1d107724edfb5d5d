//! One upstream sign-in, as a state machine with the time handed in:
//! [`begin`] makes the authorization request (authorization code, PKCE
//! S256, `state`, `nonce`) and the [`Pending`] state the browser keeps
//! sealed; [`check_callback`] checks the answer that comes back to this
//! provider's own callback; [`verify_id_token`] checks the ID token against
//! the provider's keys; [`github_identity`] reads GitHub's REST answers.
//! The edge (`http/upstream.rs`) fetches and posts; nothing here does I/O.

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, Nonce, PkceCodeChallenge, RedirectUrl, Scope, SignatureVerificationError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::providers::Kind;
use super::{Identity, UpstreamFailure};
use crate::core::secrets::constant_time_eq;
use crate::entities::identity_provider;

/// An ID token older than this at the code exchange is refused (`iat`).
const ID_TOKEN_MAX_AGE: Duration = Duration::minutes(10);
/// Clocks disagree this much at most.
const CLOCK_SKEW: Duration = Duration::minutes(2);
/// Entra ID's multi-tenant metadata names its issuer with this placeholder.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The OpenID Connect client of one provider.
pub type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What a provider published about itself: its metadata with its keys.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub metadata: CoreProviderMetadata,
    /// RFC 9207: the provider names itself in its answers (`iss`).
    pub iss_parameter_supported: bool,
    /// Where the discovery document says the keys are.
    pub jwks_uri: String,
}

/// Where a provider's endpoints are.
#[derive(Debug, Clone)]
pub enum Endpoints {
    Oidc(Box<Discovered>),
    /// GitHub: OAuth 2.0 on the web base, the REST API on its own base.
    Github {
        web: url::Url,
        api: url::Url,
    },
}

/// What the browser keeps, sealed, between the request and the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub app_id: String,
    pub provider_id: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The hosted page to continue with (an `/authorize` request, say).
    pub return_to: Option<String>,
    /// Linking from the account page: the sign-in session that asked.
    pub link_session: Option<String>,
    /// Accepting an organization invitation: its link's token.
    #[serde(default)]
    pub invitation: Option<String>,
}

/// The callback's query, as the upstream sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Where a provider's discovery document is (OpenID Connect Discovery 1.0
/// §4: the issuer plus the well-known path).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Whether `issuer` is one `provider` may sign with: the configured issuer,
/// or, for a multi-tenant Entra ID provider, the template filled with the
/// token's own tenant (`tid`).
fn issuer_accepted(kind: Kind, published: &str, issuer: &str, tenant: Option<&str>) -> bool {
    if kind == Kind::Entra && published.contains(TENANT_PLACEHOLDER) {
        return tenant.is_some_and(|tid| {
            !tid.is_empty()
                && tid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && published.replace(TENANT_PLACEHOLDER, tid) == issuer
        });
    }
    published == issuer
}

/// Read a discovery document of the provider configured with `issuer`.
pub fn parse_discovery(
    kind: Kind,
    issuer: &str,
    body: &[u8],
) -> Result<(CoreProviderMetadata, bool), String> {
    let metadata: CoreProviderMetadata = serde_json::from_slice(body)
        .map_err(|err| format!("its discovery document is not valid: {err}"))?;
    let raw: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let published = metadata.issuer().as_str().trim_end_matches('/');
    let configured = issuer.trim_end_matches('/');
    // Entra ID's "organizations"/"common" document names the template.
    let multi_tenant = kind == Kind::Entra && published.contains(TENANT_PLACEHOLDER);
    if published != configured && !multi_tenant {
        return Err(format!(
            "its discovery document names the issuer \"{published}\", not \"{configured}\""
        ));
    }
    let iss_supported = raw
        .get("authorization_response_iss_parameter_supported")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Ok((metadata, iss_supported))
}

pub fn parse_jwks(body: &[u8]) -> Result<CoreJsonWebKeySet, String> {
    serde_json::from_slice(body).map_err(|err| format!("its key set is not valid: {err}"))
}

/// The provider's OpenID Connect client, answering at `redirect_uri`.
pub fn oidc_client(
    provider: &identity_provider::Model,
    discovered: &Discovered,
    secret: &SecretString,
    redirect_uri: &str,
) -> Result<OidcClient, String> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| e.to_string())?;
    let mut client = CoreClient::from_provider_metadata(
        discovered.metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret.expose_secret().to_owned())),
    )
    .set_redirect_uri(redirect);
    // RFC 6749 §2.3.1: HTTP Basic unless the provider only takes the post.
    let methods = discovered
        .metadata
        .token_endpoint_auth_methods_supported()
        .map(|m| m.iter().map(|m| m.as_ref().to_owned()).collect::<Vec<_>>())
        .unwrap_or_default();
    if !methods.is_empty()
        && !methods.iter().any(|m| m == "client_secret_basic")
        && methods.iter().any(|m| m == "client_secret_post")
    {
        client = client.set_auth_type(openidconnect::AuthType::RequestBody);
    }
    Ok(client)
}

/// The authorization request to send the browser to, and the state it keeps.
pub fn begin(
    provider: &identity_provider::Model,
    endpoints: &Endpoints,
    redirect_uri: &str,
    return_to: Option<String>,
    link_session: Option<String>,
) -> Result<(url::Url, Pending), String> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let scopes = provider
        .scopes
        .split(' ')
        .filter(|s| !s.is_empty() && *s != "openid")
        .map(|s| Scope::new(s.to_owned()));
    let (url, state, nonce) = match endpoints {
        Endpoints::Oidc(discovered) => {
            // The secret is not needed to build the request.
            let client = oidc_client(provider, discovered, &SecretString::from(""), redirect_uri)?;
            let (url, state, nonce) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                )
                .add_scopes(scopes)
                .set_pkce_challenge(challenge)
                .url();
            (url, state.into_secret(), nonce.into_secret())
        }
        Endpoints::Github { web, .. } => {
            let state = CsrfToken::new_random().into_secret();
            let mut url = web
                .join("login/oauth/authorize")
                .map_err(|e| e.to_string())?;
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", &provider.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &provider.scopes)
                .append_pair("state", &state)
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", "S256")
                .append_pair("allow_signup", "false");
            (url, state, String::new())
        }
    };
    Ok((
        url,
        Pending {
            app_id: provider.app_id.to_string(),
            provider_id: provider.id.clone(),
            state,
            nonce,
            pkce_verifier: verifier.into_secret(),
            return_to,
            link_session,
            invitation: None,
        },
    ))
}

/// Check the answer that reached `provider`'s callback against the state
/// this browser kept; the code to exchange when it holds.
pub fn check_callback(
    pending: &Pending,
    provider: &identity_provider::Model,
    endpoints: &Endpoints,
    callback: &Callback,
) -> Result<String, UpstreamFailure> {
    // The state first: an answer nobody here asked for says nothing.
    let state_matches = callback
        .state
        .as_deref()
        .is_some_and(|state| constant_time_eq(state, &pending.state));
    if !state_matches || pending.app_id != provider.app_id.as_str() {
        return Err(UpstreamFailure::BadState);
    }
    // Mix-up (RFC 9207 §1): a sign-in begun with another provider, answered
    // at this one's callback.
    if pending.provider_id != provider.id {
        return Err(UpstreamFailure::WrongProvider);
    }
    if let Endpoints::Oidc(discovered) = endpoints {
        let issuer = discovered.metadata.issuer().as_str();
        match &callback.iss {
            // RFC 9207 §2.4: when present it must be the issuer.
            Some(iss) if !iss_matches(iss, issuer) => return Err(UpstreamFailure::WrongIssuer),
            None if discovered.iss_parameter_supported => {
                return Err(UpstreamFailure::WrongIssuer);
            }
            _ => {}
        }
    }
    if callback.error.is_some() {
        return Err(UpstreamFailure::Denied {
            provider: provider.display_name.clone(),
        });
    }
    callback
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or(UpstreamFailure::BadState)
}

/// An `iss` response parameter against the issuer (a multi-tenant template
/// accepts any tenant's issuer of that shape: the ID token's `tid` is
/// checked against it later).
fn iss_matches(iss: &str, issuer: &str) -> bool {
    match issuer.split_once(TENANT_PLACEHOLDER) {
        Some((before, after)) => {
            iss.len() > before.len() + after.len()
                && iss.starts_with(before)
                && iss.ends_with(after)
        }
        None => iss == issuer,
    }
}

/// Why an ID token was refused: its key is not (yet) known, which a fresh
/// key set may cure once, or for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownKey,
    Failed(UpstreamFailure),
}

/// Verify the ID token of `response` (signature against the provider's
/// keys, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`) and read the identity.
pub fn verify_id_token(
    provider: &identity_provider::Model,
    discovered: &Discovered,
    client: &OidcClient,
    response: &CoreTokenResponse,
    pending: &Pending,
    now: DateTime<Utc>,
) -> Result<Identity, Refusal> {
    use openidconnect::TokenResponse;
    let kind = super::providers::kind_of(provider);
    let id_token = response
        .id_token()
        .ok_or(Refusal::Failed(UpstreamFailure::BadToken))?;
    let published = discovered.metadata.issuer().as_str().to_owned();
    let multi_tenant = published.contains(TENANT_PLACEHOLDER);
    let verifier = client
        .id_token_verifier()
        // A multi-tenant issuer is checked below, against the token's tenant.
        .require_issuer_match(!multi_tenant)
        .set_time_fn(move || now)
        .set_issue_time_verifier_fn(move |iat| {
            if iat > now + CLOCK_SKEW || now - iat > ID_TOKEN_MAX_AGE {
                Err(format!("issued at {iat}"))
            } else {
                Ok(())
            }
        });
    let nonce = Nonce::new(pending.nonce.clone());
    match id_token.claims(&verifier, &nonce) {
        Ok(_) => {}
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => return Err(Refusal::UnknownKey),
        Err(err) => {
            tracing::info!(provider = %provider.slug, %err, "upstream ID token refused");
            return Err(Refusal::Failed(match err {
                ClaimsVerificationError::SignatureVerification(_) => UpstreamFailure::BadSignature,
                ClaimsVerificationError::InvalidIssuer(_) => UpstreamFailure::WrongIssuer,
                ClaimsVerificationError::InvalidNonce(_) => UpstreamFailure::NonceMismatch,
                _ => UpstreamFailure::BadToken,
            }));
        }
    }
    // The signature verified over this very payload: read all its claims.
    let claims =
        payload(&id_token.to_string()).ok_or(Refusal::Failed(UpstreamFailure::BadToken))?;
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let issuer = text("iss").ok_or(Refusal::Failed(UpstreamFailure::BadToken))?;
    if !issuer_accepted(kind, &published, &issuer, text("tid").as_deref()) {
        return Err(Refusal::Failed(UpstreamFailure::WrongIssuer));
    }
    identity_from_claims(kind, issuer, claims).ok_or(Refusal::Failed(UpstreamFailure::BadToken))
}

/// The identity in verified claims. Entra ID: the account is `tid`+`oid`
/// (never `email` or `preferred_username`, which a tenant sets freely),
/// and its `email` counts as verified only when Entra says the domain's
/// owner verified it (`xms_edov`).
fn identity_from_claims(
    kind: Kind,
    issuer: String,
    claims: serde_json::Map<String, serde_json::Value>,
) -> Option<Identity> {
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let flag = |name: &str| match claims.get(name) {
        Some(serde_json::Value::Bool(b)) => *b,
        // Some providers send "true" as a string.
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    };
    let (subject, email_verified) = match kind {
        Kind::Entra => (
            format!("{}:{}", text("tid")?, text("oid")?),
            flag("xms_edov"),
        ),
        _ => (text("sub")?, flag("email_verified")),
    };
    let amr = match claims.get("amr") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Some(Identity {
        issuer,
        subject,
        email: text("email").map(|e| e.trim().to_owned()),
        email_verified,
        name: text("name"),
        hosted_domain: text("hd"),
        session_id: text("sid"),
        amr,
        acr: text("acr"),
        claims,
    })
}

/// Fill what the ID token lacked from the userinfo answer, which must be
/// about the same subject (OpenID Connect Core §5.3.2).
pub fn merge_userinfo(
    identity: &mut Identity,
    userinfo: serde_json::Map<String, serde_json::Value>,
) -> Result<(), UpstreamFailure> {
    if userinfo.get("sub").and_then(|v| v.as_str())
        != identity.claims.get("sub").and_then(|v| v.as_str())
    {
        return Err(UpstreamFailure::BadToken);
    }
    if identity.email.is_none() {
        identity.email = userinfo
            .get("email")
            .and_then(|v| v.as_str())
            .map(|e| e.trim().to_owned());
        identity.email_verified = matches!(
            userinfo.get("email_verified"),
            Some(serde_json::Value::Bool(true))
        );
    }
    if identity.name.is_none() {
        identity.name = userinfo
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
    }
    for (key, value) in userinfo {
        identity.claims.entry(key).or_insert(value);
    }
    Ok(())
}

/// The middle part of a compact JWS, as JSON.
fn payload(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let middle = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(middle.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// GitHub's user (`GET /user`) and addresses (`GET /user/emails`) from the
/// API at `issuer`: the account is its numeric id; only a verified primary
/// address counts.
pub fn github_identity(
    issuer: &str,
    user: &[u8],
    emails: &[u8],
) -> Result<Identity, UpstreamFailure> {
    #[derive(Deserialize)]
    struct Address {
        email: String,
        #[serde(default)]
        primary: bool,
        #[serde(default)]
        verified: bool,
    }
    let user: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(user).map_err(|_| UpstreamFailure::BadToken)?;
    let id = user
        .get("id")
        .and_then(|v| v.as_u64())
        .ok_or(UpstreamFailure::BadToken)?;
    let addresses: Vec<Address> =
        serde_json::from_slice(emails).map_err(|_| UpstreamFailure::BadToken)?;
    let primary = addresses.into_iter().find(|a| a.primary && a.verified);
    Ok(Identity {
        issuer: issuer.trim_end_matches('/').to_owned(),
        subject: id.to_string(),
        email_verified: primary.is_some(),
        email: primary.map(|a| a.email),
        name: user.get("name").and_then(|v| v.as_str()).map(str::to_owned),
        hosted_domain: None,
        session_id: None,
        amr: Vec::new(),
        acr: None,
        claims: user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_tenant_issuer_is_filled_with_the_tokens_own_tenant() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let issuer = "https://login.microsoftonline.com/t1/v2.0";
        assert!(issuer_accepted(Kind::Entra, template, issuer, Some("t1")));
        assert!(!issuer_accepted(Kind::Entra, template, issuer, Some("t2")));
        assert!(!issuer_accepted(Kind::Entra, template, issuer, None));
        assert!(!issuer_accepted(
            Kind::Entra,
            template,
            "https://login.microsoftonline.com/a/b/v2.0",
            Some("a/b")
        ));
        // The template means nothing to another kind.
        assert!(!issuer_accepted(Kind::Oidc, template, issuer, Some("t1")));
    }

    #[test]
    fn github_counts_only_a_verified_primary_address() {
        let user = br#"{"id": 42, "login": "ada", "name": "Ada"}"#;
        let unverified = br#"[{"email":"ada@example.com","primary":true,"verified":false},
                              {"email":"ada@work.example","primary":false,"verified":true}]"#;
        let identity = github_identity("https://github.com", user, unverified).unwrap();
        assert_eq!(identity.subject, "42");
        assert_eq!(identity.email, None);
        assert!(!identity.email_verified);
        let verified = br#"[{"email":"ada@example.com","primary":true,"verified":true}]"#;
        let identity = github_identity("https://github.com", user, verified).unwrap();
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
        assert!(identity.email_verified);
    }

    #[test]
    fn an_entra_identity_is_its_tenant_and_object_id_never_its_email() {
        let claims = serde_json::json!({
            "tid": "t1", "oid": "o1", "sub": "pairwise", "email": "boss@victim.example",
            "email_verified": true, "preferred_username": "boss@victim.example"
        });
        let identity = identity_from_claims(
            Kind::Entra,
            "https://login.microsoftonline.com/t1/v2.0".into(),
            claims.as_object().unwrap().clone(),
        )
        .unwrap();
        assert_eq!(identity.subject, "t1:o1");
        assert!(!identity.email_verified);
    }
}
