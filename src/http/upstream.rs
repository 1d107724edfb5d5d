//! Signing in through an app's upstream providers, as browser redirects:
//!
//! * `GET /a/{app}/upstream/{provider}/start`: seal the request's state
//!   (state, nonce, PKCE verifier, where to continue) in a short-lived
//!   cookie and send the browser to the provider;
//! * `GET /a/{app}/upstream/{provider}/callback`: the provider's answer, at
//!   this provider's own URL (so one provider's answer is never taken for
//!   another's); core checks it, the code is exchanged, the identity
//!   verified and signed in (`core::upstream::accounts::arrive`);
//! * `POST /a/{app}/upstream/{provider}/backchannel_logout`: OpenID Connect
//!   Back-Channel Logout 1.0.
//!
//! Every failure ends on a page that says what went wrong and an audit
//! event (`signin.failed` with the reason), never a 500.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use super::oauth::find_app;
use super::oauth::page::{busy_page, sign_in_failed_page};
use super::{client, cookies, signins};
use crate::core::oidc::authorize::LoginClock;
use crate::core::sessions::ClientInfo;
use crate::core::upstream::accounts::{self, Arrival, Outcome, PendingLink};
use crate::core::upstream::flow::{self, Callback, Pending};
use crate::core::upstream::{UpstreamFailure, logout, providers};
use crate::core::{ceremonies, devices};
use crate::entities::{app, identity_provider};
use crate::return_to::safe_return_to;
use crate::state::AppState;

/// The sealed state of a sign-in on its way through a provider.
const FLOW_COOKIE: &str = "oneauth_upstream";
const FLOW_KIND: &str = "upstream";
/// A sign-in at the provider may take a while (a new password, MFA).
const FLOW_LIFETIME_SECS: i64 = 600;
/// An upstream identity waiting for its owner to sign in here first.
pub const LINK_COOKIE: &str = "oneauth_upstream_link";
pub const LINK_KIND: &str = "upstream_link";
const LINK_LIFETIME_SECS: i64 = 900;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/a/{app_id}/upstream/{provider}/start", get(start))
        .route("/a/{app_id}/upstream/{provider}/callback", get(callback))
        .route(
            "/a/{app_id}/upstream/{provider}/backchannel_logout",
            post(backchannel_logout),
        )
}

#[derive(Debug, Deserialize)]
pub struct StartParams {
    return_to: Option<String>,
    /// Link the provider to the account signed in here (account page).
    link: Option<String>,
    /// Accept this organization invitation (its link's token) with the
    /// identity the provider vouches for.
    invitation: Option<String>,
}

/// The provider's callback URL, as registered upstream.
pub fn callback_url(state: &AppState, app_id: &str, slug: &str) -> String {
    format!(
        "{}/a/{app_id}/upstream/{slug}/callback",
        state.settings.public_url
    )
}

fn failure_page(app_id: &str, failure: &UpstreamFailure) -> Response {
    let status = match failure {
        UpstreamFailure::Unreachable => StatusCode::BAD_GATEWAY,
        UpstreamFailure::Deactivated | UpstreamFailure::DomainNotAllowed => StatusCode::FORBIDDEN,
        UpstreamFailure::Throttled => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    sign_in_failed_page(status, app_id, &failure.to_string())
}

fn not_found(app_id: &str) -> Response {
    sign_in_failed_page(
        StatusCode::NOT_FOUND,
        app_id,
        "There is no such sign-in provider for this app.",
    )
}

/// The app and its provider `slug`, or the page to answer instead.
async fn load(
    state: &AppState,
    app_id: &str,
    slug: &str,
) -> Result<(app::Model, identity_provider::Model), Response> {
    let app = match find_app(state, app_id).await {
        Ok(Some(app)) => app,
        Ok(None) => return Err(not_found(app_id)),
        Err(_) => return Err(busy_page()),
    };
    match providers::find(&state.db, &app.id, slug).await {
        Ok(Some(provider)) => Ok((app, provider)),
        Ok(None) => Err(not_found(app_id)),
        Err(_) => Err(busy_page()),
    }
}

/// Record `failure` and answer its page.
async fn refuse(
    state: &AppState,
    app: &app::Model,
    provider: Option<&identity_provider::Model>,
    client: &ClientInfo,
    failure: UpstreamFailure,
) -> Response {
    if let Err(err) = accounts::record_failure(&state.db, app, provider, client, &failure).await {
        tracing::error!(%err, "recording a refused upstream sign-in failed");
        return busy_page();
    }
    failure_page(app.id.as_str(), &failure)
}

fn redirect(location: &str, cookies: Vec<String>) -> Response {
    let response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response();
    cookies
        .iter()
        .fold(response, |response, cookie| with_cookie(response, cookie))
}

async fn start(
    State(state): State<AppState>,
    Path((app_id, slug)): Path<(String, String)>,
    Query(params): Query<StartParams>,
    session: Session,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let client = client::client_info(&headers, &extensions, &state.settings.trusted_proxies);
    let (app, provider) = match load(&state, &app_id, &slug).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let refused = async |failure| refuse(&state, &app, Some(&provider), &client, failure).await;
    match accounts::locked_out(&state.db, &app, &client).await {
        Ok(None) => {}
        Ok(Some(_)) => return failure_page(app.id.as_str(), &UpstreamFailure::Throttled),
        Err(_) => return busy_page(),
    }
    if provider.enabled_at.is_none() {
        return refused(UpstreamFailure::ProviderDisabled).await;
    }
    let link_session = if params.link.is_some() {
        match signins::current(&state.db, &session, &app).await {
            Ok(Some(signin)) => {
                // Linking is a step-up operation: a stale sign-in confirms
                // it's you first, then comes back to the account page.
                use crate::core::account::{self, AccountError, FactorChange};
                match account::may_change_factors(
                    &state.db,
                    &signin,
                    FactorChange::LinkUpstream,
                    None,
                )
                .await
                {
                    Ok(()) => Some(signin.session.id),
                    Err(
                        err @ (AccountError::ReauthenticationRequired
                        | AccountError::PasskeyReauthenticationRequired),
                    ) => {
                        let reauth = match err {
                            AccountError::PasskeyReauthenticationRequired => "passkey",
                            _ => "1",
                        };
                        return redirect(
                            &format!(
                                "/a/{app_id}/login?reauth={reauth}&return_to=/a/{app_id}/account",
                                app_id = app.id
                            ),
                            Vec::new(),
                        );
                    }
                    Err(AccountError::Fault(err)) => {
                        tracing::error!(%err, "checking a link request failed");
                        return busy_page();
                    }
                    Err(refused) => {
                        return sign_in_failed_page(
                            StatusCode::FORBIDDEN,
                            app.id.as_str(),
                            &refused.to_string(),
                        );
                    }
                }
            }
            Ok(None) => {
                let back = format!("/a/{}/account", app.id);
                return redirect(
                    &format!(
                        "/a/{}/login?return_to={}",
                        app.id,
                        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
                    ),
                    Vec::new(),
                );
            }
            Err(_) => return busy_page(),
        }
    } else {
        None
    };
    let endpoints = match state.upstream.endpoints(&provider).await {
        Ok(endpoints) => endpoints,
        Err(problem) => {
            tracing::warn!(provider = %provider.slug, %problem, "an upstream provider is unavailable");
            return refused(UpstreamFailure::Unreachable).await;
        }
    };
    let return_to = params
        .return_to
        .filter(|r| !r.is_empty())
        .map(|r| safe_return_to(app.id.as_str(), Some(&r)));
    let redirect_uri = callback_url(&state, app.id.as_str(), &provider.slug);
    let (authorize_url, mut pending) = match flow::begin(
        &provider,
        &endpoints,
        &redirect_uri,
        return_to,
        link_session,
    ) {
        Ok(begun) => begun,
        Err(problem) => {
            tracing::warn!(provider = %provider.slug, %problem, "an upstream request could not be built");
            return refused(UpstreamFailure::Unreachable).await;
        }
    };
    if pending.link_session.is_none() {
        pending.invitation = params.invitation.filter(|token| !token.is_empty());
    }
    let sealed = ceremonies::seal(
        &state.db.deployment().vault,
        FLOW_KIND,
        pending,
        state.db.now(),
        FLOW_LIFETIME_SECS,
    );
    redirect(
        authorize_url.as_str(),
        vec![cookies::cookie(
            &state.settings,
            FLOW_COOKIE,
            &sealed,
            FLOW_LIFETIME_SECS,
        )],
    )
}

async fn callback(
    State(state): State<AppState>,
    Path((app_id, slug)): Path<(String, String)>,
    Query(answer): Query<Callback>,
    session: Session,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let client = client::client_info(&headers, &extensions, &state.settings.trusted_proxies);
    let (app, provider) = match load(&state, &app_id, &slug).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    // Single use: the browser's copy goes whatever happens next.
    let clear = cookies::cookie(&state.settings, FLOW_COOKIE, "", 0);
    match accounts::locked_out(&state.db, &app, &client).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            return with_cookie(
                failure_page(app.id.as_str(), &UpstreamFailure::Throttled),
                &clear,
            );
        }
        Err(_) => return busy_page(),
    }
    let opened = cookies::read(&headers, FLOW_COOKIE).and_then(|value| {
        ceremonies::open::<Pending>(
            &state.db.deployment().vault,
            FLOW_KIND,
            &value,
            state.db.now(),
        )
    });
    let respond = |response: Response| with_cookie(response, &clear);
    let refused =
        async |failure| respond(refuse(&state, &app, Some(&provider), &client, failure).await);
    let Some((ceremony, pending)) = opened else {
        return refused(UpstreamFailure::BadState).await;
    };
    if provider.enabled_at.is_none() {
        return refused(UpstreamFailure::ProviderDisabled).await;
    }
    let endpoints = match state.upstream.endpoints(&provider).await {
        Ok(endpoints) => endpoints,
        Err(problem) => {
            tracing::warn!(provider = %provider.slug, %problem, "an upstream provider is unavailable");
            return refused(UpstreamFailure::Unreachable).await;
        }
    };
    let code = match flow::check_callback(&pending, &provider, &endpoints, &answer) {
        Ok(code) => code,
        Err(failure) => {
            return refused(failure).await;
        }
    };
    let secret = match providers::client_secret(state.db.deployment(), &provider) {
        Ok(secret) => secret,
        Err(err) => {
            tracing::error!(%err, provider = %provider.slug, "an upstream client secret does not open");
            return refused(UpstreamFailure::Unreachable).await;
        }
    };
    let redirect_uri = callback_url(&state, app.id.as_str(), &provider.slug);
    let identity = match state
        .upstream
        .identity(
            &provider,
            endpoints,
            &secret,
            &pending,
            code,
            &redirect_uri,
            state.db.now(),
        )
        .await
    {
        Ok(identity) => identity,
        Err(failure) => {
            return refused(failure).await;
        }
    };
    // Linking from the account page: the same sign-in must still be here.
    let current = match signins::current(&state.db, &session, &app).await {
        Ok(current) => current,
        Err(_) => return respond(busy_page()),
    };
    let link_to = match (&pending.link_session, &current) {
        (None, _) => None,
        (Some(asked), Some(signin)) if *asked == signin.session.id => Some(signin),
        (Some(_), _) => {
            return refused(UpstreamFailure::BadState).await;
        }
    };
    let device_cookie = cookies::read(&headers, &devices::cookie_name(app.id.as_str()));
    let arrived = accounts::arrive(
        &state.db,
        Arrival {
            app: &app,
            provider: &provider,
            identity: &identity,
            ceremony: &ceremony,
            client: &client,
            device_cookie: device_cookie.as_deref(),
            link_to,
            invitation: pending.invitation.as_deref(),
        },
    )
    .await;
    let outcome = match arrived {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(failure)) => return respond(failure_page(app.id.as_str(), &failure)),
        Err(err) => {
            tracing::error!(%err, "an upstream sign-in failed");
            return respond(busy_page());
        }
    };
    let (signed_in, target) = match outcome {
        Outcome::SignedIn(signed_in) => {
            let target = safe_return_to(app.id.as_str(), pending.return_to.as_deref());
            (signed_in, target)
        }
        Outcome::JoinedOrg {
            signed_in,
            org_slug,
        } => (signed_in, format!("/a/{}/orgs?joined={org_slug}", app.id)),
        Outcome::Linked => {
            return redirect(&format!("/a/{}/account?linked=1", app.id), vec![clear]);
        }
        Outcome::ConfirmLink(link) => {
            return redirect(
                &format!("/a/{}/account", app.id),
                vec![clear, link_cookie(&state, link)],
            );
        }
        Outcome::SignInFirst(link) => {
            let account = format!("/a/{}/account", app.id);
            let target = format!(
                "/a/{}/login?link_pending=1&return_to={}",
                app.id,
                url::form_urlencoded::byte_serialize(account.as_bytes()).collect::<String>()
            );
            return redirect(&target, vec![clear, link_cookie(&state, link)]);
        }
    };
    if let Err(err) = signins::remember(&session, app.id.as_str(), &signed_in.session.id).await {
        tracing::error!(%err, "remembering an upstream sign-in failed");
        return respond(busy_page());
    }
    let mut set = vec![clear.clone()];
    if let Some(mark) = &signed_in.device_mark {
        set.push(cookies::cookie(
            &state.settings,
            &devices::cookie_name(app.id.as_str()),
            mark,
            devices::LIFETIME_DAYS * 86_400,
        ));
    }
    let clock = LoginClock {
        key: &state.db.deployment().login_after_key,
        app_id: app.id.as_str(),
    };
    let target = clock.rebind(&target, &signed_in.session.id, state.db.now());
    redirect(&target, set)
}

/// The cookie that keeps `link` (sealed) until its owner confirms it.
fn link_cookie(state: &AppState, link: PendingLink) -> String {
    let sealed = ceremonies::seal(
        &state.db.deployment().vault,
        LINK_KIND,
        link,
        state.db.now(),
        LINK_LIFETIME_SECS,
    );
    cookies::cookie(&state.settings, LINK_COOKIE, &sealed, LINK_LIFETIME_SECS)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    logout_token: Option<String>,
}

/// OpenID Connect Back-Channel Logout 1.0 §2.8: 200 when the logout token
/// is valid (whether or not a session was still open), 400 otherwise.
async fn backchannel_logout(
    State(state): State<AppState>,
    Path((app_id, slug)): Path<(String, String)>,
    Form(form): Form<LogoutForm>,
) -> Response {
    let refused = |message: &str| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(
                serde_json::json!({ "error": "invalid_request", "error_description": message }),
            ),
        )
            .into_response()
    };
    let (app, provider) = match load(&state, &app_id, &slug).await {
        Ok(found) => found,
        Err(_) => return refused("There is no such provider."),
    };
    let Some(token) = form.logout_token.filter(|t| !t.is_empty()) else {
        return refused("The logout_token is missing.");
    };
    let endpoints = match state.upstream.endpoints(&provider).await {
        Ok(endpoints) => endpoints,
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The provider's keys are unavailable.",
            )
                .into_response();
        }
    };
    match logout::receive(&state.db, &app, &provider, &endpoints, &token).await {
        Ok(Ok(_ended)) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Ok(Err(refusal)) => refused(&refusal.to_string()),
        Err(err) => {
            tracing::error!(%err, "a back-channel logout failed");
            busy_page()
        }
    }
}
