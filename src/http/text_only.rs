//! No NUL character gets in. PostgreSQL's text cannot hold one (a query
//! that carries it fails as an error of the database, which would answer
//! 500), SQLite would store what PostgreSQL refuses, and no real input of
//! 1Auth (an address, a name, a code, a URL) contains one. So a request
//! whose path, query or form or JSON body carries a NUL, raw or escaped,
//! is answered 400 before any handler sees it.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
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
    if has_escaped_nul(target.as_bytes()) {
        return refused();
    }
    let textual = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| {
            kind.starts_with("application/x-www-form-urlencoded")
                || kind.starts_with("application/json")
                || kind.starts_with("text/")
        });
    if !textual {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit layer below has already refused what is too large;
    // this reads at most that much again.
    let Ok(bytes) = to_bytes(body, super::MOST_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if has_escaped_nul(&bytes) || contains(&bytes, b"\\u0000") {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A raw NUL byte, or `%00` (any case of its hex digits: there are none).
fn has_escaped_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || contains(bytes, b"%00")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_raw_escaped_and_in_json() {
        assert!(has_escaped_nul(b"client_id=%00"));
        assert!(has_escaped_nul(b"a\0b"));
        assert!(!has_escaped_nul(b"client_id=%200"));
        assert!(contains(br#"{"q":"\u0000"}"#, b"\\u0000"));
    }
}
