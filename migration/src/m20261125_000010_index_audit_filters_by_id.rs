//! The console's audit filters page newest first by id. The first indexes
//! (000007) ended in `occurred_at`, so "the newest 50 events of this actor"
//! had to sort every match; here every filter column is followed by the id,
//! within one app and across apps, so a page is an index walk whatever the
//! table's size. The actor filter matches the stored label (an e-mail,
//! `cli:alice`), which is what operators type.

use sea_orm_migration::prelude::*;

use crate::idens::{AuditEvent, Col};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Indexes of 000007 whose columns change (`ix_audit_event_time` stays).
const REPLACED: [&str; 3] = [
    "ix_audit_event_actor",
    "ix_audit_event_action",
    "ix_audit_event_target",
];

fn indexes() -> Vec<(&'static str, Vec<DynIden>)> {
    let app = || Col::AppId.into_iden();
    let id = || Col::Id.into_iden();
    vec![
        ("ix_audit_event_app", vec![app(), id()]),
        (
            "ix_audit_event_app_action",
            vec![app(), AuditEvent::Action.into_iden(), id()],
        ),
        (
            "ix_audit_event_app_actor",
            vec![app(), AuditEvent::ActorLabel.into_iden(), id()],
        ),
        (
            "ix_audit_event_app_target",
            vec![app(), AuditEvent::TargetId.into_iden(), id()],
        ),
        (
            "ix_audit_event_app_time",
            vec![app(), AuditEvent::OccurredAt.into_iden()],
        ),
        (
            "ix_audit_event_action",
            vec![AuditEvent::Action.into_iden(), id()],
        ),
        (
            "ix_audit_event_actor",
            vec![AuditEvent::ActorLabel.into_iden(), id()],
        ),
        (
            "ix_audit_event_target",
            vec![AuditEvent::TargetId.into_iden(), id()],
        ),
    ]
}

/// The definitions of 000007, for `down`.
fn original_indexes() -> Vec<(&'static str, Vec<DynIden>)> {
    let at = || AuditEvent::OccurredAt.into_iden();
    vec![
        (
            "ix_audit_event_actor",
            vec![AuditEvent::ActorId.into_iden(), at()],
        ),
        (
            "ix_audit_event_action",
            vec![AuditEvent::Action.into_iden(), at()],
        ),
        (
            "ix_audit_event_target",
            vec![AuditEvent::TargetId.into_iden(), at()],
        ),
    ]
}

async fn drop_index(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(AuditEvent::Table).to_owned())
        .await
}

async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: Vec<(&'static str, Vec<DynIden>)>,
) -> Result<(), DbErr> {
    for (name, cols) in indexes {
        let mut index = Index::create()
            .name(name)
            .table(AuditEvent::Table)
            .to_owned();
        for col in cols {
            index.col(col);
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in REPLACED {
            drop_index(manager, name).await?;
        }
        create_indexes(manager, indexes()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in indexes() {
            drop_index(manager, name).await?;
        }
        create_indexes(manager, original_indexes()).await
    }
}
