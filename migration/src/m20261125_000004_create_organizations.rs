use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{AppUser, Col, Invitation, Membership, Organization, Team, TeamMember};
use crate::shape::{app_fk, app_scoped_id_index, same_app_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organization::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Organization::Slug))
                    .col(string(Organization::Name))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(Organization::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index(
                "ux_organization_app_id",
                Organization::Table,
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_organization_slug")
                    .table(Organization::Table)
                    .col(Col::AppId)
                    .col(Organization::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // org_roles: JSON array of organization-level role names.
        manager
            .create_table(
                Table::create()
                    .table(Membership::Table)
                    .col(string(Col::AppId))
                    .col(string(Membership::OrganizationId))
                    .col(string(Col::UserId))
                    .col(text(Membership::OrgRoles))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Membership::OrganizationId)
                            .col(Col::UserId),
                    )
                    .foreign_key(&mut same_app_fk(
                        Membership::Table,
                        Membership::OrganizationId,
                        Organization::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        Membership::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_membership_user")
                    .table(Membership::Table)
                    .col(Col::UserId)
                    .to_owned(),
            )
            .await?;

        // An invitation to the app, optionally into an organization; roles is a
        // JSON array granted on acceptance. Only the token's hash is stored.
        manager
            .create_table(
                Table::create()
                    .table(Invitation::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string_null(Invitation::OrganizationId))
                    .col(string(Invitation::Email))
                    .col(string_uniq(Invitation::TokenHash))
                    .col(text(Invitation::Roles))
                    .col(string_null(Invitation::InvitedBy))
                    .col(timestamp_with_time_zone(Invitation::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitation::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Invitation::RevokedAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut app_fk(Invitation::Table))
                    .foreign_key(&mut same_app_fk(
                        Invitation::Table,
                        Invitation::OrganizationId,
                        Organization::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitation_email")
                    .table(Invitation::Table)
                    .col(Col::AppId)
                    .col(Invitation::Email)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Team::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Team::OrganizationId))
                    .col(string(Team::Name))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        Team::Table,
                        Team::OrganizationId,
                        Organization::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index("ux_team_app_id", Team::Table))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_team_name")
                    .table(Team::Table)
                    .col(Team::OrganizationId)
                    .col(Team::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TeamMember::Table)
                    .col(string(Col::AppId))
                    .col(string(TeamMember::TeamId))
                    .col(string(Col::UserId))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .primary_key(Index::create().col(TeamMember::TeamId).col(Col::UserId))
                    .foreign_key(&mut same_app_fk(
                        TeamMember::Table,
                        TeamMember::TeamId,
                        Team::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        TeamMember::Table,
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
            TeamMember::Table.into_iden(),
            Team::Table.into_iden(),
            Invitation::Table.into_iden(),
            Membership::Table.into_iden(),
            Organization::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
