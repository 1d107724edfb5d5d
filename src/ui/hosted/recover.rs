//! `/a/{app_id}/recover`: sign in with a one-time recovery code (works
//! without JavaScript).

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{CardLink, HostedPage, load_page};
use crate::api::hosted::{HostedApp, SignInWithRecoveryCode};
use crate::ui::components::{Card, Field, FormError, SubmitButton, action_error};

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
    let action = ServerAction::<SignInWithRecoveryCode>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    let back = format!("/a/{}/login", app.id);
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Use a recovery code"</h1>
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
                <SubmitButton label="Sign in" pending_label="Checking…" pending />
            </ActionForm>
        </Card>
        <p class="mt-6 text-center text-sm text-slate-600">
            "Remembered how to sign in? " <CardLink href=back>"Back to sign-in"</CardLink>
        </p>
    }
}
