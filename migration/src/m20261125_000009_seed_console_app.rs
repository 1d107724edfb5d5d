use sea_orm_migration::prelude::*;

use crate::idens::{App, AuditChainHead, Col, Role};

/// The console is the built-in app `console`: operators are its users and its
/// roles decide what they may do. Every console role requires a passkey by
/// default (DESIGN.md, "The app boundary").
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Hash that starts every app's audit chain (64 zero hex digits).
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const CONSOLE_ROLES: [(&str, &str, &str); 3] = [
    (
        "role_console_owner",
        "owner",
        "Full control, including other operators and owners.",
    ),
    (
        "role_console_admin",
        "admin",
        "Manages apps, clients, users and roles.",
    ),
    (
        "role_console_auditor",
        "auditor",
        "Reads everything, changes nothing.",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let app = Query::insert()
            .into_table(App::Table)
            .columns([
                App::Id.into_iden(),
                App::Name.into_iden(),
                App::Builtin.into_iden(),
                App::SelfRegistration.into_iden(),
                Col::CreatedAt.into_iden(),
                Col::UpdatedAt.into_iden(),
            ])
            .values_panic([
                "console".into(),
                "1Auth Console".into(),
                true.into(),
                false.into(),
                Expr::current_timestamp().into(),
                Expr::current_timestamp().into(),
            ])
            .to_owned();
        db.execute(&app).await?;

        for (id, name, description) in CONSOLE_ROLES {
            let role = Query::insert()
                .into_table(Role::Table)
                .columns([
                    Col::Id.into_iden(),
                    Col::AppId.into_iden(),
                    Role::Name.into_iden(),
                    Role::Description.into_iden(),
                    Role::RequirePasskey.into_iden(),
                    Role::Builtin.into_iden(),
                    Col::CreatedAt.into_iden(),
                    Col::UpdatedAt.into_iden(),
                ])
                .values_panic([
                    id.into(),
                    "console".into(),
                    name.into(),
                    description.into(),
                    true.into(),
                    true.into(),
                    Expr::current_timestamp().into(),
                    Expr::current_timestamp().into(),
                ])
                .to_owned();
            db.execute(&role).await?;
        }

        let head = Query::insert()
            .into_table(AuditChainHead::Table)
            .columns([
                Col::AppId.into_iden(),
                AuditChainHead::LastSeq.into_iden(),
                AuditChainHead::LastHash.into_iden(),
                Col::UpdatedAt.into_iden(),
            ])
            .values_panic([
                "console".into(),
                0i64.into(),
                GENESIS_HASH.into(),
                Expr::current_timestamp().into(),
            ])
            .to_owned();
        db.execute(&head).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute(
            &Query::delete()
                .from_table(App::Table)
                .and_where(Expr::col(App::Id).eq("console"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
