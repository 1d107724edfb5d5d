//! `/console/apps/{app_id}/clients`: OAuth clients, their URIs and secrets.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::app::AppHeader;
use super::{LoadError, Reload, ShownOnce, use_app_id};
use crate::api::console::apps::{AppView, console_app};
use crate::api::console::clients::{
    ClientView, ConsoleCreateClient, ConsoleRotateClientSecret, ConsoleSetClientDisabled,
    ConsoleUpdateClient, console_clients,
};
use crate::ui::components::{
    Badge, ConfirmDialog, EmptyState, Field, FormError, SMALL_BUTTON, SMALL_DANGER_BUTTON, Select,
    SubmitButton, TextArea, Tone, action_error, button_class,
};

fn type_options() -> Vec<(String, String)> {
    vec![
        (
            "public".into(),
            "Public (browser or mobile app, PKCE)".into(),
        ),
        (
            "confidential".into(),
            "Confidential (server with a secret)".into(),
        ),
    ]
}

fn alg_options() -> Vec<(String, String)> {
    vec![
        ("ES256".into(), "ES256".into()),
        ("RS256".into(), "RS256".into()),
    ]
}

#[component]
pub fn ClientsPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let app = Resource::new(move || app_id.get(), console_app);
    let clients = Resource::new(
        move || (app_id.get(), reload.track()),
        |(id, _)| console_clients(id),
    );
    // Page-level, so what they produced (a secret shown once) outlives the
    // list's reload.
    let create = ServerAction::<ConsoleCreateClient>::new();
    let creating = RwSignal::new(false);
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), clients.get()) {
                (Some(Ok(app)), Some(Ok(clients))) => view! { <Clients app clients reload create creating /> }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

#[component]
fn Clients(
    app: AppView,
    clients: Vec<ClientView>,
    reload: Reload,
    create: ServerAction<ConsoleCreateClient>,
    creating: RwSignal<bool>,
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
    let created = move || create.value().get().and_then(Result::ok);
    let can_write = app.can_write;
    let app_id = StoredValue::new(app.id.clone());
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        <div class="mb-4 flex items-center justify-between">
            <p class="text-sm text-slate-500">"Applications that sign users in through this app's issuer."</p>
            {can_write.then(|| view! {
                <button type="button" class=format!("sm:w-40 {}", button_class(Tone::Primary)) on:click=move |_| creating.update(|c| *c = !*c) data-testid="new-client">
                    "New client"
                </button>
            })}
        </div>
        {move || created().map(|new| view! {
            <div class="mb-6 space-y-3">
                <div class="rounded-lg bg-emerald-50 p-4 text-sm text-emerald-900 ring-1 ring-emerald-200">
                    "Client created: " <span class="font-mono" data-testid="new-client-id">{new.client_id.clone()}</span>
                </div>
                {new.client_secret.map(|secret| view! { <ShownOnce label="Client secret" value=secret /> })}
            </div>
        })}
        <Show when=move || creating.get()>
            <ActionForm action=create attr:class="mb-6 space-y-4 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:data-testid="new-client-form">
                <input type="hidden" name="app_id" value=app_id.get_value() />
                <FormError error />
                <div class="grid gap-4 sm:grid-cols-3">
                    <Field label="Name" name="name" error />
                    <Select label="Type" name="client_type" options=type_options() />
                    <Select label="ID token signature" name="id_token_alg" options=alg_options() />
                </div>
                <TextArea label="Redirect URIs" name="redirect_uris" hint="One per line; matched exactly. https, or http on localhost." error />
                <TextArea label="Post-logout redirect URIs" name="post_logout_redirect_uris" hint="Optional, one per line." error />
                <div class="sm:w-48"><SubmitButton label="Create client" pending_label="Creating…" pending=create.pending() /></div>
            </ActionForm>
        </Show>
        {if clients.is_empty() {
            view! { <EmptyState title="No clients" text="Register the application that will sign users in." /> }.into_any()
        } else {
            view! {
                <div class="space-y-4" data-testid="client-list">
                    {clients.into_iter().map(|client| view! { <ClientCard app_id=app_id.get_value() client can_write reload /> }).collect_view()}
                </div>
            }
            .into_any()
        }}
    }
}

#[component]
fn ClientCard(
    app_id: String,
    client: ClientView,
    can_write: bool,
    reload: Reload,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let update = ServerAction::<ConsoleUpdateClient>::new();
    let update_error = action_error(update);
    let rotate = ServerAction::<ConsoleRotateClientSecret>::new();
    let rotate_open = RwSignal::new(false);
    let toggle = ServerAction::<ConsoleSetClientDisabled>::new();
    let toggle_open = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(update.value().get(), Some(Ok(()))) {
            editing.set(false);
            reload.bump();
        }
        if matches!(toggle.value().get(), Some(Ok(()))) {
            toggle_open.set(false);
            reload.bump();
        }
        if matches!(rotate.value().get(), Some(Ok(_))) {
            rotate_open.set(false);
        }
    });
    let new_secret = move || rotate.value().get().and_then(Result::ok);
    let ids = StoredValue::new((app_id, client.id.clone()));
    let edit_values = StoredValue::new(client.clone());
    let confidential = client.confidential;
    let disabled = client.disabled;
    view! {
        <div class="rounded-2xl bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid="client-card">
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div class="min-w-0">
                    <p class="font-semibold text-slate-900">{client.name.clone()}</p>
                    <p class="mt-0.5 break-all font-mono text-xs text-slate-500">{client.id.clone()}</p>
                </div>
                <div class="flex flex-wrap gap-1">
                    <Badge tone=if confidential { "indigo" } else { "slate" } text=if confidential { "confidential" } else { "public" } />
                    <Badge tone="slate" text=format!("ID token {}", client.id_token_alg) />
                    {disabled.then(|| view! { <Badge tone="red" text="Disabled" /> })}
                </div>
            </div>
            <dl class="mt-4 grid gap-1 text-sm sm:grid-cols-[11rem_1fr]">
                <dt class="text-slate-500">"Redirect URIs"</dt>
                <dd class="break-all font-mono text-xs text-slate-800">{client.redirect_uris.join("  ")}</dd>
                <dt class="text-slate-500">"Post-logout URIs"</dt>
                <dd class="break-all font-mono text-xs text-slate-800">{if client.post_logout_redirect_uris.is_empty() { "—".to_owned() } else { client.post_logout_redirect_uris.join("  ") }}</dd>
                {confidential.then(|| view! {
                    <dt class="text-slate-500">"Secret"</dt>
                    <dd class="text-xs text-slate-600">{client.secret_rotated.clone().map(|at| format!("rotated {at}")).unwrap_or_else(|| "set when created".into())}</dd>
                })}
            </dl>
            {move || new_secret().map(|secret| view! { <div class="mt-4"><ShownOnce label="New client secret" value=secret /></div> })}
            {can_write.then(|| view! {
                <div class="mt-4 flex flex-wrap gap-2">
                    <button type="button" class=SMALL_BUTTON on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                    {confidential.then(|| view! {
                        <button type="button" class=SMALL_BUTTON on:click=move |_| rotate_open.set(true) data-testid="rotate-secret">"Rotate secret…"</button>
                    })}
                    <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| toggle_open.set(true)>
                        {if disabled { "Enable…" } else { "Disable…" }}
                    </button>
                </div>
            })}
            <Show when=move || editing.get()>
                <ActionForm action=update attr:class="mt-4 space-y-4 border-t border-slate-100 pt-4">
                    <input type="hidden" name="app_id" value=ids.get_value().0 />
                    <input type="hidden" name="client_id" value=ids.get_value().1 />
                    <FormError error=update_error />
                    <div class="grid gap-4 sm:grid-cols-2">
                        <Field label="Name" name="name" value=edit_values.get_value().name error=update_error />
                        <Select label="ID token signature" name="id_token_alg" options=alg_options() selected=edit_values.get_value().id_token_alg />
                    </div>
                    <TextArea label="Redirect URIs" name="redirect_uris" value=edit_values.get_value().redirect_uris.join("\n") error=update_error />
                    <TextArea label="Post-logout redirect URIs" name="post_logout_redirect_uris" value=edit_values.get_value().post_logout_redirect_uris.join("\n") error=update_error />
                    <div class="sm:w-40"><SubmitButton label="Save" pending_label="Saving…" pending=update.pending() /></div>
                </ActionForm>
            </Show>
            <ConfirmDialog open=rotate_open title="Rotate the client secret?" message="The current secret stops working at once; the new one is shown once.">
                <ActionForm action=rotate>
                    <input type="hidden" name="app_id" value=ids.get_value().0 />
                    <input type="hidden" name="client_id" value=ids.get_value().1 />
                    <SubmitButton label="Rotate secret" pending_label="Rotating…" pending=rotate.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
            <ConfirmDialog
                open=toggle_open
                title=if disabled { "Enable this client?" } else { "Disable this client?" }
                message=if disabled { "It can request tokens again." } else { "It can no longer sign users in or get tokens." }
            >
                <ActionForm action=toggle>
                    <input type="hidden" name="app_id" value=ids.get_value().0 />
                    <input type="hidden" name="client_id" value=ids.get_value().1 />
                    <input type="hidden" name="disabled" value=(!disabled).to_string() />
                    <SubmitButton label=if disabled { "Enable client" } else { "Disable client" } pending_label="Saving…" pending=toggle.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </div>
    }
}
