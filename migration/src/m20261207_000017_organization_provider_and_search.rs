//! Organizations, continued (issue 25):
//!
//! * `organization.required_provider_id`: the upstream provider through
//!   which the organization's invitations are accepted (none: any way the
//!   app offers). No foreign key (SQLite cannot add one to an existing
//!   table); deleting a provider clears it in the same write.
//! * `organization.search_name`: the name in lower case, kept by every
//!   write of the name, so the console's "contains" search compares plain
//!   strings (PostgreSQL's `lower()` on every row cost 8 ms over 10,000
//!   organizations; a plain LIKE, 2.5 ms).
//! * `ux_org_domain_verified`: a domain is verified for one organization of
//!   an app at most, even when two verify it at the same moment.
//! * On PostgreSQL, trigram indexes (`pg_trgm`) on the slug and that name,
//!   for apps whose organizations' names have little in common. Where the
//!   extension cannot be created (a managed server that refuses it), the
//!   search still works, by a scan: the block below only notes it.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::Organization;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    RequiredProviderId,
    SearchName,
}

const TRIGRAM_INDEXES: &str = r#"
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS ix_organization_slug_trgm
        ON organization USING gin (slug gin_trgm_ops);
    CREATE INDEX IF NOT EXISTS ix_organization_name_trgm
        ON organization USING gin (search_name gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): organization searches scan', SQLERRM;
END
$$;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organization::Table)
                    .add_column(string_null(Added::RequiredProviderId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organization::Table)
                    .add_column(string(Added::SearchName).default(""))
                    .to_owned(),
            )
            .await?;
        // Lower-cased as the server lowers it (Unicode), not by SQL's
        // lower(), which leaves "Ä" as it is on SQLite.
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let named = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, name FROM organization",
            ))
            .await?;
        for row in named {
            let id: String = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DatabaseBackend::Postgres => {
                        "UPDATE organization SET search_name = $1 WHERE id = $2"
                    }
                    _ => "UPDATE organization SET search_name = ? WHERE id = ?",
                },
                [name.to_lowercase().into(), id.into()],
            ))
            .await?;
        }
        // One organization per verified domain and app, whatever the race:
        // two verifications at once cannot both commit.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_org_domain_verified ON org_domain (app_id, domain) \
             WHERE verified_at IS NOT NULL",
        )
        .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(TRIGRAM_INDEXES)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ux_org_domain_verified")
            .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP INDEX IF EXISTS ix_organization_slug_trgm; DROP INDEX IF EXISTS ix_organization_name_trgm;",
                )
                .await?;
        }
        for column in [Added::SearchName, Added::RequiredProviderId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organization::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
