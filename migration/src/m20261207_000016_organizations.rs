//! Organizations (issue 25): what the foundation's tables lacked.
//!
//! * `org_role`: an app's custom organization roles, with the same factor
//!   policy as app roles (`owner`, `admin` and `member` are built in and not
//!   stored).
//! * `org_domain`: a domain an organization claims, with the random value
//!   its DNS TXT record must carry, and how (and whether) it was proved.
//!   `organization.domain_policy` says what happens to a user who confirms
//!   an address at a verified domain: `none`, `offer` or `auto`.
//! * The organization a code or a refresh-token family was issued for, so
//!   the token endpoint mints its claims and re-checks the membership at
//!   every refresh (no foreign key: a deleted organization must leave the
//!   family alive and the claims gone, not the tokens).
//! * Indexes for what the member and console pages look up: a user's teams,
//!   an organization's invitations, an organization's teams.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{Col, Invitation, Organization, Team, TeamMember};
use crate::shape::{app_fk, same_app_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum OrgRole {
    Table,
    Name,
    Description,
    RequirePasskey,
    MaxAuthAgeSecs,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrgDomain {
    Table,
    OrganizationId,
    Domain,
    Proof,
    VerifiedAt,
    VerifiedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    DomainPolicy,
    OrganizationId,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuthorizationCode {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum TokenFamily {
    Table,
}

/// Add one nullable or defaulted column (SQLite adds one per ALTER TABLE).
async fn add_column<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    mut column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

async fn drop_column<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    column: Added,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgRole::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(OrgRole::Name))
                    .col(text(OrgRole::Description).default(""))
                    .col(boolean(OrgRole::RequirePasskey).default(false))
                    .col(big_integer_null(OrgRole::MaxAuthAgeSecs))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .col(timestamp_with_time_zone(Col::UpdatedAt))
                    .foreign_key(&mut app_fk(OrgRole::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_org_role_name")
                    .table(OrgRole::Table)
                    .col(Col::AppId)
                    .col(OrgRole::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrgDomain::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(OrgDomain::OrganizationId))
                    .col(string(OrgDomain::Domain))
                    .col(string(OrgDomain::Proof))
                    .col(timestamp_with_time_zone_null(OrgDomain::VerifiedAt))
                    .col(string_null(OrgDomain::VerifiedBy))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        OrgDomain::Table,
                        OrgDomain::OrganizationId,
                        Organization::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_org_domain")
                    .table(OrgDomain::Table)
                    .col(OrgDomain::OrganizationId)
                    .col(OrgDomain::Domain)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_org_domain_domain")
                    .table(OrgDomain::Table)
                    .col(Col::AppId)
                    .col(OrgDomain::Domain)
                    .to_owned(),
            )
            .await?;

        add_column(
            manager,
            Organization::Table,
            string(Added::DomainPolicy).default("none").take(),
        )
        .await?;
        add_column(
            manager,
            AuthorizationCode::Table,
            string_null(Added::OrganizationId).take(),
        )
        .await?;
        add_column(
            manager,
            TokenFamily::Table,
            string_null(Added::OrganizationId).take(),
        )
        .await?;

        for (name, table, column) in [
            (
                "ix_team_member_user",
                TeamMember::Table.into_iden(),
                Col::UserId.into_iden(),
            ),
            (
                "ix_team_organization",
                Team::Table.into_iden(),
                Team::OrganizationId.into_iden(),
            ),
            (
                "ix_invitation_organization",
                Invitation::Table.into_iden(),
                Invitation::OrganizationId.into_iden(),
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_team_member_user", TeamMember::Table.into_iden()),
            ("ix_team_organization", Team::Table.into_iden()),
            ("ix_invitation_organization", Invitation::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        drop_column(manager, TokenFamily::Table, Added::OrganizationId).await?;
        drop_column(manager, AuthorizationCode::Table, Added::OrganizationId).await?;
        drop_column(manager, Organization::Table, Added::DomainPolicy).await?;
        for table in [OrgDomain::Table.into_iden(), OrgRole::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
