//! What server functions share: the app state, the request's client, the
//! browser session and which app sign-ins it holds, error mapping.

use axum::http::header;
use axum::http::request::Parts;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use webauthn_rs::prelude::{DiscoverableAuthentication, PasskeyRegistration};

use super::ApiError;
use crate::core::account::AccountError;
use crate::core::passkeys::{PasskeyError, RelyingParty};
use crate::core::registration::{PendingSignup, RegistrationError};
use crate::core::sessions::{ActiveSignin, ClientInfo};
use crate::core::signin::SignInError;
use crate::core::types::{AppId, InvalidValue};
use crate::entities::app;
use crate::http::signins;
use crate::server::AppState;

/// Session key: a passkey assertion in progress.
const PASSKEY_AUTH: &str = "passkey_auth";
/// Session key: a passkey registration in progress.
const PASSKEY_REG: &str = "passkey_reg";

pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// Log an unexpected failure and tell the user something calm.
#[track_caller]
pub fn internal(err: impl std::fmt::Display) -> ApiError {
    let at = std::panic::Location::caller();
    tracing::error!(error = %err, %at, "server function failed");
    ApiError::Internal
}

pub fn invalid(field: &str) -> impl FnOnce(InvalidValue) -> ApiError + '_ {
    move |err| ApiError::invalid(field, err.0)
}

/// Address and user agent of the caller.
pub fn client_info() -> ClientInfo {
    match use_context::<Parts>() {
        Some(parts) => crate::http::client::client_info(
            &parts.headers,
            &parts.extensions,
            state().settings.trust_proxy,
        ),
        None => ClientInfo::default(),
    }
}

pub fn relying_party() -> Result<RelyingParty, ApiError> {
    state().relying_party.ok_or_else(|| {
        ApiError::Refused(
            "Passkeys are unavailable: the server's public URL must use a host name (such as localhost), not an IP address."
                .into(),
        )
    })
}

/// An enabled app, or a sentence saying there is none.
pub async fn load_app(app_id: &str) -> Result<app::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("There is no app called \"{app_id}\"."));
    let id = AppId::parse(app_id).map_err(|_| not_found())?;
    crate::core::apps::find(&state().db, &id)
        .await
        .map_err(internal)?
        .filter(|app| app.disabled_at.is_none())
        .ok_or_else(not_found)
}

pub async fn browser_session() -> Result<Session, ApiError> {
    leptos_axum::extract::<Session>().await.map_err(internal)
}

/// The live sign-in to `app` in this browser, if any.
pub async fn current_signin(
    session: &Session,
    app: &app::Model,
) -> Result<Option<ActiveSignin>, ApiError> {
    signins::current(&state().db, session, app)
        .await
        .map_err(internal)
}

pub async fn require_signin(session: &Session, app: &app::Model) -> Result<ActiveSignin, ApiError> {
    current_signin(session, app)
        .await?
        .ok_or(ApiError::SignInRequired)
}

pub async fn remember_signin(
    session: &Session,
    app_id: &str,
    signin_session_id: &str,
) -> Result<(), ApiError> {
    signins::remember(session, app_id, signin_session_id)
        .await
        .map_err(internal)
}

pub async fn forget_signin(session: &Session, app_id: &str) -> Result<(), ApiError> {
    signins::forget(session, app_id).await.map_err(internal)
}

/// A passkey assertion between its two steps.
#[derive(Serialize, Deserialize)]
pub struct PendingAssertion {
    pub app_id: String,
    pub state: DiscoverableAuthentication,
}

/// A passkey registration between its two steps; `signup` for a new
/// account, `invitation` (the link's token) for an invited one.
#[derive(Serialize, Deserialize)]
pub struct PendingRegistration {
    pub app_id: String,
    pub state: PasskeyRegistration,
    pub signup: Option<PendingSignup>,
    #[serde(default)]
    pub invitation: Option<String>,
}

pub async fn store_assertion(session: &Session, pending: PendingAssertion) -> Result<(), ApiError> {
    session
        .insert(PASSKEY_AUTH, pending)
        .await
        .map_err(internal)
}

/// Take (and forget: a challenge is single use) the pending assertion of `app_id`.
pub async fn take_assertion(
    session: &Session,
    app_id: &str,
) -> Result<DiscoverableAuthentication, ApiError> {
    let pending: Option<PendingAssertion> = session.remove(PASSKEY_AUTH).await.map_err(internal)?;
    pending
        .filter(|p| p.app_id == app_id)
        .map(|p| p.state)
        .ok_or_else(|| ApiError::Refused("That passkey request expired. Try again.".into()))
}

pub async fn store_registration(
    session: &Session,
    pending: PendingRegistration,
) -> Result<(), ApiError> {
    session.insert(PASSKEY_REG, pending).await.map_err(internal)
}

pub async fn take_registration(
    session: &Session,
    app_id: &str,
) -> Result<PendingRegistration, ApiError> {
    let pending: Option<PendingRegistration> =
        session.remove(PASSKEY_REG).await.map_err(internal)?;
    pending
        .filter(|p| p.app_id == app_id)
        .ok_or_else(|| ApiError::Refused("That passkey request expired. Try again.".into()))
}

/// Where to go after signing in: a path inside this app (never another app,
/// never another site), by default the account page. The console app's
/// pages live under `/console`, so its sign-in may also return there.
pub fn safe_return_to(app_id: &str, requested: Option<&str>) -> String {
    let hosted = format!("/a/{app_id}/");
    let is_console = app_id == AppId::CONSOLE;
    let inside = |path: &str| {
        path.starts_with(&hosted)
            || (is_console && (path == "/console" || path.starts_with("/console/")))
    };
    match requested {
        Some(path)
            if inside(path)
                && !path.contains("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ if is_console => "/console".to_owned(),
        _ => format!("/a/{app_id}/account"),
    }
}

/// Send a browser that posted a plain HTML form (no JavaScript) on to
/// `target`; with JavaScript the page navigates itself to the returned path.
pub fn redirect_form_post(target: &str) {
    let accepts_html = use_context::<Parts>()
        .and_then(|parts| parts.headers.get(header::ACCEPT).cloned())
        .and_then(|v| v.to_str().ok().map(|v| v.contains("text/html")))
        .unwrap_or(false);
    if accepts_html {
        leptos_axum::redirect(target);
    }
}

impl From<SignInError> for ApiError {
    fn from(err: SignInError) -> Self {
        match err {
            SignInError::Database(err) => internal(err),
            SignInError::Audit(err) => internal(err),
            SignInError::Passkey(PasskeyError::Database(err)) => internal(err),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

impl From<PasskeyError> for ApiError {
    fn from(err: PasskeyError) -> Self {
        match err {
            PasskeyError::Database(err) => internal(err),
            PasskeyError::Audit(err) => internal(err),
            PasskeyError::InvalidName => ApiError::invalid("name", err.to_string()),
            PasskeyError::Ceremony(detail) => {
                tracing::info!(%detail, "passkey ceremony failed");
                ApiError::Refused("The passkey could not be verified. Try again.".into())
            }
            other => ApiError::Refused(other.to_string()),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Database(err) => internal(err),
            AccountError::Audit(err) => internal(err),
            AccountError::Passkey(err) => err.into(),
            AccountError::ReauthenticationRequired => ApiError::ReauthRequired(err.to_string()),
            AccountError::WrongPassword => ApiError::invalid("current", err.to_string()),
            AccountError::ConfirmationMismatch => {
                ApiError::invalid("confirmation", err.to_string())
            }
            other => ApiError::Refused(other.to_string()),
        }
    }
}

impl From<RegistrationError> for ApiError {
    fn from(err: RegistrationError) -> Self {
        match err {
            RegistrationError::Database(err) => internal(err),
            RegistrationError::Audit(err) => internal(err),
            RegistrationError::Passkey(err) => err.into(),
            RegistrationError::SignIn(err) => err.into(),
            RegistrationError::EmailTaken => ApiError::invalid("email", err.to_string()),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// The signed-in console operator, if their session meets the console's
/// policy (a passkey, by default).
pub async fn require_operator() -> Result<crate::core::console::Operator, ApiError> {
    use crate::core::console::{AccessError, Operator};
    let console = load_app(crate::core::types::AppId::CONSOLE).await?;
    let session = browser_session().await?;
    let signin = require_signin(&session, &console).await?;
    match Operator::from_signin(&state().db, signin, client_info())
        .await
        .map_err(internal)?
    {
        Ok(operator) => Ok(operator),
        Err(AccessError::NotAnOperator) => Err(ApiError::Refused(
            "This account has no access to the console.".into(),
        )),
        Err(AccessError::StepUpRequired { .. }) => Err(ApiError::ReauthRequired(
            "The console needs a recent passkey sign-in.".into(),
        )),
    }
}

impl From<crate::core::admin::AdminError> for ApiError {
    fn from(err: crate::core::admin::AdminError) -> Self {
        use crate::core::admin::AdminError;
        match err {
            AdminError::Refused(reason) => ApiError::Refused(reason),
            AdminError::ReauthRequired(reason) => ApiError::ReauthRequired(reason),
            AdminError::Invalid { field, message } => ApiError::invalid(field, message),
            AdminError::NotFound(message) => ApiError::NotFound(message),
            AdminError::Internal(detail) => internal(detail),
        }
    }
}

impl From<crate::core::links::LinkError> for ApiError {
    fn from(err: crate::core::links::LinkError) -> Self {
        use crate::core::links::LinkError;
        match err {
            LinkError::Database(err) => internal(err),
            LinkError::Audit(err) => internal(err),
            LinkError::Passkey(err) => err.into(),
            LinkError::SignIn(err) => err.into(),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// A timestamp as the console shows it.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn sign_in_returns_only_inside_the_app() {
        assert_eq!(
            safe_return_to("demo", Some("/a/demo/oauth/authorize?x=1")),
            "/a/demo/oauth/authorize?x=1"
        );
        assert_eq!(
            safe_return_to("demo", Some("/a/shop/account")),
            "/a/demo/account"
        );
        assert_eq!(
            safe_return_to("demo", Some("/console/audit")),
            "/a/demo/account"
        );
        assert_eq!(
            safe_return_to("demo", Some("https://evil.example/")),
            "/a/demo/account"
        );
        assert_eq!(safe_return_to("demo", None), "/a/demo/account");
    }

    #[test]
    fn the_console_sign_in_returns_to_console_pages() {
        assert_eq!(
            safe_return_to("console", Some("/console/audit?action=x")),
            "/console/audit?action=x"
        );
        assert_eq!(safe_return_to("console", Some("/console")), "/console");
        assert_eq!(
            safe_return_to("console", Some("/a/console/account")),
            "/a/console/account"
        );
        assert_eq!(safe_return_to("console", Some("/consolation")), "/console");
        assert_eq!(
            safe_return_to("console", Some("/console//evil.example")),
            "/console"
        );
        assert_eq!(safe_return_to("console", None), "/console");
    }
}
