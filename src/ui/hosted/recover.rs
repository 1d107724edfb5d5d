//! `/a/{app_id}/recover`: get a recovery link by e-mail, or sign in with a
//! one-time recovery code; opened with `?token=`, redeem a recovery link.
//! Works without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{CardLink, Divider, HostedPage, load_page, query_param};
use crate::api::hosted::{
    HostedApp, RedeemRecoveryLink, RequestRecoveryEmail, SignInWithRecoveryCode,
};
use crate::ui::components::{Card, Field, FormError, Notice, SubmitButton, Tone, action_error};

#[component]
pub fn RecoverPage() -> impl IntoView {
    view! {
        <HostedPage
            title=|name| format!("Recover access to {name}")
            content=|app| view! { <RecoverContent app /> }.into_any()
        />
    }
}

#[component]
fn RecoverContent(app: HostedApp) -> impl IntoView {
    let token = query_param("token");
    move || match token.get() {
        Some(token) => view! { <RecoveryLink app=app.clone() token /> }.into_any(),
        None => view! { <RecoveryChoices app=app.clone() /> }.into_any(),
    }
}

/// Two ways back in: a link by e-mail, or a recovery code kept from before.
#[component]
fn RecoveryChoices(app: HostedApp) -> impl IntoView {
    let back = format!("/a/{}/login", app.id);
    view! {
        {app.sends_email.then(|| view! { <EmailLinkForm app=app.clone() /> <Divider /> })}
        <RecoveryCodeForm app=app.clone() alone=!app.sends_email />
        <p class="mt-6 text-center text-sm text-slate-600">
            "Remembered how to sign in? " <CardLink href=back>"Back to sign-in"</CardLink>
        </p>
    }
}

/// "E-mail me a link": the same answer whether or not the address has an
/// account here.
#[component]
fn EmailLinkForm(app: HostedApp) -> impl IntoView {
    let action = ServerAction::<RequestRecoveryEmail>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    let sent = query_param("sent");
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Recover your account"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "We will e-mail you a link that signs you in once. Then add a new passkey or set a new password."
            </p>
            {move || sent.get().map(|_| view! {
                <div class="mb-5" data-testid="recovery-email-sent">
                    <Notice tone="success">
                        "If an account uses that address, a link is on its way to it. It works once, within an hour."
                    </Notice>
                </div>
            })}
            <ActionForm action attr:class="space-y-5" attr:data-testid="recovery-email-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <FormError error />
                <Field label="E-mail address" name="email" id="field-link-email" kind="email" autocomplete="username" error />
                <SubmitButton label="E-mail me a link" pending_label="Sending…" pending />
            </ActionForm>
        </Card>
    }
}

/// An operator's one-time recovery link (works without JavaScript).
#[component]
fn RecoveryLink(app: HostedApp, token: String) -> impl IntoView {
    let action = ServerAction::<RedeemRecoveryLink>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Recover your account"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "This one-time link signs you in once; then add a new passkey or password, and your other sessions end."
            </p>
            <ActionForm action attr:class="space-y-4" attr:data-testid="recovery-link-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <input type="hidden" name="token" value=token />
                <FormError error />
                <SubmitButton label="Sign in with this link" pending_label="Checking…" pending />
            </ActionForm>
        </Card>
    }
}

#[component]
fn RecoveryCodeForm(
    app: HostedApp,
    /// The only way offered (this server sends no e-mail).
    alone: bool,
) -> impl IntoView {
    let action = ServerAction::<SignInWithRecoveryCode>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    view! {
        <Card>
            {if alone {
                view! { <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Use a recovery code"</h1> }.into_any()
            } else {
                view! { <h2 class="text-lg font-semibold tracking-tight text-slate-900">"Use a recovery code"</h2> }.into_any()
            }}
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "Each code works once. After signing in you will add a new passkey or set a new password."
            </p>
            <ActionForm action attr:class="space-y-5" attr:data-testid="recovery-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <FormError error />
                <Field label="E-mail address" name="email" kind="email" autocomplete="username" error />
                <Field
                    label="Recovery code"
                    name="code"
                    autocomplete="one-time-code"
                    placeholder="XXXX-XXXX-XXXX-XXXX"
                    error
                />
                <SubmitButton
                    label="Sign in with the code"
                    pending_label="Checking…"
                    pending
                    tone=if alone { Tone::Primary } else { Tone::Secondary }
                />
            </ActionForm>
        </Card>
    }
}
