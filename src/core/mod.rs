//! The domain: everything 1Auth knows and enforces, free of Leptos and axum.
//!
//! Functions here take a connection or a transaction (never global state), so
//! that one request's writes and their audit events commit together.

pub mod apps;
pub mod audit;
pub mod clients;
pub mod clock;
pub mod db;
pub mod passwords;
pub mod roles;
pub mod secrets;
pub mod types;
pub mod users;
