//! The authorization endpoint's decisions (RFC 6749 §4.1.1, OIDC Core
//! §3.1.2): validate the request, then answer with an error, a trip through
//! the hosted sign-in (or re-authentication, or passkey step-up), or a code.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{EntityTrait, Set};
use serde::Deserialize;
use url::Url;

use super::scope::Scope;
use super::{ErrorCode, OAuthError};
use crate::core::clients::redirect_uris;
use crate::core::db::Db;
use crate::core::sessions::{ActiveSignin, AuthEvent, Factor};
use crate::core::vault::DerivedKey;
use crate::core::{orgs, policy, secrets};
use crate::entities::{app, authorization_code, oauth_client};
use crate::types::ClientType;

/// How long a code may wait to be exchanged (RFC 6749 §4.1.2 recommends at
/// most ten minutes; one is plenty for a redirect).
pub const CODE_LIFETIME: Duration = Duration::seconds(60);

/// Query (or form) parameters of an authorization request, as received.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// RFC 8707: the resource server the access token is for.
    pub resource: Option<String>,
    /// The organization (slug or id) the tokens are to speak for (Auth0's
    /// `organization` parameter); without it, a member of several is asked
    /// to choose.
    pub organization: Option<String>,
    /// Ours, not OAuth's: the request came back from a sign-in that started
    /// at this time, so `prompt=login` is satisfied by any authentication
    /// since. Signed by us, bound to one sign-in session and short-lived
    /// (see [`LoginClock`]).
    pub login_after: Option<String>,
}

/// How long a `login_after` mark is good for: the sign-in it asks for
/// happens now, not tomorrow.
pub const LOGIN_AFTER_LIFETIME: Duration = Duration::minutes(15);

/// What a mark is bound to before anyone in the browser has signed in: it
/// is never accepted at the authorization endpoint, only turned into a
/// mark of the session the sign-in opens ([`LoginClock::rebind`]).
const NO_SESSION: &str = "-";

/// Signs and checks the `login_after` mark of a request that went through
/// a sign-in for `prompt=login`: `{unix millis}.{sign-in session}.{mac}`,
/// bound to the app, the client and one sign-in session (N8 of the second
/// security review: a mark minted before, or for another session, never
/// satisfies prompt=login), and good for [`LOGIN_AFTER_LIFETIME`].
pub struct LoginClock<'a> {
    pub key: &'a DerivedKey,
    pub app_id: &'a str,
}

impl LoginClock<'_> {
    fn message(&self, client_id: &str, millis: i64, session: &str) -> String {
        format!("login_after:{}:{client_id}:{millis}:{session}", self.app_id)
    }

    fn sign(&self, client_id: &str, millis: i64, session: &str) -> String {
        let signature = self.key.sign(&self.message(client_id, millis, session));
        format!("{millis}.{session}.{signature}")
    }

    /// A mark for "now", for the request to carry through the sign-in of
    /// `session` (the browser's current sign-in, if any).
    pub fn mark(&self, client_id: &str, session: Option<&str>, now: DateTime<Utc>) -> String {
        self.sign(
            client_id,
            now.timestamp_millis(),
            session.unwrap_or(NO_SESSION),
        )
    }

    /// A mark this server issued for this client that is still fresh: its
    /// time and the session it is bound to.
    fn open<'m>(
        &self,
        client_id: &str,
        mark: &'m str,
        now: DateTime<Utc>,
    ) -> Option<(i64, &'m str)> {
        let (millis, rest) = mark.split_once('.')?;
        let (session, signature) = rest.split_once('.')?;
        let millis: i64 = millis.parse().ok()?;
        let fresh = now.timestamp_millis() - millis <= LOGIN_AFTER_LIFETIME.num_milliseconds();
        (fresh
            && self
                .key
                .verify(&self.message(client_id, millis, session), signature))
        .then_some((millis, session))
    }

    /// The time of a fresh mark of this client bound to `session`.
    fn read(&self, client_id: &str, mark: &str, session: &str, now: DateTime<Utc>) -> Option<i64> {
        self.open(client_id, mark, now)
            .filter(|(_, bound)| *bound == session && *bound != NO_SESSION)
            .map(|(millis, _)| millis)
    }

    /// `return_to` with its `login_after` mark bound to `session`, which a
    /// sign-in in this browser has just opened (the one request in which
    /// the browser that carried the mark is known to hold that session).
    /// Anything else is given back as it was.
    pub fn rebind(&self, return_to: &str, session: &str, now: DateTime<Utc>) -> String {
        let authorize = format!("/a/{}/oauth/authorize?", self.app_id);
        let Some(query) = return_to.strip_prefix(&authorize) else {
            return return_to.to_owned();
        };
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let client_id = pairs
            .iter()
            .find(|(name, _)| name == "client_id")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let mut rebound = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &pairs {
            if name == "login_after" {
                if let Some((millis, _)) = self.open(&client_id, value, now) {
                    rebound.append_pair(name, &self.sign(&client_id, millis, session));
                }
            } else {
                rebound.append_pair(name, value);
            }
        }
        format!("{authorize}{}", rebound.finish())
    }
}

impl AuthorizeParams {
    /// The same request as a query string, to come back to after signing
    /// in; `restart_login` (a mark from [`LoginClock::mark`]) names now
    /// as the time from which an authentication satisfies prompt=login.
    pub fn to_query(&self, restart_login: Option<String>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("acr_values", &self.acr_values),
            ("response_mode", &self.response_mode),
            ("resource", &self.resource),
            ("organization", &self.organization),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        if let Some(prompt) = &self.prompt {
            query.append_pair("prompt", prompt);
        }
        if let Some(after) = restart_login.as_ref().or(self.login_after.as_ref()) {
            query.append_pair("login_after", after);
        }
        query.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Default,
    None,
    Login,
}

/// A request that passed validation: the client and redirect URI are known
/// good, so from here on errors go back to the client.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: oauth_client::Model,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// acr_values asked for "phr" (a phishing-resistant factor: a passkey).
    pub wants_passkey: bool,
    /// The `login_after` mark it carries (checked against the browser's
    /// sign-in by [`decide`]).
    pub login_after: Option<String>,
    /// RFC 8707: one of the app's API audiences.
    pub resource: Option<String>,
    /// The organization asked for, as given (checked against the user's
    /// memberships by [`decide`]).
    pub organization: Option<String>,
}

/// What the endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The client or redirect URI is wrong: show this on an error page and
    /// never redirect (RFC 6749 §4.1.2.1).
    ErrorPage(String),
    /// Redirect to the client (a code, or an error).
    Redirect(String),
    /// The client could not be read, so nothing can be redirected: "busy,
    /// try again" when the database did not answer in time, else a fault.
    Unavailable { busy: bool },
    /// Send the browser to the hosted sign-in page, then back here.
    SignIn {
        /// Someone is signed in, but must prove it again (prompt=login,
        /// max_age, a role's max auth age).
        reauth: bool,
        /// Only a passkey will do (a role requires one, or acr_values=phr).
        passkey: bool,
        login_hint: Option<String>,
        /// Restart the clock for prompt=login.
        restart_login: bool,
    },
    /// Signed in with a recovery code: a new factor comes first.
    Enrol,
    /// The app requires a verified address and the user's is not yet:
    /// the hosted page asks them to confirm it, then comes back here.
    Verify,
    /// The user belongs to several organizations and the request named
    /// none: the hosted page asks which, then comes back here with
    /// `organization=`.
    ChooseOrg,
    /// The request named an organization the user is not a member of: a
    /// page says so (never a code).
    NotAMember(String),
}

/// Where an error goes back to the client, with `state` and `iss` (RFC 9207).
fn error_redirect(
    redirect_uri: &str,
    issuer: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> Outcome {
    let mut url = Url::parse(redirect_uri).expect("registered redirect URIs are valid URLs");
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("error", error.error.as_str());
        query.append_pair("error_description", &error.description);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    Outcome::Redirect(url.to_string())
}

/// Check the request. `Err` is the answer already (an error page or an
/// error redirect).
pub async fn validate(
    db: &Db,
    app: &app::Model,
    issuer: &str,
    params: AuthorizeParams,
) -> Result<AuthorizationRequest, Outcome> {
    let Some(client_id) = params.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Err(Outcome::ErrorPage(
            "The request names no client (client_id is missing).".into(),
        ));
    };
    let client = crate::core::clients::find_cached(db, &app.id, client_id)
        .await
        .map_err(|err| {
            tracing::error!(%err, "loading a client failed");
            Outcome::Unavailable {
                busy: crate::core::db::is_busy(&err),
            }
        })?
        .filter(|c| c.disabled_at.is_none())
        .ok_or_else(|| {
            Outcome::ErrorPage(format!("There is no client \"{client_id}\" in this app."))
        })?;
    // Exact string match against the registered URIs (RFC 9700 §4.1.3).
    let Some(redirect_uri) = params.redirect_uri.clone() else {
        return Err(Outcome::ErrorPage(
            "The request has no redirect_uri.".into(),
        ));
    };
    if !redirect_uris(&client).contains(&redirect_uri) {
        return Err(Outcome::ErrorPage(
            "The redirect_uri is not registered for this client, so the request cannot be answered.".into(),
        ));
    }

    let state = params.state.clone();
    let fail = |error: OAuthError| error_redirect(&redirect_uri, issuer, state.as_deref(), &error);
    if params.request.is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "Request objects are not supported.",
        )));
    }
    if params.request_uri.is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported.",
        )));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        Some(_) => {
            return Err(fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "Only the authorization code flow (response_type=code) is supported.",
            )));
        }
        None => {
            return Err(fail(OAuthError::invalid_request(
                "response_type is missing.",
            )));
        }
    }
    if params
        .response_mode
        .as_deref()
        .is_some_and(|m| m != "query")
    {
        return Err(fail(OAuthError::invalid_request(
            "Only response_mode=query is supported.",
        )));
    }
    let scope = Scope::parse(params.scope.as_deref().unwrap_or("")).map_err(fail)?;

    // PKCE (RFC 7636): S256 only; required of public clients, and of every
    // client unless the app opted out.
    let pkce_required = client.client_type == ClientType::Public || app.require_pkce;
    let code_challenge = match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (Some(challenge), Some("S256")) if is_pkce_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge is malformed.",
            )));
        }
        (Some(_), _) => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method must be S256.",
            )));
        }
        (None, _) if pkce_required => {
            return Err(fail(OAuthError::invalid_request(
                "PKCE is required: send a code_challenge (S256).",
            )));
        }
        (None, _) => None,
    };
    let prompt = match params.prompt.as_deref() {
        None | Some("") => Prompt::Default,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        Some(other) => {
            return Err(fail(OAuthError::invalid_request(format!(
                "prompt={other} is not supported."
            ))));
        }
    };
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(secs) if secs >= 0 => Some(secs),
            _ => {
                return Err(fail(OAuthError::invalid_request(
                    "max_age must be a number of seconds.",
                )));
            }
        },
    };
    let wants_passkey = params
        .acr_values
        .as_deref()
        .is_some_and(|v| v.split(' ').any(|a| a == "phr"));
    let resource = super::resource::requested(app, params.resource.as_deref()).map_err(fail)?;
    let login_after = params.login_after;
    let organization = params
        .organization
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scope,
        state,
        nonce: params.nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: params.login_hint,
        wants_passkey,
        login_after,
        resource,
        organization,
    })
}

/// RFC 7636 §4.2: 43 to 128 characters of the unreserved set.
fn is_pkce_challenge(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// Decide, for a valid request, given who is signed in to the app here.
pub async fn decide(
    db: &Db,
    app: &app::Model,
    issuer: &str,
    login_clock: &LoginClock<'_>,
    request: &AuthorizationRequest,
    signin: Option<&ActiveSignin>,
) -> Result<Outcome, OAuthError> {
    let fail = |error: OAuthError| {
        error_redirect(
            &request.redirect_uri,
            issuer,
            request.state.as_deref(),
            &error,
        )
    };
    let interaction = |reauth: bool, passkey: bool, restart_login: bool| {
        if request.prompt == Prompt::None {
            let error = if reauth {
                OAuthError::new(
                    ErrorCode::InteractionRequired,
                    "The user must authenticate again.",
                )
            } else {
                OAuthError::new(ErrorCode::LoginRequired, "The user is not signed in.")
            };
            fail(error)
        } else {
            Outcome::SignIn {
                reauth,
                passkey,
                login_hint: request.login_hint.clone(),
                restart_login,
            }
        }
    };

    let Some(signin) = signin else {
        // Signing in now satisfies prompt=login too: mark when it started.
        return Ok(interaction(
            false,
            request.wants_passkey,
            request.prompt == Prompt::Login,
        ));
    };
    if signin.session.requires_enrolment {
        return Ok(if request.prompt == Prompt::None {
            fail(OAuthError::new(
                ErrorCode::InteractionRequired,
                "The user must enrol a new factor first.",
            ))
        } else {
            Outcome::Enrol
        });
    }
    if app.require_verified_email && !signin.user.email_verified {
        return Ok(if request.prompt == Prompt::None {
            fail(OAuthError::new(
                ErrorCode::InteractionRequired,
                "The user must confirm their e-mail address first.",
            ))
        } else {
            Outcome::Verify
        });
    }
    let factors = signin.factors();
    let now = db.now();
    // prompt=login: an authentication after this request started, in this
    // browser's sign-in (the mark is bound to it).
    let login_after = request
        .login_after
        .as_deref()
        .and_then(|mark| login_clock.read(&request.client.id, mark, &signin.session.id, now));
    let after_login = |e: &AuthEvent| {
        request.prompt != Prompt::Login
            || login_after.is_some_and(|after| e.at.timestamp_millis() >= after)
    };
    if factors.newest().is_none_or(|e| !after_login(&e)) {
        return Ok(interaction(true, request.wants_passkey, true));
    }
    // max_age and acr_values=phr: one authentication must meet both (an old
    // passkey and a fresh password are not a fresh passkey).
    let acceptable = |e: &AuthEvent| {
        after_login(e)
            && request
                .max_age
                .is_none_or(|max| e.age(now).num_seconds() <= max)
            && (!request.wants_passkey || e.factor == Factor::Passkey)
    };
    let Some(authentication) = factors.describe(acceptable) else {
        return Ok(interaction(true, request.wants_passkey, false));
    };
    // Role policy: a user holding a role their session does not satisfy is
    // stepped up before any code is issued.
    let roles = policy::roles_of_user(db, &signin.user.id).await?;
    let unmet: Vec<_> = roles
        .iter()
        .filter(|r| !policy::role_satisfied(r, &factors, now))
        .collect();
    if !unmet.is_empty() {
        let passkey = unmet.iter().any(|r| r.require_passkey);
        return Ok(interaction(true, passkey, false));
    }

    // The organization the tokens speak for: the one asked for, if the
    // user is a member; else their only one; else they choose.
    let organization = match &request.organization {
        Some(named) => {
            match orgs::claims::named_membership(db, &app.id, &signin.user.id, named).await? {
                Some(org) => Some(org),
                None => {
                    return Ok(Outcome::NotAMember(format!(
                        "{} is not a member of the organization \"{named}\", so this application cannot be opened for it.",
                        signin.user.email
                    )));
                }
            }
        }
        None => {
            let mut memberships = orgs::members::of_user(db, &signin.user.id).await?;
            match memberships.len() {
                0 => None,
                1 => memberships.pop().map(|(org, _)| org),
                _ if request.prompt == Prompt::None => {
                    return Ok(fail(OAuthError::new(
                        ErrorCode::InteractionRequired,
                        "The user must choose an organization.",
                    )));
                }
                _ => return Ok(Outcome::ChooseOrg),
            }
        }
    };
    // An organization role's factor policy steps up like an app role's.
    if let Some(org) = &organization {
        let standing = orgs::claims::standing(db, &app.id, &org.id, &signin.user.id, false).await?;
        if let Some(standing) = standing {
            let unmet = standing.unmet(&factors, now);
            if !unmet.is_empty() {
                let passkey = unmet.iter().any(|r| r.policy.require_passkey);
                return Ok(interaction(true, passkey, false));
            }
        }
    }

    let code = secrets::random_token(32);
    let token_roles = policy::token_roles(&roles, &factors, now);
    // One statement: it commits on its own, no transaction around it.
    authorization_code::Entity::insert(authorization_code::ActiveModel {
        code_hash: Set(secrets::sha256_hex(&code)),
        app_id: Set(app.id.clone()),
        client_id: Set(request.client.id.clone()),
        user_id: Set(signin.user.id.clone()),
        signin_session_id: Set(signin.session.id.clone()),
        redirect_uri: Set(request.redirect_uri.clone()),
        scope: Set(request.scope.to_string()),
        nonce: Set(request.nonce.clone()),
        code_challenge: Set(request.code_challenge.clone()),
        code_challenge_method: Set(request.code_challenge.as_ref().map(|_| "S256".to_owned())),
        auth_time: Set(authentication.at),
        amr: Set(serde_json::to_string(&authentication.amr()).expect("strings serialise")),
        acr: Set(authentication.factor.acr().to_owned()),
        roles: Set(serde_json::to_string(&token_roles).expect("strings serialise")),
        expires_at: Set(now + CODE_LIFETIME),
        used_at: Set(None),
        resource: Set(request.resource.clone()),
        token_family_id: Set(None),
        organization_id: Set(organization.map(|org| org.id)),
        created_at: Set(now),
    })
    .exec_without_returning(db.writer())
    .await?;

    let mut url =
        Url::parse(&request.redirect_uri).expect("registered redirect URIs are valid URLs");
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
        // RFC 9207: the issuer, against mix-up attacks.
        query.append_pair("iss", issuer);
    }
    Ok(Outcome::Redirect(url.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenges_have_the_rfc_shape() {
        assert!(is_pkce_challenge(&"a".repeat(43)));
        assert!(!is_pkce_challenge(&"a".repeat(42)));
        assert!(!is_pkce_challenge(&format!("{}=", "a".repeat(43))));
    }
}
