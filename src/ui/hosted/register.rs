//! `/a/{app_id}/register`: sign up with e-mail and password (works without
//! JavaScript) or with a passkey, when the app allows sign-up.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{CardLink, Divider, HostedPage, PasskeyIcon, load_page, query_param, use_hydrated};
use crate::api::hosted::{
    HostedApp, NewCodes, RegisterWithPassword, finish_passkey_sign_up, start_passkey_sign_up,
};
use crate::ui::components::{
    Card, Field, FormError, Spinner, SubmitButton, Tone, action_error, button_class,
};
use crate::ui::passkey_bridge::{self, CeremonyError};

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! {
        <HostedPage
            title=|name| format!("Create an account for {name}")
            content=|app| view! { <RegisterContent app /> }.into_any()
        />
    }
}

#[component]
fn RegisterContent(app: HostedApp) -> impl IntoView {
    if !app.self_registration {
        #[cfg(feature = "ssr")]
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::FORBIDDEN);
        }
        let login = format!("/a/{}/login", app.id);
        return view! {
            <Card>
                <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Sign-up is by invitation"</h1>
                <p class="mt-2 text-sm text-slate-600" data-testid="registration-closed">
                    {format!("Accounts for {} are created by its administrators.", app.name)}
                </p>
            </Card>
            <p class="mt-6 text-center text-sm text-slate-600">
                "Already have an account? " <CardLink href=login>"Sign in"</CardLink>
            </p>
        }
        .into_any();
    }
    let codes = RwSignal::new(None::<NewCodes>);
    view! {
        {move || match codes.get() {
            Some(new) => view! { <ShowCodes new /> }.into_any(),
            None => view! { <RegisterForms app=app.clone() codes /> }.into_any(),
        }}
    }
    .into_any()
}

#[component]
fn RegisterForms(app: HostedApp, codes: RwSignal<Option<NewCodes>>) -> impl IntoView {
    let return_to = query_param("return_to");
    let action = ServerAction::<RegisterWithPassword>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    let hydrated = use_hydrated();
    let email_input = NodeRef::<leptos::html::Input>::new();
    let passkey_pending = RwSignal::new(false);
    let passkey_error = RwSignal::new(None::<String>);
    let app_id = app.id.clone();
    let sign_up_with_passkey = move |_| {
        let app_id = app_id.clone();
        let email = email_input
            .get()
            .map(|input| input.value())
            .unwrap_or_default();
        passkey_pending.set(true);
        passkey_error.set(None);
        spawn_local(async move {
            let outcome = async {
                let options = start_passkey_sign_up(app_id.clone(), email)
                    .await
                    .map_err(|e| Some(e.to_string()))?;
                let credential = passkey_bridge::create(options).await.map_err(|e| match e {
                    CeremonyError::Aborted => None,
                    CeremonyError::Failed(message) => Some(message),
                })?;
                finish_passkey_sign_up(app_id, credential)
                    .await
                    .map_err(|e| Some(e.to_string()))
            }
            .await;
            match outcome {
                Ok(new) => codes.set(Some(new)),
                Err(message) => passkey_error.set(message),
            }
            passkey_pending.set(false);
        });
    };
    let login = format!("/a/{}/login", app.id);
    let passkey_enabled = app.passkey_enabled;
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Create your account"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">{format!("for {}", app.name)}</p>
            <ActionForm action attr:class="space-y-5" attr:data-testid="register-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                {move || return_to.get().map(|r| view! { <input type="hidden" name="return_to" value=r /> })}
                <FormError error />
                <Field label="E-mail address" name="email" kind="email" autocomplete="username" node_ref=email_input error />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 8 characters; a passphrase of a few words is easy to remember and hard to guess."
                    required=false
                    error
                />
                <SubmitButton label="Create account" pending_label="Creating account…" pending />
            </ActionForm>
            <Show when=move || hydrated.get() && passkey_enabled>
                <Divider />
                <button
                    type="button"
                    class=button_class(Tone::Secondary)
                    disabled=move || passkey_pending.get()
                    on:click=sign_up_with_passkey.clone()
                    data-testid="passkey-sign-up"
                >
                    {move || if passkey_pending.get() { view! { <Spinner /> }.into_any() } else { view! { <PasskeyIcon /> }.into_any() }}
                    "Create account with a passkey"
                </button>
                <p class="mt-2 text-xs text-slate-500">"Uses the e-mail above; no password needed."</p>
                {move || passkey_error.get().map(|message| view! {
                    <p class="mt-2 text-sm text-red-600" role="alert" data-testid="passkey-error">{message}</p>
                })}
            </Show>
        </Card>
        <p class="mt-6 text-center text-sm text-slate-600">
            "Already have an account? " <CardLink href=login>"Sign in"</CardLink>
        </p>
    }
}

/// The first recovery codes, shown once.
#[component]
pub fn RecoveryCodesList(codes: Vec<String>) -> impl IntoView {
    view! {
        <ol class="grid grid-cols-1 gap-2 rounded-lg bg-slate-50 p-4 font-mono text-sm text-slate-800 ring-1 ring-slate-200 sm:grid-cols-2" data-testid="recovery-codes">
            {codes.into_iter().map(|code| view! { <li class="tracking-wider">{code}</li> }).collect_view()}
        </ol>
    }
}

#[component]
fn ShowCodes(new: NewCodes) -> impl IntoView {
    let continue_to = new.continue_to.clone();
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Save your recovery codes"</h1>
            <p class="mt-1 mb-5 text-sm text-slate-500">
                "If you lose your passkey, each of these codes signs you in once. Keep them somewhere safe: they are shown only now."
            </p>
            <RecoveryCodesList codes=new.codes />
            <button
                type="button"
                class=format!("mt-6 {}", button_class(Tone::Primary))
                on:click=move |_| load_page(&continue_to)
            >
                "I saved them, continue"
            </button>
        </Card>
    }
}
