//! An upstream OAuth/OIDC provider of one app; its client secret is encrypted.
use sea_orm::entity::prelude::*;

use crate::types::AppId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_provider")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: AppId,
    pub slug: String,
    pub kind: String,
    pub display_name: String,
    pub issuer_url: Option<String>,
    pub client_id: String,
    #[sea_orm(column_type = "Text")]
    pub client_secret_encrypted: String,
    pub scopes: String,
    pub enabled_at: Option<DateTimeUtc>,
    /// Link an unlinked upstream identity to the account with the same,
    /// confirmed address (only when the upstream verified it too).
    pub auto_link: bool,
    /// Create an account for an unknown identity whose verified address is
    /// in `allowed_domains`.
    pub provisioning: bool,
    /// Lowercase domains, space-separated.
    #[sea_orm(column_type = "Text")]
    pub allowed_domains: String,
    /// Claim-to-role rules, JSON (`core::upstream::mapping::Rule`).
    #[sea_orm(column_type = "Text")]
    pub role_mappings: String,
    /// Whether the upstream's `amr` counts as a passkey or second factor here.
    pub trust_upstream_mfa: bool,
    /// A preset's API base (GitHub), when it is not the public one.
    pub api_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
