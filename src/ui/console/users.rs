//! `/console/apps/{app_id}/users`: search, page through, and create users.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::app::AppHeader;
use super::{LoadError, Reload, ShownOnce, page_link, use_app_id};
use crate::api::console::apps::{AppView, console_app};
use crate::api::console::roles::console_roles;
use crate::api::console::users::{ConsoleCreateUser, UsersPage as Page, console_users};
use crate::ui::components::{
    Badge, Checkbox, EmptyState, Field, FormError, SubmitButton, Tone, action_error, button_class,
};
use crate::ui::hosted::query_param;

#[component]
pub fn UsersPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let query = query_param("q");
    let after = query_param("after");
    let app = Resource::new(move || app_id.get(), console_app);
    let users = Resource::new(
        move || (app_id.get(), query.get(), after.get(), reload.track()),
        |(id, q, after, _)| console_users(id, q, after),
    );
    // Page-level, so the invitation link shown once outlives the reload.
    let create = ServerAction::<ConsoleCreateUser>::new();
    let creating = RwSignal::new(false);
    let roles = Resource::new(move || app_id.get(), console_roles);
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), users.get()) {
                (Some(Ok(app)), Some(Ok(page))) => view! { <Users app page query=query.get() paged=after.get().is_some() reload create creating roles /> }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

#[component]
fn Users(
    app: AppView,
    page: Page,
    query: Option<String>,
    /// Showing a page after the first (keyset pages only go forward).
    paged: bool,
    reload: Reload,
    create: ServerAction<ConsoleCreateUser>,
    creating: RwSignal<bool>,
    roles: Resource<Result<Vec<crate::api::console::roles::RoleView>, crate::api::ApiError>>,
) -> impl IntoView {
    let error = action_error(create);
    Effect::new(move |previous: Option<usize>| {
        let version = create.version().get();
        if previous.is_some_and(|p| p != version)
            && matches!(create.value().get_untracked(), Some(Ok(_)))
        {
            creating.set(false);
            reload.bump();
        }
        version
    });
    let app_id = StoredValue::new(app.id.clone());
    let base = format!("/console/apps/{}/users", app.id);
    let link = |after: Option<&str>| {
        let q = query.as_deref().map(|q| ("q", q));
        page_link(&base, q.into_iter().chain(after.map(|a| ("after", a))))
    };
    let next = page.next.as_deref().map(|after| link(Some(after)));
    let first = paged.then(|| link(None));
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
            <form method="get" action=base.clone() class="flex w-full max-w-md gap-2" role="search">
                <label for="user-search" class="sr-only">"Search by e-mail"</label>
                <input
                    id="user-search"
                    name="q"
                    type="search"
                    value=query.clone().unwrap_or_default()
                    placeholder="Search by e-mail"
                    class="block w-full rounded-lg border-0 px-3 py-2 text-sm shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
                />
                <button type="submit" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50">"Search"</button>
            </form>
            {app.can_write.then(|| view! {
                <button type="button" class=format!("sm:w-36 {}", button_class(Tone::Primary)) on:click=move |_| creating.update(|c| *c = !*c) data-testid="new-user">
                    "New user"
                </button>
            })}
        </div>
        {move || created().map(|new| view! {
            <div class="mb-6 space-y-3">
                <div class="rounded-lg bg-emerald-50 p-4 text-sm text-emerald-900 ring-1 ring-emerald-200">
                    "User created. "
                    <a class="font-semibold underline" href=format!("/console/apps/{}/users/{}", app_id.get_value(), new.user_id)>"Open their page"</a>
                </div>
                {new.invite_link.map(|link| view! { <ShownOnce label="Invitation link (valid 7 days, works once)" value=link /> })}
            </div>
        })}
        <Show when=move || creating.get()>
            <ActionForm action=create attr:class="mb-6 space-y-4 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:data-testid="new-user-form">
                <input type="hidden" name="app_id" value=app_id.get_value() />
                <FormError error />
                <div class="grid gap-4 sm:grid-cols-2">
                    <Field label="E-mail address" name="email" kind="email" error />
                    <Field label="Roles" name="roles" required=false hint="Role names separated by commas (optional)." error />
                </div>
                <Transition>
                    {move || roles.get().and_then(Result::ok).filter(|r| !r.is_empty()).map(|roles| view! {
                        <p class="text-xs text-slate-500">
                            "Roles of this app: " {roles.iter().map(|r| r.name.clone()).collect::<Vec<_>>().join(", ")}
                        </p>
                    })}
                </Transition>
                <Checkbox label="Create an invitation link" name="invite" checked=true hint="They set up a passkey or password through it." />
                <div class="sm:w-48"><SubmitButton label="Create user" pending_label="Creating…" pending=create.pending() /></div>
            </ActionForm>
        </Show>
        <p class="mb-2 text-sm text-slate-500" data-testid="user-total">{match page.total { 1 => "1 user in this app".to_owned(), n => format!("{n} users in this app") }}</p>
        {if page.users.is_empty() {
            view! { <EmptyState title="No users found" text="Create one, or change the search." /> }.into_any()
        } else {
            view! {
                <div class="overflow-x-auto rounded-2xl bg-white shadow-sm ring-1 ring-slate-200">
                    <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="users-table">
                        <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                            <tr>
                                <th class="px-4 py-3">"E-mail"</th>
                                <th class="px-4 py-3">"Status"</th>
                                <th class="hidden px-4 py-3 md:table-cell">"Created"</th>
                                <th class="hidden px-4 py-3 md:table-cell">"Last sign-in"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {page.users.into_iter().map(|user| view! {
                                <tr class="hover:bg-slate-50" data-testid="user-row">
                                    <td class="px-4 py-3">
                                        <a class="font-medium text-slate-900 hover:text-indigo-700" href=format!("/console/apps/{}/users/{}", app_id.get_value(), user.id)>{user.email.clone()}</a>
                                    </td>
                                    <td class="px-4 py-3">
                                        {if user.active { view! { <Badge tone="green" text="Active" /> }.into_any() } else { view! { <Badge tone="red" text="Deactivated" /> }.into_any() }}
                                    </td>
                                    <td class="hidden px-4 py-3 text-slate-500 md:table-cell">{user.created.clone()}</td>
                                    <td class="hidden px-4 py-3 text-slate-500 md:table-cell">{user.last_sign_in.clone().unwrap_or_else(|| "never".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        }}
        <div class="mt-4 flex justify-between gap-4 text-sm font-medium text-indigo-700">
            <span>{first.map(|href| view! { <a href=href class="hover:underline" data-testid="first-page">"← First page"</a> })}</span>
            <span>{next.map(|href| view! { <a href=href class="hover:underline" data-testid="next-page">"Next page →"</a> })}</span>
        </div>
    }
}
