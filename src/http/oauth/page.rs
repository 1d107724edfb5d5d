//! A plain error page for protocol requests that cannot be redirected back
//! to the client (RFC 6749 §4.1.2.1: bad client_id or redirect_uri).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The stylesheet's path: cargo-leptos names it after its content
/// (`hash-files`) and lists the hash in `hash.txt` beside the binary, which
/// is what one build of the server has one of.
fn stylesheet() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let hash = std::env::current_exe()
            .ok()
            .and_then(|exe| std::fs::read_to_string(exe.with_file_name("hash.txt")).ok())
            .and_then(|hashes| {
                hashes
                    .lines()
                    .find_map(|line| line.strip_prefix("css: ").map(|h| h.trim().to_owned()))
            });
        match hash {
            Some(hash) => format!("/pkg/oneauth.{hash}.css"),
            None => "/pkg/oneauth.css".to_owned(),
        }
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        "Sign-in request refused",
        title,
        message,
        "The application that sent you here is misconfigured. Go back and try again, or tell its administrators.",
    )
}

/// A request for an organization the signed-in user is not a member of:
/// no code, a sentence, and the ways on.
pub fn not_a_member_page(app_id: &str, message: &str) -> Response {
    let logout = format!("/a/{}/logout", escape(app_id));
    let footer = format!(
        r#"Ask an owner or admin of the organization to invite you, or <a class="font-medium text-slate-900 underline" href="{logout}" data-testid="switch-account">sign in as someone else</a>."#
    );
    page_html(
        StatusCode::FORBIDDEN,
        "Sign-in request refused",
        "Not a member of this organization",
        message,
        &footer,
    )
}

/// An upstream sign-in that ended without a session: what went wrong, in
/// a sentence, and the way back to the app's sign-in page.
pub fn sign_in_failed_page(status: StatusCode, app_id: &str, message: &str) -> Response {
    let login = format!("/a/{}/login", escape(app_id));
    let footer = format!(
        r#"Nothing was changed here. <a class="font-medium text-slate-900 underline" href="{login}" data-testid="back-to-login">Back to sign-in</a>"#
    );
    page_html(
        status,
        "Sign-in did not complete",
        "We could not sign you in",
        message,
        &footer,
    )
}

/// 503 with `Retry-After`: the database did not answer in time.
pub fn busy_page() -> Response {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        "Try again in a moment",
        "The service is busy and could not answer this request in time.",
        "Nothing was changed. Reload the page in a moment.",
    );
    crate::http::metrics::mark_busy(response.headers_mut());
    response
}

fn page(status: StatusCode, eyebrow: &str, title: &str, message: &str, footer: &str) -> Response {
    page_html(status, eyebrow, title, message, &escape(footer))
}

/// The page, with a footer that is already HTML.
fn page_html(
    status: StatusCode,
    eyebrow: &str,
    title: &str,
    message: &str,
    footer_html: &str,
) -> Response {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 1Auth</title>
<link rel="stylesheet" href="{stylesheet}"><link rel="icon" type="image/svg+xml" href="/favicon.svg">
</head>
<body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
<main class="mx-auto flex min-h-screen max-w-md flex-col justify-center px-6">
<div class="rounded-2xl bg-white p-8 shadow-sm ring-1 ring-slate-200">
<p class="text-sm font-semibold uppercase tracking-widest text-red-600">{eyebrow}</p>
<h1 class="mt-2 text-xl font-semibold tracking-tight">{title}</h1>
<p class="mt-3 text-slate-600" data-testid="oauth-error">{message}</p>
<p class="mt-6 text-sm text-slate-500">{footer}</p>
</div>
</main>
</body>
</html>"#,
        eyebrow = escape(eyebrow),
        title = escape(title),
        message = escape(message),
        footer = footer_html,
        stylesheet = stylesheet(),
    );
    (status, Html(html)).into_response()
}
