//! What went wrong beneath a rule, kept with its source for the log: the
//! database, the audit chain, the vault, a background task, or something
//! that should not happen at all. Each module's error enum keeps its
//! refusals (sentences for the person in front of the page) and carries a
//! `Fault` for everything else, so a refusal never hides in a database
//! error and a database error never loses its type on the way up. The
//! edges answer a fault by its type: [`Fault::is_busy`] is "busy, try again"
//! (503 with Retry-After), anything else "something went wrong" (500).

use sea_orm::DbErr;

use super::audit::AuditError;
use super::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A task that work is handed to (the refresh reads, the rotations)
    /// is gone: the process is shutting down.
    #[error("the {0} task has stopped")]
    TaskStopped(&'static str),
    /// What cannot happen on a path that works (a stored message that no
    /// longer opens, a link refusal where none can arise), kept as it was.
    #[error(transparent)]
    Unexpected(Box<dyn std::error::Error + Send + Sync>),
}

impl Fault {
    /// Something that should not happen, with its source.
    pub fn unexpected(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Fault::Unexpected(Box::new(err))
    }

    /// Whether this means "busy, try again shortly" (no connection free in
    /// time, or SQLite's write lock held too long) rather than a failure.
    pub fn is_busy(&self) -> bool {
        match self {
            Fault::Db(err) | Fault::Audit(AuditError::Database(err)) => super::db::is_busy(err),
            _ => false,
        }
    }
}

/// `From` the faults a module's error enum meets (`?` on a database call,
/// an audit record or the vault) into its `Fault` variant.
macro_rules! faults_into {
    ($($error:ty),+ $(,)?) => {
        $(
            impl From<sea_orm::DbErr> for $error {
                fn from(err: sea_orm::DbErr) -> Self {
                    Self::Fault(err.into())
                }
            }
            impl From<$crate::core::audit::AuditError> for $error {
                fn from(err: $crate::core::audit::AuditError) -> Self {
                    Self::Fault(err.into())
                }
            }
        )+
    };
}
pub(crate) use faults_into;

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ConnAcquireErr;

    #[test]
    fn busy_is_known_by_type_not_by_text() {
        assert!(Fault::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)).is_busy());
        assert!(
            Fault::from(AuditError::Database(DbErr::ConnectionAcquire(
                ConnAcquireErr::Timeout
            )))
            .is_busy()
        );
        // A message that merely reads like one is not.
        assert!(!Fault::from(DbErr::Custom("database is locked".into())).is_busy());
        assert!(!Fault::TaskStopped("rotation").is_busy());
    }
}
