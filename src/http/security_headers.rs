//! Headers every response carries: a Content-Security-Policy with a fresh
//! nonce for Leptos' hydration and streaming scripts (no other inline script
//! runs, so a link or markup smuggled in through a query string cannot
//! execute), no framing, no MIME sniffing, no referrer, and HSTS behind https.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::core::{apps, clients, secrets};
use crate::state::AppState;

/// The nonce of this response's inline scripts; the Leptos renderer reads it
/// from the request (`server.rs`), the CSP header names it.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Where a form on a page may post, beyond our own origin: a sign-in form
/// posted without JavaScript is answered with a redirect through the
/// authorization endpoint to the client's registered redirect URI, and
/// browsers check `form-action` along that whole chain.
async fn form_targets(state: &AppState, path: &str) -> Vec<String> {
    let Some(app_id) = path
        .strip_prefix("/a/")
        .and_then(|rest| rest.split('/').next())
        .filter(|_| !path.contains("/oauth/") && !path.contains("/.well-known/"))
    else {
        return Vec::new();
    };
    // N11: from this process's caches (read again once a second): an app
    // that does not exist costs no query, one that does one per second.
    let known = match apps::exists_cached(&state.db, app_id).await {
        Ok(known) => known,
        Err(err) => {
            tracing::warn!(%err, "loading the app ids for the page's policy failed");
            return Vec::new();
        }
    };
    if !known {
        return Vec::new();
    }
    let clients = match clients::list_cached(&state.db, app_id).await {
        Ok(clients) => clients,
        Err(err) => {
            tracing::warn!(%err, "loading the redirect URIs for the page's policy failed");
            return Vec::new();
        }
    };
    clients
        .iter()
        .filter(|client| client.disabled_at.is_none())
        .flat_map(|client| {
            clients::redirect_uris(client)
                .into_iter()
                .chain(clients::post_logout_redirect_uris(client))
        })
        .filter_map(|uri| csp_source(&uri))
        .collect()
}

/// A registered URI as a CSP source expression: http(s) URIs as they are,
/// a native app's private-use scheme as `scheme:`. Anything that could
/// break out of the header's grammar is left out.
fn csp_source(uri: &str) -> Option<String> {
    let parsed = url::Url::parse(uri).ok()?;
    let source = match parsed.scheme() {
        "http" | "https" => parsed.as_str().to_owned(),
        scheme => format!("{scheme}:"),
    };
    let safe = source
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '\'' | '"'));
    safe.then_some(source)
}

fn policy(nonce: &str, form_targets: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for target in form_targets {
        form_action.push(' ');
        form_action.push_str(target);
    }
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; \
         connect-src 'self'; \
         object-src 'none'; \
         base-uri 'none'; \
         frame-ancestors 'none'; \
         form-action {form_action}"
    )
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = secrets::random_token(16);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let targets = form_targets(&state, request.uri().path()).await;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy(&nonce, &targets)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Codes, tokens and link tokens travel in URLs: never in a Referer to
    // another site. Our own forms keep theirs: a form posted without
    // JavaScript is answered by a redirect back to its page, which Leptos
    // finds in the Referer (under `no-referrer` it would land on `/`).
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // No Cross-Origin-Opener-Policy: relying parties that sign in through
    // a popup (oidc-client-ts' signinPopup, say) need the opener kept.
    if state.settings.secure_cookies() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_uris_become_sources_and_nothing_else_does() {
        assert_eq!(
            csp_source("https://app.example.com/cb").as_deref(),
            Some("https://app.example.com/cb")
        );
        assert_eq!(
            csp_source("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(csp_source("https://x.example/a;b"), None);
        let header = policy("abc", &["http://localhost:5173/cb".into()]);
        assert!(header.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(header.contains("form-action 'self' http://localhost:5173/cb"));
        assert!(header.contains("frame-ancestors 'none'"));
        assert!(header.contains("base-uri 'none'"));
    }
}
