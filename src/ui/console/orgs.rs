//! `/console/apps/{app_id}/orgs`: an app's organizations (search, pages,
//! create), and `/console/apps/{app_id}/orgs/{slug}`: one organization's
//! members, invitations and teams, renaming it, deleting it.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::app::AppHeader;
use super::{LoadError, RefusalNotice, Reload, ShownOnce, page_link, use_app_id};
use crate::api::console::apps::{AppView, console_app};
use crate::api::console::orgs::{
    AccessView, ConsoleAddOrgMember, ConsoleCreateOrg, ConsoleDeleteOrg, ConsoleEditInvitation,
    ConsoleEditOrgDomain, ConsoleEditTeam, ConsoleInviteToOrg, ConsoleRemoveOrgMember,
    ConsoleRenameOrg, ConsoleRequireOrgProvider, ConsoleSetOrgMemberRoles, InvitationRow,
    MembersPage, OrgsPage as Page, TeamView, console_org_access, console_org_invitations,
    console_org_members, console_org_teams, console_orgs,
};
use crate::ui::components::{
    Badge, ConfirmDialog, EmptyState, Field, FormError, SMALL_BUTTON, SMALL_DANGER_BUTTON,
    SmallSubmit, SubmitButton, Tone, action_error, button_class,
};
use crate::ui::hosted::query_param;

/// Reload `reload` once `action` succeeded.
fn reload_after<I, O>(action: ServerAction<I>, reload: Reload)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = crate::api::ApiError>
        + Clone
        + Send
        + Sync
        + 'static,
    O: Clone + Send + Sync + 'static,
{
    Effect::new(move |previous: Option<usize>| {
        let version = action.version().get();
        if previous.is_some_and(|p| p != version)
            && matches!(action.value().get_untracked(), Some(Ok(_)))
        {
            reload.bump();
        }
        version
    });
}

#[component]
pub fn OrgsPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let query = query_param("q");
    let after = query_param("after");
    let app = Resource::new(move || app_id.get(), console_app);
    let orgs = Resource::new(
        move || (app_id.get(), query.get(), after.get(), reload.track()),
        |(id, q, after, _)| console_orgs(id, q, after),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), orgs.get()) {
                (Some(Ok(app)), Some(Ok(page))) => view! { <Orgs app page query=query.get() paged=after.get().is_some() reload /> }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

#[component]
fn Orgs(
    app: AppView,
    page: Page,
    query: Option<String>,
    paged: bool,
    reload: Reload,
) -> impl IntoView {
    let create = ServerAction::<ConsoleCreateOrg>::new();
    let creating = RwSignal::new(false);
    let error = action_error(create);
    reload_after(create, reload);
    let base = format!("/console/apps/{}/orgs", app.id);
    let link = |after: Option<&str>| {
        let q = query.as_deref().map(|q| ("q", q));
        page_link(&base, q.into_iter().chain(after.map(|a| ("after", a))))
    };
    let next = page.next.as_deref().map(|after| link(Some(after)));
    let first = paged.then(|| link(None));
    let app_id = StoredValue::new(app.id.clone());
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
            <form method="get" action=base.clone() class="flex w-full max-w-md gap-2" role="search">
                <label for="org-search" class="sr-only">"Search organizations"</label>
                <input
                    id="org-search"
                    name="q"
                    type="search"
                    value=query.clone().unwrap_or_default()
                    placeholder="Search by slug or name"
                    class="block w-full rounded-lg border-0 px-3 py-2 text-sm shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
                />
                <button type="submit" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50">"Search"</button>
            </form>
            {app.can_write.then(|| view! {
                <button type="button" class=format!("sm:w-44 {}", button_class(Tone::Primary)) on:click=move |_| creating.update(|c| *c = !*c) data-testid="new-org">
                    "New organization"
                </button>
            })}
        </div>
        <Show when=move || creating.get()>
            <ActionForm action=create attr:class="mb-6 space-y-4 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" attr:data-testid="new-org-form">
                <input type="hidden" name="app_id" value=app_id.get_value() />
                <FormError error />
                <div class="grid gap-4 sm:grid-cols-2">
                    <Field label="Slug" name="slug" hint="Lowercase letters, digits and hyphens: clients pass it as organization=." error />
                    <Field label="Name" name="name" error />
                </div>
                <div class="sm:w-48"><SubmitButton label="Create" pending_label="Creating…" pending=create.pending() /></div>
            </ActionForm>
        </Show>
        <p class="mb-2 text-sm text-slate-500" data-testid="org-total">{match page.total { 1 => "1 organization in this app".to_owned(), n => format!("{n} organizations in this app") }}</p>
        {if page.orgs.is_empty() {
            view! { <EmptyState title="No organizations found" text="Create one, or change the search." /> }.into_any()
        } else {
            view! {
                <div class="overflow-x-auto rounded-2xl bg-white shadow-sm ring-1 ring-slate-200">
                    <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="orgs-table">
                        <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                            <tr>
                                <th class="px-4 py-3">"Name"</th>
                                <th class="px-4 py-3">"Slug"</th>
                                <th class="px-4 py-3">"Members"</th>
                                <th class="hidden px-4 py-3 md:table-cell">"Created"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {page.orgs.into_iter().map(|org| view! {
                                <tr class="hover:bg-slate-50" data-testid="org-row">
                                    <td class="px-4 py-3">
                                        <a class="font-medium text-slate-900 hover:text-indigo-700" href=format!("/console/apps/{}/orgs/{}", app_id.get_value(), org.slug)>{org.name.clone()}</a>
                                    </td>
                                    <td class="px-4 py-3 font-mono text-xs text-slate-600">{org.slug.clone()}</td>
                                    <td class="px-4 py-3 text-slate-600">{org.members}</td>
                                    <td class="hidden px-4 py-3 text-slate-500 md:table-cell">{org.created.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        }}
        <div class="mt-4 flex justify-between gap-4 text-sm font-medium text-indigo-700">
            <span>{first.map(|href| view! { <a href=href class="hover:underline">"← First page"</a> })}</span>
            <span>{next.map(|href| view! { <a href=href class="hover:underline" data-testid="next-page">"Next page →"</a> })}</span>
        </div>
    }
}

/// Everything one organization's page shows.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct OrgData {
    members: MembersPage,
    invitations: Vec<InvitationRow>,
    teams: Vec<TeamView>,
    access: AccessView,
}

#[component]
pub fn OrgPage() -> impl IntoView {
    let app_id = use_app_id();
    let params = use_params_map();
    let slug = Signal::derive(move || params.read().get("slug").unwrap_or_default());
    let query = query_param("q");
    let after = query_param("after");
    let reload = Reload::new();
    let app = Resource::new(move || app_id.get(), console_app);
    let data = Resource::new(
        move || {
            (
                app_id.get(),
                slug.get(),
                query.get(),
                after.get(),
                reload.track(),
            )
        },
        |(app_id, slug, q, after, _)| async move {
            let members = console_org_members(app_id.clone(), slug.clone(), q, after).await?;
            let invitations = console_org_invitations(app_id.clone(), slug.clone()).await?;
            let teams = console_org_teams(app_id.clone(), slug.clone()).await?;
            let access = console_org_access(app_id, slug).await?;
            Ok::<_, crate::api::ApiError>(OrgData {
                members,
                invitations,
                teams,
                access,
            })
        },
    );
    let invited = ServerAction::<ConsoleInviteToOrg>::new();
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), data.get()) {
                (Some(Ok(app)), Some(Ok(data))) => view! { <Organization app data reload invited /> }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

/// The hidden fields every form of this page carries.
fn org_fields(app_id: &str, slug: &str) -> impl IntoView + use<> {
    let (app_id, slug) = (app_id.to_owned(), slug.to_owned());
    view! {
        <input type="hidden" name="app_id" value=app_id />
        <input type="hidden" name="slug" value=slug />
    }
}

fn role_badges(roles: &[String]) -> impl IntoView + use<> {
    roles
        .iter()
        .map(|r| {
            let tone = match r.as_str() {
                "owner" => "indigo",
                "admin" => "amber",
                _ => "slate",
            };
            view! { <Badge tone text=r.clone() /> }
        })
        .collect_view()
}

#[component]
fn Organization(
    app: AppView,
    data: OrgData,
    reload: Reload,
    invited: ServerAction<ConsoleInviteToOrg>,
) -> impl IntoView {
    let org = data.members.org.clone();
    let (app_id, slug) = (app.id.clone(), org.slug.clone());
    let can_write = app.can_write;
    let rename = ServerAction::<ConsoleRenameOrg>::new();
    let delete = ServerAction::<ConsoleDeleteOrg>::new();
    let confirming = RwSignal::new(false);
    reload_after(rename, reload);
    let rename_error = action_error(rename);
    let delete_error = action_error(delete);
    let back = format!("/console/apps/{app_id}/orgs");
    Effect::new({
        let back = back.clone();
        move |_| {
            if matches!(delete.value().get(), Some(Ok(_))) {
                crate::ui::hosted::load_page(&back);
            }
        }
    });
    let (delete_app, delete_slug) = (
        StoredValue::new(app_id.clone()),
        StoredValue::new(slug.clone()),
    );
    let delete_message = format!(
        "Its {} memberships, pending invitations and teams go with it, and tokens issued for it lose its claims at their next refresh. Type its slug, {}, to confirm.",
        data.members.total, slug
    );
    let settings = can_write.then(|| {
        let fields = org_fields(&app_id, &slug);
        let name = org.name.clone();
        view! {
            <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
                <h2 class="mb-4 text-base font-semibold text-slate-900">"Settings"</h2>
                <ActionForm action=rename attr:class="flex flex-wrap items-start gap-3">
                    {fields}
                    <div class="w-full max-w-sm"><Field label="Name" name="name" value=name error=rename_error /></div>
                    <div class="pt-7"><SmallSubmit label="Rename" pending=rename.pending() /></div>
                </ActionForm>
                <div class="mt-6 border-t border-slate-100 pt-4">
                    <button type="button" class=SMALL_DANGER_BUTTON on:click=move |_| confirming.set(true) data-testid="delete-org">"Delete organization"</button>
                </div>
            </section>
        }
    });
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        <div class="space-y-6">
            <div>
                <p class="text-sm text-slate-500"><a href=back.clone() class="hover:underline">"Organizations"</a></p>
                <h2 class="mt-1 text-xl font-semibold tracking-tight text-slate-900" data-testid="org-name">{org.name.clone()}</h2>
                <p class="mt-1 font-mono text-xs text-slate-500">{format!("{} · {}", org.slug, org.id)}</p>
            </div>
            <Members app_id=app_id.clone() data=data.clone() reload can_write />
            <Invitations app_id=app_id.clone() slug=slug.clone() rows=data.invitations.clone() reload can_write invited />
            <Teams app_id=app_id.clone() data=data.clone() reload can_write />
            <Domains app_id=app_id.clone() data=data.clone() reload can_write />
            <RequiredProvider app_id=app_id.clone() data=data.clone() reload can_write />
            {settings}
        </div>
        <ConfirmDialog open=confirming title=format!("Delete {}?", org.name) message=delete_message>
            <ActionForm action=delete attr:class="space-y-3">
                {org_fields(&delete_app.get_value(), &delete_slug.get_value())}
                <FormError error=delete_error />
                <Field label="Slug" name="confirmation" id="delete-confirmation" error=delete_error />
                <button type="submit" class=button_class(Tone::Danger) data-testid="confirm-delete-org">"Delete organization"</button>
            </ActionForm>
        </ConfirmDialog>
    }
}

#[component]
fn Members(app_id: String, data: OrgData, reload: Reload, can_write: bool) -> impl IntoView {
    let slug = data.members.org.slug.clone();
    let add = ServerAction::<ConsoleAddOrgMember>::new();
    let set_roles = ServerAction::<ConsoleSetOrgMemberRoles>::new();
    let remove = ServerAction::<ConsoleRemoveOrgMember>::new();
    reload_after(add, reload);
    reload_after(set_roles, reload);
    reload_after(remove, reload);
    let add_error = action_error(add);
    let change_error = Signal::derive(move || {
        action_error(set_roles)
            .get()
            .or_else(|| action_error(remove).get())
    });
    let next = data.members.next.as_deref().map(|after| {
        page_link(
            &format!("/console/apps/{app_id}/orgs/{slug}"),
            [("after", after)],
        )
    });
    let rows = data
        .members
        .members
        .iter()
        .map(|member| {
            let badges = role_badges(&member.roles);
            let actions = can_write.then(|| {
                let (set_fields, remove_fields) = (org_fields(&app_id, &slug), org_fields(&app_id, &slug));
                let (user_id, current) = (member.user_id.clone(), member.roles.join(", "));
                let label = format!("Roles of {}", member.email);
                let remove_id = (member.user_id.clone(), format!("remove-{}", member.email));
                view! {
                    <div class="flex flex-wrap items-center justify-end gap-2">
                        <ActionForm action=set_roles attr:class="flex items-center gap-2">
                            {set_fields}
                            <input type="hidden" name="user_id" value=user_id />
                            <input name="roles" value=current aria-label=label class="w-44 rounded-md border-0 px-2 py-1 text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600" />
                            <SmallSubmit label="Save" pending=set_roles.pending() />
                        </ActionForm>
                        <ActionForm action=remove>
                            {remove_fields}
                            <input type="hidden" name="user_id" value=remove_id.0 />
                            <button type="submit" class=SMALL_DANGER_BUTTON data-testid=remove_id.1>"Remove"</button>
                        </ActionForm>
                    </div>
                }
            });
            let href = format!("/console/apps/{}/users/{}", app_id, member.user_id);
            let (email, since, active) = (member.email.clone(), member.since.clone(), member.active);
            view! {
                <tr class="hover:bg-slate-50" data-testid="member-row">
                    <td class="px-4 py-3">
                        <a class="font-medium text-slate-900 hover:text-indigo-700" href=href>{email}</a>
                        {(!active).then(|| view! { <span class="ml-2"><Badge tone="red" text="Deactivated" /></span> })}
                    </td>
                    <td class="px-4 py-3"><div class="flex flex-wrap gap-1">{badges}</div></td>
                    <td class="hidden px-4 py-3 text-slate-500 md:table-cell">{since}</td>
                    <td class="px-4 py-3">{actions}</td>
                </tr>
            }
        })
        .collect_view();
    let add_form = can_write.then(|| {
        let fields = org_fields(&app_id, &slug);
        view! {
            <ActionForm action=add attr:class="mb-4 grid gap-3 sm:grid-cols-[1fr_12rem_auto] sm:items-start" attr:data-testid="add-member-form">
                {fields}
                <Field label="Add a user of this app" name="email" id="add-member-email" kind="email" placeholder="their e-mail" error=add_error />
                <Field label="Roles" name="roles" id="add-member-roles" required=false placeholder="member" error=add_error />
                <div class="sm:pt-7"><SmallSubmit label="Add member" pending=add.pending() /></div>
            </ActionForm>
            <div class="mb-2"><RefusalNotice error=add_error /></div>
        }
    });
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="members-section">
            <h2 class="mb-4 text-base font-semibold text-slate-900">{format!("Members ({})", data.members.total)}</h2>
            {add_form}
            <div class="mb-2"><RefusalNotice error=change_error /></div>
            {if data.members.members.is_empty() {
                view! { <EmptyState title="No members yet" text="Add a user of this app, or invite someone by e-mail." /> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto">
                        <table class="min-w-full divide-y divide-slate-200 text-sm">
                            <thead class="text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                <tr>
                                    <th class="px-4 py-2">"E-mail"</th>
                                    <th class="px-4 py-2">"Roles"</th>
                                    <th class="hidden px-4 py-2 md:table-cell">"Since"</th>
                                    <th class="px-4 py-2"></th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            {next.map(|href| view! { <a href=href class=format!("mt-4 {SMALL_BUTTON}")>"Next page →"</a> })}
        </section>
    }
}

#[component]
fn Invitations(
    app_id: String,
    slug: String,
    rows: Vec<InvitationRow>,
    reload: Reload,
    can_write: bool,
    invited: ServerAction<ConsoleInviteToOrg>,
) -> impl IntoView {
    let edit = ServerAction::<ConsoleEditInvitation>::new();
    reload_after(invited, reload);
    reload_after(edit, reload);
    let invite_error = action_error(invited);
    let edit_error = action_error(edit);
    let link = move || invited.value().get().and_then(Result::ok);
    let form =
        |id: &str, email: &str, action: &'static str, label: &'static str, class: &'static str| {
            let fields = org_fields(&app_id, &slug);
            let (id, test_id) = (id.to_owned(), format!("{action}-{email}"));
            view! {
                <ActionForm action=edit>
                    {fields}
                    <input type="hidden" name="invitation_id" value=id />
                    <input type="hidden" name="action" value=action />
                    <button type="submit" class=class data-testid=test_id>{label}</button>
                </ActionForm>
            }
        };
    let list = rows
        .iter()
        .map(|row| {
            let buttons = can_write.then(|| {
                view! {
                    <div class="flex gap-2">
                        {form(&row.id, &row.email, "resend", "Resend", SMALL_BUTTON)}
                        {form(&row.id, &row.email, "revoke", "Revoke", SMALL_DANGER_BUTTON)}
                    </div>
                }
            });
            let (email, about) = (
                row.email.clone(),
                format!(
                    "{} · sent {} · expires {}",
                    row.roles.join(", "),
                    row.sent,
                    row.expires
                ),
            );
            view! {
                <li class="flex flex-wrap items-center justify-between gap-3 py-3">
                    <div class="min-w-0">
                        <p class="truncate text-sm text-slate-900">{email}</p>
                        <p class="text-xs text-slate-500">{about}</p>
                    </div>
                    {buttons}
                </li>
            }
        })
        .collect_view();
    let invite_form = can_write.then(|| {
        let fields = org_fields(&app_id, &slug);
        view! {
            <ActionForm action=invited attr:class="mb-2 grid gap-3 sm:grid-cols-[1fr_12rem_auto] sm:items-start" attr:data-testid="invite-form">
                {fields}
                <Field label="Invite by e-mail" name="email" id="invite-email" kind="email" error=invite_error />
                <Field label="Roles" name="roles" id="invite-roles" required=false placeholder="member" error=invite_error />
                <div class="sm:pt-7"><SmallSubmit label="Send invitation" pending=invited.pending() /></div>
            </ActionForm>
            <RefusalNotice error=invite_error />
            {move || link().map(|link| view! { <div class="mt-3"><ShownOnce label="Invitation link (also e-mailed; valid 7 days, works once)" value=link /></div> })}
        }
    });
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="invitations-section">
            <h2 class="mb-4 text-base font-semibold text-slate-900">"Pending invitations"</h2>
            {invite_form}
            <RefusalNotice error=edit_error />
            {if rows.is_empty() {
                view! { <p class="mt-2 text-sm text-slate-500">"None pending."</p> }.into_any()
            } else {
                view! { <ul class="mt-2 divide-y divide-slate-100">{list}</ul> }.into_any()
            }}
        </section>
    }
}

#[component]
fn Teams(app_id: String, data: OrgData, reload: Reload, can_write: bool) -> impl IntoView {
    let slug = data.members.org.slug.clone();
    let edit = ServerAction::<ConsoleEditTeam>::new();
    reload_after(edit, reload);
    let error = action_error(edit);
    let hidden = |action: &'static str, team_id: Option<&str>| {
        let fields = org_fields(&app_id, &slug);
        let team_id = team_id.map(|id| {
            let id = id.to_owned();
            view! { <input type="hidden" name="team_id" value=id /> }
        });
        view! {
            {fields}
            <input type="hidden" name="action" value=action />
            {team_id}
        }
    };
    let choices: Vec<(String, String)> = data
        .members
        .members
        .iter()
        .map(|m| (m.user_id.clone(), m.email.clone()))
        .collect();
    let teams = data
        .teams
        .iter()
        .map(|team| {
            let people = team
                .members
                .iter()
                .map(|(user_id, email)| {
                    let remove = can_write.then(|| {
                        let fields = hidden("remove", Some(&team.id));
                        let (user_id, label) = (user_id.clone(), format!("Remove {email} from {}", team.name));
                        view! {
                            <ActionForm action=edit attr:class="inline">
                                {fields}
                                <input type="hidden" name="user_id" value=user_id />
                                <button type="submit" class="ml-1 text-slate-400 hover:text-red-600" aria-label=label>"×"</button>
                            </ActionForm>
                        }
                    });
                    let email = email.clone();
                    view! { <span class="inline-flex items-center rounded-md bg-slate-100 px-2 py-0.5 text-xs text-slate-700">{email}{remove}</span> }
                })
                .collect_view();
            let manage = can_write.then(|| {
                let (add_fields, delete_fields) = (hidden("add", Some(&team.id)), hidden("delete", Some(&team.id)));
                let label = format!("Add a member to {}", team.name);
                let options = choices
                    .iter()
                    .cloned()
                    .map(|(id, email)| view! { <option value=id>{email}</option> })
                    .collect_view();
                view! {
                    <div class="mt-3 flex flex-wrap gap-2">
                        <ActionForm action=edit attr:class="flex gap-2">
                            {add_fields}
                            <select name="user_id" aria-label=label class="rounded-md border-0 py-1 pl-2 pr-7 text-sm ring-1 ring-inset ring-slate-300">{options}</select>
                            <SmallSubmit label="Add" pending=edit.pending() />
                        </ActionForm>
                        <ActionForm action=edit>
                            {delete_fields}
                            <button type="submit" class=SMALL_DANGER_BUTTON>"Delete team"</button>
                        </ActionForm>
                    </div>
                }
            });
            let (name, test_id) = (team.name.clone(), format!("team-{}", team.name));
            view! {
                <li class="py-3" data-testid=test_id>
                    <p class="text-sm font-medium text-slate-900">{name}</p>
                    <div class="mt-1 flex flex-wrap gap-1">{people}</div>
                    {manage}
                </li>
            }
        })
        .collect_view();
    let create = can_write.then(|| {
        let fields = hidden("create", None);
        view! {
            <ActionForm action=edit attr:class="mb-2 flex items-start gap-2" attr:data-testid="new-team-form">
                {fields}
                <Field label="New team" name="name" id="new-team-name" error />
                <div class="mt-7"><SmallSubmit label="Create" pending=edit.pending() /></div>
            </ActionForm>
        }
    });
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="teams-section">
            <h2 class="mb-4 text-base font-semibold text-slate-900">"Teams"</h2>
            {create}
            <RefusalNotice error />
            {if data.teams.is_empty() {
                view! { <p class="text-sm text-slate-500">"No teams yet."</p> }.into_any()
            } else {
                view! { <ul class="divide-y divide-slate-100">{teams}</ul> }.into_any()
            }}
        </section>
    }
}

/// What the policy choices mean, for the select.
const DOMAIN_POLICIES: [(&str, &str); 3] = [
    ("none", "Nothing: a verified domain gives no way in"),
    (
        "offer",
        "Offer: people who confirm an address there may join",
    ),
    (
        "auto",
        "Automatic: they join as members when they confirm it",
    ),
];

/// The organization's domains: each one's proof (a DNS TXT record) or an
/// operator's attestation, and what a confirmed address there brings.
#[component]
fn Domains(app_id: String, data: OrgData, reload: Reload, can_write: bool) -> impl IntoView {
    let slug = data.members.org.slug.clone();
    let edit = ServerAction::<ConsoleEditOrgDomain>::new();
    reload_after(edit, reload);
    let error = action_error(edit);
    let hidden = |action: &'static str, domain: Option<&str>| {
        let fields = org_fields(&app_id, &slug);
        let domain = domain.map(|d| {
            let d = d.to_owned();
            view! { <input type="hidden" name="domain" value=d /> }
        });
        view! {
            {fields}
            <input type="hidden" name="action" value=action />
            {domain}
        }
    };
    let rows = data
        .access
        .domains
        .iter()
        .map(|row| {
            let status = match (&row.verified_by, &row.verified) {
                (Some(by), Some(at)) => {
                    let how = if by == "dns" { "by DNS" } else { "by attestation" };
                    view! { <Badge tone="green" text=format!("Verified {how}") /> <span class="text-xs text-slate-500">{at.clone()}</span> }.into_any()
                }
                _ => view! { <Badge tone="amber" text="Not verified" /> }.into_any(),
            };
            let proof = row.verified.is_none().then(|| {
                let (name, value) = (row.record_name.clone(), row.record_value.clone());
                view! {
                    <div class="mt-2 rounded-lg bg-slate-50 px-3 py-2 text-xs text-slate-600">
                        "Publish a TXT record at "
                        <code class="font-mono text-slate-900" data-testid="txt-name">{name}</code>
                        " holding "
                        <code class="break-all font-mono text-slate-900" data-testid="txt-value">{value}</code>
                        ", then check it."
                    </div>
                }
            });
            let actions = can_write.then(|| {
                let unverified = row.verified.is_none();
                let check = unverified.then(|| {
                    let fields = hidden("check", Some(&row.domain));
                    let test_id = format!("check-{}", row.domain);
                    view! {
                        <ActionForm action=edit>
                            {fields}
                            <SmallSubmit label="Check DNS" pending=edit.pending() test_id />
                        </ActionForm>
                    }
                });
                let attest = unverified.then(|| {
                    let open = RwSignal::new(false);
                    let domain = row.domain.clone();
                    let fields = StoredValue::new((app_id.clone(), slug.clone(), domain.clone()));
                    let message = format!(
                        "Vouch that this organization controls {domain} without a DNS proof. The audit log records that you did. Type {domain} to confirm."
                    );
                    let test_id = format!("attest-{domain}");
                    view! {
                        <button type="button" class=SMALL_BUTTON on:click=move |_| open.set(true) data-testid=test_id>"Attest…"</button>
                        <ConfirmDialog open title=format!("Attest {domain}?") message>
                            <ActionForm action=edit attr:class="space-y-3">
                                {move || {
                                    let (app_id, slug, domain) = fields.get_value();
                                    view! {
                                        {org_fields(&app_id, &slug)}
                                        <input type="hidden" name="action" value="attest" />
                                        <input type="hidden" name="domain" value=domain />
                                    }
                                }}
                                <Field label="Domain" name="confirmation" id="attest-confirmation" error />
                                <button type="submit" class=button_class(Tone::Primary) data-testid="confirm-attest">"Attest domain"</button>
                            </ActionForm>
                        </ConfirmDialog>
                    }
                });
                let remove_fields = hidden("remove", Some(&row.domain));
                view! {
                    <div class="flex flex-wrap items-center gap-2">
                        {check}
                        {attest}
                        <ActionForm action=edit>
                            {remove_fields}
                            <button type="submit" class=SMALL_DANGER_BUTTON>"Remove"</button>
                        </ActionForm>
                    </div>
                }
            });
            let (domain, test_id) = (row.domain.clone(), format!("domain-{}", row.domain));
            view! {
                <li class="py-3" data-testid=test_id>
                    <div class="flex flex-wrap items-center justify-between gap-3">
                        <div class="flex items-center gap-2">
                            <span class="font-mono text-sm text-slate-900">{domain}</span>
                            {status}
                        </div>
                        {actions}
                    </div>
                    {proof}
                </li>
            }
        })
        .collect_view();
    let manage = can_write.then(|| {
        let (add_fields, policy_fields) = (hidden("add", None), hidden("policy", None));
        let current = data.access.policy.clone();
        let options = DOMAIN_POLICIES
            .iter()
            .map(|(value, label)| {
                let selected = *value == current;
                view! { <option value=*value selected=selected>{*label}</option> }
            })
            .collect_view();
        view! {
            <ActionForm action=edit attr:class="mt-4 flex items-start gap-2" attr:data-testid="new-domain-form">
                {add_fields}
                <Field label="Claim a domain" name="domain" id="new-domain" placeholder="acme.example" error />
                <div class="mt-7"><SmallSubmit label="Add" pending=edit.pending() /></div>
            </ActionForm>
            <ActionForm action=edit attr:class="mt-4 flex flex-wrap items-end gap-2 border-t border-slate-100 pt-4" attr:data-testid="domain-policy-form">
                {policy_fields}
                <label class="block text-sm">
                    <span class="font-medium text-slate-700">"When someone confirms an address at a verified domain"</span>
                    <select name="policy" class="mt-1 block rounded-md border-0 py-1.5 pl-2 pr-8 text-sm ring-1 ring-inset ring-slate-300">{options}</select>
                </label>
                <SmallSubmit label="Save" pending=edit.pending() test_id="save-domain-policy" />
            </ActionForm>
        }
        .into_any()
    });
    let (list, policy_form) = match manage {
        Some(manage) => (None, Some(manage)),
        None => (
            Some(
                view! { <p class="text-sm text-slate-500">{format!("Domain policy: {}.", data.access.policy)}</p> },
            ),
            None,
        ),
    };
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="domains-section">
            <h2 class="mb-1 text-base font-semibold text-slate-900">"Domains"</h2>
            <p class="mb-4 text-sm text-slate-500">"A domain this organization proves it controls lets the people with a confirmed address there join it."</p>
            // Errors of a field of their own show beneath it; the rest here.
            {move || error.get().filter(|e| !matches!(e, crate::api::ApiError::Invalid { field: Some(f), .. } if f == "domain" || f == "confirmation")).map(|e| view! {
                <div class="mb-3 rounded-lg bg-red-50 px-4 py-3 text-sm text-red-800 ring-1 ring-red-200" role="alert" data-testid="form-error">{e.to_string()}</div>
            })}
            {if data.access.domains.is_empty() {
                view! { <p class="text-sm text-slate-500">"No domains claimed."</p> }.into_any()
            } else {
                view! { <ul class="divide-y divide-slate-100">{rows}</ul> }.into_any()
            }}
            {list}
            {policy_form}
        </section>
    }
}

/// The upstream provider the organization's invitations go through.
#[component]
fn RequiredProvider(
    app_id: String,
    data: OrgData,
    reload: Reload,
    can_write: bool,
) -> impl IntoView {
    let slug = data.members.org.slug.clone();
    let set = ServerAction::<ConsoleRequireOrgProvider>::new();
    reload_after(set, reload);
    let error = action_error(set);
    let current = data.access.required_provider.clone();
    let name_of = |slug: &str| {
        data.access
            .providers
            .iter()
            .find(|(s, _)| s == slug)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| slug.to_owned())
    };
    let summary = match &current {
        Some(provider) => format!(
            "Invitations are accepted only by signing in through {}: the invitee's address there must be the invited one.",
            name_of(provider)
        ),
        None => "Invitations are accepted any way the app offers: a password, a passkey or a sign-in provider.".to_owned(),
    };
    let form = (can_write && !data.access.providers.is_empty()).then(|| {
        let fields = org_fields(&app_id, &slug);
        let any = current.is_none();
        let options = data
            .access
            .providers
            .iter()
            .map(|(value, label)| {
                let selected = current.as_deref() == Some(value.as_str());
                let (value, label) = (value.clone(), label.clone());
                view! { <option value=value selected=selected>{label}</option> }
            })
            .collect_view();
        view! {
            <ActionForm action=set attr:class="mt-4 flex flex-wrap items-end gap-2" attr:data-testid="org-provider-form">
                {fields}
                <label class="block text-sm">
                    <span class="font-medium text-slate-700">"Accept invitations through"</span>
                    <select name="provider" class="mt-1 block rounded-md border-0 py-1.5 pl-2 pr-8 text-sm ring-1 ring-inset ring-slate-300">
                        <option value="none" selected=any>"Any way the app offers"</option>
                        {options}
                    </select>
                </label>
                <SmallSubmit label="Save" pending=set.pending() test_id="save-org-provider" />
            </ActionForm>
        }
    });
    let hint = (can_write && data.access.providers.is_empty()).then(|| view! {
        <p class="mt-2 text-xs text-slate-500">"Add a sign-in provider to the app to require one here."</p>
    });
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid="org-provider-section">
            <h2 class="mb-1 text-base font-semibold text-slate-900">"Sign-in provider"</h2>
            <p class="text-sm text-slate-500" data-testid="org-provider-summary">{summary}</p>
            <RefusalNotice error />
            {form}
            {hint}
        </section>
    }
}
