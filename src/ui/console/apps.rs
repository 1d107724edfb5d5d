//! `/console`: the apps an operator can see, and creating one.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{LoadError, Reload};
use crate::api::console::apps::{ConsoleCreateApp, console_apps};
use crate::api::console::console_me;
use crate::ui::components::{
    Badge, EmptyState, Field, FormError, PageHeader, SubmitButton, Tone, action_error, button_class,
};

#[component]
pub fn AppsPage() -> impl IntoView {
    let reload = Reload::new();
    let apps = Resource::new(move || reload.track(), |_| console_apps());
    let me = Resource::new(|| (), |_| console_me());
    let creating = RwSignal::new(false);
    let action = ServerAction::<ConsoleCreateApp>::new();
    let error = action_error(action);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = action.value().get() {
            navigate(&format!("/console/apps/{id}"), Default::default());
        }
    });
    view! {
        <Title text="Apps" />
        <PageHeader title="Apps" subtitle="Each app is its own security boundary: users, roles, clients, keys and audit chain.">
            <Transition>
                {move || me.get().and_then(Result::ok).filter(|m| m.can_create_apps).map(|_| view! {
                    <button type="button" class=button_class(Tone::Primary) on:click=move |_| creating.update(|c| *c = !*c) data-testid="new-app">
                        "New app"
                    </button>
                })}
            </Transition>
        </PageHeader>
        <Show when=move || creating.get()>
            <ActionForm action attr:class="mb-6 grid gap-4 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:grid-cols-3 sm:items-start" attr:data-testid="new-app-form">
                <div class="sm:col-span-3"><FormError error /></div>
                <Field label="App id" name="app_id" hint="Lowercase letters, digits and hyphens; it appears in URLs." error />
                <Field label="Display name" name="name" hint="Shown on the app's sign-in pages." error />
                <div class="sm:mt-7">
                    <SubmitButton label="Create app" pending_label="Creating…" pending=action.pending() />
                </div>
            </ActionForm>
        </Show>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || apps.get().map(|loaded| match loaded {
                Err(error) => view! { <LoadError error /> }.into_any(),
                Ok(apps) if apps.is_empty() => view! {
                    <EmptyState title="No apps yet" text="Create the first app to protect an admin panel." />
                }
                .into_any(),
                Ok(apps) => view! {
                    <div class="overflow-hidden rounded-2xl bg-white shadow-sm ring-1 ring-slate-200">
                        <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="apps-table">
                            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                <tr>
                                    <th class="px-4 py-3">"App"</th>
                                    <th class="hidden px-4 py-3 sm:table-cell">"Id"</th>
                                    <th class="px-4 py-3">"Status"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {apps.into_iter().map(|app| {
                                    let href = format!("/console/apps/{}", app.id);
                                    view! {
                                        <tr class="hover:bg-slate-50">
                                            <td class="px-4 py-3">
                                                <a href=href class="flex items-center gap-3 font-medium text-slate-900 hover:text-indigo-700">
                                                    <span class="h-3 w-3 shrink-0 rounded-full" style=format!("background: {}", app.brand_color)></span>
                                                    {app.name.clone()}
                                                </a>
                                            </td>
                                            <td class="hidden px-4 py-3 font-mono text-xs text-slate-500 sm:table-cell">{app.id.clone()}</td>
                                            <td class="px-4 py-3">
                                                <div class="flex gap-1">
                                                    {if app.disabled { view! { <Badge tone="red" text="Disabled" /> }.into_any() } else { view! { <Badge tone="green" text="Active" /> }.into_any() }}
                                                    {app.builtin.then(|| view! { <Badge tone="indigo" text="Built-in" /> })}
                                                    {(!app.can_write).then(|| view! { <Badge tone="slate" text="Read-only" /> })}
                                                </div>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any(),
            })}
        </Transition>
    }
}
