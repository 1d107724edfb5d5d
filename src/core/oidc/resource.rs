//! Resource indicators (RFC 8707): an access token names the one resource
//! server it is for in `aud`, so a token issued for API A is refused by API
//! B. The resource servers of an app are configured on the app (its API
//! audiences); a client asks for one with `resource`.

use super::{ErrorCode, OAuthError};
use crate::entities::app;
use crate::types::ApiAudience;

/// The app's API audiences (absolute URIs).
pub fn audiences(app: &app::Model) -> Vec<String> {
    serde_json::from_str(&app.api_audiences).unwrap_or_default()
}

fn invalid_target(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// The `resource` a request named, checked against the app's audiences
/// (RFC 8707 §2: an absolute URI without a fragment).
pub fn requested(app: &app::Model, raw: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let resource = ApiAudience::parse(raw).map_err(|err| invalid_target(err.0))?;
    if !audiences(app).iter().any(|a| a == resource.as_str()) {
        return Err(invalid_target("The resource is not an API of this app."));
    }
    Ok(Some(resource.to_string()))
}

/// A token request's `resource` against what was granted: it may repeat
/// the granted resource (or leave it out), never name another.
pub fn within_grant(granted: Option<&str>, raw: Option<&str>) -> Result<(), OAuthError> {
    match raw.filter(|r| !r.is_empty()) {
        None => Ok(()),
        Some(asked) if Some(asked) == granted => Ok(()),
        Some(_) => Err(invalid_target(
            "The resource was not granted by the authorization.",
        )),
    }
}
