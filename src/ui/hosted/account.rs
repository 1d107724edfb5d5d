//! `/a/{app_id}/account`: the signed-in user's own passkeys, password,
//! recovery codes, sessions, and account deactivation.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use super::register::RecoveryCodesList;
use super::{HostedPage, PasskeyIcon, load_page, query_param, use_hydrated};
use crate::api::ApiError;
use crate::api::account::{
    AccountView, ChangePassword, ConfirmUpstreamLink, DeactivateAccount, DismissUpstreamLink,
    LinkedIdentityView, PasskeyView, PendingLinkView, ProviderButton, RegenerateRecoveryCodes,
    RemovePasskey, RenamePasskey, RevokeSession, SessionView, UnlinkUpstream, finish_add_passkey,
    load_account, start_add_passkey,
};
use crate::api::hosted::HostedApp;
use crate::ui::components::{
    Card, Field, FormError, Notice, Spinner, SubmitButton, Tone, action_error, button_class,
};
use crate::ui::passkey_bridge::{self, CeremonyError};

#[component]
pub fn AccountPage() -> impl IntoView {
    // The account is loaded here, once per page, beside the app (not inside
    // the app's branch, which may be rebuilt while it loads).
    let params = use_params_map();
    // An operator's enrolment link opens this page with `?enrol=TOKEN`.
    let enrolment = query_param("enrol");
    let changed = Changed(RwSignal::new(0));
    let account = Resource::new(
        move || {
            (
                params.read().get("app_id").unwrap_or_default(),
                enrolment.get(),
                changed.0.get(),
            )
        },
        |(id, enrolment, _)| load_account(id, enrolment),
    );
    provide_context(Enrolment(enrolment));
    provide_context(changed);
    provide_context(AccountResource(account));
    provide_context(FreshCodes(RwSignal::new(None)));
    provide_context(Flash(RwSignal::new(None)));
    view! {
        <HostedPage
            title=|name| format!("Your {name} account")
            wide=true
            content=|app| view! { <AccountContent app /> }.into_any()
        />
    }
}

/// The enrolment link's token, when the page was opened with one.
#[derive(Clone, Copy)]
struct Enrolment(Signal<Option<String>>);

/// Bumped after every change, so the account view reloads.
#[derive(Clone, Copy)]
struct Changed(RwSignal<u32>);

impl Changed {
    fn bump(self) {
        self.0.update(|n| *n += 1);
    }
}

#[derive(Clone, Copy)]
struct AccountResource(Resource<Result<AccountView, ApiError>>);

/// A confirmation to show above the reloaded sections.
#[derive(Clone, Copy)]
struct Flash(RwSignal<Option<&'static str>>);

/// Recovery codes just generated: shown once, above the reloaded sections
/// (which are rebuilt after the change that produced them).
#[derive(Clone, Copy)]
struct FreshCodes(RwSignal<Option<Vec<String>>>);

#[component]
fn AccountContent(app: HostedApp) -> impl IntoView {
    let app_id_for_login = app.id.clone();
    let account = expect_context::<AccountResource>().0;
    let enrolment = expect_context::<Enrolment>().0;
    // Signing in comes back here, with the enrolment link if there was one.
    let login = move || {
        let mut back = format!("/a/{}/account", app_id_for_login);
        if let Some(token) = enrolment.get() {
            back.push_str("?enrol=");
            back.push_str(&token);
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("return_to", &back);
        format!("/a/{}/login?{}", app_id_for_login, query.finish())
    };
    view! {
        <Transition fallback=|| view! { <Card><p class="text-sm text-slate-500">"Loading your account…"</p></Card> }>
            {move || {
                let app = app.clone();
                let login = login();
                account
                    .get()
                    .map(|loaded| match loaded {
                        Ok(view) => view! { <AccountSections app view /> }.into_any(),
                        Err(ApiError::SignInRequired) => view! { <Redirect path=login /> }.into_any(),
                        Err(err) => view! { <Notice tone="error">{err.to_string()}</Notice> }.into_any(),
                    })
            }}
        </Transition>
    }
}

/// A titled section of the account page.
#[component]
fn Section(
    #[prop(into)] title: String,
    #[prop(optional, into)] description: Option<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
            <h2 class="text-base font-semibold text-slate-900">{title}</h2>
            {description.map(|d| view! { <p class="mt-1 text-sm text-slate-500">{d}</p> })}
            <div class="mt-4">{children()}</div>
        </section>
    }
}

/// The link that sends the user to confirm their identity, then back here:
/// with their passkey when they have one (changes to factors need the
/// strongest factor).
fn reauth_link(app_id: &str, passkey: bool) -> String {
    let reauth = if passkey { "passkey" } else { "1" };
    format!("/a/{app_id}/login?reauth={reauth}&return_to=/a/{app_id}/account")
}

/// Whether the signed-in user has a passkey (for the re-authentication link).
#[derive(Clone, Copy)]
struct HasPasskey(bool);

/// An error, with a way to confirm identity when that is what is missing.
#[component]
fn ActionProblem(app_id: String, #[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    let passkey = use_context::<HasPasskey>().is_some_and(|h| h.0);
    move || {
        error.get().filter(|e| !e.is_field_error()).map(|e| {
            let reauth = matches!(e, ApiError::ReauthRequired(_)).then(|| {
                view! {
                    " "
                    <a href=reauth_link(&app_id, passkey) class="font-semibold underline" data-testid="confirm-its-you">"Confirm it's you"</a>
                }
            });
            view! {
                <div class="mb-4 rounded-lg bg-red-50 px-4 py-3 text-sm text-red-800 ring-1 ring-red-200" role="alert" data-testid="form-error">
                    {e.to_string()}
                    {reauth}
                </div>
            }
        })
    }
}

#[component]
fn AccountSections(app: HostedApp, view: AccountView) -> impl IntoView {
    let logout = format!("/a/{}/logout", app.id);
    // A recovery of a passkey-role user that no operator vouched for can
    // neither add a passkey nor set a password (N2): it says what will.
    let stuck = view.password_blocked.is_some()
        && view.passkey_blocked.is_some()
        && !view.enrolment_link_valid;
    let enrolment = view.requires_enrolment.then(|| view! {
        <Notice tone="info">
            <span data-testid="enrolment-required">
                {if stuck {
                    "You signed in with a recovery code. Your access needs a passkey, and after a recovery only an operator's enrolment link adds one: ask an operator for one, and open it here."
                } else {
                    "You signed in with a recovery code. Add a passkey or set a new password now, so you can sign in normally next time."
                }}
            </span>
        </Notice>
    });
    let full = !view.requires_enrolment;
    provide_context(HasPasskey(!view.passkeys.is_empty()));
    let fresh_codes = expect_context::<FreshCodes>().0;
    let flash = expect_context::<Flash>().0;
    view! {
        <div class="space-y-6">
            <div class="flex flex-wrap items-center justify-between gap-3 rounded-2xl bg-white px-6 py-4 shadow-sm ring-1 ring-slate-200">
                <div>
                    <p class="text-xs font-medium uppercase tracking-wide text-slate-400">"Signed in as"</p>
                    <p class="font-medium text-slate-900" data-testid="account-email">{view.email.clone()}</p>
                </div>
                <a href=logout class="rounded-lg px-3 py-2 text-sm font-medium text-slate-600 ring-1 ring-slate-300 hover:bg-slate-50">
                    "Sign out"
                </a>
            </div>
            {move || flash.get().map(|message| view! { <Notice tone="success">{message}</Notice> })}
            {enrolment}
            {view.pending_link.clone().map(|pending| view! { <PendingLinkPanel app_id=app.id.clone() pending /> })}
            {move || fresh_codes.get().map(|codes| view! {
                <section class="space-y-3 rounded-2xl bg-emerald-50 p-6 ring-1 ring-emerald-200">
                    <h2 class="text-base font-semibold text-emerald-900">"Save your new recovery codes"</h2>
                    <p class="text-sm text-emerald-900">
                        "Each code signs you in once if you lose your passkeys. Keep them somewhere safe: they are shown only now."
                    </p>
                    <RecoveryCodesList codes />
                </section>
            })}
            {view.passkey_enabled.then(|| view! {
                <PasskeysSection
                    app=app.clone()
                    passkeys=view.passkeys.clone()
                    blocked=view.passkey_blocked.clone()
                    enrolment_link=view.enrolment_link_valid
                />
            })}
            {view.password_enabled.then(|| view! {
                <PasswordSection
                    app=app.clone()
                    has_password=view.has_password
                    requires_enrolment=view.requires_enrolment
                    blocked=view.password_blocked.clone()
                />
            })}
            {full.then(|| view! {
                <RecoveryCodesSection
                    app=app.clone()
                    left=view.recovery_codes_left
                    passkey_first=view.passkeys.is_empty() && (view.passkey_blocked.is_some() || view.enrolment_link_valid)
                />
                <LinkedAccountsSection
                    app=app.clone()
                    linked=view.linked.clone()
                    linkable=view.linkable.clone()
                />
                <SessionsSection app=app.clone() sessions=view.sessions.clone() />
                <DeactivateSection app=app.clone() email=view.email.clone() fresh=view.fresh />
            })}
        </div>
    }
}

/// An upstream account this browser brought back, waiting to be linked
/// (the user signed in with their existing method to get here).
#[component]
fn PendingLinkPanel(app_id: String, pending: PendingLinkView) -> impl IntoView {
    let changed = expect_context::<Changed>();
    let flash = expect_context::<Flash>().0;
    let confirm = ServerAction::<ConfirmUpstreamLink>::new();
    let dismiss = ServerAction::<DismissUpstreamLink>::new();
    Effect::new(move |_| {
        if matches!(confirm.value().get(), Some(Ok(()))) {
            flash.set(Some(
                "The accounts are linked: you can now sign in with either.",
            ));
            changed.bump();
        }
        if matches!(dismiss.value().get(), Some(Ok(()))) {
            changed.bump();
        }
    });
    let error = action_error(confirm);
    let upstream = pending
        .email
        .clone()
        .map(|email| format!(" ({email})"))
        .unwrap_or_default();
    let problem_app = app_id.clone();
    let dismiss_app = app_id.clone();
    view! {
        <section class="rounded-2xl bg-sky-50 p-6 ring-1 ring-sky-200" data-testid="pending-link">
            <h2 class="text-base font-semibold text-sky-900">{format!("Link your {} account?", pending.provider)}</h2>
            <p class="mt-1 text-sm text-sky-900">
                {format!("You came back from {}{upstream}. Link it to this account to sign in with it from now on. Only that account will be linked.", pending.provider)}
            </p>
            <div class="mt-3"><ActionProblem app_id=problem_app error /></div>
            <div class="mt-2 flex flex-wrap gap-2">
                <ActionForm action=confirm>
                    <input type="hidden" name="app_id" value=app_id />
                    <div class="w-44"><SubmitButton label="Link accounts" pending_label="Linking…" pending=confirm.pending() /></div>
                </ActionForm>
                <ActionForm action=dismiss>
                    <input type="hidden" name="app_id" value=dismiss_app />
                    <button type="submit" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-white">"Not now"</button>
                </ActionForm>
            </div>
        </section>
    }
}

/// Upstream accounts linked to this one, and the app's other providers.
#[component]
fn LinkedAccountsSection(
    app: HostedApp,
    linked: Vec<LinkedIdentityView>,
    linkable: Vec<ProviderButton>,
) -> impl IntoView {
    if linked.is_empty() && linkable.is_empty() {
        return ().into_any();
    }
    let rows = linked
        .into_iter()
        .map(|identity| view! { <LinkedRow app_id=app.id.clone() identity /> })
        .collect_view();
    let buttons = linkable
        .into_iter()
        .map(|provider| {
            let href = format!("/a/{}/upstream/{}/start?link=1", app.id, provider.slug);
            let testid = format!("link-{}", provider.slug);
            view! {
                <a href=href rel="external" data-testid=testid class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50">
                    {format!("Link {}", provider.name)}
                </a>
            }
        })
        .collect_view();
    view! {
        <Section title="Linked accounts" description="Accounts at other providers that can sign you in here.">
            <ul class="divide-y divide-slate-100">{rows}</ul>
            <div class="mt-3 flex flex-wrap gap-2">{buttons}</div>
        </Section>
    }
    .into_any()
}

#[component]
fn LinkedRow(app_id: String, identity: LinkedIdentityView) -> impl IntoView {
    let changed = expect_context::<Changed>();
    let unlink = ServerAction::<UnlinkUpstream>::new();
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(unlink.value().get(), Some(Ok(()))) {
            changed.bump();
        }
    });
    let error = action_error(unlink);
    let used = identity
        .last_used
        .clone()
        .map(|at| format!("last used {at}"))
        .unwrap_or_else(|| "not used to sign in yet".to_owned());
    let app_id = StoredValue::new(app_id);
    let link_id = StoredValue::new(identity.id.clone());
    view! {
        <li class="py-3" data-testid="linked-row">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <div class="min-w-0">
                    <p class="font-medium text-slate-900" data-testid="linked-provider">{identity.provider.clone()}</p>
                    <p class="truncate text-xs text-slate-500">
                        {format!("{} · linked {} · {used}", identity.email.clone().unwrap_or_else(|| "no address given".to_owned()), identity.linked)}
                    </p>
                </div>
                <button type="button" class="rounded-md px-2.5 py-1.5 text-sm font-medium text-red-600 hover:bg-red-50" on:click=move |_| confirming.set(true) data-testid="unlink">
                    "Unlink"
                </button>
            </div>
            <Show when=move || confirming.get()>
                <ActionForm action=unlink attr:class="mt-3 rounded-lg bg-red-50 p-3 ring-1 ring-red-200">
                    <input type="hidden" name="app_id" value=app_id.get_value() />
                    <input type="hidden" name="link_id" value=link_id.get_value() />
                    <p class="mb-3 text-sm text-red-800">"Unlink this account? It will no longer sign you in here, and the sessions it opened end."</p>
                    <ActionProblem app_id=app_id.get_value() error />
                    <div class="mt-2 flex gap-2">
                        <div class="w-40"><SubmitButton label="Unlink" pending_label="Unlinking…" pending=unlink.pending() tone=Tone::Danger /></div>
                        <button type="button" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-white" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                </ActionForm>
            </Show>
        </li>
    }
}

#[component]
fn PasskeysSection(
    app: HostedApp,
    passkeys: Vec<PasskeyView>,
    /// Why this session may not add a passkey (a role needs one and only an
    /// operator's enrolment link brings the first).
    blocked: Option<String>,
    /// The page carries a valid enrolment link for this account.
    enrolment_link: bool,
) -> impl IntoView {
    let changed = expect_context::<Changed>();
    let enrolment = expect_context::<Enrolment>().0;
    // The ceremony needs JavaScript: the button waits for it.
    let hydrated = use_hydrated();
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let fresh_codes = expect_context::<FreshCodes>().0;
    let name_input = NodeRef::<leptos::html::Input>::new();
    let app_id = app.id.clone();
    let add = move |_| {
        let app_id = app_id.clone();
        let name = name_input.get().map(|i| i.value()).unwrap_or_default();
        let enrolment = enrolment.get_untracked().filter(|_| enrolment_link);
        pending.set(true);
        error.set(None);
        spawn_local(async move {
            let outcome = async {
                let options = start_add_passkey(app_id.clone(), enrolment.clone())
                    .await
                    .map_err(Some)?;
                let credential = passkey_bridge::create(options).await.map_err(|e| match e {
                    CeremonyError::Aborted => None,
                    CeremonyError::Failed(message) => Some(ApiError::Refused(message)),
                })?;
                finish_add_passkey(app_id, credential, name, enrolment)
                    .await
                    .map_err(Some)
            }
            .await;
            match outcome {
                Ok(codes) => {
                    if codes.is_some() {
                        fresh_codes.set(codes);
                    }
                    changed.bump();
                }
                Err(message) => error.set(message),
            }
            pending.set(false);
        });
    };
    let empty = passkeys.is_empty();
    let rows = passkeys
        .into_iter()
        .map(|passkey| view! { <PasskeyRow app_id=app.id.clone() passkey /> })
        .collect_view();
    let link_banner = enrolment_link.then(|| view! {
        <div class="mb-4"><Notice tone="info">
            <span data-testid="enrolment-banner">
                "Your administrator sent you this link to add your first passkey. Add it now: the link works once."
            </span>
        </Notice></div>
    });
    let adder = match blocked {
        Some(reason) => view! {
            <Notice tone="info"><span data-testid="passkey-blocked">{reason}</span></Notice>
        }
        .into_any(),
        None => view! {
            <div class="flex flex-col gap-3 sm:flex-row sm:items-end">
                <div class="flex-1 space-y-1.5">
                    <label for="passkey-name" class="block text-sm font-medium text-slate-700">"Name for a new passkey"</label>
                    <input
                        id="passkey-name"
                        node_ref=name_input
                        placeholder="e.g. Work laptop"
                        class="block w-full rounded-lg border-0 px-3 py-2.5 text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-[var(--brand)] sm:text-sm"
                    />
                </div>
                <div class="sm:w-48">
                    <button type="button" class=button_class(Tone::Primary) disabled=move || pending.get() || !hydrated.get() on:click=add data-testid="add-passkey">
                        {move || if pending.get() { view! { <Spinner /> }.into_any() } else { view! { <PasskeyIcon /> }.into_any() }}
                        "Add a passkey"
                    </button>
                </div>
            </div>
        }
        .into_any(),
    };
    view! {
        <Section
            title="Passkeys"
            description="Sign in with your fingerprint, face or device PIN. Passkeys cannot be phished."
        >
            {empty.then(|| view! { <p class="mb-4 text-sm text-slate-500" data-testid="no-passkeys">"No passkeys yet."</p> })}
            <ul class="mb-4 divide-y divide-slate-100" data-testid="passkey-list">{rows}</ul>
            {link_banner}
            <div data-testid="passkey-error-slot"><ActionProblem app_id=app.id.clone() error=error /></div>
            {adder}
        </Section>
    }
}

#[component]
fn PasskeyRow(app_id: String, passkey: PasskeyView) -> impl IntoView {
    let changed = expect_context::<Changed>();
    let rename = ServerAction::<RenamePasskey>::new();
    let remove = ServerAction::<RemovePasskey>::new();
    let renaming = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(rename.value().get(), Some(Ok(())))
            || matches!(remove.value().get(), Some(Ok(())))
        {
            changed.bump();
        }
    });
    let rename_error = action_error(rename);
    let remove_error = action_error(remove);
    let used = passkey
        .last_used
        .clone()
        .map(|at| format!("last used {at}"))
        .unwrap_or_else(|| "never used to sign in".to_owned());
    let name = passkey.name.clone();
    // Copyable handles: the forms below are rebuilt each time they are shown.
    let app_id = StoredValue::new(app_id);
    let passkey_id = StoredValue::new(passkey.id.clone());
    let name = StoredValue::new(name);
    view! {
        <li class="py-3" data-testid="passkey-row">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <div class="min-w-0">
                    <p class="truncate font-medium text-slate-900" data-testid="passkey-name">{passkey.name.clone()}</p>
                    <p class="text-xs text-slate-500">{format!("Added {} · {used}", passkey.created)}</p>
                </div>
                <div class="flex gap-2">
                    <button type="button" class="rounded-md px-2.5 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100" on:click=move |_| renaming.update(|r| *r = !*r)>
                        "Rename"
                    </button>
                    <button type="button" class="rounded-md px-2.5 py-1.5 text-sm font-medium text-red-600 hover:bg-red-50" on:click=move |_| confirming.set(true) data-testid="remove-passkey">
                        "Remove"
                    </button>
                </div>
            </div>
            <Show when=move || renaming.get()>
                <ActionForm action=rename attr:class="mt-3 flex flex-col gap-2 sm:flex-row sm:items-start">
                    <input type="hidden" name="app_id" value=app_id.get_value() />
                    <input type="hidden" name="passkey_id" value=passkey_id.get_value() />
                    <div class="flex-1">
                        <Field label="New name" name="name" value=name.get_value() error=rename_error />
                    </div>
                    <div class="sm:mt-7 sm:w-32">
                        <SubmitButton label="Save" pending_label="Saving…" pending=rename.pending() tone=Tone::Secondary />
                    </div>
                </ActionForm>
            </Show>
            <Show when=move || confirming.get()>
                <ActionForm action=remove attr:class="mt-3 rounded-lg bg-red-50 p-3 ring-1 ring-red-200">
                    <input type="hidden" name="app_id" value=app_id.get_value() />
                    <input type="hidden" name="passkey_id" value=passkey_id.get_value() />
                    <p class="mb-3 text-sm text-red-800">"Remove this passkey? You will no longer be able to sign in with it."</p>
                    <FormError error=remove_error />
                    <div class="mt-2 flex gap-2">
                        <div class="w-40"><SubmitButton label="Remove passkey" pending_label="Removing…" pending=remove.pending() tone=Tone::Danger /></div>
                        <button type="button" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-white" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                </ActionForm>
            </Show>
        </li>
    }
}

#[component]
fn PasswordSection(
    app: HostedApp,
    has_password: bool,
    requires_enrolment: bool,
    /// Why this session may not set the password.
    blocked: Option<String>,
) -> impl IntoView {
    let changed = expect_context::<Changed>();
    let flash = expect_context::<Flash>().0;
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            flash.set(Some("Your password was saved."));
            changed.bump();
        }
    });
    let needs_current = has_password && !requires_enrolment;
    let (title, description, button) = if has_password {
        (
            "Password",
            "Changing it signs you out everywhere else.",
            "Change password",
        )
    } else {
        (
            "Password",
            "You sign in without a password. You can set one as a second way in.",
            "Set password",
        )
    };
    if let Some(reason) = blocked {
        return view! {
            <Section title description>
                <Notice tone="info"><span data-testid="password-blocked">{reason}</span></Notice>
            </Section>
        }
        .into_any();
    }
    view! {
        <Section title description>
            <ActionForm action attr:class="space-y-4" attr:data-testid="password-change-form">
                <input type="hidden" name="app_id" value=app.id.clone() />
                <ActionProblem app_id=app.id.clone() error />
                {needs_current.then(|| view! {
                    <Field label="Current password" name="current" kind="password" autocomplete="current-password" error />
                })}
                <Field
                    label="New password"
                    name="new"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 8 characters, and not one of the common ones."
                    error
                />
                <div class="sm:w-48">
                    <SubmitButton label=button pending_label="Saving…" pending=action.pending() />
                </div>
            </ActionForm>
        </Section>
    }
    .into_any()
}

#[component]
fn RecoveryCodesSection(
    app: HostedApp,
    left: u64,
    /// The user's access needs a passkey they have not added yet: recovery
    /// codes come with it, never before.
    passkey_first: bool,
) -> impl IntoView {
    let action = ServerAction::<RegenerateRecoveryCodes>::new();
    let error = action_error(action);
    let changed = expect_context::<Changed>();
    let fresh_codes = expect_context::<FreshCodes>().0;
    Effect::new(move |_| {
        if let Some(Ok(codes)) = action.value().get() {
            fresh_codes.set(Some(codes));
            changed.bump();
        }
    });
    view! {
        <Section
            title="Recovery codes"
            description="One-time codes that sign you in if you lose your passkeys. Generating new ones voids the old."
        >
            <p class="mb-4 text-sm text-slate-700" data-testid="recovery-codes-left">
                {format!("{left} of 10 codes left.")}
            </p>
            {if passkey_first {
                view! {
                    <p class="text-sm text-slate-500" data-testid="codes-after-passkey">
                        "Your recovery codes come with your first passkey."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <ActionForm action attr:class="space-y-3">
                        <input type="hidden" name="app_id" value=app.id.clone() />
                        <ActionProblem app_id=app.id.clone() error />
                        <div class="sm:w-64">
                            <SubmitButton label="Generate new codes" pending_label="Generating…" pending=action.pending() tone=Tone::Secondary />
                        </div>
                    </ActionForm>
                }
                .into_any()
            }}
        </Section>
    }
}

#[component]
fn SessionsSection(app: HostedApp, sessions: Vec<SessionView>) -> impl IntoView {
    let rows = sessions
        .into_iter()
        .map(|session| view! { <SessionRow app_id=app.id.clone() session /> })
        .collect_view();
    view! {
        <Section title="Where you're signed in" description="Sign out of any session you don't recognise.">
            <ul class="divide-y divide-slate-100" data-testid="session-list">{rows}</ul>
        </Section>
    }
}

fn describe_methods(methods: &[String]) -> String {
    let mut names = Vec::new();
    if methods.iter().any(|m| m == "hwk") {
        names.push("passkey");
    }
    if methods.iter().any(|m| m == "pwd") {
        names.push("password");
    }
    if methods.iter().any(|m| m == "otp") {
        names.push("recovery code");
    }
    if methods.iter().any(|m| m == "ext") {
        names.push("sign-in provider");
    }
    names.join(" + ")
}

#[component]
fn SessionRow(app_id: String, session: SessionView) -> impl IntoView {
    let changed = expect_context::<Changed>();
    let action = ServerAction::<RevokeSession>::new();
    let error = action_error(action);
    let app_for_redirect = app_id.clone();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(true)) => load_page(&format!("/a/{app_for_redirect}/login?signed_out=1")),
        Some(Ok(false)) => changed.bump(),
        _ => {}
    });
    let device = session
        .user_agent
        .clone()
        .map(|ua| summarise_agent(&ua))
        .unwrap_or_else(|| "Unknown device".to_owned());
    let detail = format!(
        "Signed in {} with {} · last active {}{}",
        session.signed_in,
        describe_methods(&session.methods),
        session.last_seen,
        session
            .address
            .as_ref()
            .map(|a| format!(" · {a}"))
            .unwrap_or_default()
    );
    view! {
        <li class="flex flex-wrap items-center justify-between gap-3 py-3" data-testid="session-row">
            <div class="min-w-0">
                <p class="font-medium text-slate-900">
                    {device}
                    {session.current.then(|| view! {
                        <span class="ml-2 rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-800">"This browser"</span>
                    })}
                </p>
                <p class="text-xs text-slate-500">{detail}</p>
                <FormError error />
            </div>
            <ActionForm action>
                <input type="hidden" name="app_id" value=app_id />
                <input type="hidden" name="session_id" value=session.id.clone() />
                <button type="submit" class="rounded-md px-2.5 py-1.5 text-sm font-medium text-red-600 hover:bg-red-50" data-testid="revoke-session">
                    "Sign out"
                </button>
            </ActionForm>
        </li>
    }
}

/// "Chrome on Linux" from a user agent string.
fn summarise_agent(ua: &str) -> String {
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|marker| ua.contains(*marker))
        .map(|marker| match *marker {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        })
        .unwrap_or("A browser");
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS", "macOS"),
        ("Windows", "Windows"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[component]
fn DeactivateSection(app: HostedApp, email: String, fresh: bool) -> impl IntoView {
    let action = ServerAction::<DeactivateAccount>::new();
    let error = action_error(action);
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            load_page(&target);
        }
    });
    // Deactivation needs a recent sign-in with any factor.
    let reauth = reauth_link(&app.id, false);
    let app_id = StoredValue::new(app.id.clone());
    let email = StoredValue::new(email);
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-red-200">
            <h2 class="text-base font-semibold text-red-700">"Deactivate account"</h2>
            <p class="mt-1 text-sm text-slate-500">
                {format!("You will be signed out everywhere and unable to sign in to {} until an administrator reactivates you.", app.name)}
            </p>
            <div class="mt-4">
                {if fresh {
                    view! {
                        <Show
                            when=move || confirming.get()
                            fallback=move || view! {
                                <button type="button" class="rounded-lg px-3 py-2 text-sm font-semibold text-red-700 ring-1 ring-red-300 hover:bg-red-50" on:click=move |_| confirming.set(true) data-testid="deactivate-start">
                                    "Deactivate my account…"
                                </button>
                            }
                        >
                            <ActionForm action attr:class="space-y-4 rounded-lg bg-red-50 p-4 ring-1 ring-red-200">
                                <input type="hidden" name="app_id" value=app_id.get_value() />
                                <ActionProblem app_id=app_id.get_value() error />
                                <Field
                                    label=format!("Type {} to confirm", email.get_value())
                                    name="confirmation"
                                    autocomplete="off"
                                    error
                                />
                                <div class="flex flex-wrap gap-2">
                                    <div class="w-56"><SubmitButton label="Deactivate my account" pending_label="Deactivating…" pending=action.pending() tone=Tone::Danger /></div>
                                    <button type="button" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-white" on:click=move |_| confirming.set(false)>"Cancel"</button>
                                </div>
                            </ActionForm>
                        </Show>
                    }.into_any()
                } else {
                    view! {
                        <p class="text-sm text-slate-700">
                            "For your safety this needs a recent sign-in. "
                            <a href=reauth class="font-semibold text-[var(--brand)] hover:underline" data-testid="deactivate-reauth">"Confirm it's you"</a>
                            " to continue."
                        </p>
                    }.into_any()
                }}
            </div>
        </section>
    }
}
