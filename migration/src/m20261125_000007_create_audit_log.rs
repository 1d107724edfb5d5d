use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{AuditChainHead, AuditEvent, Col};
use crate::shape::app_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Each app's events form a hash chain: seq counts from 1 without gaps,
        // prev_hash is the hash of event seq-1, hash covers every column but id.
        // `details` is the exact JSON text that was hashed (never jsonb, which
        // would reorder keys).
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(big_pk_auto(Col::Id))
                    .col(string(Col::AppId))
                    .col(big_integer(AuditEvent::Seq))
                    .col(timestamp_with_time_zone(AuditEvent::OccurredAt))
                    .col(string(AuditEvent::ActorType))
                    .col(string_null(AuditEvent::ActorId))
                    .col(string(AuditEvent::ActorLabel))
                    .col(string_null(AuditEvent::ActorAddress))
                    .col(string(AuditEvent::Action))
                    .col(string_null(AuditEvent::TargetType))
                    .col(string_null(AuditEvent::TargetId))
                    .col(text(AuditEvent::Details))
                    .col(string(AuditEvent::PrevHash))
                    .col(string(AuditEvent::Hash))
                    .foreign_key(&mut app_fk(AuditEvent::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_audit_event_seq")
                    .table(AuditEvent::Table)
                    .col(Col::AppId)
                    .col(AuditEvent::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The console's filters: newest first, by time, actor, action, target.
        for (name, cols) in [
            (
                "ix_audit_event_time",
                vec![AuditEvent::OccurredAt.into_iden()],
            ),
            (
                "ix_audit_event_actor",
                vec![
                    AuditEvent::ActorId.into_iden(),
                    AuditEvent::OccurredAt.into_iden(),
                ],
            ),
            (
                "ix_audit_event_action",
                vec![
                    AuditEvent::Action.into_iden(),
                    AuditEvent::OccurredAt.into_iden(),
                ],
            ),
            (
                "ix_audit_event_target",
                vec![
                    AuditEvent::TargetId.into_iden(),
                    AuditEvent::OccurredAt.into_iden(),
                ],
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(AuditEvent::Table)
                .to_owned();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }

        // The head of each app's chain. Appending updates this row first, which
        // serialises appends within one app (row lock) but not across apps,
        // and lets `audit verify` notice a deleted tail.
        manager
            .create_table(
                Table::create()
                    .table(AuditChainHead::Table)
                    .col(string(Col::AppId).primary_key())
                    .col(big_integer(AuditChainHead::LastSeq))
                    .col(string(AuditChainHead::LastHash))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(AuditChainHead::Table))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditChainHead::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditEvent::Table).to_owned())
            .await
    }
}
