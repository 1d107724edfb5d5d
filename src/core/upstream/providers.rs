//! An app's upstream identity providers: what an operator configures, the
//! client secret sealed with the deployment's vault (never shown again, only
//! replaced), and the presets' defaults. Every change is audited
//! (`provider.created|updated|deleted`) with the secret redacted.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::mapping::{self, Rule};
use crate::core::audit::{self, Action, Event, Target};
use crate::core::deployment::Deployment;
use crate::core::fault::Fault;
use crate::core::secrets;
use crate::core::write::Write;
use crate::entities::identity_provider;
use crate::types::AppId;

/// What an upstream provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any OpenID Connect provider, configured by its issuer (discovery).
    Oidc,
    /// Google (OpenID Connect; `hd` names a Workspace domain).
    Google,
    /// Microsoft Entra ID (OpenID Connect; single- or multi-tenant).
    Entra,
    /// GitHub (OAuth 2.0 and its REST API; no ID token).
    Github,
}

impl Kind {
    pub fn parse(raw: &str) -> Result<Self, ProviderError> {
        match raw.trim() {
            "oidc" => Ok(Self::Oidc),
            "google" => Ok(Self::Google),
            "entra" => Ok(Self::Entra),
            "github" => Ok(Self::Github),
            other => Err(ProviderError::Invalid {
                field: "kind",
                message: format!(
                    "\"{other}\" is not a provider kind: use oidc, google, entra or github."
                ),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Google => "google",
            Self::Entra => "entra",
            Self::Github => "github",
        }
    }

    /// The issuer (or, for GitHub, the web base) a preset uses when none
    /// is given. Entra ID needs its tenant, so it has none.
    fn default_issuer(self) -> Option<&'static str> {
        match self {
            Self::Google => Some("https://accounts.google.com"),
            Self::Github => Some("https://github.com"),
            Self::Oidc | Self::Entra => None,
        }
    }

    fn default_api_url(self) -> Option<&'static str> {
        match self {
            Self::Github => Some("https://api.github.com"),
            _ => None,
        }
    }

    fn default_scopes(self) -> &'static str {
        match self {
            Self::Github => "read:user user:email",
            _ => "openid email profile",
        }
    }

    /// Whether sign-in goes through OpenID Connect (an ID token).
    pub fn is_oidc(self) -> bool {
        !matches!(self, Self::Github)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("There is no sign-in provider \"{0}\" in this app.")]
    NotFound(String),
    #[error("This app already has a sign-in provider \"{0}\".")]
    Taken(String),
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::core::fault::faults_into!(ProviderError);

fn invalid(field: &'static str, message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        field,
        message: message.into(),
    }
}

/// A provider as an operator describes it. On update, `None` keeps what is
/// stored (the secret above all: it is never read back).
#[derive(Debug, Default)]
pub struct ProviderInput {
    pub display_name: Option<String>,
    pub kind: Option<String>,
    pub issuer_url: Option<String>,
    pub api_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub scopes: Option<String>,
    pub auto_link: Option<bool>,
    pub provisioning: Option<bool>,
    pub allowed_domains: Option<String>,
    pub role_mappings: Option<Vec<Rule>>,
    pub trust_upstream_mfa: Option<bool>,
    pub enabled: Option<bool>,
    /// Who must sign in through this provider.
    pub required_for: Option<RequiredFor>,
}

/// Who must sign in through a provider ("staff only through our
/// directory"); console owners keep their passkeys (break-glass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredFor {
    Nobody,
    Everyone,
    Role(crate::types::RoleName),
}

impl RequiredFor {
    /// `none`, `everyone` or `role:NAME`.
    pub fn parse(raw: &str) -> Result<Self, ProviderError> {
        match raw.trim() {
            "none" => Ok(Self::Nobody),
            "everyone" => Ok(Self::Everyone),
            other => match other.strip_prefix("role:") {
                Some(role) => crate::types::RoleName::parse(role)
                    .map(Self::Role)
                    .map_err(|e| invalid("required_for", e.0)),
                None => Err(invalid(
                    "required_for",
                    format!(
                        "\"{other}\" is not who must use the provider: say none, everyone or role:NAME."
                    ),
                )),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Nobody => "none".to_owned(),
            Self::Everyone => "everyone".to_owned(),
            Self::Role(role) => format!("role:{role}"),
        }
    }
}

/// Make `provider` required for `who` (and for nobody else).
async fn require_for(
    tx: &Write,
    app_id: &AppId,
    provider: &identity_provider::Model,
    who: &RequiredFor,
) -> Result<(), ProviderError> {
    use crate::entities::{app, role};
    use sea_orm::sea_query::Expr;
    app::Entity::update_many()
        .col_expr(
            app::Column::RequiredProviderId,
            Expr::value(Option::<String>::None),
        )
        .filter(app::Column::Id.eq(app_id.clone()))
        .filter(app::Column::RequiredProviderId.eq(provider.id.as_str()))
        .exec(tx)
        .await?;
    role::Entity::update_many()
        .col_expr(
            role::Column::RequiredProviderId,
            Expr::value(Option::<String>::None),
        )
        .filter(role::Column::AppId.eq(app_id.as_str()))
        .filter(role::Column::RequiredProviderId.eq(provider.id.as_str()))
        .exec(tx)
        .await?;
    match who {
        RequiredFor::Nobody => {}
        RequiredFor::Everyone => {
            app::Entity::update_many()
                .col_expr(
                    app::Column::RequiredProviderId,
                    Expr::value(Some(provider.id.clone())),
                )
                .filter(app::Column::Id.eq(app_id.clone()))
                .exec(tx)
                .await?;
        }
        RequiredFor::Role(name) => {
            let Some(role) = crate::core::roles::find(tx, app_id, name).await? else {
                return Err(invalid(
                    "required_for",
                    format!("This app has no role \"{name}\"."),
                ));
            };
            role::Entity::update_many()
                .col_expr(
                    role::Column::RequiredProviderId,
                    Expr::value(Some(provider.id.clone())),
                )
                .filter(role::Column::Id.eq(role.id))
                .exec(tx)
                .await?;
        }
    }
    Ok(())
}

/// A provider's slug: its name in URLs (`/a/{app}/upstream/{slug}/...`).
pub fn parse_slug(raw: &str) -> Result<String, ProviderError> {
    let raw = raw.trim();
    let ok = (1..=40).contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            "slug",
            format!(
                "\"{raw}\" is not a valid provider name: use up to 40 lowercase letters, digits and -, starting with a letter."
            ),
        ))
    }
}

/// An upstream base URL: absolute http(s), no credentials, no fragment.
fn parse_base_url(field: &'static str, raw: &str) -> Result<String, ProviderError> {
    let raw = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(raw)
        .map_err(|_| invalid(field, format!("\"{raw}\" is not an absolute URL.")))?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || url.query().is_some()
    {
        return Err(invalid(
            field,
            format!("\"{raw}\" must be an http(s) URL without credentials, query or fragment."),
        ));
    }
    Ok(raw.to_owned())
}

fn parse_domains(raw: &str) -> Result<String, ProviderError> {
    let mut domains = Vec::new();
    for domain in raw.split([' ', ',', '\n']).filter(|d| !d.is_empty()) {
        let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
        let ok = domain.contains('.')
            && domain.len() <= 253
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            return Err(invalid(
                "allowed_domains",
                format!("\"{domain}\" is not a domain name."),
            ));
        }
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    Ok(domains.join(" "))
}

fn seal_secret(deployment: &Deployment, provider_id: &str, secret: &SecretString) -> String {
    deployment.vault.seal(
        &secret_context(provider_id),
        secret.expose_secret().as_bytes(),
    )
}

/// What a provider's client secret is sealed under.
pub(crate) fn secret_context(provider_id: &str) -> String {
    format!("upstream_secret:{provider_id}")
}

/// The provider's client secret, opened with the vault.
pub fn client_secret(
    deployment: &Deployment,
    provider: &identity_provider::Model,
) -> Result<SecretString, Fault> {
    let bytes = deployment
        .vault
        .open(
            &secret_context(&provider.id),
            &provider.client_secret_encrypted,
        )
        .map_err(Fault::unexpected)?;
    let secret = String::from_utf8(bytes).map_err(Fault::unexpected)?;
    Ok(SecretString::from(secret))
}

pub fn kind_of(provider: &identity_provider::Model) -> Kind {
    Kind::parse(&provider.kind).unwrap_or(Kind::Oidc)
}

pub fn domains_of(provider: &identity_provider::Model) -> Vec<String> {
    provider
        .allowed_domains
        .split(' ')
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn rules_of(provider: &identity_provider::Model) -> Vec<Rule> {
    serde_json::from_str(&provider.role_mappings).unwrap_or_default()
}

/// What the audit log shows of a provider: everything but the secret.
fn described(provider: &identity_provider::Model) -> serde_json::Value {
    json!({
        "slug": provider.slug,
        "kind": provider.kind,
        "display_name": provider.display_name,
        "issuer_url": provider.issuer_url,
        "api_url": provider.api_url,
        "client_id": provider.client_id,
        "scopes": provider.scopes,
        "auto_link": provider.auto_link,
        "provisioning": provider.provisioning,
        "allowed_domains": provider.allowed_domains,
        "role_mappings": rules_of(provider),
        "trust_upstream_mfa": provider.trust_upstream_mfa,
        "enabled": provider.enabled_at.is_some(),
    })
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
) -> Result<Vec<identity_provider::Model>, DbErr> {
    identity_provider::Entity::find()
        .filter(identity_provider::Column::AppId.eq(app_id.clone()))
        .order_by_asc(identity_provider::Column::Slug)
        .all(db)
        .await
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    slug: &str,
) -> Result<Option<identity_provider::Model>, DbErr> {
    identity_provider::Entity::find()
        .filter(identity_provider::Column::AppId.eq(app_id.clone()))
        .filter(identity_provider::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// The app's providers that are turned on (the hosted login's buttons).
pub async fn enabled<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
) -> Result<Vec<identity_provider::Model>, DbErr> {
    Ok(list(db, app_id)
        .await?
        .into_iter()
        .filter(|p| p.enabled_at.is_some())
        .collect())
}

async fn require(
    tx: &Write,
    app_id: &AppId,
    slug: &str,
) -> Result<identity_provider::Model, ProviderError> {
    find(tx, app_id, slug)
        .await?
        .ok_or_else(|| ProviderError::NotFound(slug.to_owned()))
}

/// Apply `input` to `provider` (a new one or a stored one), checking each
/// value; the kind's defaults fill what a preset leaves out.
fn apply(
    deployment: &Deployment,
    provider: &mut identity_provider::Model,
    input: ProviderInput,
) -> Result<(), ProviderError> {
    if let Some(kind) = &input.kind {
        provider.kind = Kind::parse(kind)?.as_str().to_owned();
    }
    let kind = Kind::parse(&provider.kind)?;
    if let Some(name) = input.display_name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(invalid(
                "display_name",
                "Give the provider a name of 1 to 80 characters (its button says \"Continue with …\").",
            ));
        }
        provider.display_name = name.to_owned();
    }
    if let Some(issuer) = input.issuer_url.filter(|i| !i.trim().is_empty()) {
        provider.issuer_url = Some(parse_base_url("issuer_url", &issuer)?);
    }
    if provider.issuer_url.is_none() {
        provider.issuer_url = kind.default_issuer().map(str::to_owned);
    }
    if provider.issuer_url.is_none() {
        return Err(invalid(
            "issuer_url",
            match kind {
                Kind::Entra => {
                    "Give the Entra ID issuer: https://login.microsoftonline.com/{tenant}/v2.0 (a tenant id, or \"organizations\" for any work account)."
                }
                _ => "Give the provider's issuer URL (its discovery document lives under it).",
            },
        ));
    }
    if let Some(api) = input.api_url.filter(|a| !a.trim().is_empty()) {
        provider.api_url = Some(parse_base_url("api_url", &api)?);
    }
    if provider.api_url.is_none() {
        provider.api_url = kind.default_api_url().map(str::to_owned);
    }
    if let Some(client_id) = input.client_id {
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 255 {
            return Err(invalid(
                "client_id",
                "Give the client id the provider issued.",
            ));
        }
        provider.client_id = client_id.to_owned();
    }
    if let Some(secret) = input.client_secret {
        if secret.expose_secret().trim().is_empty() || secret.expose_secret().len() > 1024 {
            return Err(invalid(
                "client_secret",
                "Give the client secret the provider issued.",
            ));
        }
        provider.client_secret_encrypted = seal_secret(deployment, &provider.id, &secret);
    }
    if provider.client_secret_encrypted.is_empty() {
        return Err(invalid(
            "client_secret",
            "Give the client secret the provider issued.",
        ));
    }
    if let Some(scopes) = input.scopes {
        let scopes: Vec<&str> = scopes.split_whitespace().collect();
        if scopes.iter().any(|s| {
            !s.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        }) {
            return Err(invalid("scopes", "Scopes are words separated by spaces."));
        }
        provider.scopes = scopes.join(" ");
    }
    if provider.scopes.is_empty() {
        provider.scopes = kind.default_scopes().to_owned();
    }
    if kind.is_oidc() && !provider.scopes.split(' ').any(|s| s == "openid") {
        provider.scopes = format!("openid {}", provider.scopes);
    }
    if let Some(auto_link) = input.auto_link {
        provider.auto_link = auto_link;
    }
    if let Some(provisioning) = input.provisioning {
        provider.provisioning = provisioning;
    }
    if let Some(domains) = input.allowed_domains {
        provider.allowed_domains = parse_domains(&domains)?;
    }
    if provider.provisioning && provider.allowed_domains.is_empty() {
        return Err(invalid(
            "allowed_domains",
            "Provisioning creates accounts only for allowed domains: name at least one.",
        ));
    }
    if let Some(rules) = input.role_mappings {
        provider.role_mappings = mapping::encode(&rules);
    }
    check_rule_sources(kind, provider)?;
    if let Some(trust) = input.trust_upstream_mfa {
        provider.trust_upstream_mfa = trust;
    }
    Ok(())
}

/// Refuse rules that name a role the app does not have.
async fn check_roles(
    tx: &Write,
    app_id: &AppId,
    input: &ProviderInput,
) -> Result<(), ProviderError> {
    for rule in input.role_mappings.iter().flatten() {
        let name =
            crate::types::RoleName::parse(&rule.role).map_err(|e| invalid("role_mappings", e.0))?;
        if crate::core::roles::find(tx, app_id, &name).await?.is_none() {
            return Err(invalid(
                "role_mappings",
                format!("The rule {rule} names the role \"{name}\", which this app does not have."),
            ));
        }
    }
    Ok(())
}

/// Refuse rules on claims the account's owner (or a stranger's
/// administrator) can set: GitHub's profile fields (only `login` and `id`
/// are GitHub's own), and any claim of a multi-tenant Entra ID provider
/// (every tenant's administrator assigns its own groups and app roles).
fn check_rule_sources(
    kind: Kind,
    provider: &identity_provider::Model,
) -> Result<(), ProviderError> {
    let rules = rules_of(provider);
    if rules.is_empty() {
        return Ok(());
    }
    if kind == Kind::Github
        && let Some(rule) = rules.iter().find(|r| r.claim != "login" && r.claim != "id")
    {
        return Err(invalid(
            "role_mappings",
            format!(
                "GitHub users write their own profile: a rule may only read login or id, not {}.",
                rule.claim
            ),
        ));
    }
    let issuer = provider.issuer_url.as_deref().unwrap_or_default();
    if kind == Kind::Entra
        && ["/organizations/", "/common/", "/consumers/"]
            .iter()
            .any(|multi| issuer.contains(multi))
    {
        return Err(invalid(
            "role_mappings",
            "A multi-tenant Entra ID provider cannot map roles: any tenant's administrator sets those claims. Use your tenant's own issuer.",
        ));
    }
    Ok(())
}

/// Create a provider of `app_id` (turned on unless `input.enabled` says
/// otherwise).
pub async fn create(
    tx: &Write,
    app_id: &AppId,
    slug: &str,
    input: ProviderInput,
) -> Result<identity_provider::Model, ProviderError> {
    let slug = parse_slug(slug)?;
    if find(tx, app_id, &slug).await?.is_some() {
        return Err(ProviderError::Taken(slug));
    }
    if input.kind.is_none() {
        return Err(invalid(
            "kind",
            "Say which kind: oidc, google, entra or github.",
        ));
    }
    if input.client_id.is_none() {
        return Err(invalid(
            "client_id",
            "Give the client id the provider issued.",
        ));
    }
    check_roles(tx, app_id, &input).await?;
    let enabled = input.enabled.unwrap_or(true);
    let mut provider = identity_provider::Model {
        id: secrets::new_id(),
        app_id: app_id.clone(),
        display_name: slug.clone(),
        slug,
        kind: String::new(),
        issuer_url: None,
        client_id: String::new(),
        client_secret_encrypted: String::new(),
        scopes: String::new(),
        enabled_at: enabled.then_some(tx.now),
        auto_link: false,
        provisioning: false,
        allowed_domains: String::new(),
        role_mappings: "[]".to_owned(),
        trust_upstream_mfa: false,
        api_url: None,
        created_at: tx.now,
        updated_at: tx.now,
    };
    let required_for = input.required_for.clone();
    apply(tx.deployment(), &mut provider, input)?;
    let created = identity_provider::ActiveModel::from(provider)
        .reset_all()
        .insert(tx)
        .await?;
    if let Some(who) = &required_for {
        require_for(tx, app_id, &created, who).await?;
    }
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::ProviderCreated,
            target: Some(Target::provider(created.slug.as_str())),
            details: json!({
                "after": described(&created),
                "client_secret": "set",
                "required_for": required_for.as_ref().map(RequiredFor::describe),
            }),
        },
    )
    .await?;
    Ok(created)
}

/// Change a provider; the secret only when a new one is given.
pub async fn update(
    tx: &Write,
    app_id: &AppId,
    slug: &str,
    input: ProviderInput,
) -> Result<identity_provider::Model, ProviderError> {
    let before = require(tx, app_id, slug).await?;
    check_roles(tx, app_id, &input).await?;
    let secret_replaced = input.client_secret.is_some();
    let enabled = input.enabled;
    let required_for = input.required_for.clone();
    let mut provider = before.clone();
    apply(tx.deployment(), &mut provider, input)?;
    match enabled {
        Some(true) if provider.enabled_at.is_none() => provider.enabled_at = Some(tx.now),
        Some(false) => provider.enabled_at = None,
        _ => {}
    }
    provider.updated_at = tx.now;
    let mut active = identity_provider::ActiveModel::from(provider.clone()).reset_all();
    active.id = sea_orm::ActiveValue::Unchanged(provider.id.clone());
    let updated = active.update(tx).await?;
    if let Some(who) = &required_for {
        require_for(tx, app_id, &updated, who).await?;
    }
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::ProviderUpdated,
            target: Some(Target::provider(updated.slug.as_str())),
            details: json!({
                "before": described(&before),
                "after": described(&updated),
                "client_secret": if secret_replaced { "replaced" } else { "unchanged" },
                "required_for": required_for.as_ref().map(RequiredFor::describe),
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// Delete a provider, its links and the roles its rules granted. Users
/// whose only way in was this provider keep their accounts (an operator
/// can send them a recovery link).
pub async fn delete(tx: &Write, app_id: &AppId, slug: &str) -> Result<(), ProviderError> {
    use crate::entities::{app_user, external_identity, role_assignment, signin_session};
    let provider = require(tx, app_id, slug).await?;
    // The sessions opened through it end (with their token families):
    // neither an unlink nor a back-channel logout could reach them later.
    let linked = sea_orm::sea_query::Query::select()
        .column(external_identity::Column::Id)
        .from(external_identity::Entity)
        .and_where(external_identity::Column::ProviderId.eq(provider.id.as_str()))
        .to_owned();
    let opened = signin_session::Entity::find()
        .filter(signin_session::Column::UpstreamIdentityId.in_subquery(linked))
        .filter(signin_session::Column::EndedAt.is_null())
        .all(tx)
        .await?;
    for session in &opened {
        crate::core::sessions::end(tx, &session.id, "provider_deleted").await?;
    }
    // Its rules' grants go as the rules would take them (each audited, the
    // last owner kept, and what is kept becomes an ordinary grant).
    let mapped = role_assignment::Entity::find()
        .filter(role_assignment::Column::MappedFromProvider.eq(provider.id.as_str()))
        .all(tx)
        .await?;
    let mut holders: Vec<String> = mapped.iter().map(|a| a.user_id.clone()).collect();
    holders.sort();
    holders.dedup();
    for user_id in holders {
        if let Some(user) = app_user::Entity::find_by_id(user_id).one(tx).await? {
            crate::core::roles::sync_mapped(
                tx,
                &user,
                &provider.id,
                &provider.slug,
                &Default::default(),
            )
            .await
            .map_err(|err| match err {
                crate::core::roles::RoleError::Fault(fault) => ProviderError::Fault(fault),
                other => ProviderError::Fault(Fault::unexpected(other)),
            })?;
        }
    }
    role_assignment::Entity::update_many()
        .col_expr(
            role_assignment::Column::MappedFromProvider,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(role_assignment::Column::MappedFromProvider.eq(provider.id.as_str()))
        .exec(tx)
        .await?;
    let links = external_identity::Entity::delete_many()
        .filter(external_identity::Column::ProviderId.eq(provider.id.as_str()))
        .exec(tx)
        .await?
        .rows_affected;
    require_for(tx, app_id, &provider, &RequiredFor::Nobody).await?;
    // Organizations that accepted members only through it accept them any
    // way the app offers again (the event counts them).
    let orgs_unbound = crate::entities::organization::Entity::update_many()
        .col_expr(
            crate::entities::organization::Column::RequiredProviderId,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(crate::entities::organization::Column::RequiredProviderId.eq(provider.id.as_str()))
        .exec(tx)
        .await?
        .rows_affected;
    identity_provider::Entity::delete_by_id(provider.id.clone())
        .exec(tx)
        .await?;
    audit::record(
        tx,
        Event {
            app_id,
            actor: &tx.actor,
            action: Action::ProviderDeleted,
            target: Some(Target::provider(provider.slug.as_str())),
            details: json!({
                "before": described(&provider),
                "links_removed": links,
                "sessions_ended": opened.len(),
                "orgs_unbound": orgs_unbound,
            }),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_domains_are_parsed_once() {
        assert_eq!(parse_slug(" corp-sso ").unwrap(), "corp-sso");
        assert!(parse_slug("Corp").is_err());
        assert!(parse_slug("../x").is_err());
        assert_eq!(
            parse_domains("Example.com, @corp.example.org example.com").unwrap(),
            "example.com corp.example.org"
        );
        assert!(parse_domains("not a domain!").is_err());
    }

    #[test]
    fn base_urls_carry_no_credentials_or_query() {
        assert_eq!(
            parse_base_url("issuer_url", "https://idp.example.com/realms/a/").unwrap(),
            "https://idp.example.com/realms/a"
        );
        for bad in [
            "ftp://idp.example.com",
            "https://user:pw@idp.example.com",
            "https://idp.example.com/?x=1",
            "idp.example.com",
        ] {
            assert!(parse_base_url("issuer_url", bad).is_err(), "{bad}");
        }
    }
}
