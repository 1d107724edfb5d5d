//! The whole HTTP surface of 1Auth, assembled: protocol routes from
//! `http/`, the Leptos app (hosted pages, console) and its server
//! functions, and the layers every request passes.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, file_and_error_handler_with_context, generate_route_list,
};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::{App, shell};
use crate::http::health::unavailable_while_database_away;
use crate::http::observe::observe;
use crate::http::origin_check::{canonical_host, require_same_origin};
use crate::http::security_headers::{CspNonce, security_headers};
use crate::http::session_store::DbSessionStore;
use crate::http::text_only::refuse_nul_characters;
use crate::state::{AppState, SESSION_COOKIE};

pub use crate::http::MOST_BODY_BYTES;

/// The app's routes, generated once per process. Generating them sets a
/// process-wide flag in leptos_server under which a resource first polled
/// meanwhile waits forever (leptos-rs/leptos#4773), so it must never run
/// beside a render: a second server built in the same process (the tests
/// run many) once stalled a page of the first for good.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Every path the router serves pages and server functions on (their
/// templates, `/a/{app_id}/login`), for the tests that walk them all.
pub fn app_paths() -> Vec<String> {
    let pages = route_list()
        .into_iter()
        .map(|route| route.path().to_owned());
    let server_functions =
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned());
    pages.chain(server_functions).collect()
}

fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
        .into_response()
}

/// The whole HTTP surface of 1Auth.
pub fn router(state: AppState) -> Router {
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            // The nonce the CSP header of this response names (see
            // `http::security_headers`), for the hydration scripts.
            let nonce = use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
            if let Some(CspNonce(nonce)) = nonce {
                provide_context(leptos::nonce::Nonce::from_value(nonce));
            }
        }
    };
    let routes = route_list();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)));
    Router::new()
        .merge(crate::http::routes())
        .route(
            "/console/audit/export",
            axum::routing::get(crate::api::console::export::export),
        )
        .merge(crate::http::assets::routes(&state.settings.site_root))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_same_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            canonical_host,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn(refuse_nul_characters))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            unavailable_while_database_away,
        ))
        // A declared length over the limit is refused before the body is
        // read; a streamed one stops being read at the limit (extractors).
        .layer(DefaultBodyLimit::max(MOST_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MOST_BODY_BYTES))
        // A bug that panics in a handler answers 500 and is logged with the
        // request's id, instead of dropping the connection unexplained.
        .layer(CatchPanicLayer::custom(panicked))
        // Outermost: the request's id and span cover every layer above.
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}
