//! Refresh-token families (RFC 9700 §4.14.2). A family dies with its sign-in
//! session, on logout, deactivation, password change and "sign out
//! everywhere"; revoking it makes every refresh token in it useless.

use crate::core::write::Write;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use crate::entities::token_family;

/// Revoke one family (if still live).
pub async fn revoke_family(tx: &Write, family_id: &str, reason: &str) -> Result<(), DbErr> {
    token_family::Entity::update_many()
        .col_expr(token_family::Column::RevokedAt, Expr::value(tx.now))
        .col_expr(token_family::Column::RevokedReason, Expr::value(reason))
        .filter(token_family::Column::Id.eq(family_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    Ok(())
}

/// Revoke the live families minted from one sign-in session.
pub async fn revoke_families_of_session(
    tx: &Write,
    signin_session_id: &str,
    reason: &str,
) -> Result<u64, DbErr> {
    let result = token_family::Entity::update_many()
        .col_expr(token_family::Column::RevokedAt, Expr::value(tx.now))
        .col_expr(token_family::Column::RevokedReason, Expr::value(reason))
        .filter(token_family::Column::SigninSessionId.eq(signin_session_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    Ok(result.rows_affected)
}

/// Revoke every live family of a user.
pub async fn revoke_families_of_user(
    tx: &Write,
    user_id: &str,
    reason: &str,
) -> Result<u64, DbErr> {
    let result = token_family::Entity::update_many()
        .col_expr(token_family::Column::RevokedAt, Expr::value(tx.now))
        .col_expr(token_family::Column::RevokedReason, Expr::value(reason))
        .filter(token_family::Column::UserId.eq(user_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    Ok(result.rows_affected)
}
