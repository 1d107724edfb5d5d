//! An app's upstream sign-in providers in the console (app › Sign-in
//! providers), and the upstream identities linked to a user.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use crate::api::ApiError;

/// A provider as the console shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub issuer: Option<String>,
    pub api_url: Option<String>,
    pub client_id: String,
    pub scopes: String,
    pub auto_link: bool,
    pub provisioning: bool,
    pub allowed_domains: String,
    /// One `claim=value:role` rule per line.
    pub role_mappings: String,
    pub trust_upstream_mfa: bool,
    pub enabled: bool,
    /// What to register upstream.
    pub callback_url: String,
    pub backchannel_logout_url: String,
}

#[server]
pub async fn console_providers(app_id: String) -> Result<Vec<ProviderView>, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    Ok(
        crate::core::admin::providers::list(&state().db, &operator, &app_id)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    )
}

/// Create (`creating`) or change a provider from the console's form. An
/// empty secret on a change keeps the stored one; unticked boxes are off.
#[server]
#[allow(clippy::too_many_arguments)]
pub async fn console_save_provider(
    app_id: String,
    creating: Option<String>,
    slug: String,
    name: String,
    kind: String,
    issuer: Option<String>,
    api_url: Option<String>,
    client_id: String,
    client_secret: Option<String>,
    scopes: Option<String>,
    auto_link: Option<String>,
    provisioning: Option<String>,
    allowed_domains: Option<String>,
    role_mappings: Option<String>,
    trust_upstream_mfa: Option<String>,
    enabled: Option<String>,
) -> Result<(), ApiError> {
    use crate::core::upstream::mapping::Rule;
    use crate::core::upstream::providers::ProviderInput;

    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let rules = role_mappings
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(Rule::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| ApiError::invalid("role_mappings", message))?;
    let input = ProviderInput {
        display_name: Some(name),
        kind: Some(kind),
        issuer_url: issuer,
        api_url,
        client_id: Some(client_id),
        client_secret: client_secret
            .filter(|s| !s.is_empty())
            .map(secrecy::SecretString::from),
        scopes,
        auto_link: Some(auto_link.is_some()),
        provisioning: Some(provisioning.is_some()),
        allowed_domains: Some(allowed_domains.unwrap_or_default()),
        role_mappings: Some(rules),
        trust_upstream_mfa: Some(trust_upstream_mfa.is_some()),
        enabled: Some(enabled.is_some()),
        // Set with `oneauth provider update --required-for`.
        required_for: None,
    };
    let db = &state().db;
    if creating.is_some() {
        crate::core::admin::providers::create(db, &operator, &app_id, &slug, input).await?;
    } else {
        crate::core::admin::providers::update(db, &operator, &app_id, &slug, input).await?;
    }
    Ok(())
}

#[server]
pub async fn console_delete_provider(app_id: String, slug: String) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::providers::delete(&state().db, &operator, &app_id, &slug).await?;
    Ok(())
}

/// An upstream identity linked to a user, as the user page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub id: String,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub linked: String,
    pub last_used: Option<String>,
}

/// Links as the console shows them.
#[cfg(feature = "ssr")]
pub fn link_views(
    links: Vec<(
        crate::entities::external_identity::Model,
        crate::entities::identity_provider::Model,
    )>,
) -> Vec<LinkView> {
    use crate::api::context::when;
    links
        .into_iter()
        .map(|(link, provider)| LinkView {
            id: link.id,
            provider: provider.display_name,
            issuer: link.issuer,
            subject: link.subject,
            email: link.email,
            linked: when(link.created_at),
            last_used: link.last_sign_in_at.map(when),
        })
        .collect()
}

#[server]
pub async fn console_unlink(
    app_id: String,
    user_id: String,
    link_id: String,
) -> Result<(), ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    crate::core::admin::providers::unlink(&state().db, &operator, &app_id, &user_id, &link_id)
        .await?;
    Ok(())
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::api::context::*;
    use crate::core::upstream::providers;
    use crate::entities::identity_provider;

    pub fn view(provider: identity_provider::Model) -> super::ProviderView {
        let public = &state().settings.public_url;
        let base = format!("{public}/a/{}/upstream/{}", provider.app_id, provider.slug);
        super::ProviderView {
            callback_url: format!("{base}/callback"),
            backchannel_logout_url: format!("{base}/backchannel_logout"),
            role_mappings: providers::rules_of(&provider)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            slug: provider.slug,
            name: provider.display_name,
            kind: provider.kind,
            issuer: provider.issuer_url,
            api_url: provider.api_url,
            client_id: provider.client_id,
            scopes: provider.scopes,
            auto_link: provider.auto_link,
            provisioning: provider.provisioning,
            allowed_domains: provider.allowed_domains,
            trust_upstream_mfa: provider.trust_upstream_mfa,
            enabled: provider.enabled_at.is_some(),
        }
    }
}
