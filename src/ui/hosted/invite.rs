//! `/a/{app_id}/invite/{token}`: set up an invited account (and the
//! console's first owner) with a passkey, or a password where allowed; or
//! accept an invitation into an organization: signed in as the invited
//! account, or by setting up an account for the invited address (the same
//! server functions serve both kinds of invitation).

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::register::RecoveryCodesList;
use super::{Divider, HostedPage, PasskeyIcon, load_page, use_hydrated};
use crate::api::hosted::orgs::{AcceptOrgInvitation, OrgInvitationView};
use crate::api::hosted::{
    AcceptInvitationWithPassword, HostedApp, InvitationView, NewCodes, finish_invitation_passkey,
    load_invitation, start_invitation_passkey,
};
use crate::ui::components::{
    Card, Field, FormError, Notice, Spinner, SubmitButton, Tone, action_error, button_class,
};
use crate::ui::passkey_bridge::{self, CeremonyError};

/// The invitation, loaded once per page beside the app (not inside the
/// app's branch, which may be rebuilt while it loads).
#[derive(Clone, Copy)]
struct Invitation(Resource<Result<InvitationView, crate::api::ApiError>>);

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let invitation = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("app_id").unwrap_or_default(),
                p.get("token").unwrap_or_default(),
            )
        },
        |(app, token)| load_invitation(app, token),
    );
    provide_context(Invitation(invitation));
    view! {
        <HostedPage
            title=|name| format!("Join {name}")
            content=|app| view! { <InviteContent app /> }.into_any()
        />
    }
}

#[component]
fn InviteContent(app: HostedApp) -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let invitation = expect_context::<Invitation>().0;
    let codes = RwSignal::new(None::<NewCodes>);
    view! {
        <Transition>
            {move || {
                let app = app.clone();
                invitation.get().map(|loaded| match (loaded, codes.get()) {
                    (_, Some(new)) => view! { <SavedCodes new /> }.into_any(),
                    (Ok(view), None) => match view.org.clone() {
                        Some(org) => view! { <JoinOrg app view org token=token() codes /> }.into_any(),
                        None => view! { <SetUp app view token=token() codes /> }.into_any(),
                    },
                    (Err(err), None) => view! {
                        <Card>
                            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"This invitation cannot be used"</h1>
                            <div class="mt-4"><Notice tone="error">{err.to_string()}</Notice></div>
                        </Card>
                    }
                    .into_any(),
                })
            }}
        </Transition>
    }
}

/// An invitation into an organization: who is signed in here decides what
/// the page offers (join, sign in as the invited account first, sign out of
/// another one, or set up an account for the invited address).
#[component]
fn JoinOrg(
    app: HostedApp,
    view: InvitationView,
    org: OrgInvitationView,
    token: String,
    codes: RwSignal<Option<NewCodes>>,
) -> impl IntoView {
    let invited = view.email.clone();
    let through = org.provider.clone().filter(|_| !org.already_member);
    let body = match org.signed_in_as.clone() {
        // The organization takes its members through its provider only:
        // whoever is signed in here, the provider decides who accepts.
        _ if through.is_some() => {
            let (name, href) = through.unwrap_or_default();
            view! {
                <p class="mb-4 text-sm text-slate-600" data-testid="invite-provider-note">
                    {format!("{} accepts its members through {name}. Sign in there as {invited} to accept.", org.org_name)}
                </p>
                <a href=href rel="external" class=button_class(Tone::Primary) data-testid="invite-provider">
                    {format!("Continue with {name}")}
                </a>
            }
            .into_any()
        }
        None if !org.account_exists => {
            return view! { <SetUp app view token codes /> }.into_any();
        }
        Some(_) if org.already_member => view! {
            <Notice tone="info">{format!("You are already a member of {}.", org.org_name)}</Notice>
            <a href=format!("/a/{}/orgs", app.id) class=format!("mt-4 {}", button_class(Tone::Primary))>
                "Open your organizations"
            </a>
        }
        .into_any(),
        Some(me) if me == invited => {
            let action = ServerAction::<AcceptOrgInvitation>::new();
            let form_error = action_error(action);
            let join = format!("Join {}", org.org_name);
            Effect::new(move |_| {
                if let Some(Ok(target)) = action.value().get() {
                    load_page(&target);
                }
            });
            view! {
                <ActionForm action attr:class="space-y-3" attr:data-testid="join-org-form">
                    <input type="hidden" name="app_id" value=app.id.clone() />
                    <input type="hidden" name="token" value=token.clone() />
                    <FormError error=form_error />
                    <SubmitButton
                        label=join
                        pending_label="Joining…"
                        pending=action.pending()
                    />
                </ActionForm>
            }
            .into_any()
        }
        Some(me) => view! {
            <Notice tone="error">
                {format!("This invitation is for {invited}, but you are signed in as {me}. Sign out, then sign in as {invited} to accept it.")}
            </Notice>
            <a href=org.sign_out_href.clone() class=format!("mt-4 {}", button_class(Tone::Secondary)) data-testid="invite-switch-account">
                "Sign out"
            </a>
        }
        .into_any(),
        None => view! {
            <p class="mb-4 text-sm text-slate-600">
                {format!("{invited} already has an account here: sign in to accept.")}
            </p>
            <a href=org.sign_in_href.clone() class=button_class(Tone::Primary) data-testid="invite-sign-in">
                {format!("Sign in as {invited}")}
            </a>
        }
        .into_any(),
    };
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">
                {format!("Join {}", org.org_name)}
            </h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "An invitation for "
                <span class="font-medium text-slate-700" data-testid="invite-email">{invited.clone()}</span>
                {format!(" to the organization {} in {}, as {}.", org.org_name, app.name, org.roles.join(", "))}
            </p>
            {body}
        </Card>
    }
    .into_any()
}

#[component]
fn SetUp(
    app: HostedApp,
    view: InvitationView,
    token: String,
    codes: RwSignal<Option<NewCodes>>,
) -> impl IntoView {
    let hydrated = use_hydrated();
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Where a passkey is required, a password may be chosen beside it (a
    // second way to confirm it's them); otherwise the two are alternatives.
    let password_beside_passkey = view.needs_passkey && view.password_allowed;
    let password_input = NodeRef::<leptos::html::Input>::new();
    let password_error = RwSignal::new(None::<crate::api::ApiError>);
    let app_id = app.id.clone();
    let passkey_token = token.clone();
    let create_passkey = move |_| {
        let app_id = app_id.clone();
        let token = passkey_token.clone();
        let password = password_input
            .get_untracked()
            .map(|input| input.value())
            .filter(|p| !p.is_empty());
        pending.set(true);
        error.set(None);
        password_error.set(None);
        spawn_local(async move {
            let outcome = async {
                let options = start_invitation_passkey(app_id.clone(), token, password.clone())
                    .await
                    .map_err(Some)?;
                let credential = passkey_bridge::create(options).await.map_err(|e| match e {
                    CeremonyError::Aborted => None,
                    CeremonyError::Failed(message) => Some(crate::api::ApiError::Refused(message)),
                })?;
                finish_invitation_passkey(app_id, credential, password)
                    .await
                    .map_err(Some)
            }
            .await;
            match outcome {
                Ok(new) => codes.set(Some(new)),
                Err(Some(e)) if e.is_field_error() => password_error.set(Some(e)),
                Err(e) => error.set(e.map(|e| e.to_string())),
            }
            pending.set(false);
        });
    };
    let optional_password = password_beside_passkey.then(|| view! {
        <div class="mb-4">
            <Field
                label="Password (optional)"
                name="password"
                kind="password"
                autocomplete="new-password"
                required=false
                hint="A second way to confirm it's you. Signing in to the console still takes the passkey."
                node_ref=password_input
                error=Signal::derive(move || password_error.get())
            />
        </div>
    });
    let password_form = (view.password_allowed && !view.needs_passkey).then(|| {
        let action = ServerAction::<AcceptInvitationWithPassword>::new();
        let form_error = action_error(action);
        Effect::new(move |_| {
            if let Some(Ok(target)) = action.value().get() {
                load_page(&target);
            }
        });
        let divider = view.passkey_allowed.then(|| view! { <Divider /> });
        view! {
            {divider}
            <ActionForm action attr:class="space-y-4" attr:data-testid="invite-password-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <input type="hidden" name="token" value=token.clone() />
                <FormError error=form_error />
                <Field label="Choose a password" name="password" kind="password" autocomplete="new-password" hint="At least 8 characters, not a common one." error=form_error />
                <SubmitButton label="Set password and continue" pending_label="Setting up…" pending=action.pending() tone=Tone::Secondary />
            </ActionForm>
        }
    });
    let passkey_note = view.needs_passkey.then(|| view! {
        <div class="mb-4"><Notice tone="info">"Your role requires a passkey: it protects this account against phishing."</Notice></div>
    });
    // An organization's invitation says which organization it opens.
    let (heading, joining) = match &view.org {
        Some(org) => (
            format!("Join {}", org.org_name),
            format!(
                " to join {} in {} as {}.",
                org.org_name,
                app.name,
                org.roles.join(", ")
            ),
        ),
        None => (format!("Welcome to {}", app.name), String::new()),
    };
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">{heading}</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">
                "Set up the account for " <span class="font-medium text-slate-700" data-testid="invite-email">{view.email.clone()}</span>
                {joining}
            </p>
            {passkey_note}
            {optional_password}
            <Show when=move || view.passkey_allowed>
                <button
                    type="button"
                    class=button_class(Tone::Primary)
                    disabled=move || pending.get() || !hydrated.get()
                    on:click=create_passkey.clone()
                    data-testid="invite-passkey"
                >
                    {move || if pending.get() { view! { <Spinner /> }.into_any() } else { view! { <PasskeyIcon /> }.into_any() }}
                    "Create a passkey"
                </button>
                {move || error.get().map(|message| view! {
                    <p class="mt-2 text-sm text-red-600" role="alert" data-testid="passkey-error">{message}</p>
                })}
            </Show>
            {password_form}
        </Card>
    }
}

#[component]
fn SavedCodes(new: NewCodes) -> impl IntoView {
    let continue_to = new.continue_to.clone();
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Save your recovery codes"</h1>
            <p class="mt-1 mb-5 text-sm text-slate-500">
                "Your passkey is set up. If you ever lose it, each of these codes signs you in once. They are shown only now."
            </p>
            <RecoveryCodesList codes=new.codes />
            <button type="button" class=format!("mt-6 {}", button_class(Tone::Primary)) on:click=move |_| load_page(&continue_to)>
                "I saved them, continue"
            </button>
        </Card>
    }
}
