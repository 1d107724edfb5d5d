use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{
    AppUser, AuthorizationCode, BrowserSession, Col, OauthClient, RefreshToken, SigninSession,
    SigningKey, TokenFamily,
};
use crate::shape::{app_fk, app_scoped_id_index, same_app_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // tower-sessions storage: the browser cookie's session record, shared
        // by every server process.
        manager
            .create_table(
                Table::create()
                    .table(BrowserSession::Table)
                    .col(string(Col::Id).primary_key())
                    .col(blob(BrowserSession::Data))
                    .col(timestamp_with_time_zone(BrowserSession::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_browser_session_expires")
                    .table(BrowserSession::Table)
                    .col(BrowserSession::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        // The server-side record of one sign-in: which factors (amr) and when.
        manager
            .create_table(
                Table::create()
                    .table(SigninSession::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(Col::UserId))
                    .col(text(SigninSession::Amr))
                    .col(string(SigninSession::Acr))
                    .col(timestamp_with_time_zone(SigninSession::AuthTime))
                    .col(timestamp_with_time_zone(SigninSession::LastSeenAt))
                    .col(timestamp_with_time_zone(SigninSession::IdleExpiresAt))
                    .col(timestamp_with_time_zone(SigninSession::AbsoluteExpiresAt))
                    .col(boolean(SigninSession::RequiresEnrolment).default(false))
                    .col(timestamp_with_time_zone_null(SigninSession::EndedAt))
                    .col(string_null(SigninSession::EndReason))
                    .col(string_null(SigninSession::ClientAddress))
                    .col(string_null(SigninSession::UserAgent))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        SigninSession::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index(
                "ux_signin_session_app_id",
                SigninSession::Table,
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signin_session_user")
                    .table(SigninSession::Table)
                    .col(Col::UserId)
                    .to_owned(),
            )
            .await?;

        // Refresh tokens of one grant form a family (RFC 9700 §4.14.2).
        manager
            .create_table(
                Table::create()
                    .table(TokenFamily::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(TokenFamily::ClientId))
                    .col(string(Col::UserId))
                    .col(string_null(TokenFamily::SigninSessionId))
                    .col(text(TokenFamily::Scope))
                    .col(timestamp_with_time_zone(TokenFamily::AbsoluteExpiresAt))
                    .col(timestamp_with_time_zone_null(TokenFamily::RevokedAt))
                    .col(string_null(TokenFamily::RevokedReason))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        TokenFamily::Table,
                        TokenFamily::ClientId,
                        OauthClient::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        TokenFamily::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        TokenFamily::Table,
                        TokenFamily::SigninSessionId,
                        SigninSession::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(app_scoped_id_index(
                "ux_token_family_app_id",
                TokenFamily::Table,
            ))
            .await?;
        for (name, col) in [
            ("ix_token_family_user", Col::UserId.into_iden()),
            (
                "ix_token_family_session",
                TokenFamily::SigninSessionId.into_iden(),
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(TokenFamily::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        // Only the SHA-256 of a refresh token is stored; expires_at is the
        // idle deadline, the family holds the absolute one.
        manager
            .create_table(
                Table::create()
                    .table(RefreshToken::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(RefreshToken::FamilyId))
                    .col(string_uniq(RefreshToken::TokenHash))
                    .col(timestamp_with_time_zone(RefreshToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshToken::UsedAt))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        RefreshToken::Table,
                        RefreshToken::FamilyId,
                        TokenFamily::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_token_family")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::FamilyId)
                    .to_owned(),
            )
            .await?;

        // Authorization codes (RFC 6749 §4.1.2): single use, bound to client,
        // redirect URI and PKCE challenge; token_family_id is set on redemption
        // so that a replay can revoke what the first use minted.
        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCode::Table)
                    .col(string(AuthorizationCode::CodeHash).primary_key())
                    .col(string(Col::AppId))
                    .col(string(AuthorizationCode::ClientId))
                    .col(string(Col::UserId))
                    .col(string(AuthorizationCode::SigninSessionId))
                    .col(text(AuthorizationCode::RedirectUri))
                    .col(text(AuthorizationCode::Scope))
                    .col(text_null(AuthorizationCode::Nonce))
                    .col(string_null(AuthorizationCode::CodeChallenge))
                    .col(string_null(AuthorizationCode::CodeChallengeMethod))
                    .col(timestamp_with_time_zone(AuthorizationCode::AuthTime))
                    .col(text(AuthorizationCode::Amr))
                    .col(string(AuthorizationCode::Acr))
                    .col(text(AuthorizationCode::Roles))
                    .col(timestamp_with_time_zone(AuthorizationCode::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AuthorizationCode::UsedAt))
                    .col(string_null(AuthorizationCode::TokenFamilyId))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut same_app_fk(
                        AuthorizationCode::Table,
                        AuthorizationCode::ClientId,
                        OauthClient::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        AuthorizationCode::Table,
                        Col::UserId,
                        AppUser::Table,
                    ))
                    .foreign_key(&mut same_app_fk(
                        AuthorizationCode::Table,
                        AuthorizationCode::SigninSessionId,
                        SigninSession::Table,
                    ))
                    .to_owned(),
            )
            .await?;

        // Per-app signing keys; the private half is encrypted with the master
        // key. A retired key stays published until publish_until so tokens it
        // signed still verify.
        manager
            .create_table(
                Table::create()
                    .table(SigningKey::Table)
                    .col(string(Col::Id).primary_key())
                    .col(string(Col::AppId))
                    .col(string(SigningKey::Alg))
                    .col(text(SigningKey::PrivateKeyEncrypted))
                    .col(text(SigningKey::PublicJwk))
                    .col(timestamp_with_time_zone_null(SigningKey::RetiredAt))
                    .col(timestamp_with_time_zone_null(SigningKey::PublishUntil))
                    .col(timestamp_with_time_zone(Col::CreatedAt))
                    .foreign_key(&mut app_fk(SigningKey::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signing_key_app")
                    .table(SigningKey::Table)
                    .col(Col::AppId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SigningKey::Table.into_iden(),
            AuthorizationCode::Table.into_iden(),
            RefreshToken::Table.into_iden(),
            TokenFamily::Table.into_iden(),
            SigninSession::Table.into_iden(),
            BrowserSession::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
