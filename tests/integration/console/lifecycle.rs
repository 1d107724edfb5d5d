//! A user's life as operators run it: search, passkeys, deactivation, sign
//! out everywhere, recovery links, deletion.

use crate::common;

use common::console::*;
use common::{PASSWORD, TestApp, add_user, browser};
use oneauth::api::console::users::*;
use oneauth::api::hosted::{
    FinishPasskeyAssertion, RedeemRecoveryLink, SignInWithPassword, StartPasskeyAssertion,
};
use oneauth::entities::token_family;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

/// The demo app with the console's owner and Ada, who signed in with her
/// password and holds a refresh token.
struct Demo {
    app: TestApp,
    owner: Op,
    created: Value,
    ada: String,
    ada_browser: reqwest::Client,
    refresh: String,
}

async fn demo_with_ada() -> Demo {
    let (app, owner) = with_owner().await;
    let created = app.create_app("demo", "Demo");
    add_user(&app, "demo", "ada@example.com");
    let ada = user_id(&app, "demo", "ada@example.com").await;
    let ada_browser = browser();
    common::sign_in(&app, &ada_browser, "demo", "ada@example.com", PASSWORD).await;
    let client = common::oauth::Client::from_created(&app, &created);
    let tokens = client.tokens(&ada_browser, &[]).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    Demo {
        app,
        owner,
        created,
        ada,
        ada_browser,
        refresh,
    }
}

impl Demo {
    /// `user{i}@example.com` for each `i`, created by the owner.
    async fn add_users(&self, count: usize) {
        for i in 0..count {
            self.owner
                .call(
                    &self.app,
                    ConsoleCreateUser {
                        app_id: "demo".into(),
                        email: format!("user{i}@example.com"),
                        roles: None,
                        invite: None,
                    },
                )
                .await
                .unwrap();
        }
    }

    /// The console's user page of `user_id`, as the owner sees it.
    async fn detail(&self, user_id: &str) -> Value {
        self.owner
            .call(
                &self.app,
                ConsoleUser {
                    app_id: "demo".into(),
                    user_id: user_id.to_owned(),
                },
            )
            .await
            .unwrap()
    }

    /// user1, invited afresh by the owner (the first invitation was lost),
    /// who set up a passkey with it: their id, their browser and device, and
    /// the passkey's id.
    async fn user_with_a_passkey(&self) -> (String, Op, String) {
        self.add_users(2).await;
        let user1 = user_id(&self.app, "demo", "user1@example.com").await;
        let link = self
            .owner
            .call(
                &self.app,
                ConsoleInviteUser {
                    app_id: "demo".into(),
                    user_id: user1.clone(),
                },
            )
            .await
            .unwrap();
        let op = accept_invitation(&self.app, link.as_str().unwrap()).await;
        let passkey_id = self.detail(&user1).await["passkeys"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (user1, op, passkey_id)
    }

    async fn set_active(&self, user_id: &str, active: bool) {
        self.owner
            .call(
                &self.app,
                ConsoleSetUserActive {
                    app_id: "demo".into(),
                    user_id: user_id.to_owned(),
                    active,
                    confirmation: None,
                },
            )
            .await
            .unwrap();
    }

    async fn assert_recorded(&self, actions: &[&str]) {
        assert_recorded(&self.app, "demo", Some("operator"), actions).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_search_users_and_see_their_sessions_and_history() {
    let demo = demo_with_ada().await;
    demo.add_users(3).await;
    let page = demo
        .owner
        .call(
            &demo.app,
            ConsoleUsers {
                app_id: "demo".into(),
                query: Some("user1".into()),
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 4);
    let detail = demo.detail(&demo.ada).await;
    assert_eq!(detail["has_password"], true);
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 1);
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "signin.succeeded")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_removed_by_an_operator_signs_nobody_in() {
    let demo = demo_with_ada().await;
    let (user1, mut user1_op, passkey_id) = demo.user_with_a_passkey().await;
    // A lost device: the operator removes the passkey.
    demo.owner
        .call(
            &demo.app,
            ConsoleRemoveUserPasskey {
                app_id: "demo".into(),
                user_id: user1.clone(),
                passkey_id: passkey_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(demo.detail(&user1).await["passkeys"], json!([]));
    // The device no longer signs anyone in.
    let stranger = browser();
    let options = demo
        .app
        .call_json(
            &stranger,
            StartPasskeyAssertion {
                app_id: "demo".into(),
            },
        )
        .await
        .unwrap();
    let assertion = user1_op
        .device
        .get(&demo.app.address, options.as_str().unwrap());
    let error = demo
        .app
        .call_json(
            &stranger,
            FinishPasskeyAssertion {
                app_id: "demo".into(),
                credential: assertion,
                return_to: None,
            },
        )
        .await
        .unwrap_err();
    assert!(error["Refused"].is_string(), "{error}");
    demo.assert_recorded(&["invitation.issued", "passkey.removed"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_of_another_user_is_not_found_and_nothing_is_removed() {
    let demo = demo_with_ada().await;
    let (user1, _, passkey_id) = demo.user_with_a_passkey().await;
    let error = demo
        .owner
        .call(
            &demo.app,
            ConsoleRemoveUserPasskey {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
                passkey_id,
            },
        )
        .await
        .unwrap_err();
    assert!(error["NotFound"].is_string(), "{error}");
    assert_eq!(
        demo.detail(&user1).await["passkeys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivation_ends_sessions_and_refresh_tokens_at_once() {
    let demo = demo_with_ada().await;
    demo.set_active(&demo.ada, false).await;
    let client = common::oauth::Client::from_created(&demo.app, &demo.created);
    assert_eq!(client.refresh(&demo.refresh).await.0, 400);
    assert!(
        token_family::Entity::find()
            .all(&demo.app.db)
            .await
            .unwrap()
            .iter()
            .all(|f| f.revoked_at.is_some())
    );
    assert_eq!(demo.detail(&demo.ada).await["sessions"], json!([]));
    // The right password no longer signs her in, and says no more than a
    // wrong one.
    let error = demo
        .app
        .call_json(
            &browser(),
            SignInWithPassword {
                app_id: "demo".into(),
                email: "ada@example.com".into(),
                password: PASSWORD.into(),
                return_to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        error["Refused"],
        "The e-mail address or the credentials are not right."
    );
    demo.assert_recorded(&["user.deactivated"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reactivated_user_signs_in_again() {
    let demo = demo_with_ada().await;
    demo.set_active(&demo.ada, false).await;
    demo.set_active(&demo.ada, true).await;
    common::sign_in(&demo.app, &browser(), "demo", "ada@example.com", PASSWORD).await;
    demo.assert_recorded(&["user.deactivated", "user.reactivated"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_a_user_out_everywhere_ends_every_session() {
    let demo = demo_with_ada().await;
    common::sign_in(&demo.app, &browser(), "demo", "ada@example.com", PASSWORD).await;
    let ended = demo
        .owner
        .call(
            &demo.app,
            ConsoleSignOutUser {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert_eq!(demo.detail(&demo.ada).await["sessions"], json!([]));
    let account = demo.app.account(&demo.ada_browser, "demo").await;
    assert!(account.is_err(), "signed out: {account:?}");
    demo.assert_recorded(&["user.signed_out_everywhere"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_link_signs_in_once_and_asks_for_a_new_factor() {
    let demo = demo_with_ada().await;
    let link = demo
        .owner
        .call(
            &demo.app,
            ConsoleRecoveryLink {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
            },
        )
        .await
        .unwrap();
    let token = oneauth_param(link.as_str().unwrap(), "token");
    let recovered = browser();
    let redeem = || RedeemRecoveryLink {
        app_id: "demo".into(),
        token: token.clone(),
    };
    let target = demo.app.call_json(&recovered, redeem()).await.unwrap();
    assert_eq!(target, "/a/demo/account");
    let view = demo.app.account(&recovered, "demo").await.unwrap();
    assert_eq!(view["requires_enrolment"], true);
    assert!(
        demo.app.call_json(&browser(), redeem()).await.is_err(),
        "one use"
    );
    demo.assert_recorded(&["recovery_link.issued"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_user_leaves_the_app() {
    let demo = demo_with_ada().await;
    demo.add_users(3).await;
    demo.owner
        .call(
            &demo.app,
            ConsoleDeleteUser {
                app_id: "demo".into(),
                user_id: demo.ada.clone(),
                confirmation: None,
            },
        )
        .await
        .unwrap();
    let page = demo
        .owner
        .call(
            &demo.app,
            ConsoleUsers {
                app_id: "demo".into(),
                query: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    let client = common::oauth::Client::from_created(&demo.app, &demo.created);
    assert_eq!(client.refresh(&demo.refresh).await.0, 400);
    demo.assert_recorded(&["user.deleted"]).await;
}

fn oneauth_param(url: &str, name: &str) -> String {
    common::oauth::param(url, name).unwrap()
}
