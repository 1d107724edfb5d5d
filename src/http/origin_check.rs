//! CSRF defence for state-changing requests from browsers: a POST (form or
//! server function) must come from our own origin. Cookies are also
//! SameSite=Lax; this closes the rest (login CSRF, older browsers).
//! Browsers send `Origin` on every POST and `Sec-Fetch-Site` on every
//! request; clients that send neither are not browsers and carry no
//! ambient cookies to abuse.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Paths called cross-origin by design: OAuth endpoints that clients (or
/// other sites' JavaScript) call with their own credentials, not cookies.
fn is_cross_origin_api(path: &str) -> bool {
    path.starts_with("/a/") && path.contains("/oauth/")
}

pub async fn require_same_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method && !is_cross_origin_api(request.uri().path()) {
        let headers = request.headers();
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let site_ok = fetch_site.is_none_or(|s| s == "same-origin" || s == "none");
        // Under `Referrer-Policy: no-referrer` (set by a proxy in front, say)
        // browsers send `Origin: null` with a form post, even to their own
        // origin; Sec-Fetch-Site (which no page can set) then vouches that
        // it is same-origin.
        let origin_ok = match origin {
            None => true,
            Some("null") => fetch_site == Some("same-origin"),
            Some(origin) => origin == state.settings.public_url,
        };
        if !origin_ok || !site_ok {
            tracing::warn!(?origin, ?fetch_site, path = %request.uri().path(), "cross-site request refused");
            return (
                StatusCode::FORBIDDEN,
                "This request came from another site and was refused.",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Browsers that reach us under another name than the public URL (say
/// 127.0.0.1 instead of localhost) are sent to the public URL for pages:
/// cookies, the CSRF check and passkeys are all bound to that one origin.
pub async fn canonical_host(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_page_load = matches!(*request.method(), Method::GET | Method::HEAD);
    let path = request.uri().path();
    let exempt = super::health::is_probe_or_asset(path)
        || (path.starts_with("/a/")
            && (path.contains("/oauth/") || path.contains("/.well-known/")));
    if is_page_load && !exempt {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let public = state.settings.public_authority();
        if !host.is_empty() && !host.eq_ignore_ascii_case(&public) {
            let target = match request.uri().path_and_query() {
                Some(pq) => format!("{}{}", state.settings.public_url, pq.as_str()),
                None => state.settings.public_url.clone(),
            };
            return axum::response::Redirect::temporary(&target).into_response();
        }
    }
    next.run(request).await
}
