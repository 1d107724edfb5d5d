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

/// Browser entry point: attach to the server-rendered HTML. Lazily: the
/// console and account pages are WASM chunks fetched when shown, and their
/// part of the page hydrates once its chunk has arrived.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let document = leptos::prelude::document();
        let Some(body) = document.body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // Only now is every part of the page live, chunks included: this
        // attribute says so (the browser tests wait for it).
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
