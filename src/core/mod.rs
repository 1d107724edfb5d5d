//! The domain: everything 1Auth knows and enforces, free of Leptos and axum.
//!
//! Functions here take a connection or a transaction, so that one request's
//! writes and their audit events commit together. The one process-wide
//! value is the audit chain's key (`audit::install_chain_key`), derived from
//! the master key at start like the master key itself.

pub mod account;
pub mod admin;
pub mod apps;
pub mod audit;
pub mod cache;
pub mod clients;
pub mod clock;
pub mod console;
pub mod db;
pub mod devices;
pub mod links;
pub mod mail;
pub mod oidc;
pub mod passkeys;
pub mod passwords;
pub mod policy;
pub mod recovery_codes;
pub mod registration;
pub mod roles;
pub mod secrets;
pub mod sessions;
pub mod signin;
pub mod throttle;
pub mod token_families;
pub mod users;
pub mod vault;
pub mod write;
