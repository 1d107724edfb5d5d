use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{AppUser, Col, Role, RoleAssignment};
use crate::shape::{app_fk, app_scoped_id_index, same_app_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A role carries its factor policy: a passkey requirement and a
        // maximum authentication age (seconds since the factor was used).
        manager
            .create_table(
                Table::create()
                    .table(Role::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Role::Name))
                    .col(string(Role::Description).default(""))
                    .col(boolean(Role::RequirePasskey).default(false))
                    .col(big_integer_null(Role::MaxAuthAgeSecs))
                    .col(boolean(Role::Builtin).default(false))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(Role::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index("ux_role_app_id", Role::Table))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_role_name")
                    .table(Role::Table)
                    .col(Col::AppId)
                    .col(Role::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // Both keys are composite with app_id: a role of one app can never be
        // assigned to a user of another.
        manager
            .create_table(
                Table::create()
                    .table(RoleAssignment::Table)
                    .col(string(Col::AppId))
                    .col(string(Col::UserId))
                    .col(string(RoleAssignment::RoleId))
                    .col(string_null(RoleAssignment::GrantedBy))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .primary_key(Index::create().col(Col::UserId).col(RoleAssignment::RoleId))
                    .foreign_key(&mut same_app_fk(
                        RoleAssignment::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        RoleAssignment::Table,
                        RoleAssignment::RoleId,
                        Role::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_role_assignment_role")
                    .table(RoleAssignment::Table)
                    .col(RoleAssignment::RoleId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RoleAssignment::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Role::Table).to_owned())
            .await
    }
}
