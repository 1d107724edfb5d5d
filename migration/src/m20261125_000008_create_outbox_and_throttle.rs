use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{AuthThrottle, Col, EmailOutbox};
use crate::shape::app_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Outgoing mail is written here in the same transaction as the change
        // that caused it; a sender drains it with retries.
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(EmailOutbox::ToAddress))
                    .col(string(EmailOutbox::Subject))
                    .col(text(EmailOutbox::BodyText))
                    .col(string(EmailOutbox::Status).default("pending"))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut app_fk(EmailOutbox::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_email_outbox_due")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::Status)
                    .col(EmailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        // Failure counters for sign-in throttling, keyed per account and per
        // client address, in the database so every server process sees them.
        manager
            .create_table(
                Table::create()
                    .table(AuthThrottle::Table)
                    .col(string(AuthThrottle::Key).primary_key())
                    .col(string(Col::AppId))
                    .col(integer(AuthThrottle::Failures).default(0))
                    .col(timestamp_with_time_zone(AuthThrottle::WindowStartedAt))
                    .col(timestamp_with_time_zone_null(AuthThrottle::LockedUntil))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(AuthThrottle::Table))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthThrottle::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EmailOutbox::Table).to_owned())
            .await
    }
}
