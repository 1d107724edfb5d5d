//! Server functions behind the operator console (`/console/...`), one file
//! per resource as `ui/console/` is split. Each resolves the signed-in
//! operator, then calls one `core::admin` function, which checks permissions
//! and guardrails on the server.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
#[cfg(feature = "ssr")]
use crate::api::context::*;

pub mod apps;
pub mod audit;
pub mod clients;
#[cfg(feature = "ssr")]
pub mod export;
pub mod orgs;
pub mod outbox;
pub mod providers;
pub mod roles;
pub mod users;

/// Who is at the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub email: String,
    /// e.g. "owner", or "admin of demo, auditor of shop".
    pub access: String,
    pub can_create_apps: bool,
}

#[server]
pub async fn console_me() -> Result<OperatorView, ApiError> {
    use crate::core::console::Scope;
    let operator = require_operator().await?;
    let access = operator
        .grants
        .iter()
        .map(|g| match &g.scope {
            Scope::All => g.level.as_str().to_owned(),
            Scope::App(app) => format!("{} of {app}", g.level.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(OperatorView {
        email: operator.user().email.clone(),
        access,
        can_create_apps: operator.can_create_apps(),
    })
}
