//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use url::Url;

use super::minting;
use crate::core::clients::post_logout_redirect_uris;
use crate::core::db::Db;
use crate::core::sessions::{ActiveSignin, ClientInfo};
use crate::core::signin;
use crate::entities::{app, oauth_client};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Something is wrong with the request: say so, redirect nowhere.
    ErrorPage(String),
    /// Signed out (or nobody was): go here.
    Redirect(String),
    /// Without proof of which session the RP means, ask the user on the
    /// hosted sign-out page (a cross-site link must not sign anyone out).
    Confirm,
    /// The browser's sign-in was ended; the caller forgets it, then goes here.
    SignedOut(String),
}

/// Decide and, when the id_token_hint names the signed-in session's user,
/// end that session (and its token families).
pub async fn end_session(
    db: &Db,
    issuer: &str,
    app: &app::Model,
    params: EndSessionParams,
    current: Option<&ActiveSignin>,
    client_info: &ClientInfo,
) -> Result<LogoutOutcome, signin::SignInError> {
    let hint = match params.id_token_hint.as_deref() {
        // Only an ID token is a hint (an access token is not one, though
        // signed by the same keys).
        Some(token) => {
            match minting::verify(
                db,
                &app.id,
                issuer,
                token,
                Some(minting::ID_TOKEN_TYP),
                true,
            )
            .await
            {
                Ok(verified) => Some(verified),
                Err(_) => {
                    return Ok(LogoutOutcome::ErrorPage(
                        "The id_token_hint was not issued by this app.".into(),
                    ));
                }
            }
        }
        None => None,
    };
    let client_id = hint
        .as_ref()
        .and_then(|h| h.audience().into_iter().next())
        .or(params.client_id.clone());
    let signed_out_page = format!("/a/{}/login?signed_out=1", app.id);
    let target = match params.post_logout_redirect_uri.as_deref() {
        Some(uri) => {
            let Some(client_id) = client_id else {
                return Ok(LogoutOutcome::ErrorPage(
                    "post_logout_redirect_uri needs an id_token_hint or a client_id.".into(),
                ));
            };
            let client = oauth_client::Entity::find_by_id(client_id.as_str())
                .filter(oauth_client::Column::AppId.eq(app.id.as_str()))
                .filter(oauth_client::Column::DisabledAt.is_null())
                .one(db)
                .await?;
            let registered = client
                .as_ref()
                .map(post_logout_redirect_uris)
                .unwrap_or_default();
            if !registered.iter().any(|r| r == uri) {
                return Ok(LogoutOutcome::ErrorPage(
                    "The post_logout_redirect_uri is not registered for this client.".into(),
                ));
            }
            let mut url = Url::parse(uri).expect("registered URIs are valid URLs");
            if let Some(state) = &params.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            url.to_string()
        }
        None => signed_out_page,
    };
    let Some(current) = current else {
        return Ok(LogoutOutcome::Redirect(target));
    };
    let same_user = hint
        .as_ref()
        .is_some_and(|h| h.str("sub") == Some(current.user.id.as_str()));
    if !same_user {
        return Ok(LogoutOutcome::Confirm);
    }
    signin::sign_out(db, app, current, client_info).await?;
    Ok(LogoutOutcome::SignedOut(target))
}
