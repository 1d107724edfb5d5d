//! What a token says of the organization it speaks for: `org_id`,
//! `org_slug`, `org_roles` (and `teams` under that scope). Read from the
//! membership as it is when the token is minted (code exchange and every
//! refresh), so a removal, a role change or a deletion shows at the next
//! refresh; an organization role whose factor policy the session does not
//! meet stays out of the token, as an app role does.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::members::roles_of;
use super::roles::{self as org_roles, OrgRole};
use super::teams;
use crate::core::policy;
use crate::core::sessions::FactorTimes;
use crate::entities::{membership, organization};
use crate::types::AppId;

/// The organization claims of one token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrgClaims {
    pub org_id: String,
    pub org_slug: String,
    pub org_roles: Vec<String>,
    /// Under the `teams` scope only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
}

/// A user's place in an organization, as a token sees it.
#[derive(Debug, Clone)]
pub struct Standing {
    pub org: organization::Model,
    pub roles: Vec<OrgRole>,
    pub teams: Option<Vec<String>>,
}

/// The user's standing in `org_id` of `app_id`, with their teams when
/// `with_teams`; `None` when they are not (or no longer) a member, or the
/// organization is gone.
pub async fn standing<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    org_id: &str,
    user_id: &str,
    with_teams: bool,
) -> Result<Option<Standing>, DbErr> {
    let Some((membership, Some(org))) =
        membership::Entity::find_by_id((org_id.to_owned(), user_id.to_owned()))
            .find_also_related(organization::Entity)
            .one(db)
            .await?
    else {
        return Ok(None);
    };
    let teams = match with_teams {
        true => Some(teams::names_for(db, org_id, user_id).await?),
        false => None,
    };
    standing_of(db, app_id, membership, org, teams).await
}

/// The standing that `membership` of `org` (read already, as the refresh
/// read brings them) gives, with `teams` when asked: only the policies of
/// custom organization roles are read here.
pub async fn standing_of<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    membership: membership::Model,
    org: organization::Model,
    teams: Option<Vec<String>>,
) -> Result<Option<Standing>, DbErr> {
    if &org.app_id != app_id || membership.organization_id != org.id {
        return Ok(None);
    }
    let roles = org_roles::policies(db, app_id, &roles_of(&membership)).await?;
    Ok(Some(Standing { org, roles, teams }))
}

impl Standing {
    /// The roles whose policy the session does not meet: the authorization
    /// endpoint steps the user up before issuing a code for them.
    pub fn unmet(&self, factors: &FactorTimes, now: DateTime<Utc>) -> Vec<&OrgRole> {
        self.roles
            .iter()
            .filter(|r| !policy::policy_satisfied(&r.policy, factors, now))
            .collect()
    }

    /// The claims, with only the roles whose policy the session meets.
    pub fn claims(&self, factors: &FactorTimes, now: DateTime<Utc>) -> OrgClaims {
        let mut org_roles: Vec<String> = self
            .roles
            .iter()
            .filter(|r| policy::policy_satisfied(&r.policy, factors, now))
            .map(|r| r.name.clone())
            .collect();
        org_roles.sort();
        OrgClaims {
            org_id: self.org.id.clone(),
            org_slug: self.org.slug.clone(),
            org_roles,
            teams: self.teams.clone(),
        }
    }
}

/// The organization a request names, by slug or by id, if the user is a
/// member of it.
pub async fn named_membership<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    user_id: &str,
    named: &str,
) -> Result<Option<organization::Model>, DbErr> {
    Ok(super::members::of_user(db, user_id)
        .await?
        .into_iter()
        .map(|(org, _)| org)
        .find(|org| &org.app_id == app_id && (org.slug == named || org.id == named)))
}

/// Every membership of the user, for the `organizations` scope at
/// userinfo: each organization's id, slug and name, and the roles the
/// session's factors meet (as a token would carry them).
pub async fn all_memberships<C: ConnectionTrait>(
    db: &C,
    app_id: &AppId,
    user_id: &str,
    factors: &FactorTimes,
    now: DateTime<Utc>,
) -> Result<Vec<serde_json::Value>, DbErr> {
    let mut out = Vec::new();
    for (org, membership) in super::members::of_user(db, user_id).await? {
        if &org.app_id != app_id {
            continue;
        }
        let roles = org_roles::policies(db, app_id, &roles_of(&membership)).await?;
        let standing = Standing {
            org,
            roles,
            teams: None,
        };
        let claims = standing.claims(factors, now);
        out.push(serde_json::json!({
            "org_id": claims.org_id,
            "org_slug": claims.org_slug,
            "org_name": standing.org.name,
            "org_roles": claims.org_roles,
        }));
    }
    Ok(out)
}
