//! What the benches share: timing (the median of repeated runs) and an
//! operator with global owner access, as the console's use-cases take one.

use std::time::{Duration, Instant};

use chrono::Utc;
use oneauth::core::console::{Grant, Level, Operator, Scope};
use oneauth::core::sessions::{ActiveSignin, ClientInfo};
use oneauth::entities::{app_user, signin_session};
use oneauth::types::{AppId, UserStatus};

pub const RUNS: usize = 20;

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub async fn time<F, Fut>(label: &str, mut run: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut samples = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        rows = run().await;
        samples.push(started.elapsed());
    }
    println!(
        "{label:<52} {:>9.2} ms  ({rows} rows)",
        median(samples).as_secs_f64() * 1000.0
    );
}

pub fn operator() -> Operator {
    let now = Utc::now();
    let user = app_user::Model {
        id: "bench-operator".into(),
        app_id: AppId::console(),
        email: "bench@example.com".into(),
        email_verified: true,
        display_name: None,
        status: UserStatus::Active,
        deactivated_at: None,
        last_sign_in_at: None,
        device_epoch: 0,
        device_marks: 0,
        created_at: now,
        updated_at: now,
    };
    let session = passkey_session(AppId::console(), &user.id, now, now);
    Operator {
        signin: ActiveSignin {
            session,
            user,
            checked_at: now,
        },
        grants: vec![Grant {
            level: Level::Owner,
            scope: Scope::All,
        }],
        client: ClientInfo::default(),
    }
}

/// A live sign-in session `bench-session` of `user_id` in `app_id`, opened
/// with a passkey at `now`, that lasts until `until`.
pub fn passkey_session(
    app_id: AppId,
    user_id: &str,
    now: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
) -> signin_session::Model {
    signin_session::Model {
        id: "bench-session".into(),
        app_id,
        user_id: user_id.to_owned(),
        amr: "[\"hwk\"]".into(),
        acr: "phr".into(),
        auth_time: now,
        password_at: None,
        passkey_at: Some(now),
        recovery_at: None,
        upstream_at: None,
        upstream_identity_id: None,
        upstream_sid: None,
        last_seen_at: now,
        idle_expires_at: until,
        absolute_expires_at: until,
        requires_enrolment: false,
        opened_by_link: false,
        ended_at: None,
        end_reason: None,
        client_address: None,
        user_agent: None,
        created_at: now,
    }
}
