//! The domain: everything 1Auth knows and enforces, free of Leptos and axum.
//!
//! Functions here take a connection or a transaction, so that one request's
//! writes and their audit events commit together. What a deployment has one
//! of (its public URL, the vault, the keys derived from the master key)
//! travels with the database handle (`deployment`); nothing process-wide
//! lives here but what the machine has one of (the argon2 threads).
//!
//! Read bottom to top, the modules fall into three bands:
//! - store: `clock`, `secrets`, `cache`, `vault`, `passwords`, `db`,
//!   `deployment`, `devices`, `write`, `audit`, `throttle`, `token_families`;
//! - identity: `sessions`, `mail`, `clients`, `recovery_codes`, `policy`,
//!   `roles`, `console`, `users`, `passkeys`, `signin`, `links`;
//! - use-cases: `registration`, `account`, `oidc`, `apps`, `admin`.

pub mod account;
pub mod admin;
pub mod apps;
pub mod audit;
pub mod backup;
pub mod cache;
pub mod ceremonies;
pub mod clients;
pub mod clock;
pub mod console;
pub mod db;
pub mod deployment;
pub mod devices;
pub mod fault;
pub mod links;
pub mod mail;
pub mod master_key;
pub mod measure;
pub mod oidc;
pub mod orgs;
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
pub mod upstream;
pub mod users;
pub mod vault;
pub mod write;
