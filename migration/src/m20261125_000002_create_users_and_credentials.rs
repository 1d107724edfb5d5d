use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{
    ActionToken, AppUser, Col, Passkey, PasswordCredential, RecoveryCode, TotpSecret,
};
use crate::shape::{app_fk, app_scoped_id_index, same_app_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `email` is stored normalised (trimmed, lower-case) by the domain's
        // `Email` type, so this unique index is unique (app_id, lower(email)).
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(AppUser::Email))
                    .col(boolean(AppUser::EmailVerified).default(false))
                    .col(string_null(AppUser::DisplayName))
                    .col(string(AppUser::Status).default("active"))
                    .col(timestamp_with_time_zone_null(AppUser::DeactivatedAt))
                    .col(timestamp_with_time_zone_null(AppUser::LastSignInAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(AppUser::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index("ux_app_user_app_id", AppUser::Table))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_app_user_email")
                    .table(AppUser::Table)
                    .col(Col::AppId)
                    .col(AppUser::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordCredential::Table)
                    .col(string(Col::UserId).primary_key())
                    .col(string(Col::AppId))
                    .col(text(PasswordCredential::Phc))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut same_app_fk(
                        PasswordCredential::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Passkey::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Col::UserId))
                    .col(string(Passkey::CredentialId))
                    .col(string(Passkey::Name))
                    .col(text(Passkey::PasskeyJson))
                    .col(boolean(Passkey::UserVerified).default(false))
                    .col(timestamp_with_time_zone_null(Passkey::LastUsedAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut same_app_fk(
                        Passkey::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_passkey_credential")
                    .table(Passkey::Table)
                    .col(Col::AppId)
                    .col(Passkey::CredentialId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_passkey_user")
                    .table(Passkey::Table)
                    .col(Col::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TotpSecret::Table)
                    .col(string(Col::UserId).primary_key())
                    .col(string(Col::AppId))
                    .col(text(TotpSecret::SecretEncrypted))
                    .col(timestamp_with_time_zone_null(TotpSecret::ConfirmedAt))
                    .col(big_integer_null(TotpSecret::LastUsedStep))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        TotpSecret::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCode::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Col::UserId))
                    .col(string(RecoveryCode::CodeHash))
                    .col(timestamp_with_time_zone_null(RecoveryCode::UsedAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        RecoveryCode::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_recovery_code_user")
                    .table(RecoveryCode::Table)
                    .col(Col::UserId)
                    .to_owned(),
            )
            .await?;

        // One-time links: console setup, recovery links, e-mail verification.
        // Only the SHA-256 of the token is stored.
        manager
            .create_table(
                Table::create()
                    .table(ActionToken::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string_null(Col::UserId))
                    .col(string(ActionToken::Purpose))
                    .col(string_uniq(ActionToken::TokenHash))
                    .col(timestamp_with_time_zone(ActionToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ActionToken::UsedAt))
                    .col(string_null(ActionToken::CreatedBy))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        ActionToken::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ActionToken::Table.into_iden(),
            RecoveryCode::Table.into_iden(),
            TotpSecret::Table.into_iden(),
            Passkey::Table.into_iden(),
            PasswordCredential::Table.into_iden(),
            AppUser::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
