//! `/a/{app_id}/orgs` and `/a/{app_id}/orgs/{slug}`: a member's
//! organizations, and one of them: its members and teams for everyone in
//! it; invitations and the changes their level allows for its owners and
//! admins (the server decides what goes through: the page only hides what
//! cannot).

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{HostedPage, query_param};
use crate::api::hosted::HostedApp;
use crate::api::hosted::orgs::{
    MyOrg, OrgEditInvitation, OrgEditTeam, OrgInvite, OrgJoin, OrgOffer, OrgPage, OrgRemoveMember,
    OrgSetMemberRoles, my_orgs, org_offers, org_view,
};
use crate::ui::components::{
    Badge, Card, EmptyState, Field, FormError, Notice, SMALL_BUTTON, SMALL_DANGER_BUTTON,
    SmallSubmit, SubmitButton, action_error,
};

/// The signed-in user's organizations, loaded beside the app.
#[derive(Clone, Copy)]
struct Mine(Resource<Result<Vec<MyOrg>, crate::api::ApiError>>);

/// The organizations open to the user by their address' domain, and the
/// counter that reloads both lists after joining one.
#[derive(Clone, Copy)]
struct Offers(
    Resource<Result<Vec<OrgOffer>, crate::api::ApiError>>,
    RwSignal<u32>,
);

#[component]
pub fn OrgsPage() -> impl IntoView {
    let params = use_params_map();
    let reload = RwSignal::new(0u32);
    let app_id = move || {
        (
            params.read().get("app_id").unwrap_or_default(),
            reload.get(),
        )
    };
    let mine = Resource::new(app_id, |(app_id, _)| my_orgs(app_id));
    let offers = Resource::new(app_id, |(app_id, _)| org_offers(app_id));
    provide_context(Mine(mine));
    provide_context(Offers(offers, reload));
    view! {
        <HostedPage
            title=|name| format!("Your organizations · {name}")
            content=|app| view! { <OrgList app /> }.into_any()
        />
    }
}

fn sign_in_notice(app: &HostedApp, err: crate::api::ApiError) -> AnyView {
    match err {
        crate::api::ApiError::SignInRequired => {
            let login = format!("/a/{}/login?return_to=/a/{}/orgs", app.id, app.id);
            view! {
                <Notice tone="info">"Sign in to see your organizations."</Notice>
                <a href=login class=format!("mt-4 {SMALL_BUTTON}")>"Sign in"</a>
            }
            .into_any()
        }
        other => view! { <Notice tone="error">{other.to_string()}</Notice> }.into_any(),
    }
}

#[component]
fn OrgList(app: HostedApp) -> impl IntoView {
    let Mine(mine) = expect_context::<Mine>();
    let app_id = app.id.clone();
    let joined = query_param("joined");
    // The organization just joined, by name.
    let joined_name = move || {
        let slug = joined.get()?;
        let list = mine.get()?.ok()?;
        Some(
            list.into_iter()
                .find(|o| o.slug == slug)
                .map(|o| o.name)
                .unwrap_or(slug),
        )
    };
    view! {
        <Card>
            <h1 class="text-xl font-semibold tracking-tight text-slate-900">"Your organizations"</h1>
            <p class="mt-1 mb-6 text-sm text-slate-500">{format!("The organizations you belong to in {}.", app.name)}</p>
            <Suspense>
                {move || joined_name().map(|name| view! {
                    <div class="mb-4" data-testid="joined-notice">
                        <Notice tone="success">{format!("You joined {name}.")}</Notice>
                    </div>
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {
                    let app = app.clone();
                    move || {
                        let app = app.clone();
                        mine.get().map(move |loaded| match loaded {
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState title="No organizations yet" text="When someone invites you into one, it shows here." />
                            }
                            .into_any(),
                            Ok(list) => view! { <OrgLinks app_id=app.id.clone() list current=None /> }.into_any(),
                            Err(err) => sign_in_notice(&app, err),
                        })
                    }
                }
            </Suspense>
            <OpenToYou app_id=app_id />
        </Card>
    }
}

/// The organizations that verified the domain of the user's confirmed
/// address and let its people join: one button each.
#[component]
fn OpenToYou(app_id: String) -> impl IntoView {
    let Offers(offers, reload) = expect_context::<Offers>();
    let join = ServerAction::<OrgJoin>::new();
    reload_after(join, reload);
    let error = action_error(join);
    view! {
        <Suspense>
            {move || {
                let app_id = app_id.clone();
                offers.get().and_then(Result::ok).filter(|list| !list.is_empty()).map(move |list| view! {
                    <section class="mt-8" data-testid="org-offers">
                        <h2 class="text-sm font-semibold text-slate-900">"Open to you"</h2>
                        <p class="mt-1 mb-3 text-sm text-slate-500">
                            "These organizations verified the domain of your e-mail address and let its people join."
                        </p>
                        <FormError error />
                        <ul class="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200">
                            {list.into_iter().map(move |offer| {
                                let test_id = format!("join-{}", offer.slug);
                                let fields = org_fields(&app_id, &offer.slug);
                                view! {
                                    <li class="flex items-center justify-between gap-3 px-4 py-3">
                                        <div>
                                            <p class="font-medium text-slate-900">{offer.name}</p>
                                            <p class="text-xs text-slate-500">{offer.slug.clone()}</p>
                                        </div>
                                        <ActionForm action=join>
                                            {fields}
                                            <SmallSubmit label="Join" pending=join.pending() test_id />
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })
            }}
        </Suspense>
    }
}

/// The switcher: each organization of the user, the current one marked.
#[component]
fn OrgLinks(app_id: String, list: Vec<MyOrg>, current: Option<String>) -> impl IntoView {
    view! {
        <ul class="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200" data-testid="org-switcher">
            {list
                .into_iter()
                .map(|org| {
                    let here = current.as_deref() == Some(org.slug.as_str());
                    let class = if here {
                        "flex items-center justify-between gap-3 bg-slate-50 px-4 py-3"
                    } else {
                        "flex items-center justify-between gap-3 px-4 py-3 hover:bg-slate-50"
                    };
                    let href = format!("/a/{}/orgs/{}", app_id, org.slug);
                    let test_id = format!("org-{}", org.slug);
                    view! {
                        <li>
                            <a href=href class=class data-testid=test_id aria-current=here.then_some("page")>
                                <span class="min-w-0">
                                    <span class="block truncate text-sm font-medium text-slate-900">{org.name}</span>
                                    <span class="block truncate text-xs text-slate-500">{org.slug}</span>
                                </span>
                                <span class="text-xs text-slate-500">{org.roles.join(", ")}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// One organization, reloaded after each change.
#[derive(Clone, Copy)]
struct Loaded(
    Resource<Result<OrgPage, crate::api::ApiError>>,
    RwSignal<u32>,
);

#[component]
pub fn OrgPage() -> impl IntoView {
    let params = use_params_map();
    let query = query_param("q");
    let after = query_param("after");
    let reload = RwSignal::new(0u32);
    let page = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("app_id").unwrap_or_default(),
                p.get("slug").unwrap_or_default(),
                query.get(),
                after.get(),
                reload.get(),
            )
        },
        |(app_id, slug, query, after, _)| org_view(app_id, slug, query, after),
    );
    let mine = Resource::new(
        move || params.read().get("app_id").unwrap_or_default(),
        my_orgs,
    );
    provide_context(Loaded(page, reload));
    provide_context(Mine(mine));
    view! {
        <HostedPage
            title=|name| format!("Organization · {name}")
            content=|app| view! { <OrgContent app /> }.into_any()
            wide=true
        />
    }
}

#[component]
fn OrgContent(app: HostedApp) -> impl IntoView {
    let Loaded(page, reload) = expect_context::<Loaded>();
    let Mine(mine) = expect_context::<Mine>();
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {
                let app = app.clone();
                move || {
                    let app = app.clone();
                    page.get().map(move |loaded| match loaded {
                        Ok(org) => {
                            let others = mine.get().and_then(Result::ok).unwrap_or_default();
                            view! { <Organization app org others reload /> }.into_any()
                        }
                        Err(err) => view! { <Card>{sign_in_notice(&app, err)}</Card> }.into_any(),
                    })
                }
            }
        </Transition>
    }
}

/// A section of the organization page.
#[component]
fn Section(
    #[prop(into)] title: String,
    #[prop(into)] test_id: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200" data-testid=test_id>
            <h2 class="mb-4 text-base font-semibold text-slate-900">{title}</h2>
            {children()}
        </section>
    }
}

/// Reload the page once `action` succeeded.
fn reload_after<I>(action: ServerAction<I>, reload: RwSignal<u32>)
where
    I: leptos::server_fn::ServerFn<Output = (), Error = crate::api::ApiError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            reload.update(|n| *n += 1);
        }
    });
}

#[component]
fn Organization(
    app: HostedApp,
    org: OrgPage,
    others: Vec<MyOrg>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let app_id = app.id.clone();
    let switcher = if others.len() > 1 {
        let (app_id, slug) = (app_id.clone(), org.slug.clone());
        Some(view! {
            <Section title="Switch organization" test_id="switch-section">
                <OrgLinks app_id list=others current=Some(slug) />
            </Section>
        })
    } else {
        None
    };
    let invitations = if org.manages {
        let (app_id, org) = (app_id.clone(), org.clone());
        Some(view! { <Invitations app_id org reload /> })
    } else {
        None
    };
    let all_orgs = format!("/a/{app_id}/orgs");
    let subtitle = format!("{} · you are {}", org.slug, org.my_roles.join(", "));
    let name = org.name.clone();
    let (members_app, teams_app) = (app_id.clone(), app_id);
    let (members_org, teams_org) = (org.clone(), org);
    view! {
        <div class="space-y-6">
            <div>
                <p class="text-sm text-slate-500"><a href=all_orgs class="hover:underline">"Your organizations"</a></p>
                <h1 class="mt-1 text-2xl font-semibold tracking-tight text-slate-900" data-testid="org-name">{name}</h1>
                <p class="mt-1 text-sm text-slate-500">{subtitle}</p>
            </div>
            {switcher}
            <Members app_id=members_app org=members_org reload />
            {invitations}
            <Teams app_id=teams_app org=teams_org reload />
        </div>
    }
}

/// The hidden fields every member form carries.
fn org_fields(app_id: &str, slug: &str) -> impl IntoView + use<> {
    let (app_id, slug) = (app_id.to_owned(), slug.to_owned());
    view! {
        <input type="hidden" name="app_id" value=app_id />
        <input type="hidden" name="slug" value=slug />
    }
}

#[component]
fn Members(app_id: String, org: OrgPage, reload: RwSignal<u32>) -> impl IntoView {
    let set_roles = ServerAction::<OrgSetMemberRoles>::new();
    let remove = ServerAction::<OrgRemoveMember>::new();
    reload_after(set_roles, reload);
    reload_after(remove, reload);
    let set_error = action_error(set_roles);
    let remove_error = action_error(remove);
    let next = org.next.clone().map(|after| {
        format!(
            "/a/{}/orgs/{}?after={}",
            app_id,
            org.slug,
            after.replace('@', "%40").replace('+', "%2B")
        )
    });
    let rows = org
        .members
        .iter()
        .map(|member| {
            let roles = member
                .roles
                .iter()
                .map(|r| {
                    let tone = match r.as_str() {
                        "owner" => "indigo",
                        "admin" => "amber",
                        _ => "slate",
                    };
                    view! { <Badge tone text=r.clone() /> }
                })
                .collect_view();
            let editing = if org.manages {
                let fields = org_fields(&app_id, &org.slug);
                let user_id = member.user_id.clone();
                let current = member.roles.join(", ");
                let label = format!("Roles of {}", member.email);
                let test_id = format!("save-roles-{}", member.email);
                Some(view! {
                    <ActionForm action=set_roles attr:class="flex items-center gap-2">
                        {fields}
                        <input type="hidden" name="user_id" value=user_id />
                        <input
                            name="roles"
                            value=current
                            aria-label=label
                            class="w-36 rounded-md border-0 px-2 py-1 text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
                        />
                        <SmallSubmit label="Save" pending=set_roles.pending() test_id />
                    </ActionForm>
                })
            } else {
                None
            };
            let leave_or_remove = if org.manages || member.is_me {
                let fields = org_fields(&app_id, &org.slug);
                let user_id = member.user_id.clone();
                let label = if member.is_me { "Leave" } else { "Remove" };
                let test_id = format!("remove-{}", member.email);
                Some(view! {
                    <ActionForm action=remove>
                        {fields}
                        <input type="hidden" name="user_id" value=user_id />
                        <button type="submit" class=SMALL_DANGER_BUTTON data-testid=test_id>{label}</button>
                    </ActionForm>
                })
            } else {
                None
            };
            let email = member.email.clone();
            let you = member.is_me.then(|| view! { <span class="ml-2 text-xs text-slate-500">"(you)"</span> });
            view! {
                <li class="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 py-3">
                    <div class="min-w-0">
                        <p class="truncate text-sm text-slate-900">{email}{you}</p>
                        <div class="mt-1 flex flex-wrap gap-1">{roles}</div>
                    </div>
                    <div class="flex flex-wrap items-center gap-2">{editing}{leave_or_remove}</div>
                </li>
            }
        })
        .collect_view();
    view! {
        <Section title=format!("Members ({})", org.total_members) test_id="members-section">
            <form method="get" class="mb-4 flex gap-2">
                <input
                    name="q"
                    type="search"
                    placeholder="Search by e-mail"
                    aria-label="Search members by e-mail"
                    class="w-full max-w-xs rounded-lg border-0 px-3 py-2 text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
                />
                <button type="submit" class=SMALL_BUTTON>"Search"</button>
            </form>
            <FormError error=set_error />
            <FormError error=remove_error />
            <ul class="divide-y divide-slate-100" data-testid="members">{rows}</ul>
            {next.map(|href| view! { <a href=href class=format!("mt-4 {SMALL_BUTTON}")>"Next page"</a> })}
        </Section>
    }
}

#[component]
fn Invitations(app_id: String, org: OrgPage, reload: RwSignal<u32>) -> impl IntoView {
    let invite = ServerAction::<OrgInvite>::new();
    let edit = ServerAction::<OrgEditInvitation>::new();
    reload_after(invite, reload);
    reload_after(edit, reload);
    let invite_error = action_error(invite);
    let edit_error = action_error(edit);
    let options = org
        .grantable
        .iter()
        .map(|role| {
            let selected = role == "member";
            view! { <option value=role.clone() selected=selected>{role.clone()}</option> }
        })
        .collect_view();
    let form = |row_id: &str,
                email: &str,
                action: &'static str,
                label: &'static str,
                class: &'static str| {
        let fields = org_fields(&app_id, &org.slug);
        let row_id = row_id.to_owned();
        let test_id = format!("{action}-{email}");
        view! {
            <ActionForm action=edit>
                {fields}
                <input type="hidden" name="invitation_id" value=row_id />
                <input type="hidden" name="action" value=action />
                <button type="submit" class=class data-testid=test_id>{label}</button>
            </ActionForm>
        }
    };
    let pending = org
        .invitations
        .iter()
        .map(|row| {
            let resend = form(&row.id, &row.email, "resend", "Resend", SMALL_BUTTON);
            let revoke = form(&row.id, &row.email, "revoke", "Revoke", SMALL_DANGER_BUTTON);
            let email = row.email.clone();
            let about = format!("{} · expires {}", row.roles.join(", "), row.expires);
            view! {
                <li class="flex flex-wrap items-center justify-between gap-3 py-3">
                    <div class="min-w-0">
                        <p class="truncate text-sm text-slate-900">{email}</p>
                        <p class="text-xs text-slate-500">{about}</p>
                    </div>
                    <div class="flex gap-2">{resend}{revoke}</div>
                </li>
            }
        })
        .collect_view();
    let none_pending = org.invitations.is_empty();
    let fields = org_fields(&app_id, &org.slug);
    view! {
        <Section title="Invitations" test_id="invitations-section">
            <ActionForm action=invite attr:class="grid gap-3 sm:grid-cols-[1fr_10rem_auto] sm:items-end" attr:data-testid="invite-form">
                {fields}
                <Field label="Invite by e-mail" name="email" kind="email" autocomplete="off" error=invite_error />
                <div class="space-y-1.5">
                    <label for="invite-role" class="block text-sm font-medium text-slate-700">"Role"</label>
                    <select id="invite-role" name="roles" class="block w-full rounded-lg border-0 py-2.5 pl-3 pr-8 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600">
                        {options}
                    </select>
                </div>
                <SubmitButton label="Send invitation" pending_label="Sending…" pending=invite.pending() />
            </ActionForm>
            <div class="mt-2"><FormError error=invite_error /></div>
            <FormError error=edit_error />
            {if none_pending {
                view! { <p class="mt-4 text-sm text-slate-500">"No pending invitations."</p> }.into_any()
            } else {
                view! { <ul class="mt-4 divide-y divide-slate-100" data-testid="pending-invitations">{pending}</ul> }.into_any()
            }}
        </Section>
    }
}

#[component]
fn Teams(app_id: String, org: OrgPage, reload: RwSignal<u32>) -> impl IntoView {
    let edit = ServerAction::<OrgEditTeam>::new();
    reload_after(edit, reload);
    let error = action_error(edit);
    // The hidden fields of one team form: which organization, what to do,
    // to which team.
    let hidden = |action: &'static str, team_id: Option<&str>| {
        let fields = org_fields(&app_id, &org.slug);
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
    let choices: Vec<(String, String)> = org
        .members
        .iter()
        .map(|m| (m.user_id.clone(), m.email.clone()))
        .collect();
    let teams = org
        .teams
        .iter()
        .map(|team| {
            let people = team
                .members
                .iter()
                .map(|(user_id, email)| {
                    let remove = if org.manages {
                        let fields = hidden("remove", Some(&team.id));
                        let user_id = user_id.clone();
                        let label = format!("Remove {email} from {}", team.name);
                        Some(view! {
                            <ActionForm action=edit attr:class="inline">
                                {fields}
                                <input type="hidden" name="user_id" value=user_id />
                                <button type="submit" class="ml-1 text-slate-400 hover:text-red-600" aria-label=label>"×"</button>
                            </ActionForm>
                        })
                    } else {
                        None
                    };
                    let email = email.clone();
                    view! {
                        <span class="inline-flex items-center rounded-md bg-slate-100 px-2 py-0.5 text-xs text-slate-700">{email}{remove}</span>
                    }
                })
                .collect_view();
            let manage = if org.manages {
                let add_fields = hidden("add", Some(&team.id));
                let delete_fields = hidden("delete", Some(&team.id));
                let label = format!("Add a member to {}", team.name);
                let options = choices
                    .iter()
                    .cloned()
                    .map(|(id, email)| view! { <option value=id>{email}</option> })
                    .collect_view();
                Some(view! {
                    <div class="mt-3 flex flex-wrap gap-2">
                        <ActionForm action=edit attr:class="flex gap-2">
                            {add_fields}
                            <select name="user_id" aria-label=label class="rounded-md border-0 py-1 pl-2 pr-7 text-sm ring-1 ring-inset ring-slate-300">
                                {options}
                            </select>
                            <SmallSubmit label="Add" pending=edit.pending() />
                        </ActionForm>
                        <ActionForm action=edit>
                            {delete_fields}
                            <button type="submit" class=SMALL_DANGER_BUTTON>"Delete team"</button>
                        </ActionForm>
                    </div>
                })
            } else {
                None
            };
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
    let create = if org.manages {
        let fields = hidden("create", None);
        Some(view! {
            <ActionForm action=edit attr:class="mb-2 flex items-start gap-2" attr:data-testid="new-team-form">
                {fields}
                <Field label="New team" name="name" id="new-team-name" error />
                <div class="mt-7"><SmallSubmit label="Create" pending=edit.pending() /></div>
            </ActionForm>
        })
    } else {
        None
    };
    let none = org.teams.is_empty();
    view! {
        <Section title="Teams" test_id="teams-section">
            {create}
            <FormError error />
            {if none {
                view! { <p class="text-sm text-slate-500">"No teams yet."</p> }.into_any()
            } else {
                view! { <ul class="divide-y divide-slate-100">{teams}</ul> }.into_any()
            }}
        </Section>
    }
}
