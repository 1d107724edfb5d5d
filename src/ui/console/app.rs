//! `/console/apps/{app_id}`: an app's settings, and disabling it.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::{AppTabs, LoadError, Reload, use_app_id};
use crate::api::console::apps::{AppView, ConsoleSetAppDisabled, ConsoleUpdateApp, console_app};
use crate::ui::components::{
    Badge, Checkbox, ConfirmDialog, Field, FormError, Notice, PageHeader, SubmitButton, TextArea,
    Tone, action_error,
};

#[component]
pub fn AppSettingsPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let app = Resource::new(
        move || (app_id.get(), reload.track()),
        |(id, _)| console_app(id),
    );
    // Page-level, so "saved" outlives the reload it causes.
    let save = ServerAction::<ConsoleUpdateApp>::new();
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || app.get().map(|loaded| match loaded {
                Err(error) => view! { <LoadError error /> }.into_any(),
                Ok(view) => view! { <Settings view reload save /> }.into_any(),
            })}
        </Transition>
    }
}

/// The header every page of an app shares.
#[component]
pub fn AppHeader(
    #[prop(into)] name: String,
    #[prop(into)] id: String,
    disabled: bool,
) -> impl IntoView {
    view! {
        <Title text=name.clone() />
        <PageHeader title=name subtitle=format!("App {id}")>
            {disabled.then(|| view! { <Badge tone="red" text="Disabled" /> })}
        </PageHeader>
        <AppTabs app_id=Signal::derive(move || id.clone()) />
    }
}

#[component]
fn Settings(view: AppView, reload: Reload, save: ServerAction<ConsoleUpdateApp>) -> impl IntoView {
    let error = action_error(save);
    let saved = Signal::derive(move || matches!(save.value().get(), Some(Ok(()))));
    Effect::new(move |previous: Option<usize>| {
        let version = save.version().get();
        if previous.is_some_and(|p| p != version)
            && matches!(save.value().get_untracked(), Some(Ok(())))
        {
            reload.bump();
        }
        version
    });
    let disable = ServerAction::<ConsoleSetAppDisabled>::new();
    let disable_error = action_error(disable);
    let confirm = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(disable.value().get(), Some(Ok(()))) {
            confirm.set(false);
            reload.bump();
        }
    });
    let seconds = move |label: &'static str, name: &'static str, value: i64, hint: &'static str| {
        view! { <Field label=label name=name kind="number" value=value.to_string() hint=hint error /> }
    };
    let app_id = StoredValue::new(view.id.clone());
    let disabled = view.disabled;
    let danger = (!view.builtin && view.can_write).then(|| {
        let (title, message, label) = if disabled {
            ("Enable this app?", "Its sign-in pages and tokens work again.", "Enable app")
        } else {
            ("Disable this app?", "Its users can no longer sign in and no tokens are issued until it is enabled again.", "Disable app")
        };
        view! {
            <section class="mt-8 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-red-200">
                <h2 class="text-base font-semibold text-red-700">{if disabled { "Enable app" } else { "Disable app" }}</h2>
                <p class="mt-1 text-sm text-slate-500">{message}</p>
                <button type="button" class="mt-4 rounded-lg px-3 py-2 text-sm font-semibold text-red-700 ring-1 ring-red-300 hover:bg-red-50" on:click=move |_| confirm.set(true) data-testid="toggle-app">
                    {label}"…"
                </button>
                <ConfirmDialog open=confirm title=title message=message>
                    <ActionForm action=disable>
                        <input type="hidden" name="app_id" value=app_id.get_value() />
                        <input type="hidden" name="disabled" value=(!disabled).to_string() />
                        <FormError error=disable_error />
                        <SubmitButton label=label pending_label="Saving…" pending=disable.pending() tone=Tone::Danger />
                    </ActionForm>
                </ConfirmDialog>
            </section>
        }
    });
    let read_only = (!view.can_write).then(|| {
        let message = if view.builtin {
            "Only an owner may change how operators sign in to the console."
        } else {
            "You can read this app's settings but not change them."
        };
        view! { <div class="mb-4"><Notice tone="info">{message}</Notice></div> }
    });
    view! {
        <AppHeader name=view.name.clone() id=view.id.clone() disabled=view.disabled />
        {read_only}
        <div class="mb-6 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
            <h2 class="text-base font-semibold text-slate-900">"Endpoints"</h2>
            <dl class="mt-3 grid gap-2 text-sm sm:grid-cols-[10rem_1fr]">
                <dt class="text-slate-500">"Issuer"</dt>
                <dd class="break-all font-mono text-slate-800" data-testid="issuer">{view.issuer.clone()}</dd>
                <dt class="text-slate-500">"Discovery"</dt>
                <dd class="break-all font-mono text-slate-800">{format!("{}/.well-known/openid-configuration", view.issuer)}</dd>
                <dt class="text-slate-500">"Sign-in page"</dt>
                <dd><a class="font-mono text-indigo-700 hover:underline" href=format!("/a/{}/login", view.id) rel="external">{format!("/a/{}/login", view.id)}</a></dd>
            </dl>
        </div>
        <ActionForm action=save attr:class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:data-testid="app-settings-form">
            <fieldset disabled=!view.can_write class="space-y-8">
                <input type="hidden" name="app_id" value=view.id.clone() />
                <Show when=move || saved.get()><Notice tone="success">"Settings saved."</Notice></Show>
                <FormError error />
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"Branding"</h2>
                    <div class="mt-4 grid gap-4 sm:grid-cols-2">
                        <Field label="Display name" name="name" value=view.name.clone() error />
                        <Field label="Brand colour" name="brand_color" value=view.brand_color.clone() hint="A hex colour such as #4f46e5." error />
                    </div>
                </div>
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"Sign-in"</h2>
                    <div class="mt-4 grid gap-4 sm:grid-cols-2">
                        <Checkbox label="Passkeys" name="passkey_enabled" checked=view.passkey_enabled hint="Phishing-resistant; recommended." />
                        <Checkbox label="Passwords" name="password_enabled" checked=view.password_enabled />
                        <Checkbox label="Self-registration" name="self_registration" checked=view.self_registration hint="Off for admin apps: accounts come by invitation." />
                        <Checkbox label="Require PKCE for every client" name="require_pkce" checked=view.require_pkce hint="Public clients always need it." />
                    </div>
                    <p class="mt-2 text-sm text-red-600" role="alert">{move || error.get().and_then(|e| e.for_field("passkey_enabled"))}</p>
                </div>
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"Lifetimes (seconds)"</h2>
                    <div class="mt-4 grid gap-4 sm:grid-cols-3">
                        {seconds("Session idle", "session_idle_secs", view.session_idle_secs, "Sign-in ends after this much inactivity.")}
                        {seconds("Session absolute", "session_absolute_secs", view.session_absolute_secs, "Sign-in ends after this, whatever happens.")}
                        {seconds("Access token", "access_token_ttl_secs", view.access_token_ttl_secs, "1 minute to 1 hour.")}
                        {seconds("Refresh idle", "refresh_idle_secs", view.refresh_idle_secs, "An unused refresh token expires after this.")}
                        {seconds("Refresh absolute", "refresh_absolute_secs", view.refresh_absolute_secs, "A token family ends after this.")}
                        {seconds("Refresh grace", "refresh_grace_secs", view.refresh_grace_secs, "0 (none) to 60: a lost response may be retried.")}
                    </div>
                </div>
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"APIs"</h2>
                    <div class="mt-4">
                        <TextArea
                            label="API audiences"
                            name="api_audiences"
                            value=view.api_audiences.join("\n")
                            hint="Resource servers a client may ask an access token for (RFC 8707 resource), one URI per line; the token's aud names it."
                            error
                        />
                    </div>
                </div>
                <div>
                    <h2 class="text-base font-semibold text-slate-900">"E-mail"</h2>
                    {(!view.smtp_configured).then(|| view! {
                        <div class="mt-3" data-testid="no-smtp-settings">
                            <Notice tone="info">
                                "This server has no SMTP server (ONEAUTH_SMTP_URL): messages wait in the E-mail tab, and users do not receive confirmation links until one is configured."
                            </Notice>
                        </div>
                    })}
                    <div class="mt-4 grid gap-4 sm:grid-cols-2">
                        <Field label="Sender name" name="email_sender_name" value=view.email_sender_name.clone().unwrap_or_default() placeholder=view.name.clone() hint="The name messages come from; empty: the display name." error />
                        <Field label="Reply-to address" name="email_reply_to" kind="email" value=view.email_reply_to.clone().unwrap_or_default() hint="Where replies go, such as your support address; empty: none." error />
                        <Checkbox label="Require a confirmed address" name="require_verified_email" checked=view.require_verified_email hint="Tokens are issued only once the user has opened the link we e-mail them." />
                        <Checkbox label="Tell users of new-browser sign-ins" name="notify_new_device" checked=view.notify_new_device hint="An e-mail when an account signs in from a browser it has not used before." />
                    </div>
                </div>
                <div class="sm:w-48">
                    <SubmitButton label="Save changes" pending_label="Saving…" pending=save.pending() />
                </div>
            </fieldset>
        </ActionForm>
        {danger}
    }
}
