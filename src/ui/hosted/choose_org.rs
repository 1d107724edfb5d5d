//! `/a/{app_id}/orgs/choose`: a user in several organizations picks the one
//! the application opens for; the authorization endpoint sends them here
//! (`?return_to=` is the request) and each choice is a plain link back to
//! it with `organization=`. Works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{HostedPage, query_param};
use crate::api::hosted::HostedApp;
use crate::api::hosted::orgs::{OrgChoice, org_choices};
use crate::ui::components::{Card, Notice};

/// The choices, loaded once per page beside the app (not inside the app's
/// branch, which may be rebuilt while it loads: a load begun there would
/// lose the request it runs for; see `verify.rs`).
#[derive(Clone, Copy)]
struct Choices(Resource<Result<Vec<OrgChoice>, crate::api::ApiError>>);

#[component]
pub fn ChooseOrgPage() -> impl IntoView {
    let params = use_params_map();
    let return_to = query_param("return_to");
    let choices = Resource::new(
        move || {
            (
                params.read().get("app_id").unwrap_or_default(),
                return_to.get(),
            )
        },
        |(app_id, return_to)| org_choices(app_id, return_to),
    );
    provide_context(Choices(choices));
    view! {
        <HostedPage
            title=|name| format!("Choose an organization · {name}")
            content=|app| view! { <ChooseOrgContent app /> }.into_any()
        />
    }
}

#[component]
fn ChooseOrgContent(app: HostedApp) -> impl IntoView {
    let Choices(choices) = expect_context::<Choices>();
    let who = app.signed_in_as.clone().unwrap_or_default();
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">
                "Choose an organization"
            </h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                {format!("{who} belongs to several organizations in {}. Which one do you want to continue as?", app.name)}
            </p>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || {
                    choices
                        .get()
                        .map(|loaded| match loaded {
                            Ok(list) => view! { <ChoiceList list /> }.into_any(),
                            Err(err) => {
                                view! { <Notice tone="error">{err.to_string()}</Notice> }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </Card>
    }
}

#[component]
fn ChoiceList(list: Vec<OrgChoice>) -> impl IntoView {
    view! {
        <ul class="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200">
            {list
                .into_iter()
                .map(|choice| {
                    let initial = choice
                        .name
                        .chars()
                        .next()
                        .map(|c| c.to_uppercase().to_string())
                        .unwrap_or_default();
                    view! {
                        <li>
                            // A server route (the authorization endpoint), not a page
                            // of the app's router: the browser goes there itself.
                            <a
                                href=choice.href
                                rel="external"
                                data-testid=format!("choose-{}", choice.slug)
                                class="flex items-center gap-3 px-4 py-3 hover:bg-slate-50 focus:bg-slate-50 focus:outline-none"
                            >
                                <span class="flex h-9 w-9 shrink-0 items-center justify-center rounded-md bg-[var(--brand)] text-sm font-semibold text-white">
                                    {initial}
                                </span>
                                <span class="min-w-0 flex-1">
                                    <span class="block truncate text-sm font-medium text-slate-900">
                                        {choice.name}
                                    </span>
                                    <span class="block truncate text-xs text-slate-500">
                                        {format!("{} · {}", choice.slug, choice.roles.join(", "))}
                                    </span>
                                </span>
                                <span aria-hidden="true" class="text-slate-400">"›"</span>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
