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
pub use crate::core::ceremonies::{Ceremony, Taken};
use crate::core::fault::Fault;
use crate::core::passkeys::{PasskeyError, RelyingParty};
use crate::core::registration::{PendingSignup, RegistrationError};
use crate::core::sessions::{ActiveSignin, ClientInfo};
use crate::core::signin::SignInError;
use crate::entities::app;
use crate::http::signins;
use crate::state::AppState;
use crate::types::{AppId, InvalidValue};

pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// Log a fault and tell the user something calm: "busy, try again" when
/// the database did not answer in time (known by the fault's type), else
/// "something went wrong".
#[track_caller]
pub fn internal(fault: impl Into<Fault>) -> ApiError {
    let at = std::panic::Location::caller();
    let fault = fault.into();
    if fault.is_busy() {
        tracing::warn!(error = %fault, %at, "database busy");
        return ApiError::Unavailable;
    }
    tracing::error!(error = %fault, source = ?std::error::Error::source(&fault), %at, "server function failed");
    ApiError::Internal
}

/// Log a failure that is never "busy" (encoding a value, reading the
/// request) and tell the user "something went wrong".
#[track_caller]
pub fn broken(err: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    internal(Fault::unexpected(err))
}

/// The browser session could not be read or written: busy, or broken.
#[track_caller]
pub fn signins_failed(err: signins::SigninLookupError) -> ApiError {
    if err.is_busy() {
        tracing::warn!(error = %err, "browser session store busy");
        return ApiError::Unavailable;
    }
    match err {
        signins::SigninLookupError::Fault(fault) => internal(fault),
        other => broken(other),
    }
}

impl From<Fault> for ApiError {
    #[track_caller]
    fn from(fault: Fault) -> Self {
        internal(fault)
    }
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
            &state().settings.trusted_proxies,
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

/// An app id from a console page, parsed once here (core takes the typed
/// value): what is not one names no app.
pub fn app_id_of(raw: &str) -> Result<AppId, ApiError> {
    AppId::parse(raw).map_err(|_| ApiError::NotFound(format!("There is no app called \"{raw}\".")))
}

/// An enabled app, or a sentence saying there is none.
pub async fn load_app(app_id: &str) -> Result<app::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("There is no app called \"{app_id}\"."));
    let id = AppId::parse(app_id).map_err(|_| not_found())?;
    crate::core::apps::find_cached(&state().db, &id)
        .await
        .map_err(internal)?
        .filter(|app| app.disabled_at.is_none())
        .ok_or_else(not_found)
}

pub async fn browser_session() -> Result<Session, ApiError> {
    leptos_axum::extract::<Session>().await.map_err(broken)
}

/// The live sign-in to `app` in this browser, if any.
pub async fn current_signin(
    session: &Session,
    app: &app::Model,
) -> Result<Option<ActiveSignin>, ApiError> {
    signins::current(&state().db, session, app)
        .await
        .map_err(signins_failed)
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
        .map_err(signins_failed)
}

pub async fn forget_signin(session: &Session, app_id: &str) -> Result<(), ApiError> {
    signins::forget(session, app_id)
        .await
        .map_err(signins_failed)
}

/// A passkey assertion between its two steps.
#[derive(Serialize, Deserialize)]
pub struct PendingAssertion {
    pub app_id: String,
    pub state: DiscoverableAuthentication,
}

/// A passkey registration between its two steps; `signup` for a new
/// account, `invitation` (the link's token) for an invited one, `user_id`
/// for a signed-in user adding one (L7: finished for that user only).
#[derive(Serialize, Deserialize)]
pub struct PendingRegistration {
    pub app_id: String,
    pub state: PasskeyRegistration,
    pub signup: Option<PendingSignup>,
    #[serde(default)]
    pub invitation: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// The token of the organization invitation being accepted with a new
    /// account's passkey (an invitation of `invitation` is an account's).
    #[serde(default)]
    pub org_invitation: Option<String>,
}

/// A passkey ceremony lives five minutes in the browser, sealed
/// (`core::ceremonies::seal`); its id is spent by the second step, in
/// core, once the ceremony verified (N5).
const CEREMONY_LIFETIME_SECS: i64 = 300;

fn ceremony_cookie_name(kind: &str) -> String {
    format!("oneauth_{kind}")
}

/// A `Set-Cookie` value: host-only, HttpOnly, SameSite=Lax, Secure behind
/// https; `max_age` zero clears it.
pub fn cookie(name: &str, value: &str, max_age_secs: i64) -> String {
    crate::http::cookies::cookie(&state().settings, name, value, max_age_secs)
}

pub fn set_cookie(value: String) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::HeaderValue::from_str(&value),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// The value of the request's cookie `name`.
pub fn read_cookie(name: &str) -> Option<String> {
    let parts = use_context::<Parts>()?;
    crate::http::cookies::read(&parts.headers, name)
}

fn store_ceremony<T: Serialize>(kind: &str, pending: T) -> Result<(), ApiError> {
    let value = crate::core::ceremonies::seal(
        &state().db.deployment().vault,
        kind,
        pending,
        state().db.now(),
        CEREMONY_LIFETIME_SECS,
    );
    set_cookie(cookie(
        &ceremony_cookie_name(kind),
        &value,
        CEREMONY_LIFETIME_SECS,
    ));
    Ok(())
}

/// Take (and clear) the ceremony state `kind`, with the ceremony's identity
/// for core to spend.
fn take_ceremony<T: for<'de> Deserialize<'de>>(kind: &str) -> Option<(Ceremony, T)> {
    let name = ceremony_cookie_name(kind);
    let value = read_cookie(&name)?;
    set_cookie(cookie(&name, "", 0));
    crate::core::ceremonies::open(
        &state().db.deployment().vault,
        kind,
        &value,
        state().db.now(),
    )
}

fn expired() -> ApiError {
    ApiError::Refused("That passkey request expired. Try again.".into())
}

pub fn store_assertion(pending: PendingAssertion) -> Result<(), ApiError> {
    store_ceremony("passkey_auth", pending)
}

/// Take the pending assertion of `app_id`.
pub fn take_assertion(app_id: &str) -> Result<Taken<DiscoverableAuthentication>, ApiError> {
    take_ceremony::<PendingAssertion>("passkey_auth")
        .filter(|(_, p)| p.app_id == app_id)
        .map(|(ceremony, p)| Taken {
            ceremony,
            state: p.state,
        })
        .ok_or_else(expired)
}

pub fn store_registration(pending: PendingRegistration) -> Result<(), ApiError> {
    store_ceremony("passkey_reg", pending)
}

pub fn take_registration(app_id: &str) -> Result<(Ceremony, PendingRegistration), ApiError> {
    take_ceremony::<PendingRegistration>("passkey_reg")
        .filter(|(_, p)| p.app_id == app_id)
        .ok_or_else(expired)
}

/// The upstream identity this browser brought back for `app`, waiting for
/// its owner to sign in and link it (sealed by `http::upstream`).
pub fn pending_upstream_link(
    app: &app::Model,
) -> Option<(Ceremony, crate::core::upstream::accounts::PendingLink)> {
    use crate::http::upstream::{LINK_COOKIE, LINK_KIND};
    let value = read_cookie(LINK_COOKIE)?;
    let (ceremony, pending): (Ceremony, crate::core::upstream::accounts::PendingLink) =
        crate::core::ceremonies::open(
            &state().db.deployment().vault,
            LINK_KIND,
            &value,
            state().db.now(),
        )?;
    (pending.app_id == app.id.as_str()).then_some((ceremony, pending))
}

pub fn forget_upstream_link() {
    set_cookie(cookie(crate::http::upstream::LINK_COOKIE, "", 0));
}

/// The browser's known-device mark for `app_id`, as it sent it (core
/// checks whether it is a live mark of the account signing in).
pub fn device_cookie(app_id: &str) -> Option<String> {
    read_cookie(&crate::core::devices::cookie_name(app_id))
}

/// Keep a completed sign-in in this browser: the app's sign-in in the
/// browser session, and the known-device mark it issued, if any.
pub async fn remember_signed_in(
    session: &Session,
    app_id: &str,
    signed_in: &crate::core::signin::SignedIn,
) -> Result<(), ApiError> {
    remember_signin(session, app_id, &signed_in.session.id).await?;
    if let Some(mark) = &signed_in.device_mark {
        remember_device(app_id, mark);
    }
    Ok(())
}

/// Keep a known-device mark core issued to this browser for `app_id`.
pub fn remember_device(app_id: &str, mark: &str) {
    use crate::core::devices;
    set_cookie(cookie(
        &devices::cookie_name(app_id),
        mark,
        devices::LIFETIME_DAYS * 86_400,
    ));
}

pub use crate::return_to::safe_return_to;

/// Where a browser that has just signed in (opening or proving the sign-in
/// `session_id`) goes next: `return_to` when it is one of the app's pages,
/// with an authorization request's `login_after` mark bound to that
/// sign-in (N8: only the browser that signed in carries it on).
pub fn after_sign_in(app_id: &str, session_id: &str, return_to: Option<&str>) -> String {
    use crate::core::oidc::authorize::LoginClock;
    let target = safe_return_to(app_id, return_to);
    let state = state();
    let clock = LoginClock {
        key: &state.db.deployment().login_after_key,
        app_id,
    };
    clock.rebind(&target, session_id, state.db.now())
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
            SignInError::Fault(fault) => internal(fault),
            SignInError::Busy(_) => ApiError::Unavailable,
            SignInError::Passkey(PasskeyError::Fault(fault)) => internal(fault),
            SignInError::InvalidEmail => ApiError::invalid("email", err.to_string()),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

impl From<PasskeyError> for ApiError {
    fn from(err: PasskeyError) -> Self {
        match err {
            PasskeyError::Fault(fault) => internal(fault),
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
            AccountError::Fault(fault) => internal(fault),
            AccountError::Busy(_) => ApiError::Unavailable,
            AccountError::Passkey(err) => err.into(),
            AccountError::ReauthenticationRequired
            | AccountError::PasskeyReauthenticationRequired => {
                ApiError::ReauthRequired(err.to_string())
            }
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
            RegistrationError::Fault(fault) => internal(fault),
            RegistrationError::Busy(_) => ApiError::Unavailable,
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
    let console = load_app(crate::types::AppId::CONSOLE).await?;
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
            AdminError::Fault(fault) => internal(fault),
        }
    }
}

impl From<crate::core::links::LinkError> for ApiError {
    fn from(err: crate::core::links::LinkError) -> Self {
        use crate::core::links::LinkError;
        match err {
            LinkError::Fault(fault) => internal(fault),
            LinkError::Busy(_) => ApiError::Unavailable,
            LinkError::Passkey(err) => err.into(),
            LinkError::SignIn(err) => err.into(),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

impl From<crate::core::links::invitations::InviteError> for ApiError {
    fn from(err: crate::core::links::invitations::InviteError) -> Self {
        use crate::core::links::invitations::InviteError;
        match err {
            InviteError::Fault(fault) => internal(fault),
            InviteError::Busy(_) => ApiError::Unavailable,
            InviteError::Passkey(err) => err.into(),
            InviteError::SignIn(err) => err.into(),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

impl From<crate::core::orgs::OrgError> for ApiError {
    fn from(err: crate::core::orgs::OrgError) -> Self {
        use crate::core::orgs::{Guard, OrgError};
        let invalid = |field: &str, err: OrgError| ApiError::invalid(field, err.to_string());
        match err {
            OrgError::Fault(fault) => internal(fault),
            OrgError::Refused(Guard::FreshSignInNeeded) => {
                ApiError::ReauthRequired(Guard::FreshSignInNeeded.to_string())
            }
            OrgError::Refused(guard) => ApiError::Refused(guard.to_string()),
            OrgError::NoRoles | OrgError::NoSuchRole(_) => invalid("roles", err),
            OrgError::AlreadyMember(_) => invalid("email", err),
            OrgError::TeamTaken(_) => invalid("name", err),
            OrgError::SlugTaken(_) => invalid("slug", err),
            OrgError::NotFound(_)
            | OrgError::NotAMember(_)
            | OrgError::NoSuchTeam
            | OrgError::NoSuchUser
            | OrgError::NoSuchInvitation
            | OrgError::OtherApp(_) => ApiError::NotFound(err.to_string()),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// A timestamp as the console shows it.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
