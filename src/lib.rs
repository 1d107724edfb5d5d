//! 1Auth: an authentication platform where every application is its own
//! security boundary.
//!
//! Layout: `core/` is the domain (no Leptos, no axum), `entities/` the
//! sea-orm tables, `types.rs` the parsed values both of them use, `http/` the protocol routes, `api/` the server functions
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
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod telemetry;
#[cfg(feature = "ssr")]
pub mod types;

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
        let early_clicks = BrowserFollowsLinks::install(&document);
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        early_clicks.remove();
        // Only now is every part of the page live, chunks included: this
        // attribute says so (the browser tests wait for it).
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// While the page hydrates, link clicks are kept from the router and left
/// to the browser. The router listens from the moment the main WASM runs,
/// but a page whose chunk is still on its way would hydrate from the HTML
/// of the old URL and never show what the link pointed to (an audit event
/// clicked early stayed closed). A full page load is slower but right.
#[cfg(feature = "hydrate")]
struct BrowserFollowsLinks {
    document: leptos::web_sys::Document,
    listener: wasm_bindgen::closure::Closure<dyn FnMut(leptos::web_sys::Event)>,
}

#[cfg(feature = "hydrate")]
impl BrowserFollowsLinks {
    fn install(document: &leptos::web_sys::Document) -> Self {
        use wasm_bindgen::JsCast;
        let listener =
            wasm_bindgen::closure::Closure::<dyn FnMut(_)>::new(|event: leptos::web_sys::Event| {
                let on_link = event
                    .target()
                    .and_then(|target| target.dyn_into::<leptos::web_sys::Element>().ok())
                    .and_then(|element| element.closest("a[href]").ok().flatten())
                    .is_some();
                if on_link {
                    // Capture phase on the document: the router's listener
                    // (bubbling, on the window) never sees this click.
                    event.stop_propagation();
                }
            });
        let _ = document.add_event_listener_with_callback_and_bool(
            "click",
            listener.as_ref().unchecked_ref(),
            true,
        );
        Self {
            document: document.clone(),
            listener,
        }
    }

    fn remove(self) {
        use wasm_bindgen::JsCast;
        let _ = self.document.remove_event_listener_with_callback_and_bool(
            "click",
            self.listener.as_ref().unchecked_ref(),
            true,
        );
    }
}
