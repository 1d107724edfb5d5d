//! Time as the database stores it.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds: PostgreSQL keeps no more, so
/// a value hashed before it is stored (the audit chain) reads back identical.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
