//! One-time recovery codes: ten per user, shown once, stored as SHA-256.
//!
//! A code is 16 Crockford base32 characters (80 random bits) shown as
//! XXXX-XXXX-XXXX-XXXX; with that much entropy a fast hash at rest is safe.

use crate::core::write::Write;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use serde_json::json;

use super::audit::{self, Action, AuditError, Event, Target};
use super::secrets;
use crate::entities::{app_user, recovery_code};

pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_code() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// What a user typed, in the canonical form that was hashed: upper case,
/// no separators, with Crockford's look-alikes folded (O→0, I/L→1).
fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

fn hash(code: &str) -> String {
    secrets::sha256_hex(&normalise(code))
}

/// Replace the user's codes with ten fresh ones, returned once; records
/// `recovery_codes.generated` (first time) or `recovery_codes.regenerated`.
pub async fn generate(tx: &Write, user: &app_user::Model) -> Result<Vec<String>, AuditError> {
    let replaced = delete(tx, &user.id, None).await?;
    let now = tx.now;
    let codes: Vec<String> = (0..COUNT).map(|_| new_code()).collect();
    for code in &codes {
        recovery_code::ActiveModel {
            id: Set(secrets::new_id()),
            app_id: Set(user.app_id.clone()),
            user_id: Set(user.id.clone()),
            code_hash: Set(hash(code)),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(tx)
        .await?;
    }
    let app_id = user.app_id.clone();
    audit::record(
        tx,
        Event {
            app_id: &app_id,
            actor: &tx.actor,
            action: if replaced > 0 {
                Action::RecoveryCodesRegenerated
            } else {
                Action::RecoveryCodesGenerated
            },
            target: Some(Target::user(user.id.as_str())),
            details: json!({ "count": COUNT }),
        },
    )
    .await?;
    Ok(codes)
}

/// Delete the user's codes (only those made before `made_before`, if
/// given); how many there were.
pub async fn delete(
    tx: &Write,
    user_id: &str,
    made_before: Option<DateTime<Utc>>,
) -> Result<u64, DbErr> {
    let mut codes =
        recovery_code::Entity::delete_many().filter(recovery_code::Column::UserId.eq(user_id));
    if let Some(before) = made_before {
        codes = codes.filter(recovery_code::Column::CreatedAt.lt(before));
    }
    Ok(codes.exec(tx).await?.rows_affected)
}

/// How many unused codes the user has left.
pub async fn remaining<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

/// Spend one of the user's unused codes; false when none matches. Every
/// unused code is compared in constant time.
pub async fn consume(tx: &Write, user_id: &str, typed: &str) -> Result<bool, DbErr> {
    let wanted = hash(typed);
    let unused = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .all(tx)
        .await?;
    let mut matched = None;
    for code in unused {
        if secrets::constant_time_eq(&code.code_hash, &wanted) {
            matched = Some(code);
        }
    }
    let Some(code) = matched else {
        return Ok(false);
    };
    // Only the first of two concurrent uses wins.
    let spent = recovery_code::Entity::update_many()
        .col_expr(
            recovery_code::Column::UsedAt,
            sea_orm::sea_query::Expr::value(tx.now),
        )
        .filter(recovery_code::Column::Id.eq(code.id.as_str()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(tx)
        .await?;
    Ok(spent.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_base32_with_80_bits() {
        let code = new_code();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert!(
            normalise(&code)
                .chars()
                .all(|c| ALPHABET.contains(&(c as u8)))
        );
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn typing_variations_hash_the_same() {
        assert_eq!(hash("ab0c-1d2e-FGHJ-KMNP"), hash("AB0C1D2EFGHJKMNP"));
        assert_eq!(hash("abOc 1d2e fghj kmnp"), hash("AB0C-1D2E-FGHJ-KMNP"));
        assert_eq!(hash("ABIL"), hash("AB11"));
    }
}
