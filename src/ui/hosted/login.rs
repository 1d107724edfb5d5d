//! `/a/{app_id}/login`: sign in with a password (works without JavaScript)
//! or a passkey; with `?reauth=1`, confirm the signed-in user's identity.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{CardLink, Divider, HostedPage, PasskeyIcon, load_page, query_param, use_hydrated};
use crate::api::hosted::{
    HostedApp, ReauthenticateWithPassword, SignInWithPassword, finish_passkey_assertion,
    start_passkey_assertion,
};
use crate::return_to::safe_return_to;
use crate::ui::components::{
    Card, Field, FormError, Notice, Spinner, SubmitButton, Tone, action_error, button_class,
};
use crate::ui::passkey_bridge::{self, CeremonyError};

#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <HostedPage
            title=|name| format!("Sign in to {name}")
            content=|app| view! { <LoginContent app /> }.into_any()
        />
    }
}

#[component]
fn LoginContent(app: HostedApp) -> impl IntoView {
    let reauth = query_param("reauth");
    let signed_out = query_param("signed_out");
    let deactivated = query_param("deactivated");
    let return_to = query_param("return_to");
    let passkey_only = query_param("passkey");
    let login_hint = query_param("login_hint");
    let app_for_view = app.clone();
    move || {
        let app = app_for_view.clone();
        let notice = if signed_out.get().is_some() {
            Some("You have signed out.")
        } else if deactivated.get().is_some() {
            Some("Your account has been deactivated and you have been signed out.")
        } else {
            None
        };
        let notice = notice
            .map(|text| view! { <div class="mb-4"><Notice tone="success">{text}</Notice></div> });
        let passkey_only = passkey_only.get().is_some();
        // `reauth=passkey`: what comes next needs a recent passkey (a change
        // to one's factors or own access), so only a passkey confirms.
        let reauth = reauth.get();
        let confirm_with_passkey = reauth.as_deref() == Some("passkey");
        let body = match (&app.signed_in_as, reauth.is_some() || passkey_only) {
            (Some(email), true) => view! {
                <ReauthCard app=app.clone() email=email.clone() return_to=return_to.get() confirm_with_passkey passkey_only />
            }
            .into_any(),
            (Some(email), false) => view! { <SignedInCard app=app.clone() email=email.clone() return_to=return_to.get() /> }.into_any(),
            (None, _) => view! { <SignInCard app=app.clone() return_to=return_to.get() login_hint=login_hint.get() /> }.into_any(),
        };
        view! { {notice} {body} }
    }
}

/// Run a passkey assertion and go where the server says.
fn passkey_sign_in(
    app_id: String,
    return_to: Option<String>,
    conditional: bool,
    pending: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) {
    spawn_local(async move {
        if !conditional {
            pending.set(true);
            error.set(None);
        }
        let outcome = async {
            let options = start_passkey_assertion(app_id.clone())
                .await
                .map_err(|e| Some(e.to_string()))?;
            let credential =
                passkey_bridge::get(options, conditional)
                    .await
                    .map_err(|e| match e {
                        CeremonyError::Aborted => None,
                        CeremonyError::Failed(message) => Some(message),
                    })?;
            finish_passkey_assertion(app_id, credential, return_to)
                .await
                .map_err(|e| Some(e.to_string()))
        }
        .await;
        match outcome {
            Ok(target) => load_page(&target),
            Err(message) => {
                if message.is_some() {
                    error.set(message);
                }
                pending.set(false);
            }
        }
    });
}

#[component]
fn PasskeyButton(
    app: HostedApp,
    return_to: Option<String>,
    #[prop(into)] label: String,
    /// Also offer passkeys in the e-mail field's autofill.
    #[prop(default = false)]
    conditional: bool,
) -> impl IntoView {
    let hydrated = use_hydrated();
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    if conditional {
        let app_id = app.id.clone();
        let return_to = return_to.clone();
        Effect::new(move |_| {
            let app_id = app_id.clone();
            let return_to = return_to.clone();
            spawn_local(async move {
                if passkey_bridge::conditional_available().await {
                    passkey_sign_in(app_id, return_to, true, pending, error);
                }
            });
        });
    }
    let on_click =
        move |_| passkey_sign_in(app.id.clone(), return_to.clone(), false, pending, error);
    view! {
        <Show when=move || hydrated.get()>
            <button
                type="button"
                class=button_class(Tone::Secondary)
                disabled=move || pending.get()
                on:click=on_click.clone()
                data-testid="passkey-sign-in"
            >
                {move || if pending.get() { view! { <Spinner /> }.into_any() } else { view! { <PasskeyIcon /> }.into_any() }}
                {label.clone()}
            </button>
            {move || error.get().map(|message| view! {
                <p class="mt-2 text-sm text-red-600" role="alert" data-testid="passkey-error">{message}</p>
            })}
        </Show>
    }
}

#[component]
fn SignInCard(
    app: HostedApp,
    return_to: Option<String>,
    login_hint: Option<String>,
) -> impl IntoView {
    let action = ServerAction::<SignInWithPassword>::new();
    let error = action_error(action);
    // With JavaScript the page navigates itself; without, the server redirects.
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    let password_form = app.password_enabled.then(|| {
        let app_id = app.id.clone();
        let return_to = return_to.clone();
        view! {
            <ActionForm action attr:class="space-y-5" attr:data-testid="password-form">
                <input type="hidden" name="app_id" value=app_id />
                {return_to.map(|r| view! { <input type="hidden" name="return_to" value=r /> })}
                <FormError error />
                <Field
                    label="E-mail address"
                    name="email"
                    kind="email"
                    autocomplete="username webauthn"
                    value=login_hint.clone().unwrap_or_default()
                    error
                />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" error />
                <SubmitButton label="Sign in" pending_label="Signing in…" pending />
            </ActionForm>
        }
    });
    let passkey = app.passkey_enabled.then(|| {
        let divider = app.password_enabled.then(|| view! { <Divider /> });
        view! {
            {divider}
            <PasskeyButton app=app.clone() return_to=return_to.clone() label="Sign in with a passkey" conditional=app.password_enabled />
        }
    });
    let upstream = (!app.providers.is_empty()).then(|| {
        let divider = (app.password_enabled || app.passkey_enabled).then(|| view! { <Divider /> });
        view! {
            {divider}
            <ProviderButtons app=app.clone() return_to=return_to.clone() />
        }
    });
    let link_notice = app.link_pending.clone().map(|provider| {
        view! {
            <div class="mb-5" data-testid="link-pending">
                <Notice tone="info">
                    {format!("There is no account here linked to that {provider} account yet. Sign in with your existing account first: you can then link the two.")}
                </Notice>
            </div>
        }
    });
    let recover = format!("/a/{}/recover", app.id);
    let register = app.self_registration.then(|| {
        let href = format!("/a/{}/register", app.id);
        view! {
            <p>"New here? " <CardLink href>"Create an account"</CardLink></p>
        }
    });
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Sign in"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">{format!("to continue to {}", app.name)}</p>
            {link_notice}
            {password_form}
            {passkey}
            {upstream}
        </Card>
        <div class="mt-6 space-y-2 text-center text-sm text-slate-600">
            <p>"Lost your passkey or password? " <CardLink href=recover>"Recover your account"</CardLink></p>
            {register}
        </div>
    }
}

/// One button per upstream provider of the app: a plain link (the server
/// redirects to the provider), so it works without JavaScript.
#[component]
fn ProviderButtons(app: HostedApp, return_to: Option<String>) -> impl IntoView {
    let query = return_to
        .filter(|r| !r.is_empty())
        .map(|r| {
            format!(
                "?return_to={}",
                form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    let buttons = app
        .providers
        .iter()
        .map(|provider| {
            let href = format!("/a/{}/upstream/{}/start{query}", app.id, provider.slug);
            let testid = format!("provider-{}", provider.slug);
            view! {
                <a href=href class=button_class(Tone::Secondary) rel="external" data-testid=testid>
                    {format!("Continue with {}", provider.name)}
                </a>
            }
        })
        .collect_view();
    view! { <div class="space-y-3">{buttons}</div> }
}

/// Someone is signed in here already.
#[component]
fn SignedInCard(app: HostedApp, email: String, return_to: Option<String>) -> impl IntoView {
    // A query string is not to be trusted: only a path of this app is a link.
    let continue_to = safe_return_to(&app.id, return_to.as_deref());
    let sign_out = format!("/a/{}/logout", app.id);
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"You're signed in"</h1>
            <p class="mt-1 text-sm text-slate-500">
                "as " <span class="font-medium text-slate-700" data-testid="signed-in-as">{email}</span>
            </p>
            <div class="mt-6 space-y-3">
                <a href=continue_to class=button_class(Tone::Primary) rel="external">"Continue"</a>
                <a href=sign_out class=button_class(Tone::Secondary)>"Sign out"</a>
            </div>
        </Card>
    }
}

/// Confirm it's you: the signed-in user proves their presence again, with
/// a passkey only when what comes next needs one (`confirm_with_passkey`: a
/// change to their factors, the console's own access). `passkey_only` is a
/// step-up an application (a role, acr_values) asked for.
#[component]
fn ReauthCard(
    app: HostedApp,
    email: String,
    return_to: Option<String>,
    confirm_with_passkey: bool,
    passkey_only: bool,
) -> impl IntoView {
    if passkey_only || (confirm_with_passkey && !app.signed_in_has_passkey) {
        return view! { <PasskeyStepUp app email return_to /> }.into_any();
    }
    let action = ServerAction::<ReauthenticateWithPassword>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    // A passkey-only user has no password to confirm with, and a change that
    // needs a passkey is not confirmed by a password.
    let with_password = app.password_enabled && app.signed_in_has_password && !confirm_with_passkey;
    let password_form = with_password.then(|| {
        let app_id = app.id.clone();
        let return_to = return_to.clone();
        view! {
            <ActionForm action attr:class="space-y-5">
                <input type="hidden" name="app_id" value=app_id />
                {return_to.map(|r| view! { <input type="hidden" name="return_to" value=r /> })}
                <FormError error />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" error />
                <SubmitButton label="Confirm" pending_label="Checking…" pending />
            </ActionForm>
        }
    });
    let passkey = app.passkey_enabled.then(|| {
        let divider = with_password.then(|| view! { <Divider /> });
        view! {
            {divider}
            <PasskeyButton app=app.clone() return_to=return_to.clone() label="Confirm with a passkey" />
        }
    });
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Confirm it's you"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "Signed in as " <span class="font-medium text-slate-700">{email}</span>
                ". This action needs a recent sign-in."
            </p>
            {password_form}
            {passkey}
        </Card>
    }
    .into_any()
}

/// A passkey is required (a privileged role, or acr_values=phr).
#[component]
fn PasskeyStepUp(app: HostedApp, email: String, return_to: Option<String>) -> impl IntoView {
    let account = format!("/a/{}/account", app.id);
    let body = if app.signed_in_has_passkey {
        view! { <PasskeyButton app=app.clone() return_to label="Continue with a passkey" /> }
            .into_any()
    } else if app.signed_in_needs_enrolment_link {
        view! {
            <Notice tone="info">
                <span data-testid="needs-enrolment-link">
                    "You have no passkey yet, and your access needs one. Ask your administrator for an enrolment link: it lets you add your first passkey."
                </span>
            </Notice>
        }
        .into_any()
    } else {
        view! {
            <Notice tone="info">
                "You have no passkey yet. "
                <a href=account class="font-semibold underline">"Add one on your account page"</a>
                ", then come back to this application."
            </Notice>
        }
        .into_any()
    };
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900" data-testid="step-up-title">
                "A passkey is required"
            </h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "Signed in as " <span class="font-medium text-slate-700">{email}</span>
                {format!(". Your access to {} needs the stronger protection of a passkey.", app.name)}
            </p>
            {body}
        </Card>
    }
}
