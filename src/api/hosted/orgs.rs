//! Server functions behind the member-facing organization pages of an app
//! (`/a/{app_id}/orgs`): the organization chooser of a sign-in.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
#[cfg(feature = "ssr")]
use crate::api::context::*;

/// One organization the signed-in user may continue as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgChoice {
    pub slug: String,
    pub name: String,
    pub roles: Vec<String>,
    /// The sign-in request again, for this organization.
    pub href: String,
}

/// `return_to` (a path of this app) with `organization=slug` in its query,
/// in place of any there.
#[cfg(feature = "ssr")]
fn with_organization(return_to: &str, slug: &str) -> String {
    let (path, query) = return_to.split_once('?').unwrap_or((return_to, ""));
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name != "organization" {
            pairs.append_pair(&name, &value);
        }
    }
    pairs.append_pair("organization", slug);
    format!("{path}?{}", pairs.finish())
}

/// The organizations of the signed-in user, each with the way back to the
/// sign-in request (`return_to`, a page of this app) for it.
#[server]
pub async fn org_choices(
    app_id: String,
    return_to: Option<String>,
) -> Result<Vec<OrgChoice>, ApiError> {
    let app = load_app(&app_id).await?;
    let session = browser_session().await?;
    let Some(signin) = current_signin(&session, &app).await? else {
        return Err(ApiError::SignInRequired);
    };
    let back = safe_return_to(&app.id, return_to.as_deref());
    let memberships = crate::core::orgs::members::of_user(&state().db, &signin.user.id)
        .await
        .map_err(internal)?;
    Ok(memberships
        .into_iter()
        .map(|(org, membership)| OrgChoice {
            href: with_organization(&back, &org.slug),
            roles: crate::core::orgs::members::roles_of(&membership),
            slug: org.slug,
            name: org.name,
        })
        .collect())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::with_organization;

    #[test]
    fn the_choice_replaces_any_organization_in_the_request() {
        assert_eq!(
            with_organization("/a/shop/oauth/authorize?client_id=c&organization=x", "acme"),
            "/a/shop/oauth/authorize?client_id=c&organization=acme"
        );
        assert_eq!(
            with_organization("/a/shop/account", "acme"),
            "/a/shop/account?organization=acme"
        );
    }
}
