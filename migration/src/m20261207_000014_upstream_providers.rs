//! Upstream identity providers (issue 23): what the foundation's tables
//! `identity_provider` and `external_identity` lacked.
//!
//! * A provider's linking and provisioning switches, its allowed e-mail
//!   domains, its claim-to-role rules (JSON), whether the upstream's
//!   `amr`/`acr` are trusted, and the API base of a preset (GitHub's
//!   `api.github.com`, configurable so tests can point it at a stand-in).
//! * An external identity is keyed by (provider, issuer, subject): a
//!   multi-tenant Entra ID provider has one issuer per tenant.
//! * A role granted by a provider's mapping names that provider, so the next
//!   upstream sign-in can revoke it when the claim is gone, and never touches
//!   a grant an operator made.
//! * A sign-in session opened upstream names the external identity and the
//!   upstream's `sid`, so a back-channel logout finds it; `upstream_at` is
//!   the time of that proof, beside the other factors' times.
//! * An app or a role may require one provider ("staff only through our
//!   directory").

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{App, ExternalIdentity, IdentityProvider, RoleAssignment, SigninSession};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    AutoLink,
    Provisioning,
    AllowedDomains,
    RoleMappings,
    TrustUpstreamMfa,
    ApiUrl,
    Issuer,
    EmailVerified,
    LastSignInAt,
    MappedFromProvider,
    UpstreamIdentityId,
    UpstreamSid,
    UpstreamAt,
    RequiredProviderId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Role {
    Table,
}

/// SQLite adds one column per ALTER TABLE.
async fn add_columns<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for mut column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            IdentityProvider::Table,
            vec![
                boolean(Added::AutoLink).default(false).take(),
                boolean(Added::Provisioning).default(false).take(),
                text(Added::AllowedDomains).default("").take(),
                text(Added::RoleMappings).default("[]").take(),
                boolean(Added::TrustUpstreamMfa).default(false).take(),
                string_null(Added::ApiUrl).take(),
            ],
        )
        .await?;
        add_columns(
            manager,
            ExternalIdentity::Table,
            vec![
                string(Added::Issuer).default("").take(),
                boolean(Added::EmailVerified).default(false).take(),
                timestamp_with_time_zone_null(Added::LastSignInAt).take(),
            ],
        )
        .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_external_identity_subject")
                    .table(ExternalIdentity::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_external_identity_key")
                    .table(ExternalIdentity::Table)
                    .col(ExternalIdentity::ProviderId)
                    .col(Added::Issuer)
                    .col(ExternalIdentity::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        add_columns(
            manager,
            RoleAssignment::Table,
            vec![string_null(Added::MappedFromProvider).take()],
        )
        .await?;
        add_columns(
            manager,
            SigninSession::Table,
            vec![
                string_null(Added::UpstreamIdentityId).take(),
                string_null(Added::UpstreamSid).take(),
                timestamp_with_time_zone_null(Added::UpstreamAt).take(),
            ],
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signin_session_upstream_identity")
                    .table(SigninSession::Table)
                    .col(Added::UpstreamIdentityId)
                    .to_owned(),
            )
            .await?;
        add_columns(
            manager,
            App::Table,
            vec![string_null(Added::RequiredProviderId).take()],
        )
        .await?;
        add_columns(
            manager,
            Role::Table,
            vec![string_null(Added::RequiredProviderId).take()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_signin_session_upstream_identity")
                    .table(SigninSession::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_external_identity_key")
                    .table(ExternalIdentity::Table)
                    .to_owned(),
            )
            .await?;
        drop_columns(manager, Role::Table, &[Added::RequiredProviderId]).await?;
        drop_columns(manager, App::Table, &[Added::RequiredProviderId]).await?;
        drop_columns(
            manager,
            SigninSession::Table,
            &[
                Added::UpstreamIdentityId,
                Added::UpstreamSid,
                Added::UpstreamAt,
            ],
        )
        .await?;
        drop_columns(manager, RoleAssignment::Table, &[Added::MappedFromProvider]).await?;
        drop_columns(
            manager,
            ExternalIdentity::Table,
            &[Added::Issuer, Added::EmailVerified, Added::LastSignInAt],
        )
        .await?;
        drop_columns(
            manager,
            IdentityProvider::Table,
            &[
                Added::AutoLink,
                Added::Provisioning,
                Added::AllowedDomains,
                Added::RoleMappings,
                Added::TrustUpstreamMfa,
                Added::ApiUrl,
            ],
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_external_identity_subject")
                    .table(ExternalIdentity::Table)
                    .col(ExternalIdentity::ProviderId)
                    .col(ExternalIdentity::Subject)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}

async fn drop_columns<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: &[Added],
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .drop_column(*column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
