//! `/console/apps/{app_id}/users/{user_id}`: one user's factors, sessions,
//! roles and history, and what an operator can do about them. One card per
//! section, each owning its actions and confirmation dialogs; the actions
//! whose answer shows above the cards (a refusal without a dialog, a link
//! shown once) are made by the page and handed down.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{LoadError, RefusalNotice, Reload, ShownOnce};
use crate::api::ApiError;
use crate::api::console::audit::AuditRow;
use crate::api::console::providers::{ConsoleUnlink, LinkView};
use crate::api::console::roles::{ConsoleGrantRole, ConsoleRevokeRole};
use crate::api::console::users::{
    ConsoleDeleteUser, ConsoleEnrolmentLink, ConsoleInviteUser, ConsoleRecoveryLink,
    ConsoleRemoveUserPasskey, ConsoleSetUserActive, ConsoleSignOutUser, FactorRow, SessionRow,
    UserDetailView, console_user,
};
use crate::ui::components::{
    Badge, ConfirmDialog, EmptyState, Field, PageHeader, SMALL_BUTTON, SMALL_DANGER_BUTTON, Select,
    SmallSubmit, SubmitButton, Tone, action_error,
};

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let reload = Reload::new();
    let ids = move || {
        let p = params.read();
        (
            p.get("app_id").unwrap_or_default(),
            p.get("user_id").unwrap_or_default(),
        )
    };
    let user = Resource::new(
        move || (ids(), reload.track()),
        |((app, user), _)| console_user(app, user),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || user.get().map(|loaded| match loaded {
                Err(error) => view! { <LoadError error /> }.into_any(),
                Ok(view) => view! { <Detail view reload /> }.into_any(),
            })}
        </Transition>
    }
}

fn section(title: &'static str) -> impl IntoView {
    view! { <h2 class="text-base font-semibold text-slate-900">{title}</h2> }
}

/// Run `then` each time `action` succeeds.
fn on_success<A, O>(action: ServerAction<A>, then: impl Fn() + 'static)
where
    A: leptos::server_fn::ServerFn<Output = O, Error = ApiError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            then();
        }
    });
}

/// The user a card acts on: the hidden `app_id` and `user_id` of its forms.
type UserIds = StoredValue<(String, String)>;

fn hidden_ids(ids: UserIds) -> impl IntoView {
    let (app_id, user_id) = ids.get_value();
    view! {
        <input type="hidden" name="app_id" value=app_id />
        <input type="hidden" name="user_id" value=user_id />
    }
}

/// Changes to one's own console account ask for the e-mail address typed.
fn confirmation_field(is_self: bool, error: Signal<Option<ApiError>>) -> impl IntoView {
    is_self.then(|| {
        view! {
            <Field label="Type your e-mail address to confirm" name="confirmation" autocomplete="off" error />
        }
    })
}

const CARD: &str = "rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200";

#[component]
fn Detail(view: UserDetailView, reload: Reload) -> impl IntoView {
    let ids: UserIds = StoredValue::new((view.app_id.clone(), view.id.clone()));
    let grant = ServerAction::<ConsoleGrantRole>::new();
    let recovery = ServerAction::<ConsoleRecoveryLink>::new();
    let enrolment = ServerAction::<ConsoleEnrolmentLink>::new();
    let invite = ServerAction::<ConsoleInviteUser>::new();
    on_success(grant, move || reload.bump());
    let link_shown = move || {
        recovery
            .value()
            .get()
            .and_then(Result::ok)
            .map(|l| ("Recovery link (valid 1 hour, works once)", l))
            .or_else(|| {
                enrolment
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|l| ("Enrolment link for a first passkey (valid 24 hours, works once, after the user signs in)", l))
            })
            .or_else(|| {
                invite
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|l| ("Invitation link (valid 7 days, works once)", l))
            })
    };
    // Refusals of the actions that run without a dialog show above the page;
    // the others show inside their dialog.
    let page_refusal = Signal::derive(move || {
        [
            action_error(grant).get(),
            action_error(recovery).get(),
            action_error(enrolment).get(),
            action_error(invite).get(),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    let back = format!("/console/apps/{}/users", view.app_id);
    let is_self = view.is_self;
    let can_write = view.can_write;
    view! {
        <Title text=view.email.clone() />
        <a href=back class="text-sm text-slate-500 hover:text-slate-700">"← Users"</a>
        <PageHeader title=view.email.clone() subtitle=format!("User {} · created {}", view.id, view.created)>
            {if view.active { view! { <Badge tone="green" text="Active" /> }.into_any() } else { view! { <Badge tone="red" text="Deactivated" /> }.into_any() }}
            {view.email_verified.then(|| view! { <Badge tone="slate" text="E-mail verified" /> })}
            {is_self.then(|| view! { <Badge tone="indigo" text="You" /> })}
        </PageHeader>
        <div class="mb-4 empty:hidden"><RefusalNotice error=page_refusal /></div>
        {move || link_shown().map(|(label, link)| view! { <div class="mb-4"><ShownOnce label=label value=link /></div> })}
        <div class="grid gap-6 lg:grid-cols-2">
            <RolesCard held=view.roles other=view.other_roles grant ids can_write is_self reload />
            <FactorsCard has_password=view.has_password passkeys=view.passkeys recovery enrolment invite ids can_write reload />
            <SessionsCard sessions=view.sessions ids can_write reload />
            <LinkedAccountsCard links=view.links ids can_write reload />
            <AccountCard active=view.active ids can_write is_self reload />
        </div>
        <RecentEvents events=view.events />
    }
}

/// The roles held, each revocable behind a dialog, and a form to grant one.
#[component]
fn RolesCard(
    held: Vec<String>,
    other: Vec<String>,
    grant: ServerAction<ConsoleGrantRole>,
    ids: UserIds,
    can_write: bool,
    is_self: bool,
    reload: Reload,
) -> impl IntoView {
    let revoke = ServerAction::<ConsoleRevokeRole>::new();
    let revoking = RwSignal::new(None::<String>);
    let revoke_open = RwSignal::new(false);
    on_success(revoke, move || reload.bump());
    let grantable: Vec<(String, String)> = other.iter().map(|r| (r.clone(), r.clone())).collect();
    view! {
        <section class=CARD data-testid="user-roles">
            {section("Roles")}
            {if held.is_empty() {
                view! { <p class="mt-3 text-sm text-slate-500">"No roles."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-100">
                        {held.into_iter().map(|role| {
                            let role_value = role.clone();
                            view! {
                                <li class="flex items-center justify-between py-2">
                                    <span class="font-mono text-sm text-slate-800">{role.clone()}</span>
                                    {can_write.then(|| view! {
                                        <button
                                            type="button"
                                            class=SMALL_DANGER_BUTTON
                                            data-testid=format!("revoke-{role_value}")
                                            on:click=move |_| {
                                                revoke.value().set(None);
                                                revoking.set(Some(role_value.clone()));
                                                revoke_open.set(true);
                                            }
                                        >
                                            "Revoke…"
                                        </button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            {(can_write && !grantable.is_empty()).then(|| view! {
                <ActionForm action=grant attr:class="mt-4 flex items-end gap-2" attr:data-testid="grant-role-form">
                    {hidden_ids(ids)}
                    <div class="flex-1"><Select label="Grant a role" name="role" options=grantable.clone() /></div>
                    <div class="w-28"><SubmitButton label="Grant" pending_label="…" pending=grant.pending() tone=Tone::Secondary /></div>
                </ActionForm>
            })}
            <ConfirmDialog
                open=revoke_open
                title="Revoke this role?"
                message=if is_self { "You lose what this role lets you do at once." } else { "The user loses it at once; tokens minted from now on no longer carry it." }
            >
                <ActionForm action=revoke attr:class="space-y-3">
                    {hidden_ids(ids)}
                    <input type="hidden" name="role" value=move || revoking.get().unwrap_or_default() />
                    <p class="font-mono text-sm text-slate-800" data-testid="revoking-role">{move || revoking.get()}</p>
                    {confirmation_field(is_self, action_error(revoke))}
                    <RefusalNotice error=action_error(revoke) />
                    <SubmitButton label="Revoke role" pending_label="Revoking…" pending=revoke.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </section>
    }
}

/// Password and passkeys (each removable behind a dialog), and the links
/// that give a way in: recovery, a first passkey, an invitation.
#[component]
#[allow(clippy::too_many_arguments)]
fn FactorsCard(
    has_password: bool,
    passkeys: Vec<FactorRow>,
    recovery: ServerAction<ConsoleRecoveryLink>,
    enrolment: ServerAction<ConsoleEnrolmentLink>,
    invite: ServerAction<ConsoleInviteUser>,
    ids: UserIds,
    can_write: bool,
    reload: Reload,
) -> impl IntoView {
    let remove_passkey = ServerAction::<ConsoleRemoveUserPasskey>::new();
    let removing = RwSignal::new(None::<(String, String)>);
    let remove_open = RwSignal::new(false);
    on_success(remove_passkey, move || reload.bump());
    // An invitation sets up an account that has no way in; one that has
    // gets recovery (and, without a passkey, an enrolment link for the
    // first one).
    let set_up = has_password || !passkeys.is_empty();
    let no_passkey = passkeys.is_empty();
    view! {
        <section class=CARD data-testid="user-factors">
            {section("Sign-in methods")}
            <p class="mt-3 text-sm text-slate-700">{if has_password { "Has a password." } else { "No password." }}</p>
            {if passkeys.is_empty() {
                view! { <p class="mt-1 text-sm text-slate-500">"No passkeys."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-2 divide-y divide-slate-100">
                        {passkeys.into_iter().map(|p| {
                            let chosen = (p.id.clone(), p.name.clone());
                            view! {
                                <li class="flex items-center justify-between gap-2 py-2" data-testid="user-passkey">
                                    <div>
                                        <p class="text-sm font-medium text-slate-800">{p.name.clone()}</p>
                                        <p class="text-xs text-slate-500">{format!("Added {} · {}", p.created, p.last_used.clone().map(|l| format!("last used {l}")).unwrap_or_else(|| "never used".into()))}</p>
                                    </div>
                                    {can_write.then(|| view! {
                                        <button
                                            type="button"
                                            class=SMALL_DANGER_BUTTON
                                            data-testid="remove-passkey"
                                            on:click=move |_| {
                                                remove_passkey.value().set(None);
                                                removing.set(Some(chosen.clone()));
                                                remove_open.set(true);
                                            }
                                        >
                                            "Remove…"
                                        </button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            {can_write.then(|| view! {
                <div class="mt-4 flex flex-wrap gap-2">
                    {set_up.then(|| view! {
                        <ActionForm action=recovery>
                            {hidden_ids(ids)}
                            <SmallSubmit label="Issue a recovery link" pending=recovery.pending() test_id="recovery-link" />
                        </ActionForm>
                    })}
                    {(set_up && no_passkey).then(|| view! {
                        <ActionForm action=enrolment>
                            {hidden_ids(ids)}
                            <SmallSubmit label="Issue an enrolment link" pending=enrolment.pending() test_id="enrolment-link" />
                        </ActionForm>
                    })}
                    {(!set_up).then(|| view! {
                        <ActionForm action=invite>
                            {hidden_ids(ids)}
                            <SmallSubmit label="New invitation link" pending=invite.pending() test_id="invite-link" />
                        </ActionForm>
                    })}
                </div>
            })}
            <ConfirmDialog open=remove_open title="Remove this passkey?" message="It stops working at once (a lost or stolen device). The user keeps their other sign-in methods.">
                <ActionForm action=remove_passkey attr:class="space-y-3">
                    {hidden_ids(ids)}
                    <input type="hidden" name="passkey_id" value=move || removing.get().map(|(id, _)| id).unwrap_or_default() />
                    <p class="text-sm font-medium text-slate-800">{move || removing.get().map(|(_, name)| name)}</p>
                    <RefusalNotice error=action_error(remove_passkey) />
                    <SubmitButton label="Remove passkey" pending_label="Removing…" pending=remove_passkey.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </section>
    }
}

/// Where the user is signed in, and "sign out everywhere" behind a dialog.
#[component]
fn SessionsCard(
    sessions: Vec<SessionRow>,
    ids: UserIds,
    can_write: bool,
    reload: Reload,
) -> impl IntoView {
    let sign_out = ServerAction::<ConsoleSignOutUser>::new();
    let sign_out_open = RwSignal::new(false);
    on_success(sign_out, move || reload.bump());
    view! {
        <section class=CARD data-testid="user-sessions">
            {section("Sessions")}
            {if sessions.is_empty() {
                view! { <p class="mt-3 text-sm text-slate-500" data-testid="no-sessions">"Not signed in anywhere."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-100">
                        {sessions.into_iter().map(|s| view! {
                            <li class="py-2 text-sm">
                                <p class="text-slate-800">{format!("Signed in {} with {}", s.signed_in, s.methods.join(", "))}</p>
                                <p class="text-xs text-slate-500">{format!("Last seen {}{}", s.last_seen, s.address.clone().map(|a| format!(" from {a}")).unwrap_or_default())}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            {can_write.then(|| view! {
                <button type="button" class=format!("mt-4 {SMALL_BUTTON}") on:click=move |_| { sign_out.value().set(None); sign_out_open.set(true) } data-testid="sign-out-everywhere">"Sign out everywhere…"</button>
            })}
            <ConfirmDialog open=sign_out_open title="Sign this user out everywhere?" message="Every session ends and every refresh token stops working.">
                <ActionForm action=sign_out attr:class="space-y-3">
                    {hidden_ids(ids)}
                    <RefusalNotice error=action_error(sign_out) />
                    <SubmitButton label="Sign out everywhere" pending_label="Signing out…" pending=sign_out.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </section>
    }
}

/// The upstream accounts linked to the user, each unlinkable behind a
/// dialog (never the user's last way in; checked on the server).
#[component]
fn LinkedAccountsCard(
    links: Vec<LinkView>,
    ids: UserIds,
    can_write: bool,
    reload: Reload,
) -> impl IntoView {
    view! {
        <section class=CARD data-testid="user-links">
            {section("Linked accounts")}
            {if links.is_empty() {
                view! { <p class="mt-3 text-sm text-slate-500">"No upstream account is linked."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-100">
                        {links.into_iter().map(|link| view! { <LinkRow link ids can_write reload /> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn LinkRow(link: LinkView, ids: UserIds, can_write: bool, reload: Reload) -> impl IntoView {
    let unlink = ServerAction::<ConsoleUnlink>::new();
    let open = RwSignal::new(false);
    on_success(unlink, move || reload.bump());
    let link_id = StoredValue::new(link.id.clone());
    view! {
        <li class="flex flex-wrap items-center justify-between gap-2 py-2 text-sm" data-testid="user-link">
            <div class="min-w-0">
                <p class="text-slate-800">{format!("{} · {}", link.provider, link.email.clone().unwrap_or_else(|| "no address".to_owned()))}</p>
                <p class="truncate font-mono text-xs text-slate-500" title=link.issuer.clone()>{format!("{} · linked {}", link.subject, link.linked)}</p>
            </div>
            {can_write.then(|| view! {
                <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| { unlink.value().set(None); open.set(true) }>"Unlink…"</button>
            })}
            <ConfirmDialog open title="Unlink this account?" message="It no longer signs the user in, and the sessions it opened end.">
                <ActionForm action=unlink attr:class="space-y-3">
                    {hidden_ids(ids)}
                    <input type="hidden" name="link_id" value=link_id.get_value() />
                    <RefusalNotice error=action_error(unlink) />
                    <SubmitButton label="Unlink" pending_label="Unlinking…" pending=unlink.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </li>
    }
}

/// Deactivation (or reactivation) and deletion, each behind a dialog; a
/// deletion leaves for the list of users.
#[component]
fn AccountCard(
    active: bool,
    ids: UserIds,
    can_write: bool,
    is_self: bool,
    reload: Reload,
) -> impl IntoView {
    let set_active = ServerAction::<ConsoleSetUserActive>::new();
    let delete = ServerAction::<ConsoleDeleteUser>::new();
    let active_open = RwSignal::new(false);
    let delete_open = RwSignal::new(false);
    let navigate = use_navigate();
    on_success(set_active, move || reload.bump());
    on_success(delete, move || {
        let (app, _) = ids.get_value();
        navigate(&format!("/console/apps/{app}/users"), Default::default());
    });
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-red-200">
            <h2 class="text-base font-semibold text-red-700">"Account"</h2>
            <p class="mt-1 text-sm text-slate-500">"Deactivation ends every session and refresh token at once; deletion removes the user, their credentials and sessions."</p>
            {can_write.then(|| view! {
                <div class="mt-4 flex flex-wrap gap-2">
                    <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| { set_active.value().set(None); active_open.set(true) } data-testid="toggle-active">
                        {if active { "Deactivate…" } else { "Reactivate…" }}
                    </button>
                    <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| { delete.value().set(None); delete_open.set(true) } data-testid="delete-user">"Delete…"</button>
                </div>
            })}
            <ConfirmDialog
                open=active_open
                title=if active { "Deactivate this user?" } else { "Reactivate this user?" }
                message=if active { "They are signed out everywhere and cannot sign in until reactivated." } else { "They can sign in again." }
            >
                <ActionForm action=set_active attr:class="space-y-3">
                    {hidden_ids(ids)}
                    <input type="hidden" name="active" value=(!active).to_string() />
                    {confirmation_field(is_self, action_error(set_active))}
                    <RefusalNotice error=action_error(set_active) />
                    <SubmitButton label=if active { "Deactivate" } else { "Reactivate" } pending_label="Saving…" pending=set_active.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
            <ConfirmDialog open=delete_open title="Delete this user?" message="Their credentials, sessions and role assignments are removed. This cannot be undone.">
                <ActionForm action=delete attr:class="space-y-3">
                    {hidden_ids(ids)}
                    {confirmation_field(is_self, action_error(delete))}
                    <RefusalNotice error=action_error(delete) />
                    <SubmitButton label="Delete user" pending_label="Deleting…" pending=delete.pending() tone=Tone::Danger />
                </ActionForm>
            </ConfirmDialog>
        </section>
    }
}

/// The user's latest audit events.
#[component]
fn RecentEvents(events: Vec<AuditRow>) -> impl IntoView {
    view! {
        <section class=format!("mt-6 {CARD}")>
            {section("Recent events")}
            {if events.is_empty() {
                view! { <div class="mt-3"><EmptyState title="No events" text="Nothing has happened to this user yet." /></div> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-100 text-sm" data-testid="user-events">
                        {events.into_iter().map(|e| view! {
                            <li class="flex flex-wrap justify-between gap-2 py-2">
                                <span><span class="font-mono text-slate-800">{e.action.clone()}</span><span class="text-slate-500">{format!(" by {}", e.actor)}</span></span>
                                <span class="text-xs text-slate-500">{e.at.clone()}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}
