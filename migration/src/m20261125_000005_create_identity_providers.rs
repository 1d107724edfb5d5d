use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{AppUser, Col, ExternalIdentity, IdentityProvider};
use crate::shape::{app_fk, app_scoped_id_index, same_app_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // kind: "oidc" (by discovery), "github", "google". The upstream client
        // secret is encrypted with the master key.
        manager
            .create_table(
                Table::create()
                    .table(IdentityProvider::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(IdentityProvider::Slug))
                    .col(string(IdentityProvider::Kind))
                    .col(string(IdentityProvider::DisplayName))
                    .col(string_null(IdentityProvider::IssuerUrl))
                    .col(string(IdentityProvider::ClientId))
                    .col(text(IdentityProvider::ClientSecretEncrypted))
                    .col(string(IdentityProvider::Scopes))
                    .col(timestamp_with_time_zone_null(IdentityProvider::EnabledAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(IdentityProvider::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index(
                "ux_identity_provider_app_id",
                IdentityProvider::Table,
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_identity_provider_slug")
                    .table(IdentityProvider::Table)
                    .col(Col::AppId)
                    .col(IdentityProvider::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExternalIdentity::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Col::UserId))
                    .col(string(ExternalIdentity::ProviderId))
                    .col(string(ExternalIdentity::Subject))
                    .col(string_null(ExternalIdentity::Email))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        ExternalIdentity::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        ExternalIdentity::Table,
                        ExternalIdentity::ProviderId,
                        IdentityProvider::Table,
                    ))
                    .to_owned(),
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
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExternalIdentity::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(IdentityProvider::Table).to_owned())
            .await
    }
}
