//! Refresh-token families (RFC 9700 §4.14.2), in one place: a family is
//! opened by a code exchange with its first token, grows by one successor
//! per rotation, stays usable while it is not revoked and its sign-in
//! session has not ended, and dies whole: with its sign-in session, on
//! logout, deactivation, password change, "sign out everywhere", reuse,
//! and when its client is disabled.

use crate::core::write::Write;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::secrets;
use crate::entities::{app, authorization_code, refresh_token, signin_session, token_family};
use crate::types::AppId;

/// A family just opened, with its first refresh token (in clear, given to
/// the client once; stored by its hash), for the caller to store together
/// with whatever else its grant writes.
pub struct Opened {
    pub family: token_family::ActiveModel,
    pub family_id: String,
    pub first_token: String,
    pub first_row: refresh_token::ActiveModel,
}

/// Open the family a code starts (its client, user, scope, resource and
/// organization), from `session`: it lives the app's refresh lifetime,
/// never longer than the session.
pub fn open(
    app: &app::Model,
    code: &authorization_code::Model,
    session: &signin_session::Model,
    now: DateTime<Utc>,
) -> Opened {
    let family_id = secrets::new_id();
    let absolute = Ord::min(
        now + Duration::seconds(app.refresh_absolute_secs),
        session.absolute_expires_at,
    );
    let family = token_family::ActiveModel {
        id: Set(family_id.clone()),
        app_id: Set(app.id.clone()),
        client_id: Set(code.client_id.clone()),
        user_id: Set(code.user_id.clone()),
        signin_session_id: Set(Some(session.id.clone())),
        scope: Set(code.scope.clone()),
        resource: Set(code.resource.clone()),
        absolute_expires_at: Set(absolute),
        organization_id: Set(code.organization_id.clone()),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        created_at: Set(now),
    };
    let first_token = secrets::random_token(32);
    let first_row = token_row(
        &app.id,
        &family_id,
        &first_token,
        Duration::seconds(app.refresh_idle_secs),
        now,
    );
    Opened {
        family,
        family_id,
        first_token,
        first_row,
    }
}

/// The stored row of refresh token `token` of `family_id`, made at `now`
/// (a successor is made at the instant its predecessor was spent: that is
/// how the grace window recognises the immediate successor) and living
/// `idle` unused.
pub fn token_row(
    app_id: &AppId,
    family_id: &str,
    token: &str,
    idle: Duration,
    now: DateTime<Utc>,
) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        id: Set(secrets::new_id()),
        app_id: Set(app_id.clone()),
        family_id: Set(family_id.to_owned()),
        token_hash: Set(secrets::sha256_hex(token)),
        expires_at: Set(now + idle),
        used_at: Set(None),
        created_at: Set(now),
    }
}

/// A refresh token's family is not revoked and its sign-in session has not
/// ended (checked in the statement that spends the token, so a sign-out or
/// revocation that committed first always wins).
///
/// A scalar subquery, not `EXISTS`: PostgreSQL turns an `EXISTS` into a
/// semi-join and, on young statistics, drives it from every live family
/// through each family's whole token history (0.15 ms per token, growing
/// with the chains). A scalar subquery is evaluated per spent row: two
/// primary-key probes.
pub fn live_for_refresh_token() -> Expr {
    let family = token_family::Entity;
    let session = signin_session::Entity;
    Expr::from(
        Query::select()
            .expr(Expr::val(1))
            .from(family)
            .inner_join(
                session,
                Expr::col((session, signin_session::Column::Id))
                    .equals((family, token_family::Column::SigninSessionId)),
            )
            .and_where(
                Expr::col((family, token_family::Column::Id))
                    .equals((refresh_token::Entity, refresh_token::Column::FamilyId)),
            )
            .and_where(Expr::col((family, token_family::Column::RevokedAt)).is_null())
            .and_where(Expr::col((session, signin_session::Column::EndedAt)).is_null())
            .to_owned(),
    )
    .eq(1)
}

/// Which live families to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Families<'a> {
    /// One family, by id.
    One(&'a str),
    /// Those minted from one sign-in session.
    OfSession(&'a str),
    /// Every family of a user.
    OfUser(&'a str),
    /// Every family of a client of an app (N7: a disabled client's grants
    /// end with it, and re-enabling it revives none).
    OfClient(&'a AppId, &'a str),
}

/// Revoke the live `families`, recording `reason`; how many were revoked.
pub async fn revoke(tx: &Write, families: Families<'_>, reason: &str) -> Result<u64, DbErr> {
    let update = token_family::Entity::update_many()
        .col_expr(token_family::Column::RevokedAt, Expr::value(tx.now))
        .col_expr(token_family::Column::RevokedReason, Expr::value(reason))
        .filter(token_family::Column::RevokedAt.is_null());
    let update = match families {
        Families::One(id) => update.filter(token_family::Column::Id.eq(id)),
        Families::OfSession(session) => {
            update.filter(token_family::Column::SigninSessionId.eq(session))
        }
        Families::OfUser(user) => update.filter(token_family::Column::UserId.eq(user)),
        Families::OfClient(app_id, client) => update
            .filter(token_family::Column::AppId.eq(app_id.as_str()))
            .filter(token_family::Column::ClientId.eq(client)),
    };
    Ok(update.exec(tx).await?.rows_affected)
}
