//! 1Auth: an authentication platform where every application is its own
//! security boundary.
//!
//! Layout: `core/` is the domain (no Leptos, no axum), `entities/` the
//! sea-orm tables, `http/` the protocol routes, `api/` the server functions
//! the pages call, `ui/` the pages and components, `app.rs` the router.

pub mod api;
pub mod app;
pub mod return_to;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod core;
#[cfg(feature = "ssr")]
pub mod entities;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point: attach to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy: the console and account pages are WASM chunks fetched when shown.
    leptos::mount::hydrate_lazy(app::App);
}
