//! sea-orm entities, one file per table (see migration/src for the schema).
//! Relations are queried explicitly by column; composite same-app keys live
//! in the database, not here.

pub mod app;
pub mod oauth_client;
pub mod app_user;
pub mod password_credential;
pub mod passkey;
pub mod totp_secret;
pub mod recovery_code;
pub mod action_token;
pub mod role;
pub mod role_assignment;
pub mod organization;
pub mod membership;
pub mod invitation;
pub mod team;
pub mod team_member;
pub mod identity_provider;
pub mod external_identity;
pub mod browser_session;
pub mod signin_session;
pub mod authorization_code;
pub mod token_family;
pub mod refresh_token;
pub mod signing_key;
pub mod audit_event;
pub mod audit_chain_head;
pub mod email_outbox;
pub mod auth_throttle;
