//! An app's upstream sign-in providers, as operators manage them in the
//! console: configuring one is configuring how the app's users sign in, so
//! it follows `can_configure` (the console's own providers are the owners'
//! alone), and a claim-to-role rule may only name roles the operator could
//! grant by hand ("an operator cannot grant a role they do not hold").

use super::{
    AdminError, act_on_user, change, configurable_app, done, readable_app, refused, writable_app,
};
use crate::core::audit::Target;
use crate::core::console::Operator;
use crate::core::db::Db;
use crate::core::upstream::accounts;
use crate::core::upstream::providers::{self, ProviderError, ProviderInput};
use crate::entities::{external_identity, identity_provider};
use crate::types::AppId;

fn provider_error(err: ProviderError) -> AdminError {
    match err {
        ProviderError::Invalid { field, message } => AdminError::Invalid { field, message },
        ProviderError::Taken(_) => AdminError::Invalid {
            field: "slug",
            message: err.to_string(),
        },
        ProviderError::NotFound(_) => AdminError::NotFound(err.to_string()),
        ProviderError::Fault(fault) => AdminError::Fault(fault),
    }
}

pub async fn list(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
) -> Result<Vec<identity_provider::Model>, AdminError> {
    readable_app(db, operator, app_id, "provider.list").await?;
    Ok(providers::list(db, app_id).await?)
}

/// Refuse rules that would grant a role the operator may not grant.
async fn check_rules(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    attempted: &str,
    target: Option<Target>,
    input: &ProviderInput,
) -> Result<(), AdminError> {
    for rule in input.role_mappings.iter().flatten() {
        if !operator.may_assign(app_id, &rule.role) {
            return Err(refused(
                db,
                operator,
                app_id,
                attempted,
                target,
                &format!(
                    "A rule may only grant roles you could grant yourself; \"{}\" is above your own access.",
                    rule.role
                ),
            )
            .await);
        }
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &str,
    input: ProviderInput,
) -> Result<identity_provider::Model, AdminError> {
    let target = Some(Target::provider(slug));
    configurable_app(db, operator, app_id, "provider.create", target.clone()).await?;
    check_rules(
        db,
        operator,
        app_id,
        "provider.create",
        target.clone(),
        &input,
    )
    .await?;
    change(
        db,
        operator,
        app_id,
        "provider.create",
        target,
        async |tx| {
            done(
                providers::create(tx, app_id, slug, input)
                    .await
                    .map_err(provider_error)?,
            )
        },
    )
    .await
}

pub async fn update(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &str,
    input: ProviderInput,
) -> Result<identity_provider::Model, AdminError> {
    let target = Some(Target::provider(slug));
    configurable_app(db, operator, app_id, "provider.update", target.clone()).await?;
    check_rules(
        db,
        operator,
        app_id,
        "provider.update",
        target.clone(),
        &input,
    )
    .await?;
    change(
        db,
        operator,
        app_id,
        "provider.update",
        target,
        async |tx| {
            done(
                providers::update(tx, app_id, slug, input)
                    .await
                    .map_err(provider_error)?,
            )
        },
    )
    .await
}

pub async fn delete(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    slug: &str,
) -> Result<(), AdminError> {
    let target = Some(Target::provider(slug));
    configurable_app(db, operator, app_id, "provider.delete", target.clone()).await?;
    change(
        db,
        operator,
        app_id,
        "provider.delete",
        target,
        async |tx| {
            done(
                providers::delete(tx, app_id, slug)
                    .await
                    .map_err(provider_error)?,
            )
        },
    )
    .await
}

/// The upstream identities linked to a user.
pub async fn linked(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
) -> Result<Vec<(external_identity::Model, identity_provider::Model)>, AdminError> {
    readable_app(db, operator, app_id, "user.read").await?;
    let links = accounts::linked(db, user_id).await?;
    Ok(links
        .into_iter()
        .filter(|(link, _)| link.app_id == *app_id)
        .collect())
}

/// Unlink one of a user's upstream identities, by an operator at the
/// user's level or above (never the user's last way in).
pub async fn unlink(
    db: &Db,
    operator: &Operator,
    app_id: &AppId,
    user_id: &str,
    link_id: &str,
) -> Result<(), AdminError> {
    let app = writable_app(
        db,
        operator,
        app_id,
        "upstream.unlink",
        Some(Target::user(user_id)),
    )
    .await?;
    act_on_user(
        db,
        operator,
        app_id,
        user_id,
        "upstream.unlink",
        async |tx, user| match accounts::unlink(tx, &app, &user, link_id).await? {
            Ok(()) => done(()),
            Err(refusal) => Ok(Err(refusal.to_string())),
        },
    )
    .await
}
