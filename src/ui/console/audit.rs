//! `/console/audit` and `/console/apps/{app_id}/audit`: the audit log,
//! newest first, filtered by URL (so a filtered view can be linked), with
//! event details, export of the filtered set, and the chain check.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{LoadError, page_link, use_app_id};
use crate::api::console::audit::{
    AuditQuery, AuditRow, console_audit, console_audit_event, console_verify_chain,
};
use crate::ui::components::{Badge, EmptyState, PageHeader, Tone, button_class};
use crate::ui::hosted::query_param;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <AuditLog fixed_app=None /> }
}

#[component]
pub fn AppAuditPage() -> impl IntoView {
    // Built once per page (its resources must not be rebuilt mid-render).
    let app_id = use_app_id().get_untracked();
    view! { <AuditLog fixed_app=Some(app_id) /> }
}

const INPUT: &str = "block w-full rounded-lg border-0 px-3 py-2 text-sm shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600";

#[component]
fn AuditLog(fixed_app: Option<String>) -> impl IntoView {
    let app_param = query_param("app");
    let actor = query_param("actor");
    let action = query_param("action");
    let target = query_param("target");
    let from = query_param("from");
    let to = query_param("to");
    let before = query_param("before");
    let selected_event = query_param("event");
    let fixed = fixed_app.clone();
    let query = Memo::new(move |_| AuditQuery {
        app_id: fixed.clone().or_else(|| app_param.get()),
        actor: actor.get(),
        action: action.get(),
        target: target.get(),
        from: from.get(),
        to: to.get(),
    });
    let events = Resource::new(
        move || {
            (
                query.get(),
                before.get().and_then(|b| b.parse::<i64>().ok()),
            )
        },
        |(query, before)| console_audit(Some(query), before),
    );
    let event = Resource::new(
        move || selected_event.get().and_then(|e| e.parse::<i64>().ok()),
        |id| async move {
            match id {
                Some(id) => Some(console_audit_event(id).await),
                None => None,
            }
        },
    );
    let chain_app = StoredValue::new(None::<String>);
    let chain = Action::new(move |app: &String| console_verify_chain(app.clone()));
    let base = match &fixed_app {
        Some(app) => format!("/console/apps/{app}/audit"),
        None => "/console/audit".to_owned(),
    };
    let base = StoredValue::new(base);
    let title = match &fixed_app {
        Some(app) => format!("Audit log of {app}"),
        None => "Audit log".to_owned(),
    };
    let export = move |format: &str| {
        let q = query.get().to_query();
        format!(
            "/console/audit/export?format={format}{}{q}",
            if q.is_empty() { "" } else { "&" }
        )
    };
    let field = move |label: &'static str,
                      name: &'static str,
                      value: Signal<Option<String>>,
                      placeholder: &'static str| {
        view! {
            <div class="space-y-1">
                <label for=format!("filter-{name}") class="block text-xs font-medium text-slate-600">{label}</label>
                <input id=format!("filter-{name}") name=name value=move || value.get().unwrap_or_default() placeholder=placeholder class=INPUT />
            </div>
        }
    };
    let with_fixed = fixed_app.clone();
    let is_fixed = fixed_app.is_some();
    view! {
        <Title text=title.clone() />
        <PageHeader title=title subtitle="Every change and sign-in, chained by hash: an edited or deleted row shows up in the check.">
            <a href=move || export("jsonl") rel="external" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50" data-testid="export-jsonl">"Export JSONL"</a>
            <a href=move || export("csv") rel="external" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50" data-testid="export-csv">"Export CSV"</a>
        </PageHeader>
        <form method="get" action=base.get_value() class="mb-6 grid gap-3 rounded-2xl bg-white p-4 shadow-sm ring-1 ring-slate-200 sm:grid-cols-3 lg:grid-cols-6" data-testid="audit-filters">
            {with_fixed.is_none().then(|| field("App", "app", app_param, "any app"))}
            {field("Actor", "actor", actor, "e-mail or id")}
            {field("Action", "action", action, "user.created or signin.")}
            {field("Target", "target", target, "user or client id")}
            {field("From", "from", from, "2026-11-01")}
            {field("To", "to", to, "2026-11-30")}
            <div class="flex items-end gap-2 sm:col-span-3 lg:col-span-6">
                <button type="submit" class="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500" data-testid="apply-filters">"Filter"</button>
                <a href=base.get_value() class="rounded-lg px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100">"Clear"</a>
            </div>
        </form>
        {move || query.get().app_id.map(|app| {
            chain_app.set_value(Some(app.clone()));
            view! {
                <div class="mb-6 flex flex-wrap items-center gap-3 rounded-2xl bg-white p-4 shadow-sm ring-1 ring-slate-200">
                    <button type="button" class=format!("sm:w-48 {}", button_class(Tone::Secondary)) disabled=move || chain.pending().get() on:click=move |_| { if let Some(app) = chain_app.get_value() { chain.dispatch(app); } } data-testid="verify-chain">
                        {move || if chain.pending().get() { "Checking…" } else { "Check the chain" }}
                    </button>
                    <span class="text-sm" data-testid="chain-result">
                        {move || chain.value().get().map(|result| match result {
                            Ok(report) => match report.problem {
                                None => view! { <Badge tone="green" text=format!("Intact: {} events of {} verified", report.events, report.app_id) /> }.into_any(),
                                Some(problem) => view! { <Badge tone="red" text=format!("Broken: {problem}") /> }.into_any(),
                            },
                            Err(err) => view! { <span class="text-red-700">{err.to_string()}</span> }.into_any(),
                        })}
                    </span>
                    <span class="text-xs text-slate-500">{format!("Recomputes every hash of {app}'s events: an edited, removed or reordered event breaks the chain.")}</span>
                </div>
            }
        })}
        <Transition>
            {move || event.get().flatten().map(|loaded| match loaded {
                Err(error) => view! { <div class="mb-6"><LoadError error /></div> }.into_any(),
                Ok(detail) => view! {
                    <section class="mb-6 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-indigo-200" data-testid="event-detail">
                        <div class="flex flex-wrap items-start justify-between gap-2">
                            <h2 class="font-mono text-base font-semibold text-slate-900">{detail.row.action.clone()}</h2>
                            <span class="text-xs text-slate-500">{format!("{} · {} #{}", detail.row.at, detail.row.app_id, detail.row.seq)}</span>
                        </div>
                        <dl class="mt-3 grid gap-1 text-sm sm:grid-cols-[8rem_1fr]">
                            <dt class="text-slate-500">"Actor"</dt><dd>{format!("{} ({}){}", detail.row.actor, detail.row.actor_type, detail.actor_address.clone().map(|a| format!(" from {a}")).unwrap_or_default())}</dd>
                            <dt class="text-slate-500">"Target"</dt><dd class="font-mono text-xs">{format!("{} {}", detail.target_type.clone().unwrap_or_default(), detail.row.target.clone().unwrap_or_default())}</dd>
                            <dt class="text-slate-500">"Hash"</dt><dd class="break-all font-mono text-xs text-slate-500">{detail.hash.clone()}</dd>
                        </dl>
                        {match (detail.before.clone(), detail.after.clone()) {
                            (None, None) => view! { <pre class="mt-3 overflow-x-auto rounded-lg bg-slate-50 p-3 text-xs">{detail.details.clone()}</pre> }.into_any(),
                            (before, after) => view! {
                                <div class="mt-3 grid gap-3 md:grid-cols-2">
                                    <div><p class="text-xs font-semibold uppercase text-slate-500">"Before"</p><pre class="mt-1 overflow-x-auto rounded-lg bg-red-50 p-3 text-xs" data-testid="event-before">{before.unwrap_or_else(|| "—".into())}</pre></div>
                                    <div><p class="text-xs font-semibold uppercase text-slate-500">"After"</p><pre class="mt-1 overflow-x-auto rounded-lg bg-emerald-50 p-3 text-xs" data-testid="event-after">{after.unwrap_or_else(|| "—".into())}</pre></div>
                                </div>
                            }
                            .into_any(),
                        }}
                    </section>
                }
                .into_any(),
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || events.get().map(|loaded| match loaded {
                Err(error) => view! { <LoadError error /> }.into_any(),
                Ok(page) if page.events.is_empty() => view! { <EmptyState title="No events" text="Nothing matches these filters." /> }.into_any(),
                Ok(page) => {
                    let link = move |extra: Vec<(&str, String)>| {
                        let current = query.get();
                        let filters = [("app", current.app_id), ("actor", current.actor), ("action", current.action), ("target", current.target), ("from", current.from), ("to", current.to)]
                            .into_iter()
                            .filter(|(name, _)| *name != "app" || !is_fixed)
                            .filter_map(|(name, value)| value.filter(|v| !v.is_empty()).map(|v| (name, v)));
                        let params: Vec<(&str, String)> = filters.chain(extra).collect();
                        page_link(&base.get_value(), params.iter().map(|(name, value)| (*name, value.as_str())))
                    };
                    let this_page = before.get();
                    let next = page.next.map(|n| link(vec![("before", n.to_string())]));
                    // Keyset pages only go older; the way back is to the newest page.
                    let newest = this_page.is_some().then(|| link(vec![]));
                    view! {
                        <div class="overflow-x-auto rounded-2xl bg-white shadow-sm ring-1 ring-slate-200">
                            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="audit-table">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr>
                                        <th class="px-4 py-3">"When"</th>
                                        <th class="px-4 py-3">"Action"</th>
                                        <th class="hidden px-4 py-3 md:table-cell">"Actor"</th>
                                        <th class="hidden px-4 py-3 lg:table-cell">"App"</th>
                                        <th class="hidden px-4 py-3 lg:table-cell">"Details"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {page.events.into_iter().map(|e: AuditRow| {
                                        // The event opens above this same page of the list.
                                        let page = this_page.clone().map(|b| ("before", b));
                                        let href = link(page.into_iter().chain([("event", e.id.to_string())]).collect());
                                        let refused = e.refusal;
                                        view! {
                                            <tr class="hover:bg-slate-50" data-testid="audit-row">
                                                <td class="whitespace-nowrap px-4 py-2 text-xs text-slate-500">{e.at.clone()}</td>
                                                <td class="px-4 py-2">
                                                    <a href=href class=if refused { "font-mono text-red-700 hover:underline" } else { "font-mono text-slate-900 hover:text-indigo-700 hover:underline" }>{e.action.clone()}</a>
                                                </td>
                                                <td class="hidden px-4 py-2 text-slate-700 md:table-cell">{e.actor.clone()}</td>
                                                <td class="hidden px-4 py-2 font-mono text-xs text-slate-500 lg:table-cell">{e.app_id.clone()}</td>
                                                <td class="hidden max-w-xs truncate px-4 py-2 text-xs text-slate-500 lg:table-cell">{e.summary.clone()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <div class="mt-4 flex justify-between gap-4 text-sm font-medium text-indigo-700">
                            <span>{newest.map(|href| view! { <a href=href class="hover:underline" data-testid="newest-events">"← Newest events"</a> })}</span>
                            <span>{next.map(|href| view! { <a href=href class="hover:underline" data-testid="older-events">"Older events →"</a> })}</span>
                        </div>
                    }
                    .into_any()
                }
            })}
        </Transition>
    }
}
