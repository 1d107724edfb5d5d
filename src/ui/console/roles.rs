//! `/console/apps/{app_id}/roles`: roles, their factor policy, and holders.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::app::AppHeader;
use super::{LoadError, Reload, use_app_id};
use crate::api::console::apps::{AppView, console_app};
use crate::api::console::roles::{
    ConsoleCreateRole, ConsoleDeleteRole, ConsoleUpdateRole, RoleView, console_roles,
};
use crate::ui::components::{
    Badge, Checkbox, ConfirmDialog, EmptyState, Field, FormError, SMALL_BUTTON,
    SMALL_DANGER_BUTTON, SubmitButton, Tone, action_error, button_class,
};

#[component]
pub fn RolesPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let app = Resource::new(move || app_id.get(), console_app);
    let roles = Resource::new(
        move || (app_id.get(), reload.track()),
        |(id, _)| console_roles(id),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), roles.get()) {
                (Some(Ok(app)), Some(Ok(roles))) => view! { <Roles app roles reload /> }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

fn policy_fields(
    role: Option<&RoleView>,
    error: Signal<Option<crate::api::ApiError>>,
) -> impl IntoView + use<> {
    let description = role.map(|r| r.description.clone()).unwrap_or_default();
    let passkey = role.is_some_and(|r| r.require_passkey);
    let max_age = role
        .and_then(|r| r.max_auth_age_secs)
        .map(|s| s.to_string())
        .unwrap_or_default();
    view! {
        <Field label="Description" name="description" value=description required=false error />
        <Field label="Maximum authentication age (seconds)" name="max_auth_age_secs" kind="number" value=max_age required=false hint="Empty: no limit. Older sign-ins must re-authenticate, and refreshed tokens drop the role." error />
        <Checkbox label="Requires a passkey" name="require_passkey" checked=passkey hint="Holders signed in with a password are stepped up to a passkey." />
    }
}

#[component]
fn Roles(app: AppView, roles: Vec<RoleView>, reload: Reload) -> impl IntoView {
    let creating = RwSignal::new(false);
    let create = ServerAction::<ConsoleCreateRole>::new();
    let error = action_error(create);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            creating.set(false);
            reload.bump();
        }
    });
    let can_create = app.can_write && !app.builtin;
    let app_id = StoredValue::new(app.id.clone());
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        <div class="mb-4 flex items-center justify-between gap-3">
            <p class="text-sm text-slate-500">"Roles go into access tokens only when the session meets their policy."</p>
            {can_create.then(|| view! {
                <button type="button" class=format!("sm:w-36 {}", button_class(Tone::Primary)) on:click=move |_| creating.update(|c| *c = !*c) data-testid="new-role">"New role"</button>
            })}
        </div>
        <Show when=move || creating.get()>
            <ActionForm action=create attr:class="mb-6 space-y-4 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:data-testid="new-role-form">
                <input type="hidden" name="app_id" value=app_id.get_value() />
                <FormError error />
                <Field label="Name" name="name" hint="Lowercase, e.g. admin or billing:read." error />
                {policy_fields(None, error)}
                <div class="sm:w-48"><SubmitButton label="Create role" pending_label="Creating…" pending=create.pending() /></div>
            </ActionForm>
        </Show>
        {if roles.is_empty() {
            view! { <EmptyState title="No roles yet" text="Roles say what users may do in the app, and which factors that needs." /> }.into_any()
        } else {
            view! {
                <div class="space-y-3" data-testid="role-list">
                    {roles.into_iter().map(|role| view! { <RoleRow app_id=app_id.get_value() role can_write=app.can_write reload /> }).collect_view()}
                </div>
            }
            .into_any()
        }}
    }
}

#[component]
fn RoleRow(app_id: String, role: RoleView, can_write: bool, reload: Reload) -> impl IntoView {
    let editing = RwSignal::new(false);
    let update = ServerAction::<ConsoleUpdateRole>::new();
    let update_error = action_error(update);
    let delete = ServerAction::<ConsoleDeleteRole>::new();
    let delete_error = action_error(delete);
    let delete_open = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(update.value().get(), Some(Ok(()))) {
            editing.set(false);
            reload.bump();
        }
        if matches!(delete.value().get(), Some(Ok(()))) {
            delete_open.set(false);
            reload.bump();
        }
    });
    let keys = StoredValue::new((app_id, role.name.clone()));
    let stored = StoredValue::new(role.clone());
    view! {
        <div class="rounded-2xl bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="role-row">
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div>
                    <p class="font-mono font-semibold text-slate-900">{role.name.clone()}</p>
                    <p class="mt-0.5 text-sm text-slate-500">{if role.description.is_empty() { "No description.".to_owned() } else { role.description.clone() }}</p>
                </div>
                <div class="flex flex-wrap gap-1">
                    {role.require_passkey.then(|| view! { <Badge tone="indigo" text="Passkey required" /> })}
                    {role.max_auth_age_secs.map(|s| view! { <Badge tone="amber" text=format!("Re-auth after {s}s") /> })}
                    {role.builtin.then(|| view! { <Badge tone="slate" text="Built-in" /> })}
                    <Badge tone="slate" text=format!("{} holders", role.holders) />
                </div>
            </div>
            <FormError error=delete_error />
            {can_write.then(|| view! {
                <div class="mt-3 flex gap-2">
                    <button type="button" class=SMALL_BUTTON on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                    {(!stored.get_value().builtin).then(|| view! {
                        <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| delete_open.set(true)>"Delete…"</button>
                    })}
                </div>
            })}
            <Show when=move || editing.get()>
                <ActionForm action=update attr:class="mt-4 space-y-4 border-t border-slate-100 pt-4">
                    <input type="hidden" name="app_id" value=keys.get_value().0 />
                    <input type="hidden" name="name" value=keys.get_value().1 />
                    <FormError error=update_error />
                    {policy_fields(Some(&stored.get_value()), update_error)}
                    <div class="sm:w-40"><SubmitButton label="Save" pending_label="Saving…" pending=update.pending() /></div>
                </ActionForm>
            </Show>
            <ConfirmDialog open=delete_open title="Delete this role?" message="Everyone holding it loses it.">
                <ActionForm action=delete>
                    <input type="hidden" name="app_id" value=keys.get_value().0 />
                    <input type="hidden" name="name" value=keys.get_value().1 />
                    <SubmitButton label="Delete role" pending_label="Deleting…" pending=delete.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </div>
    }
}
