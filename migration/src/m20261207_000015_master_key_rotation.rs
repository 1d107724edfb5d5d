//! `audit_chain_head.key_check` (issue 24, master-key rotation): the check
//! value of the chain key the chain is sealed with since the last rotation.
//! A process still running with the old master key finds it changed when
//! it appends its next event, and refuses instead of sealing an event (or
//! the secrets written beside it) under a key nobody holds any more. Empty
//! until the first rotation (every process then has the one key).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditChainHead {
    Table,
    KeyCheck,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditChainHead::Table)
                    .add_column(string_null(AuditChainHead::KeyCheck))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditChainHead::Table)
                    .drop_column(AuditChainHead::KeyCheck)
                    .to_owned(),
            )
            .await
    }
}
