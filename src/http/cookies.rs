//! The `Set-Cookie` values 1Auth writes besides the browser session's:
//! host-only, HttpOnly, SameSite=Lax (a provider's redirect back is a
//! top-level navigation, which Lax lets through), Secure behind https.

use tower_sessions::cookie::{Cookie, SameSite};

use crate::config::Settings;

/// A cookie `name` holding `value` for `max_age_secs` (zero clears it).
pub fn cookie(settings: &Settings, name: &str, value: &str, max_age_secs: i64) -> String {
    Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies())
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
        .to_string()
}

/// The value of the request's cookie `name`.
pub fn read(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}
