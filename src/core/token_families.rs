//! Refresh-token families (RFC 9700 §4.14.2). A family dies with its sign-in
//! session, on logout, deactivation, password change, "sign out
//! everywhere" and when its client is disabled; revoking it makes every
//! refresh token in it useless.

use crate::core::write::Write;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use crate::entities::token_family;
use crate::types::AppId;

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
