//! Which apps this browser is signed in to: the browser session (cookie)
//! maps app ids to server-side sign-in sessions. Shared by the protocol
//! handlers and the server functions.

use std::collections::HashMap;

use tower_sessions::Session;

use crate::core::db::Db;
use crate::core::sessions::{self, ActiveSignin};
use crate::entities::app;

/// Session key: app id -> sign-in session id.
const SIGNINS: &str = "signins";

#[derive(Debug, thiserror::Error)]
pub enum SigninLookupError {
    #[error("browser session store: {0}")]
    Store(#[from] tower_sessions::session::Error),
    #[error(transparent)]
    Fault(#[from] crate::core::fault::Fault),
}

impl From<sea_orm::DbErr> for SigninLookupError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Fault(err.into())
    }
}

impl SigninLookupError {
    /// Whether the store or the database was busy rather than broken.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Fault(fault) => fault.is_busy(),
            Self::Store(tower_sessions::session::Error::Store(
                tower_sessions::session_store::Error::Backend(message),
            )) => message == super::session_store::BUSY,
            Self::Store(_) => false,
        }
    }
}

async fn map(session: &Session) -> Result<HashMap<String, String>, SigninLookupError> {
    Ok(session
        .get::<HashMap<String, String>>(SIGNINS)
        .await?
        .unwrap_or_default())
}

/// The live sign-in to `app` in this browser, if any.
pub async fn current(
    db: &Db,
    session: &Session,
    app: &app::Model,
) -> Result<Option<ActiveSignin>, SigninLookupError> {
    let Some(id) = map(session).await?.get(app.id.as_str()).cloned() else {
        return Ok(None);
    };
    Ok(sessions::resume(db, app, &id).await?)
}

/// Bind a new sign-in to this browser. The session id changes at every
/// sign-in (no session fixation).
pub async fn remember(
    session: &Session,
    app_id: &str,
    signin_session_id: &str,
) -> Result<(), SigninLookupError> {
    // A browser that came with a session id gets a new one. A session this
    // request opened has no id yet: nothing stored to replace, and `save`
    // creates it under a fresh one.
    if session.id().is_some() {
        session.cycle_id().await?;
    }
    let mut signins = map(session).await?;
    signins.insert(app_id.to_owned(), signin_session_id.to_owned());
    Ok(session.insert(SIGNINS, signins).await?)
}

pub async fn forget(session: &Session, app_id: &str) -> Result<(), SigninLookupError> {
    let mut signins = map(session).await?;
    signins.remove(app_id);
    Ok(session.insert(SIGNINS, signins).await?)
}
