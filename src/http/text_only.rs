//! No NUL character gets in. PostgreSQL's text cannot hold one (a query
//! that carries it fails as an error of the database, which would answer
//! 500), SQLite would store what PostgreSQL refuses, and no real input of
//! 1Auth (an address, a name, a code, a URL) contains one. So a request
//! whose path, query or form or JSON body carries a NUL, raw or escaped,
//! is answered 400 before any handler sees it.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn refuse_nul_characters(request: Request, next: Next) -> Response {
    let refused = || {
        (
            StatusCode::BAD_REQUEST,
            "A request may not carry a NUL character.",
        )
            .into_response()
    };
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_default();
    if has_nul(target.as_bytes(), Encoding::Url) {
        return refused();
    }
    let no_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|length| length == "0");
    if no_body || matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    // Every body is read, whatever it claims to be: server functions decode
    // theirs as a form whatever the Content-Type says. None is large (the
    // body limit layer below has refused what is) and none is streamed.
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("application/json"));
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, super::MOST_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let encoding = if json { Encoding::Json } else { Encoding::Url };
    if has_nul(&bytes, encoding) {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// How a NUL would be written in a text.
#[derive(Clone, Copy)]
enum Encoding {
    /// A URL or a form: `%00` (hex digits have no case to differ in).
    Url,
    /// JSON: a `\u0000` escape (not an escaped backslash before `u0000`).
    Json,
}

/// A raw NUL byte, or one written the way `encoding` writes it.
fn has_nul(bytes: &[u8], encoding: Encoding) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    match encoding {
        Encoding::Url => bytes.windows(3).any(|window| window == b"%00"),
        Encoding::Json => json_escapes_nul(bytes),
    }
}

/// `\u0000` preceded by an even number of backslashes (so it is an escape,
/// not the text after an escaped backslash).
fn json_escapes_nul(bytes: &[u8]) -> bool {
    let mut backslashes = 0;
    for (at, byte) in bytes.iter().enumerate() {
        if *byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && bytes[at..].starts_with(b"u0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_raw_escaped_and_in_json() {
        assert!(has_nul(b"client_id=%00", Encoding::Url));
        assert!(has_nul(b"a\0b", Encoding::Json));
        assert!(!has_nul(b"client_id=%200", Encoding::Url));
        assert!(has_nul(br#"{"q":"\u0000"}"#, Encoding::Json));
        // An escaped backslash before "u0000" is text, and %00 is text in JSON.
        assert!(!has_nul(br#"{"q":"\\u0000"}"#, Encoding::Json));
        assert!(!has_nul(br#"{"q":"100%00"}"#, Encoding::Json));
        assert!(has_nul(br#"{"q":"\\\u0000"}"#, Encoding::Json));
    }
}
