//! GET/POST /a/{app_id}/oauth/authorize

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use tower_sessions::Session;

use super::find_app;
use super::page::{busy_page, error_page, not_a_member_page};
use super::responses::found;
use crate::core::oidc::ErrorCode;
use crate::core::oidc::authorize::{self, AuthorizeParams, LoginClock, Outcome};
use crate::http::signins;
use crate::state::AppState;

pub async fn authorize_get(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    session: Session,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    handle(state, app_id, session, params).await
}

pub async fn authorize_post(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    session: Session,
    Form(params): Form<AuthorizeParams>,
) -> Response {
    handle(state, app_id, session, params).await
}

async fn handle(
    state: AppState,
    app_id: String,
    session: Session,
    params: AuthorizeParams,
) -> Response {
    let app = match find_app(&state, &app_id).await {
        Ok(Some(app)) => app,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "Unknown app",
                &format!("There is no app called \"{app_id}\"."),
            );
        }
        Err(_) => return busy_page(),
    };
    let issuer = state.settings.issuer(&app.id);
    let login_clock = LoginClock {
        key: &state.db.deployment().login_after_key,
        app_id: &app.id,
    };
    let request = match authorize::validate(&state.db, &app, &issuer, params.clone()).await {
        Ok(request) => request,
        Err(outcome) => return respond(&login_clock, &params, outcome, None, state.db.now()),
    };
    let signin = match signins::current(&state.db, &session, &app).await {
        Ok(signin) => signin,
        Err(err) if err.is_busy() => return busy_page(),
        Err(err) => {
            tracing::error!(%err, "reading the browser session failed");
            return unavailable_page();
        }
    };
    match authorize::decide(
        &state.db,
        &app,
        &issuer,
        &login_clock,
        &request,
        signin.as_ref(),
    )
    .await
    {
        Ok(outcome) => {
            let session = signin.as_ref().map(|s| s.session.id.as_str());
            respond(&login_clock, &params, outcome, session, state.db.now())
        }
        // Already logged where the fault became an OAuth error.
        Err(err) if err.error == ErrorCode::TemporarilyUnavailable => busy_page(),
        Err(err) => {
            tracing::error!(%err, "authorization failed");
            unavailable_page()
        }
    }
}

fn unavailable_page() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Try again",
        "The service is unavailable; try again shortly.",
    )
}

fn respond(
    login_clock: &LoginClock<'_>,
    params: &AuthorizeParams,
    outcome: Outcome,
    session: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let app_id = login_clock.app_id;
    match outcome {
        Outcome::Redirect(location) => found(&location),
        Outcome::Unavailable { busy: true } => busy_page(),
        Outcome::Unavailable { busy: false } => unavailable_page(),
        Outcome::ErrorPage(message) => error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in request is invalid",
            &message,
        ),
        Outcome::Enrol => found(&format!("/a/{app_id}/account")),
        Outcome::NotAMember(message) => not_a_member_page(app_id, &message),
        Outcome::ChooseOrg => {
            let back = format!("/a/{app_id}/oauth/authorize?{}", params.to_query(None));
            let mut choose = url::form_urlencoded::Serializer::new(String::new());
            choose.append_pair("return_to", &back);
            found(&format!("/a/{app_id}/orgs/choose?{}", choose.finish()))
        }
        Outcome::Verify => {
            let back = format!("/a/{app_id}/oauth/authorize?{}", params.to_query(None));
            let mut verify = url::form_urlencoded::Serializer::new(String::new());
            verify.append_pair("return_to", &back);
            found(&format!("/a/{app_id}/verify?{}", verify.finish()))
        }
        Outcome::SignIn {
            reauth,
            passkey,
            login_hint,
            restart_login,
        } => {
            let client_id = params.client_id.as_deref().unwrap_or_default();
            let restart = restart_login.then(|| login_clock.mark(client_id, session, now));
            let back = format!("/a/{app_id}/oauth/authorize?{}", params.to_query(restart));
            let mut login = url::form_urlencoded::Serializer::new(String::new());
            login.append_pair("return_to", &back);
            if reauth {
                login.append_pair("reauth", "1");
            }
            if passkey {
                login.append_pair("passkey", "1");
            }
            if let Some(hint) = login_hint {
                login.append_pair("login_hint", &hint);
            }
            found(&format!("/a/{app_id}/login?{}", login.finish()))
        }
    }
}
