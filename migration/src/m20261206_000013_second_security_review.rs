//! What the second security review (2026-12-06) needs from the schema:
//!
//! * `app_user.device_epoch` and `device_marks` (N3): a known-device mark
//!   names the epoch it was issued in and its number within it. A password
//!   change, a recovery, a deactivation or a sign-out everywhere moves the
//!   epoch on (every earlier mark dies), and only the newest few marks of an
//!   epoch are live, so marks cannot multiply an account's guess budget.
//! * `spent_ceremony` (N5): a passkey ceremony's state lives in a sealed
//!   cookie (no row per anonymous request); the random id it carries is
//!   spent here when the ceremony finishes, so a captured cookie and
//!   assertion do not replay. Rows expire with the ceremony.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::AppUser;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    DeviceEpoch,
    DeviceMarks,
}

#[derive(DeriveIden)]
enum SpentCeremony {
    Table,
    Id,
    ExpiresAt,
}

/// SQLite adds one column per ALTER TABLE.
fn columns() -> Vec<ColumnDef> {
    vec![
        big_integer(Added::DeviceEpoch).default(0).take(),
        big_integer(Added::DeviceMarks).default(0).take(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(AppUser::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SpentCeremony::Table)
                    .col(string(SpentCeremony::Id).primary_key())
                    .col(timestamp_with_time_zone(SpentCeremony::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_spent_ceremony_expires")
                    .table(SpentCeremony::Table)
                    .col(SpentCeremony::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SpentCeremony::Table).to_owned())
            .await?;
        for column in columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(AppUser::Table)
                        .drop_column(Alias::new(column.get_column_name()))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
