//! What the domain counts, through the `metrics` facade: the domain says
//! what happened, `telemetry.rs` (above it) installs the one recorder that
//! turns these into Prometheus series. Every name and its help text is
//! here, so one file lists what an operator can graph.
//!
//! Labels come from closed sets (methods, outcomes, grant types, audit
//! actions), never from input: a series per raw path or per user would
//! grow without bound.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

pub const HTTP_REQUESTS: &str = "oneauth_http_requests_total";
pub const HTTP_DURATION: &str = "oneauth_http_request_duration_seconds";
pub const SIGNINS: &str = "oneauth_signins_total";
pub const THROTTLED: &str = "oneauth_throttled_attempts_total";
pub const LOCKS: &str = "oneauth_lockouts_total";
pub const TOKEN_GRANTS: &str = "oneauth_token_grants_total";
pub const TOKEN_REUSE: &str = "oneauth_token_reuse_detected_total";
pub const AUDIT_APPENDS: &str = "oneauth_audit_events_total";
pub const WRITE_WAIT: &str = "oneauth_db_write_wait_seconds";
pub const PASSWORD_HASHES: &str = "oneauth_password_hashes_total";
pub const PASSWORD_HASH_WAIT: &str = "oneauth_password_hash_wait_seconds";
pub const PASSWORD_HASHES_REFUSED: &str = "oneauth_password_hashes_refused_total";
pub const CACHE_LOOKUPS: &str = "oneauth_cache_lookups_total";
pub const BUSY_ANSWERS: &str = "oneauth_busy_answers_total";
pub const MAIL_SENDS: &str = "oneauth_mail_send_attempts_total";

/// The latency buckets (seconds) of every duration histogram: from a
/// cached read to a request that waited for a password hash.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Describe the series above to the installed recorder (their HELP lines).
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template and method."
    );
    describe_counter!(
        SIGNINS,
        "Sign-in attempts that reached a decision, by method and outcome."
    );
    describe_counter!(
        THROTTLED,
        "Attempts refused without being tried because their key is locked, by what was attempted."
    );
    describe_counter!(
        LOCKS,
        "Keys locked after too many failures (signin.locked, signup.locked)."
    );
    describe_counter!(
        TOKEN_GRANTS,
        "Token endpoint requests, by grant type and outcome (issued or the OAuth error code)."
    );
    describe_counter!(
        TOKEN_REUSE,
        "Refresh tokens or codes presented again, whose family was revoked."
    );
    describe_counter!(AUDIT_APPENDS, "Audit events committed, by action.");
    describe_histogram!(
        WRITE_WAIT,
        Unit::Seconds,
        "Time a change waited for its write transaction (SQLite's one writer, PostgreSQL's pool)."
    );
    describe_counter!(PASSWORD_HASHES, "Password verifications (argon2).");
    describe_histogram!(
        PASSWORD_HASH_WAIT,
        Unit::Seconds,
        "Time a password hash waited for a core."
    );
    describe_counter!(
        PASSWORD_HASHES_REFUSED,
        "Password hashes refused because the queue was full (answered 503)."
    );
    describe_counter!(
        CACHE_LOOKUPS,
        "Lookups in the in-process caches, by cache and result (hit or miss)."
    );
    describe_counter!(
        BUSY_ANSWERS,
        "Requests answered 503 (busy, try again) because a connection, a lock or the hasher was not free in time."
    );
    describe_counter!(
        MAIL_SENDS,
        "Attempts to hand a message to the SMTP server, by outcome."
    );
    // Series without labels are shown from the start (at 0), so a rate
    // over them is defined before the first event.
    for name in [
        LOCKS,
        TOKEN_REUSE,
        PASSWORD_HASHES,
        PASSWORD_HASHES_REFUSED,
        BUSY_ANSWERS,
    ] {
        counter!(name).absolute(0);
    }
}

/// One answered HTTP request. `route` is the router's template
/// (`/a/{app_id}/token`), never the raw path.
pub fn http_request(route: String, method: &str, status: u16, took: Duration) {
    let method = known_method(method);
    counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "route" => route, "method" => method).record(took.as_secs_f64());
}

/// HTTP methods as labels: the standard ones, anything else one value.
fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// What committed audit events say to the metrics: every event counts as
/// an append, and some are the sign-in, lock and reuse series. Called for
/// the events of a write once it committed (a rolled-back write counts
/// nothing).
/// (The action is its wire name, `signin.failed`: this module sits below
/// the audit log, which calls it.)
pub fn committed(action: &'static str, method: Option<&str>) {
    counter!(AUDIT_APPENDS, "action" => action).increment(1);
    match action {
        "signin.succeeded" | "signin.failed" => {
            let outcome = if action == "signin.succeeded" {
                "succeeded"
            } else {
                "failed"
            };
            counter!(SIGNINS, "method" => sign_in_method(method), "outcome" => outcome)
                .increment(1);
        }
        "signin.locked" | "signup.locked" => counter!(LOCKS).increment(1),
        "token.reuse_detected" | "token.code_reuse_detected" => counter!(TOKEN_REUSE).increment(1),
        _ => {}
    }
}

/// The sign-in methods the audit names (`Factor::method`), as a closed set.
fn sign_in_method(method: Option<&str>) -> &'static str {
    match method {
        Some("password") => "password",
        Some("passkey") => "passkey",
        Some("recovery_code") => "recovery",
        Some("upstream") => "upstream",
        _ => "other",
    }
}

/// An attempt refused because its key is locked (sign-in, sign-up, an
/// account change, an upstream callback).
pub fn throttled(what: &'static str) {
    counter!(THROTTLED, "attempt" => what).increment(1);
}

/// One request at the token endpoint: `outcome` is `issued` or the OAuth
/// error code answered.
pub fn token_grant(grant_type: &str, outcome: &'static str) {
    let grant_type = match grant_type {
        "authorization_code" => "authorization_code",
        "refresh_token" => "refresh_token",
        "client_credentials" => "client_credentials",
        "" => "missing",
        _ => "other",
    };
    counter!(TOKEN_GRANTS, "grant_type" => grant_type, "outcome" => outcome).increment(1);
}

pub fn write_waited(took: Duration) {
    histogram!(WRITE_WAIT).record(took.as_secs_f64());
}

pub fn password_hashed() {
    counter!(PASSWORD_HASHES).increment(1);
}

pub fn password_hash_waited(took: Duration) {
    histogram!(PASSWORD_HASH_WAIT).record(took.as_secs_f64());
}

pub fn password_hash_refused() {
    counter!(PASSWORD_HASHES_REFUSED).increment(1);
}

/// A lookup in the cache named `cache` (a type's short name).
pub fn cache_lookup(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!(CACHE_LOOKUPS, "cache" => cache, "result" => result).increment(1);
}

pub fn busy_answered() {
    counter!(BUSY_ANSWERS).increment(1);
}

/// One SMTP hand-over: `sent`, `retry` (a temporary failure) or `failed`.
pub fn mail_send(outcome: &'static str) {
    counter!(MAIL_SENDS, "outcome" => outcome).increment(1);
}
