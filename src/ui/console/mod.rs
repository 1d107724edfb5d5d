//! The operator console, `/console/...`: a shell with navigation that sends
//! anyone not signed in (or not with a passkey) to the console's own
//! sign-in page, and the pages for apps, clients, users, roles and the
//! audit log.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::ApiError;
use crate::api::console::console_me;
use crate::ui::components::{Logo, Notice};

pub mod app;
pub mod apps;
pub mod audit;
pub mod clients;
pub mod orgs;
pub mod outbox;
pub mod providers;
pub mod roles;
pub mod user;
pub mod users;

/// Bumped after a change on a page, so its data reloads.
#[derive(Clone, Copy)]
pub struct Reload(pub RwSignal<u32>);

impl Reload {
    pub fn new() -> Self {
        Self(RwSignal::new(0))
    }

    pub fn bump(self) {
        self.0.update(|n| *n += 1);
    }

    pub fn track(self) -> u32 {
        self.0.get()
    }
}

impl Default for Reload {
    fn default() -> Self {
        Self::new()
    }
}

/// The `:app_id` of the current route.
pub fn use_app_id() -> Signal<String> {
    let params = use_params_map();
    Signal::derive(move || params.read().get("app_id").unwrap_or_default())
}

/// The path and query of the current page, to come back to after signing in.
fn current_page() -> String {
    let location = use_location();
    let path = location.pathname.get_untracked();
    // leptos_router gives the query without its leading "?".
    let search = location.search.get_untracked();
    match search.trim_start_matches('?') {
        "" => path,
        query => format!("{path}?{query}"),
    }
}

/// `path` with `params` as its query, and no "?" when there are none (list
/// pages link to themselves with filters and a page cursor).
pub(super) fn page_link<'a>(
    path: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(params);
    match query.finish() {
        query if query.is_empty() => path.to_owned(),
        query => format!("{path}?{query}"),
    }
}

fn console_login(params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    query.append_pair("return_to", &current_page());
    format!("/a/console/login?{}", query.finish())
}

fn login_redirect(passkey: bool) -> String {
    console_login(if passkey { &[("passkey", "1")] } else { &[] })
}

/// Where an operator confirms it's them (a fresh passkey sign-in: changes
/// to one's own access need the strongest factor) and comes back here.
pub fn reauth_link() -> String {
    console_login(&[("reauth", "passkey")])
}

/// The console's frame: navigation, who is signed in, and the page.
#[component]
pub fn ConsoleShell() -> impl IntoView {
    let me = Resource::new(|| (), |_| console_me());
    let nav = "block whitespace-nowrap rounded-md px-3 py-2 text-sm font-medium text-slate-300 hover:bg-white/5 hover:text-white aria-[current=page]:bg-white/10 aria-[current=page]:text-white";
    view! {
        <div class="min-h-screen bg-slate-50 lg:flex">
            <aside class="bg-slate-900 text-slate-300 lg:fixed lg:inset-y-0 lg:flex lg:w-60 lg:flex-col">
                <div class="flex flex-col gap-3 px-4 py-4 sm:flex-row sm:items-center sm:justify-between lg:flex-col lg:items-stretch lg:py-6">
                    <a href="/console" class="flex items-center gap-2 whitespace-nowrap text-base font-semibold text-white">
                        <Logo class="h-6 w-6 text-indigo-400" />
                        "1Auth Console"
                    </a>
                    <nav class="-mx-1 flex gap-1 overflow-x-auto lg:mx-0 lg:mt-6 lg:flex-col" aria-label="Console">
                        <A href="/console" attr:class=nav exact=true>"Apps"</A>
                        <A href="/console/audit" attr:class=nav>"Audit log"</A>
                        <A href="/console/apps/console/users" attr:class=nav>"Operators"</A>
                        <a href="/a/console/logout" class=format!("{nav} lg:hidden")>"Sign out"</a>
                    </nav>
                </div>
                <div class="hidden border-t border-white/10 px-4 py-4 text-xs lg:mt-auto lg:block">
                    <Suspense>
                        {move || me.get().and_then(Result::ok).map(|me| view! {
                            <p class="truncate font-medium text-white" data-testid="operator-email">{me.email}</p>
                            <p class="mt-0.5 text-slate-400">{me.access}</p>
                        })}
                    </Suspense>
                    <a href="/a/console/logout" class="mt-3 inline-block text-slate-400 hover:text-white">"Sign out"</a>
                </div>
            </aside>
            <main class="flex-1 lg:pl-60">
                <div class="mx-auto max-w-6xl px-4 py-6 sm:px-8 sm:py-8">
                    <Suspense>
                        {move || me.get().map(|result| match result {
                            Err(ApiError::SignInRequired) => view! { <Redirect path=login_redirect(false) /> }.into_any(),
                            Err(ApiError::ReauthRequired(_)) => view! { <Redirect path=login_redirect(true) /> }.into_any(),
                            Err(err) => view! { <div class="mb-6"><Notice tone="error">{err.to_string()}</Notice></div> }.into_any(),
                            Ok(_) => ().into_any(),
                        })}
                    </Suspense>
                    <Outlet />
                </div>
            </main>
        </div>
    }
}

/// Tabs of one app's pages.
#[component]
pub fn AppTabs(#[prop(into)] app_id: Signal<String>) -> impl IntoView {
    let tab = "whitespace-nowrap border-b-2 border-transparent px-1 pb-3 text-sm font-medium text-slate-500 hover:border-slate-300 hover:text-slate-700 aria-[current=page]:border-indigo-600 aria-[current=page]:text-indigo-700";
    let link =
        move |suffix: &'static str| move || format!("/console/apps/{}{suffix}", app_id.get());
    view! {
        <nav class="-mt-2 mb-6 flex gap-6 overflow-x-auto border-b border-slate-200" aria-label="App">
            <A href=link("") attr:class=tab exact=true>"Settings"</A>
            <A href=link("/clients") attr:class=tab>"Clients"</A>
            <A href=link("/users") attr:class=tab>"Users"</A>
            <A href=link("/roles") attr:class=tab>"Roles"</A>
            <A href=link("/orgs") attr:class=tab>"Organizations"</A>
            <A href=link("/providers") attr:class=tab>"Sign-in providers"</A>
            <A href=link("/outbox") attr:class=tab>"E-mail"</A>
            <A href=link("/audit") attr:class=tab>"Audit"</A>
        </nav>
    }
}

/// An error from a page's data, in place of the page.
#[component]
pub fn LoadError(error: ApiError) -> impl IntoView {
    view! { <Notice tone="error">{error.to_string()}</Notice> }
}

/// A refusal of a console action (not a single field's error), with a
/// way to confirm it's them when the refusal asks for a fresh sign-in.
#[component]
pub fn RefusalNotice(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().filter(|e| !e.is_field_error()).map(|e| {
            let needs_reauth = matches!(e, ApiError::ReauthRequired(_));
            view! {
                <div class="rounded-lg bg-red-50 px-4 py-3 text-sm text-red-800 ring-1 ring-red-200" role="alert" data-testid="form-error">
                    {e.to_string()}
                    {needs_reauth.then(|| view! {
                        " " <a href=reauth_link() class="font-semibold underline" data-testid="reauth-link">"Confirm it's you"</a>
                    })}
                </div>
            }
        })
    }
}

/// A value that appears once (a secret, a link) with a copy hint.
#[component]
pub fn ShownOnce(#[prop(into)] label: String, #[prop(into)] value: String) -> impl IntoView {
    view! {
        <div class="rounded-lg bg-amber-50 p-4 ring-1 ring-amber-200" data-testid="shown-once">
            <p class="text-sm font-medium text-amber-900">{label}</p>
            <p class="mt-2 break-all rounded bg-white px-3 py-2 font-mono text-sm text-slate-900 ring-1 ring-amber-200" data-testid="shown-once-value">
                {value}
            </p>
            <p class="mt-2 text-xs text-amber-800">"Copy it now: it will not be shown again."</p>
        </div>
    }
}
