//! What e-mail delivery needs from the schema:
//!
//! * `email_outbox`: the message's `kind` (for the console's filters), its
//!   HTML part, the app's sender name and reply-to address as they were when
//!   the message was written, the user it is about, and `lease_until`: a
//!   sender process claims a message by setting it, so two processes never
//!   send the same message at once, and a process killed mid-send leaves it
//!   to another once the lease runs out; `claimed_by`, the claim that
//!   holds it (only its holder records how the attempt went);
//!   `expires_at`, after which it is not worth sending (its link is dead);
//!   `smtp_response`, the server's last answer (accepted or not).
//! * `app`: the sender name and reply-to address of its messages, whether
//!   tokens need a verified address, and whether a sign-in from a browser
//!   the account has not used before sends a notice.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{App, Col, EmailOutbox};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    Kind,
    BodyHtml,
    SenderName,
    ReplyTo,
    LeaseUntil,
    ClaimedBy,
    ExpiresAt,
    SmtpResponse,
    EmailSenderName,
    EmailReplyTo,
    RequireVerifiedEmail,
    NotifyNewDevice,
}

/// SQLite adds one column per ALTER TABLE.
fn columns() -> Vec<(DynIden, ColumnDef)> {
    let outbox = || EmailOutbox::Table.into_iden();
    let app = || App::Table.into_iden();
    vec![
        (outbox(), string(Added::Kind).default("notice").take()),
        (outbox(), text_null(Added::BodyHtml)),
        (outbox(), string_null(Added::SenderName)),
        (outbox(), string_null(Added::ReplyTo)),
        (outbox(), string_null(Col::UserId)),
        (outbox(), timestamp_with_time_zone_null(Added::LeaseUntil)),
        (outbox(), string_null(Added::ClaimedBy)),
        (outbox(), timestamp_with_time_zone_null(Added::ExpiresAt)),
        (outbox(), text_null(Added::SmtpResponse)),
        (app(), string_null(Added::EmailSenderName)),
        (app(), string_null(Added::EmailReplyTo)),
        (
            app(),
            boolean(Added::RequireVerifiedEmail).default(false).take(),
        ),
        (app(), boolean(Added::NotifyNewDevice).default(false).take()),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // The console lists an app's messages newest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_email_outbox_app_created")
                    .table(EmailOutbox::Table)
                    .col(Col::AppId)
                    .col(Col::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_email_outbox_app_created")
                    .table(EmailOutbox::Table)
                    .to_owned(),
            )
            .await?;
        for (table, column) in columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Alias::new(column.get_column_name()))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
