//! Server functions behind the hosted pages.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a hosted page shows of its app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedApp {
    pub id: String,
    pub name: String,
    /// `#rrggbb`, validated when stored.
    pub brand_color: String,
}

/// The app behind `/a/{app_id}`, or `None` when there is no such app (an
/// invalid id is simply not found).
#[server]
pub async fn load_hosted_app(app_id: String) -> Result<Option<HostedApp>, ServerFnError> {
    use crate::core::{apps, types::AppId};
    use crate::server::AppState;

    let state = expect_context::<AppState>();
    let Ok(app_id) = AppId::parse(&app_id) else {
        return Ok(None);
    };
    let app = apps::find(&state.db, &app_id).await.map_err(|err| {
        tracing::error!(%err, "loading app failed");
        ServerFnError::new("The service is unavailable; try again shortly.")
    })?;
    Ok(app
        .filter(|app| app.disabled_at.is_none())
        .map(|app| HostedApp {
            id: app.id,
            name: app.name,
            brand_color: app.brand_color,
        }))
}
