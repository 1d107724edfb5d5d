//! The 404 page, with the right status code on the server.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::ui::components::Logo;

#[component]
pub fn NotFound(
    /// What was not found, as a sentence; a generic one when absent.
    #[prop(optional, into)]
    message: Option<String>,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let message = message.unwrap_or_else(|| "There is nothing at this address.".to_owned());
    view! {
        <Title text="Not found" />
        <div class="flex min-h-screen flex-col items-center justify-center px-6 text-center">
            <Logo class="h-10 w-10 text-slate-300" />
            <p class="mt-6 text-sm font-semibold uppercase tracking-widest text-slate-400">"404"</p>
            <h1 class="mt-2 text-2xl font-semibold tracking-tight text-slate-900">"Not found"</h1>
            <p class="mt-3 max-w-md text-slate-600" data-testid="not-found-message">{message}</p>
            <a href="/" class="mt-8 text-sm font-medium text-indigo-600 hover:text-indigo-500">
                "Go to the 1Auth home page"
            </a>
        </div>
    }
}
