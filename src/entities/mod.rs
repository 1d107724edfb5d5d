//! sea-orm entities, one file per table (see migration/src for the schema).
//! Relations are queried explicitly by column; composite same-app keys live
//! in the database, not here.

pub mod action_token;
pub mod app;
pub mod app_user;
pub mod audit_chain_head;
pub mod audit_event;
pub mod auth_throttle;
pub mod authorization_code;
pub mod browser_session;
pub mod email_outbox;
pub mod external_identity;
pub mod identity_provider;
pub mod invitation;
pub mod key_check;
pub mod membership;
pub mod oauth_client;
pub mod org_domain;
pub mod org_role;
pub mod organization;
pub mod passkey;
pub mod password_credential;
pub mod recovery_code;
pub mod refresh_token;
pub mod role;
pub mod role_assignment;
pub mod signin_session;
pub mod signing_key;
pub mod spent_ceremony;
pub mod team;
pub mod team_member;
pub mod token_family;
pub mod totp_secret;
