//! Schema of 1Auth. Append-only: a migration that has landed is never edited;
//! change the schema with a new, later-dated file.
//!
//! Every table that belongs to an app carries `app_id`, and references to other
//! app-owned rows go through composite foreign keys `(app_id, id)`, so the
//! database itself refuses a row that would cross the app boundary (a role of
//! app A granted to a user of app B, say).

// Landed migrations are frozen, lints included: these two (an `.into()` that
// newer sea-query made redundant, a column named `PasskeyJson` in the
// `Passkey` table) stay as they landed.
#![allow(clippy::useless_conversion, clippy::enum_variant_names)]

pub use sea_orm_migration::prelude::*;

mod idens;
mod m20261125_000001_create_apps_and_clients;
mod m20261125_000002_create_users_and_credentials;
mod m20261125_000003_create_roles;
mod m20261125_000004_create_organizations;
mod m20261125_000005_create_identity_providers;
mod m20261125_000006_create_sessions_and_tokens;
mod m20261125_000007_create_audit_log;
mod m20261125_000008_create_outbox_and_throttle;
mod m20261125_000009_seed_console_app;
mod m20261125_000010_index_audit_filters_by_id;
mod m20261126_000011_security_hardening;
mod m20261127_000012_email_delivery;
mod m20261206_000013_second_security_review;
mod m20261207_000014_upstream_providers;
mod m20261207_000015_master_key_rotation;
mod m20261207_000016_organizations;
mod m20261207_000017_organization_provider_and_search;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_apps_and_clients::Migration),
            Box::new(m20261125_000002_create_users_and_credentials::Migration),
            Box::new(m20261125_000003_create_roles::Migration),
            Box::new(m20261125_000004_create_organizations::Migration),
            Box::new(m20261125_000005_create_identity_providers::Migration),
            Box::new(m20261125_000006_create_sessions_and_tokens::Migration),
            Box::new(m20261125_000007_create_audit_log::Migration),
            Box::new(m20261125_000008_create_outbox_and_throttle::Migration),
            Box::new(m20261125_000009_seed_console_app::Migration),
            Box::new(m20261125_000010_index_audit_filters_by_id::Migration),
            Box::new(m20261126_000011_security_hardening::Migration),
            Box::new(m20261127_000012_email_delivery::Migration),
            Box::new(m20261206_000013_second_security_review::Migration),
            Box::new(m20261207_000014_upstream_providers::Migration),
            Box::new(m20261207_000015_master_key_rotation::Migration),
            Box::new(m20261207_000016_organizations::Migration),
            Box::new(m20261207_000017_organization_provider_and_search::Migration),
        ]
    }
}

/// Helpers shared by the migrations: the same shapes recur in every table.
pub(crate) mod shape {
    use sea_orm_migration::prelude::*;

    /// `FOREIGN KEY (app_id) REFERENCES app (id) ON DELETE CASCADE`
    pub fn app_fk<T: IntoIden + Clone + 'static>(table: T) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .from(table, crate::idens::Col::AppId)
            .to(crate::idens::App::Table, crate::idens::App::Id)
            .on_delete(ForeignKeyAction::Cascade)
            .take()
    }

    /// A composite foreign key `(app_id, col) -> parent (app_id, id)`: the
    /// referenced row must live in the same app.
    pub fn same_app_fk<T, C, P>(table: T, col: C, parent: P) -> ForeignKeyCreateStatement
    where
        T: IntoIden + Clone + 'static,
        C: IntoIden + Clone + 'static,
        P: IntoIden + Clone + 'static,
    {
        ForeignKey::create()
            .from(table, (crate::idens::Col::AppId, col))
            .to(parent, (crate::idens::Col::AppId, crate::idens::Col::Id))
            .on_delete(ForeignKeyAction::Cascade)
            .take()
    }

    /// `UNIQUE (app_id, id)`, the target of [`same_app_fk`].
    pub fn app_scoped_id_index<T: IntoIden + Clone + 'static>(
        name: &str,
        table: T,
    ) -> IndexCreateStatement {
        Index::create()
            .name(name)
            .table(table)
            .col(crate::idens::Col::AppId)
            .col(crate::idens::Col::Id)
            .unique()
            .take()
    }
}
