//! What the security review of 2026-11-26 needed from the schema:
//!
//! * `signin_session`: the time of each factor separately (`password_at`,
//!   `passkey_at`, `recovery_at`), so "a passkey within N seconds" means a
//!   passkey assertion within N seconds, not any re-authentication after an
//!   old passkey. Live sessions are backfilled with the factor they were
//!   opened with, at their creation time (re-authentications since then are
//!   not attributed: the safe reading of a merged record).
//! * `signin_session.opened_by_link`: the session was opened with a recovery
//!   link an operator issued, which (unlike a recovery code the user kept)
//!   vouches for enrolling a first passkey where a role demands one.
//! * `auth_throttle.lockouts`: how often a key was locked in a row, for an
//!   exponential back-off instead of a fixed lock.
//! * `app.api_audiences`: the resource servers (RFC 8707 `resource`) a
//!   client of the app may ask a token for; `authorization_code.resource`
//!   and `token_family.resource` carry the granted one.
//! * `key_check`: a check value of each key derived from the master key
//!   (the audit chain's MAC key), so a process started with another master
//!   key refuses to write instead of sealing events nobody can verify.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{App, AuthThrottle, AuthorizationCode, SigninSession, TokenFamily};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    PasswordAt,
    PasskeyAt,
    RecoveryAt,
    OpenedByLink,
    Lockouts,
    ApiAudiences,
    Resource,
}

#[derive(DeriveIden, Clone, Copy)]
enum KeyCheck {
    Table,
    Purpose,
    CheckValue,
    CreatedAt,
}

/// SQLite adds one column per ALTER TABLE.
fn columns() -> Vec<(DynIden, ColumnDef)> {
    vec![
        (
            SigninSession::Table.into_iden(),
            timestamp_with_time_zone_null(Added::PasswordAt),
        ),
        (
            SigninSession::Table.into_iden(),
            timestamp_with_time_zone_null(Added::PasskeyAt),
        ),
        (
            SigninSession::Table.into_iden(),
            timestamp_with_time_zone_null(Added::RecoveryAt),
        ),
        (
            SigninSession::Table.into_iden(),
            boolean(Added::OpenedByLink).default(false).take(),
        ),
        (
            AuthThrottle::Table.into_iden(),
            integer(Added::Lockouts).default(0).take(),
        ),
        (
            App::Table.into_iden(),
            text(Added::ApiAudiences).default("[]").take(),
        ),
        (
            AuthorizationCode::Table.into_iden(),
            text_null(Added::Resource),
        ),
        (TokenFamily::Table.into_iden(), text_null(Added::Resource)),
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
        // A session's opening factor is the first entry of its amr.
        let db = manager.get_connection();
        for (column, first_amr) in [
            ("password_at", "pwd"),
            ("passkey_at", "hwk"),
            ("recovery_at", "otp"),
        ] {
            db.execute_unprepared(&format!(
                "UPDATE signin_session SET {column} = created_at WHERE amr LIKE '[\"{first_amr}\"%'"
            ))
            .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(KeyCheck::Table)
                    .col(string(KeyCheck::Purpose).primary_key())
                    .col(string(KeyCheck::CheckValue))
                    .col(timestamp_with_time_zone(KeyCheck::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyCheck::Table).to_owned())
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
