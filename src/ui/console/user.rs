//! `/console/apps/{app_id}/users/{user_id}`: one user's factors, sessions,
//! roles and history, and what an operator can do about them.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{LoadError, Reload, ShownOnce};
use crate::api::console::{
    ConsoleDeleteUser, ConsoleGrantRole, ConsoleInviteUser, ConsoleRecoveryLink,
    ConsoleRemoveUserPasskey, ConsoleRevokeRole, ConsoleSetUserActive, ConsoleSignOutUser,
    UserDetailView, console_user,
};
use crate::ui::components::{
    Badge, ConfirmDialog, EmptyState, Field, PageHeader, Select, SubmitButton, Tone, action_error,
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

const SMALL: &str = "rounded-md px-2.5 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50";
const SMALL_DANGER: &str =
    "rounded-md px-2.5 py-1.5 text-sm font-medium text-red-700 ring-1 ring-red-200 hover:bg-red-50";

#[component]
fn Detail(view: UserDetailView, reload: Reload) -> impl IntoView {
    let ids = StoredValue::new((view.app_id.clone(), view.id.clone()));
    let can_write = view.can_write;
    let is_self = view.is_self;
    let active = view.status == "active";
    let navigate = use_navigate();

    let grant = ServerAction::<ConsoleGrantRole>::new();
    let grant_error = action_error(grant);
    let revoke = ServerAction::<ConsoleRevokeRole>::new();
    let revoke_error = action_error(revoke);
    let sign_out = ServerAction::<ConsoleSignOutUser>::new();
    let recovery = ServerAction::<ConsoleRecoveryLink>::new();
    let invite = ServerAction::<ConsoleInviteUser>::new();
    let remove_passkey = ServerAction::<ConsoleRemoveUserPasskey>::new();
    let set_active = ServerAction::<ConsoleSetUserActive>::new();
    let set_active_error = action_error(set_active);
    let delete = ServerAction::<ConsoleDeleteUser>::new();
    let delete_error = action_error(delete);
    let active_open = RwSignal::new(false);
    let delete_open = RwSignal::new(false);
    let sign_out_open = RwSignal::new(false);
    Effect::new(move |_| {
        let done = |v: Option<Result<(), crate::api::ApiError>>| matches!(v, Some(Ok(())));
        if done(grant.value().get())
            || done(revoke.value().get())
            || done(remove_passkey.value().get())
        {
            reload.bump();
        }
        if done(set_active.value().get()) {
            active_open.set(false);
            reload.bump();
        }
        if matches!(sign_out.value().get(), Some(Ok(_))) {
            sign_out_open.set(false);
            reload.bump();
        }
    });
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            let (app, _) = ids.get_value();
            navigate(&format!("/console/apps/{app}/users"), Default::default());
        }
    });
    let link_shown = move || {
        recovery
            .value()
            .get()
            .and_then(Result::ok)
            .map(|l| ("Recovery link (valid 1 hour, works once)", l))
            .or_else(|| {
                invite
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|l| ("Invitation link (valid 7 days, works once)", l))
            })
    };
    let refusal = move || {
        [
            grant_error.get(),
            revoke_error.get(),
            set_active_error.get(),
            delete_error.get(),
        ]
        .into_iter()
        .flatten()
        .find(|e| !e.is_field_error())
    };
    let confirmation_field = move |error: Signal<Option<crate::api::ApiError>>| {
        is_self.then(|| view! {
            <Field label="Type your e-mail address to confirm" name="confirmation" autocomplete="off" error />
        })
    };
    let roles_held = view.roles.clone();
    let other_roles: Vec<(String, String)> = view
        .other_roles
        .iter()
        .map(|r| (r.clone(), r.clone()))
        .collect();
    let has_other_roles = !other_roles.is_empty();
    let back = format!("/console/apps/{}/users", view.app_id);
    view! {
        <Title text=view.email.clone() />
        <a href=back class="text-sm text-slate-500 hover:text-slate-700">"← Users"</a>
        <PageHeader title=view.email.clone() subtitle=format!("User {} · created {}", view.id, view.created)>
            {if active { view! { <Badge tone="green" text="Active" /> }.into_any() } else { view! { <Badge tone="red" text="Deactivated" /> }.into_any() }}
            {view.email_verified.then(|| view! { <Badge tone="slate" text="E-mail verified" /> })}
            {is_self.then(|| view! { <Badge tone="indigo" text="You" /> })}
        </PageHeader>
        {move || refusal().map(|e| view! {
            <div class="mb-4 rounded-lg bg-red-50 px-4 py-3 text-sm text-red-800 ring-1 ring-red-200" role="alert" data-testid="form-error">
                {e.to_string()}
                {matches!(e, crate::api::ApiError::ReauthRequired(_)).then(|| view! {
                    " " <a href=super::reauth_link() class="font-semibold underline" data-testid="reauth-link">"Confirm it's you"</a>
                })}
            </div>
        })}
        {move || link_shown().map(|(label, link)| view! { <div class="mb-4"><ShownOnce label=label value=link /></div> })}
        <div class="grid gap-6 lg:grid-cols-2">
            <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="user-roles">
                {section("Roles")}
                {if roles_held.is_empty() {
                    view! { <p class="mt-3 text-sm text-slate-500">"No roles."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-3 divide-y divide-slate-100">
                            {roles_held.into_iter().map(|role| {
                                let role_value = role.clone();
                                view! {
                                    <li class="flex items-center justify-between py-2">
                                        <span class="font-mono text-sm text-slate-800">{role.clone()}</span>
                                        {can_write.then(|| view! {
                                            <ActionForm action=revoke attr:class="flex items-center gap-2">
                                                <input type="hidden" name="app_id" value=ids.get_value().0 />
                                                <input type="hidden" name="user_id" value=ids.get_value().1 />
                                                <input type="hidden" name="role" value=role_value.clone() />
                                                {is_self.then(|| view! {
                                                    <input name="confirmation" placeholder="your e-mail to confirm" aria-label="Type your e-mail address to confirm" class="w-44 rounded-md border-0 px-2 py-1 text-xs ring-1 ring-inset ring-slate-300" />
                                                })}
                                                <button type="submit" class=SMALL_DANGER data-testid=format!("revoke-{role_value}")>"Revoke"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
                {(can_write && has_other_roles).then(|| view! {
                    <ActionForm action=grant attr:class="mt-4 flex items-end gap-2" attr:data-testid="grant-role-form">
                        <input type="hidden" name="app_id" value=ids.get_value().0 />
                        <input type="hidden" name="user_id" value=ids.get_value().1 />
                        <div class="flex-1"><Select label="Grant a role" name="role" options=other_roles.clone() /></div>
                        <div class="w-28"><SubmitButton label="Grant" pending_label="…" pending=grant.pending() tone=Tone::Secondary /></div>
                    </ActionForm>
                })}
            </section>
            <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
                {section("Sign-in methods")}
                <p class="mt-3 text-sm text-slate-700">{if view.has_password { "Has a password." } else { "No password." }}</p>
                {if view.passkeys.is_empty() {
                    view! { <p class="mt-1 text-sm text-slate-500">"No passkeys."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-2 divide-y divide-slate-100">
                            {view.passkeys.iter().map(|p| {
                                let passkey_id = p.id.clone();
                                view! {
                                    <li class="flex items-center justify-between gap-2 py-2">
                                        <div>
                                            <p class="text-sm font-medium text-slate-800">{p.name.clone()}</p>
                                            <p class="text-xs text-slate-500">{format!("Added {} · {}", p.created, p.last_used.clone().map(|l| format!("last used {l}")).unwrap_or_else(|| "never used".into()))}</p>
                                        </div>
                                        {can_write.then(|| view! {
                                            <ActionForm action=remove_passkey>
                                                <input type="hidden" name="app_id" value=ids.get_value().0 />
                                                <input type="hidden" name="user_id" value=ids.get_value().1 />
                                                <input type="hidden" name="passkey_id" value=passkey_id.clone() />
                                                <button type="submit" class=SMALL_DANGER>"Remove"</button>
                                            </ActionForm>
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
                        <ActionForm action=recovery>
                            <input type="hidden" name="app_id" value=ids.get_value().0 />
                            <input type="hidden" name="user_id" value=ids.get_value().1 />
                            <button type="submit" class=SMALL data-testid="recovery-link">"Issue a recovery link"</button>
                        </ActionForm>
                        <ActionForm action=invite>
                            <input type="hidden" name="app_id" value=ids.get_value().0 />
                            <input type="hidden" name="user_id" value=ids.get_value().1 />
                            <button type="submit" class=SMALL>"New invitation link"</button>
                        </ActionForm>
                    </div>
                })}
            </section>
            <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="user-sessions">
                {section("Sessions")}
                {if view.sessions.is_empty() {
                    view! { <p class="mt-3 text-sm text-slate-500" data-testid="no-sessions">"Not signed in anywhere."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-3 divide-y divide-slate-100">
                            {view.sessions.iter().map(|s| view! {
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
                    <button type="button" class=format!("mt-4 {SMALL}") on:click=move |_| sign_out_open.set(true) data-testid="sign-out-everywhere">"Sign out everywhere…"</button>
                })}
            </section>
            <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-red-200">
                <h2 class="text-base font-semibold text-red-700">"Account"</h2>
                <p class="mt-1 text-sm text-slate-500">"Deactivation ends every session and refresh token at once; deletion removes the user and their history links."</p>
                {can_write.then(|| view! {
                    <div class="mt-4 flex flex-wrap gap-2">
                        <button type="button" class=SMALL_DANGER on:click=move |_| active_open.set(true) data-testid="toggle-active">
                            {if active { "Deactivate…" } else { "Reactivate…" }}
                        </button>
                        <button type="button" class=SMALL_DANGER on:click=move |_| delete_open.set(true) data-testid="delete-user">"Delete…"</button>
                    </div>
                })}
            </section>
        </div>
        <section class="mt-6 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
            {section("Recent events")}
            {if view.events.is_empty() {
                view! { <div class="mt-3"><EmptyState title="No events" text="Nothing has happened to this user yet." /></div> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-100 text-sm" data-testid="user-events">
                        {view.events.iter().map(|e| view! {
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
        <ConfirmDialog open=sign_out_open title="Sign this user out everywhere?" message="Every session ends and every refresh token stops working.">
            <ActionForm action=sign_out>
                <input type="hidden" name="app_id" value=ids.get_value().0 />
                <input type="hidden" name="user_id" value=ids.get_value().1 />
                <SubmitButton label="Sign out everywhere" pending_label="Signing out…" pending=sign_out.pending() tone=Tone::Danger />
            </ActionForm>
        </ConfirmDialog>
        <ConfirmDialog
            open=active_open
            title=if active { "Deactivate this user?" } else { "Reactivate this user?" }
            message=if active { "They are signed out everywhere and cannot sign in until reactivated." } else { "They can sign in again." }
        >
            <ActionForm action=set_active attr:class="space-y-3">
                <input type="hidden" name="app_id" value=ids.get_value().0 />
                <input type="hidden" name="user_id" value=ids.get_value().1 />
                <input type="hidden" name="active" value=(!active).to_string() />
                {confirmation_field(set_active_error)}
                <SubmitButton label=if active { "Deactivate" } else { "Reactivate" } pending_label="Saving…" pending=set_active.pending() tone=Tone::Danger />
            </ActionForm>
        </ConfirmDialog>
        <ConfirmDialog open=delete_open title="Delete this user?" message="Their credentials, sessions and role assignments are removed. This cannot be undone.">
            <ActionForm action=delete attr:class="space-y-3">
                <input type="hidden" name="app_id" value=ids.get_value().0 />
                <input type="hidden" name="user_id" value=ids.get_value().1 />
                {confirmation_field(delete_error)}
                <SubmitButton label="Delete user" pending_label="Deleting…" pending=delete.pending() tone=Tone::Danger />
            </ActionForm>
        </ConfirmDialog>
    }
}
