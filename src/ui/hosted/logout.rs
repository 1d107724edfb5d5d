//! `/a/{app_id}/logout`: sign out of the app in this browser (a button, not
//! a link, so another site cannot sign you out).

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{HostedPage, load_page};
use crate::api::hosted::{HostedApp, SignOut};
use crate::ui::components::{Card, FormError, SubmitButton, Tone, action_error, button_class};

#[component]
pub fn LogoutPage() -> impl IntoView {
    view! {
        <HostedPage
            title=|name| format!("Sign out of {name}")
            content=|app| view! { <LogoutContent app /> }.into_any()
        />
    }
}

#[component]
fn LogoutContent(app: HostedApp) -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    let who = app
        .signed_in_as
        .clone()
        .map(|email| format!("You are signed in as {email}."))
        .unwrap_or_else(|| "You are not signed in here.".to_owned());
    // Cancel goes back where this app's people work: the console's operators
    // to the console, everyone else to their account page.
    let account = if app.id == "console" {
        "/console".to_owned()
    } else {
        format!("/a/{}/account", app.id)
    };
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">
                {format!("Sign out of {}?", app.name)}
            </h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">{who}</p>
            <ActionForm action attr:class="space-y-3">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <FormError error />
                <SubmitButton label="Sign out" pending_label="Signing out…" pending />
                <a href=account class=button_class(Tone::Secondary)>"Cancel"</a>
            </ActionForm>
        </Card>
    }
}
