//! The integration suite, linked into one test binary: each linked test
//! binary of this crate weighs over a gigabyte and takes a minute to link,
//! so one binary keeps the build fast and the disk free. Shared helpers
//! live in `tests/common/`.
//!
//! Run one area with a filter, e.g. `cargo test --features ssr --test
//! integration security::`.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod cli;
mod console;
mod crash;
mod edges;
mod enumeration;
mod layers;
mod load;
mod mail;
mod mail_console;
mod master_key;
mod migrations;
mod oidc;
mod operations;
mod orgs;
mod passkeys;
mod password_queue;
mod scale_out;
mod security;
mod server;
mod signin;
mod upstream;
