//! `/console/apps/{app_id}/providers`: the app's upstream sign-in providers
//! (OpenID Connect, Google, Entra ID, GitHub): what to register upstream,
//! linking and provisioning, claim-to-role rules. Secrets are write-only.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::app::AppHeader;
use super::{LoadError, Reload, use_app_id};
use crate::api::console::apps::{AppView, console_app};
use crate::api::console::providers::{
    ConsoleDeleteProvider, ConsoleSaveProvider, ProviderView, console_providers,
};
use crate::ui::components::{
    Badge, Checkbox, ConfirmDialog, EmptyState, Field, FormError, SMALL_BUTTON,
    SMALL_DANGER_BUTTON, Select, SubmitButton, TextArea, Tone, action_error, button_class,
};

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let app = Resource::new(move || app_id.get(), console_app);
    let providers = Resource::new(
        move || (app_id.get(), reload.track()),
        |(id, _)| console_providers(id),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), providers.get()) {
                (Some(Ok(app)), Some(Ok(providers))) => view! { <Providers app providers reload /> }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

fn kinds() -> Vec<(String, String)> {
    [
        ("oidc", "OpenID Connect (any provider, by its issuer)"),
        ("google", "Google"),
        ("entra", "Microsoft Entra ID"),
        ("github", "GitHub"),
    ]
    .into_iter()
    .map(|(v, l)| (v.to_owned(), l.to_owned()))
    .collect()
}

/// The form's fields, filled from `provider` when it exists.
fn provider_fields(
    provider: Option<&ProviderView>,
    error: Signal<Option<crate::api::ApiError>>,
) -> impl IntoView + use<> {
    let p = provider.cloned();
    let get = |f: fn(&ProviderView) -> String| p.as_ref().map(f).unwrap_or_default();
    let secret_hint = if p.is_some() {
        "Stored encrypted and never shown again. Leave empty to keep it."
    } else {
        "Stored encrypted and never shown again."
    };
    view! {
        <div class="grid gap-4 sm:grid-cols-2">
            <Field label="Button name" name="name" value=get(|p| p.name.clone()) hint="Shown as \u{201c}Continue with \u{2026}\u{201d}." error />
            <Select label="Kind" name="kind" options=kinds() selected=p.as_ref().map(|p| p.kind.clone()).unwrap_or_else(|| "oidc".to_owned()) />
            <Field label="Issuer URL" name="issuer" value=get(|p| p.issuer.clone().unwrap_or_default()) required=false hint="OpenID Connect: the issuer. Entra ID: https://login.microsoftonline.com/{tenant}/v2.0. Google and GitHub: leave empty." error />
            <Field label="API URL (GitHub)" name="api_url" value=get(|p| p.api_url.clone().unwrap_or_default()) required=false hint="Only for GitHub Enterprise; empty: api.github.com." error />
            <Field label="Client id" name="client_id" value=get(|p| p.client_id.clone()) error />
            <Field label="Client secret" name="client_secret" kind="password" autocomplete="new-password" required=false hint=secret_hint error />
            <Field label="Scopes" name="scopes" value=get(|p| p.scopes.clone()) required=false hint="Empty: the kind's defaults." error />
            <Field label="Allowed domains" name="allowed_domains" value=get(|p| p.allowed_domains.clone()) required=false hint="For provisioning: e.g. example.com corp.example." error />
        </div>
        <TextArea label="Claim-to-role rules" name="role_mappings" value=get(|p| p.role_mappings.clone()) hint="One per line: claim=value:role, e.g. groups=platform-admins:admin. Re-evaluated at every sign-in through this provider." error />
        <div class="grid gap-3 sm:grid-cols-2">
            <Checkbox label="Link by verified address" name="auto_link" checked=p.as_ref().is_some_and(|p| p.auto_link) hint="Only when the provider verified the address and the account confirmed it too." />
            <Checkbox label="Create accounts" name="provisioning" checked=p.as_ref().is_some_and(|p| p.provisioning) hint="For verified addresses of the allowed domains." />
            <Checkbox label="Trust the provider's passkey" name="trust_upstream_mfa" checked=p.as_ref().is_some_and(|p| p.trust_upstream_mfa) hint="Its amr hwk counts as a passkey here. Off: passkey roles step up here." />
            <Checkbox label="Turned on" name="enabled" checked=p.as_ref().is_none_or(|p| p.enabled) hint="Shown on the sign-in page." />
        </div>
    }
}

#[component]
fn Providers(app: AppView, providers: Vec<ProviderView>, reload: Reload) -> impl IntoView {
    let creating = RwSignal::new(false);
    let create = ServerAction::<ConsoleSaveProvider>::new();
    let error = action_error(create);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            creating.set(false);
            reload.bump();
        }
    });
    let app_id = StoredValue::new(app.id.clone());
    let can_write = app.can_write;
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        <div class="mb-4 flex items-center justify-between gap-3">
            <p class="text-sm text-slate-500">"Let users sign in with the directory they already use. Nothing crosses to other apps."</p>
            {can_write.then(|| view! {
                <button type="button" class=format!("sm:w-40 {}", button_class(Tone::Primary)) on:click=move |_| creating.update(|c| *c = !*c) data-testid="new-provider">"New provider"</button>
            })}
        </div>
        <Show when=move || creating.get()>
            <ActionForm action=create attr:class="mb-6 space-y-4 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:data-testid="new-provider-form">
                <input type="hidden" name="app_id" value=app_id.get_value() />
                <input type="hidden" name="creating" value="1" />
                <FormError error />
                <Field label="Name in URLs" name="slug" hint="Lowercase, e.g. corp-sso: the callback is /a/{app}/upstream/{name}/callback." error />
                {provider_fields(None, error)}
                <div class="sm:w-48"><SubmitButton label="Add provider" pending_label="Adding…" pending=create.pending() /></div>
            </ActionForm>
        </Show>
        {if providers.is_empty() {
            view! { <EmptyState title="No sign-in providers" text="Add Google, Microsoft Entra ID, GitHub or any OpenID Connect provider." /> }.into_any()
        } else {
            view! {
                <div class="space-y-3" data-testid="provider-list">
                    {providers.into_iter().map(|provider| view! { <ProviderRow app_id=app_id.get_value() provider can_write reload /> }).collect_view()}
                </div>
            }
            .into_any()
        }}
    }
}

#[component]
fn ProviderRow(
    app_id: String,
    provider: ProviderView,
    can_write: bool,
    reload: Reload,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let update = ServerAction::<ConsoleSaveProvider>::new();
    let update_error = action_error(update);
    let delete = ServerAction::<ConsoleDeleteProvider>::new();
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
    let keys = StoredValue::new((app_id, provider.slug.clone()));
    let stored = StoredValue::new(provider.clone());
    let rules = provider.role_mappings.lines().count();
    view! {
        <div class="rounded-2xl bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="provider-row">
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div class="min-w-0">
                    <p class="font-semibold text-slate-900">{provider.name.clone()}</p>
                    <p class="mt-0.5 truncate font-mono text-xs text-slate-500">{provider.issuer.clone().unwrap_or_default()}</p>
                </div>
                <div class="flex flex-wrap gap-1">
                    <Badge tone="slate" text=provider.kind.clone() />
                    {if provider.enabled {
                        view! { <Badge tone="emerald" text="On" /> }.into_any()
                    } else {
                        view! { <Badge tone="amber" text="Off" /> }.into_any()
                    }}
                    {provider.auto_link.then(|| view! { <Badge tone="indigo" text="Links by address" /> })}
                    {provider.provisioning.then(|| view! { <Badge tone="indigo" text="Creates accounts" /> })}
                    {(rules > 0).then(|| view! { <Badge tone="slate" text=format!("{rules} role rule(s)") /> })}
                </div>
            </div>
            <dl class="mt-3 grid gap-1 text-xs text-slate-600 sm:grid-cols-[10rem_1fr]">
                <dt class="font-medium text-slate-500">"Callback URL"</dt>
                <dd class="break-all font-mono" data-testid="callback-url">{provider.callback_url.clone()}</dd>
                <dt class="font-medium text-slate-500">"Back-channel logout"</dt>
                <dd class="break-all font-mono">{provider.backchannel_logout_url.clone()}</dd>
            </dl>
            <FormError error=delete_error />
            {can_write.then(|| view! {
                <div class="mt-3 flex gap-2">
                    <button type="button" class=SMALL_BUTTON on:click=move |_| editing.update(|e| *e = !*e) data-testid="edit-provider">"Edit"</button>
                    <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| delete_open.set(true)>"Remove…"</button>
                </div>
            })}
            <Show when=move || editing.get()>
                <ActionForm action=update attr:class="mt-4 space-y-4 border-t border-slate-100 pt-4">
                    <input type="hidden" name="app_id" value=keys.get_value().0 />
                    <input type="hidden" name="slug" value=keys.get_value().1 />
                    <FormError error=update_error />
                    {provider_fields(Some(&stored.get_value()), update_error)}
                    <div class="sm:w-40"><SubmitButton label="Save" pending_label="Saving…" pending=update.pending() /></div>
                </ActionForm>
            </Show>
            <ConfirmDialog open=delete_open title="Remove this provider?" message="Its links go, and the roles its rules granted are revoked. Users who signed in only through it will need a recovery link.">
                <ActionForm action=delete>
                    <input type="hidden" name="app_id" value=keys.get_value().0 />
                    <input type="hidden" name="slug" value=keys.get_value().1 />
                    <SubmitButton label="Remove provider" pending_label="Removing…" pending=delete.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </div>
    }
}
