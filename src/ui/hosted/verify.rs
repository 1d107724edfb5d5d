//! `/a/{app_id}/verify`: confirm an e-mail address. Opened from the
//! verification e-mail (`?token=`), or sent here by the authorization
//! endpoint when the app requires a confirmed address (`?return_to=`).
//! Works without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{CardLink, HostedPage, load_page, query_param};
use crate::api::hosted::{
    ConfirmEmail, ConfirmationView, DisownEmail, HostedApp, ResendVerification, load_confirmation,
};
use crate::ui::components::{
    Card, FormError, Notice, SubmitButton, Tone, action_error, button_class,
};

/// The confirmation the link names, loaded once per page beside the app
/// (not inside the app's branch, which may be rebuilt while it loads: a
/// load begun there would lose the request it runs for). `None` without a
/// token.
type Confirmation = Option<Result<ConfirmationView, crate::api::ApiError>>;

#[derive(Clone, Copy)]
struct Found(Resource<Confirmation>);

#[component]
pub fn VerifyPage() -> impl IntoView {
    let params = use_params_map();
    let token = query_param("token");
    let found = Resource::new(
        move || {
            let app_id = params.read().get("app_id").unwrap_or_default();
            token.get().map(|token| (app_id, token))
        },
        |key| async move {
            match key {
                Some((app_id, token)) => Some(load_confirmation(app_id, token).await),
                None => None,
            }
        },
    );
    provide_context(Found(found));
    view! {
        <HostedPage
            title=|name| format!("Confirm your address for {name}")
            content=|app| view! { <VerifyContent app /> }.into_any()
        />
    }
}

#[component]
fn VerifyContent(app: HostedApp) -> impl IntoView {
    let token = query_param("token");
    let verified = query_param("verified");
    let disowned = query_param("disowned");
    move || {
        if disowned.get().is_some() {
            view! { <Disowned /> }.into_any()
        } else if let Some(token) = token.get() {
            view! { <ConfirmForm app=app.clone() token /> }.into_any()
        } else if verified.get().is_some() || app.signed_in_verified {
            view! { <Confirmed app=app.clone() /> }.into_any()
        } else if app.signed_in_as.is_some() {
            view! { <CheckInbox app=app.clone() /> }.into_any()
        } else {
            view! { <SignInFirst app=app.clone() /> }.into_any()
        }
    }
}

/// Where to go once the address is confirmed: a page of this app only.
fn continue_to(app: &HostedApp) -> String {
    crate::return_to::safe_return_to(&app.id, query_param("return_to").get_untracked().as_deref())
}

/// The link from the e-mail. The page says for which account it is, when
/// and how that account was made (N6: anyone can sign up with someone
/// else's address); signed in to it, one press confirms (a form, so a mail
/// scanner that opens links does not use it up); otherwise the reader
/// signs in first, or says the account is not theirs.
#[component]
fn ConfirmForm(app: HostedApp, token: String) -> impl IntoView {
    let found = expect_context::<Found>().0;
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Confirm your e-mail address"</h1>
            <Transition fallback=|| view! { <p class="mt-2 text-sm text-slate-500">"Loading…"</p> }>
                {move || found.get().flatten().map(|found| match found {
                    Ok(found) => view! { <ConfirmChoices app=app.clone() token=token.clone() found /> }.into_any(),
                    Err(error) => view! {
                        <div class="mt-4" data-testid="confirm-invalid"><Notice tone="error">{error.to_string()}</Notice></div>
                    }.into_any(),
                })}
            </Transition>
        </Card>
    }
}

#[component]
fn ConfirmChoices(app: HostedApp, token: String, found: ConfirmationView) -> impl IntoView {
    let confirm = ServerAction::<ConfirmEmail>::new();
    let disown = ServerAction::<DisownEmail>::new();
    let confirm_error = action_error(confirm);
    let disown_error = action_error(disown);
    for action in [confirm.value(), disown.value()] {
        Effect::new(move |_| {
            if let Some(Ok(target)) = action.get() {
                load_page(&target);
            }
        });
    }
    let here = format!("/a/{}/verify?token={}", app.id, token);
    let mut login = form_urlencoded::Serializer::new(String::new());
    login.append_pair("return_to", &here);
    let login = format!("/a/{}/login?{}", app.id, login.finish());
    let origin = format!(
        "An account for {} was created on {}, {}.",
        found.email, found.created_on, found.how
    );
    let choices = if found.signed_in_to_it {
        view! {
            <ActionForm action=confirm attr:class="space-y-4" attr:data-testid="confirm-email-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <input type="hidden" name="token" value=token.clone() />
                <FormError error=confirm_error />
                <SubmitButton label="Confirm my address" pending_label="Confirming…" pending=confirm.pending() />
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <div class="space-y-4">
                <p class="text-sm text-slate-600">
                    "If you made it, sign in to it here, and this link will confirm the address."
                </p>
                <a href=login class=button_class(Tone::Primary) data-testid="sign-in-to-confirm">"Sign in to confirm"</a>
                <div class="border-t border-slate-200 pt-4">
                    <p class="mb-3 text-sm text-slate-600">
                        "If you did not make it, someone used your address. Close that account: nobody will be able to sign in to it."
                    </p>
                    <ActionForm action=disown attr:class="space-y-3" attr:data-testid="disown-email-form">
                        <input type="hidden" name="app_id" value=app.id.clone() />
                        <input type="hidden" name="token" value=token.clone() />
                        <FormError error=disown_error />
                        <SubmitButton label="This wasn't me" pending_label="Closing…" pending=disown.pending() tone=Tone::Danger />
                    </ActionForm>
                </div>
            </div>
        }
        .into_any()
    };
    view! {
        <p class="mt-1 mb-6 text-sm text-slate-500" data-testid="account-origin">{origin}</p>
        {choices}
    }
}

/// After "This wasn't me".
#[component]
fn Disowned() -> impl IntoView {
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"That account is closed"</h1>
            <p class="mt-1 text-sm text-slate-500" data-testid="disowned">
                "Thank you for telling us. Nobody can sign in to the account made with your address any more, and we sent a note to the address."
            </p>
        </Card>
    }
}

#[component]
fn Confirmed(app: HostedApp) -> impl IntoView {
    let next = continue_to(&app);
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Your address is confirmed"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">"Thank you. You can go on where you were."</p>
            <a href=next class=button_class(Tone::Primary) data-testid="verified-continue">"Continue"</a>
        </Card>
    }
}

/// Signed in, address not yet confirmed: the app needs it before it lets
/// them in.
#[component]
fn CheckInbox(app: HostedApp) -> impl IntoView {
    let action = ServerAction::<ResendVerification>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    let pending = action.pending();
    let sent = query_param("sent");
    let return_to = query_param("return_to").get_untracked().unwrap_or_default();
    let next = continue_to(&app);
    let email = app.signed_in_as.clone().unwrap_or_default();
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Confirm your e-mail address"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                {format!("{} needs to know that {email} is yours. Open the link we sent to it, then continue here.", app.name)}
            </p>
            <div class="space-y-4">
                {move || sent.get().map(|_| view! {
                    <Notice tone="success">"A new link is on its way. It works once, within 24 hours."</Notice>
                })}
                <a href=next.clone() class=button_class(Tone::Primary)>"I have confirmed it: continue"</a>
                <ActionForm action attr:class="space-y-3" attr:data-testid="resend-verification-form">
                    <input type="hidden" name="app_id" value=app.id.clone() />
                    <input type="hidden" name="return_to" value=return_to />
                    <FormError error />
                    <SubmitButton label="Send me a new link" pending_label="Sending…" pending tone=Tone::Secondary />
                </ActionForm>
            </div>
        </Card>
    }
}

#[component]
fn SignInFirst(app: HostedApp) -> impl IntoView {
    let login = format!("/a/{}/login", app.id);
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Confirm your e-mail address"</h1>
            <p class="mt-1 text-sm text-slate-500">
                "Open the link from the e-mail we sent you. To get a new one, sign in first."
            </p>
        </Card>
        <p class="mt-6 text-center text-sm text-slate-600">
            <CardLink href=login>"Sign in"</CardLink>
        </p>
    }
}
