//! Time as 1Auth reads it: one clock per database handle, so a test moves
//! time by advancing it (sessions expire, links run out) instead of
//! rewriting rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// The system's time, plus however far a test has advanced it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    ahead_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The current time, truncated to microseconds: PostgreSQL keeps no
    /// more, so a value hashed before it is stored (the audit chain) reads
    /// back identical.
    pub fn now(&self) -> DateTime<Utc> {
        let ahead = Duration::microseconds(self.ahead_micros.load(Ordering::Relaxed));
        (Utc::now() + ahead).trunc_subsecs(6)
    }

    /// Move this clock forward (tests).
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.ahead_micros.fetch_add(micros, Ordering::Relaxed);
    }
}
