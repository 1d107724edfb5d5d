use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{App, Col, OauthClient};
use crate::shape::{app_fk, app_scoped_id_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The app is the security boundary; its id is the slug in every URL.
        manager
            .create_table(
                Table::create()
                    .table(App::Table)
                    .col(string(App::Id).primary_key())
                    .col(string(App::Name))
                    .col(string(App::BrandColor).default("#4f46e5"))
                    .col(boolean(App::Builtin).default(false))
                    .col(boolean(App::SelfRegistration).default(false))
                    .col(boolean(App::PasswordEnabled).default(true))
                    .col(boolean(App::PasskeyEnabled).default(true))
                    .col(timestamp_with_time_zone_null(App::DisabledAt))
                    .col(big_integer(App::SessionIdleSecs).default(1800))
                    .col(big_integer(App::SessionAbsoluteSecs).default(36000))
                    .col(big_integer(App::AccessTokenTtlSecs).default(300))
                    .col(big_integer(App::RefreshIdleSecs).default(172800))
                    .col(big_integer(App::RefreshAbsoluteSecs).default(1209600))
                    .col(big_integer(App::RefreshGraceSecs).default(0))
                    .col(boolean(App::RequirePkce).default(true))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OauthClient::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(OauthClient::Name))
                    .col(string(OauthClient::ClientType))
                    .col(string_null(OauthClient::SecretHash))
                    .col(text(OauthClient::RedirectUris))
                    .col(text(OauthClient::PostLogoutRedirectUris))
                    .col(string(OauthClient::IdTokenAlg).default("ES256"))
                    .col(timestamp_with_time_zone_null(OauthClient::SecretRotatedAt))
                    .col(timestamp_with_time_zone_null(OauthClient::DisabledAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(OauthClient::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index(
                "ux_oauth_client_app_id",
                OauthClient::Table,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OauthClient::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(App::Table).to_owned())
            .await
    }
}
