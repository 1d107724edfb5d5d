//! End-user pages of one app: `/a/{app_id}/...`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::hosted::{HostedApp, load_hosted_app};
use crate::ui::components::{HostedFrame, Notice};
use crate::ui::not_found::NotFound;

pub mod account;
pub mod choose_org;
pub mod invite;
pub mod login;
pub mod logout;
pub mod orgs;
pub mod recover;
pub mod register;
pub mod verify;

/// Load the app of `/a/{app_id}/...` and render `content` in its frame, or
/// the 404 page when there is no such app.
#[component]
pub fn HostedPage(
    /// The page title from the app's name.
    title: fn(&str) -> String,
    content: fn(HostedApp) -> AnyView,
    #[prop(default = false)] wide: bool,
) -> impl IntoView {
    let params = use_params_map();
    let app_id = move || params.read().get("app_id").unwrap_or_default();
    let app = Resource::new(app_id, load_hosted_app);
    // Read the resource synchronously (not in an async block): components
    // built here keep the reactive owner, and with it the server context
    // their own resources need.
    view! {
        <Suspense>
            {move || {
                app.get()
                    .map(|loaded| match loaded {
                        Ok(Some(app)) => {
                            view! {
                                <Title text=title(&app.name) />
                                <HostedFrame app=app.clone() wide>{content(app)}</HostedFrame>
                            }
                                .into_any()
                        }
                        Ok(None) => {
                            view! {
                                <NotFound message=format!(
                                    "There is no app called \"{}\".",
                                    app_id(),
                                ) />
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <div class="mx-auto max-w-md px-4 py-16">
                                    <Notice tone="error">{err.to_string()}</Notice>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// A query parameter of the current URL, decoded once. (leptos_router's
/// query map decodes values a second time, which corrupts a `return_to`
/// that carries an encoded URL of its own.)
pub fn query_param(name: &'static str) -> Signal<Option<String>> {
    let location = use_location();
    Signal::derive(move || {
        let search = location.search.get();
        form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    })
}

/// Leave the single-page app and load `path` (after sign-in the next page
/// may be a protocol endpoint, not a page of ours).
pub fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Whether the page has hydrated (JavaScript runs): passkey buttons only
/// appear then, since without JavaScript they could do nothing.
pub fn use_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}

/// A small link under a card.
#[component]
pub fn CardLink(#[prop(into)] href: String, children: Children) -> impl IntoView {
    view! {
        <a href=href class="font-medium text-[var(--brand)] hover:underline">
            {children()}
        </a>
    }
}

/// "or" between two ways of doing the same thing.
#[component]
pub fn Divider() -> impl IntoView {
    view! {
        <div class="relative my-6">
            <div class="absolute inset-0 flex items-center" aria-hidden="true">
                <div class="w-full border-t border-slate-200"></div>
            </div>
            <div class="relative flex justify-center text-xs uppercase tracking-wide">
                <span class="bg-white px-3 text-slate-400">"or"</span>
            </div>
        </div>
    }
}

/// The passkey icon.
#[component]
pub fn PasskeyIcon() -> impl IntoView {
    view! {
        <svg class="h-5 w-5" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" aria-hidden="true">
            <circle cx="9" cy="7.5" r="3.5" />
            <path d="M3 20c0-3.3 2.7-6 6-6 1.3 0 2.5.4 3.5 1.1" stroke-linecap="round" />
            <circle cx="17.5" cy="13.5" r="2.5" />
            <path d="M17.5 16v5m0-2h2" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
    }
}
