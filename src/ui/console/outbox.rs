//! `/console/apps/{app_id}/outbox`: the app's e-mail, newest first, with
//! its delivery state; filters; open a message (its one-time link
//! withheld) and resend one.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::app::AppHeader;
use super::{LoadError, RefusalNotice, Reload, use_app_id};
use crate::api::console::apps::{AppView, console_app};
use crate::api::console::outbox::{
    ConsoleOpenEmail, ConsoleResendEmail, OutboxRow, OutboxView, console_outbox,
};
use crate::ui::components::{Badge, EmptyState, Notice, SMALL_BUTTON, SmallSubmit, action_error};
use crate::ui::hosted::query_param;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let app_id = use_app_id();
    let reload = Reload::new();
    let status = query_param("status");
    let kind = query_param("kind");
    let to = query_param("to");
    let app = Resource::new(move || app_id.get(), console_app);
    let outbox = Resource::new(
        move || {
            (
                app_id.get(),
                status.get(),
                kind.get(),
                to.get(),
                reload.track(),
            )
        },
        |(id, status, kind, to, _)| console_outbox(id, status, kind, to),
    );
    // Page-level, so an opened message and a resend's answer outlive reloads.
    let open = ServerAction::<ConsoleOpenEmail>::new();
    let resend = ServerAction::<ConsoleResendEmail>::new();
    Effect::new(move |previous: Option<usize>| {
        let version = resend.version().get();
        if previous.is_some_and(|p| p != version)
            && matches!(resend.value().get_untracked(), Some(Ok(())))
        {
            reload.bump();
        }
        version
    });
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || match (app.get(), outbox.get()) {
                (Some(Ok(app)), Some(Ok(view))) => view! {
                    <Outbox app view status=status.get() kind=kind.get() to=to.get() open resend />
                }.into_any(),
                (Some(Err(error)), _) | (_, Some(Err(error))) => view! { <LoadError error /> }.into_any(),
                _ => ().into_any(),
            }}
        </Transition>
    }
}

fn status_badge(status: &str) -> impl IntoView + use<> {
    let tone = match status {
        "sent" => "green",
        "failed" => "red",
        _ => "amber",
    };
    view! { <Badge tone=tone text=status.to_owned() /> }
}

#[component]
fn Outbox(
    app: AppView,
    view: OutboxView,
    status: Option<String>,
    kind: Option<String>,
    to: Option<String>,
    open: ServerAction<ConsoleOpenEmail>,
    resend: ServerAction<ConsoleResendEmail>,
) -> impl IntoView {
    let base = format!("/console/apps/{}/outbox", app.id);
    let app_id = StoredValue::new(app.id.clone());
    let can_write = view.can_write;
    let open_error = action_error(open);
    let resend_error = action_error(resend);
    let option = |value: &str, selected: &Option<String>| {
        let is_selected = selected.as_deref() == Some(value);
        view! { <option value=value.to_owned() selected=is_selected>{value.to_owned()}</option> }
    };
    let select = "block rounded-lg border-0 py-2 pl-3 pr-8 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600";
    view! {
        <AppHeader name=app.name.clone() id=app.id.clone() disabled=app.disabled />
        {(!view.smtp_configured).then(|| view! {
            <div class="mb-4" data-testid="no-smtp">
                <Notice tone="info">
                    "No SMTP server is configured (ONEAUTH_SMTP_URL), so messages wait here. One-time links are never shown here: issue a fresh one from the user's page, which shows it to you once."
                </Notice>
            </div>
        })}
        <form method="get" action=base.clone() class="mb-4 flex flex-wrap items-end gap-2" role="search" data-testid="outbox-filters">
            <label class="sr-only" for="outbox-status">"Status"</label>
            <select id="outbox-status" name="status" class=select>
                <option value="">"Any status"</option>
                {view.statuses.iter().map(|s| option(s, &status)).collect_view()}
            </select>
            <label class="sr-only" for="outbox-kind">"Kind"</label>
            <select id="outbox-kind" name="kind" class=select>
                <option value="">"Any kind"</option>
                {view.kinds.iter().map(|k| option(k, &kind)).collect_view()}
            </select>
            <label class="sr-only" for="outbox-to">"Recipient"</label>
            <input
                id="outbox-to"
                name="to"
                type="search"
                value=to.clone().unwrap_or_default()
                placeholder="Recipient contains…"
                class="block w-56 rounded-lg border-0 px-3 py-2 text-sm shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
            />
            <button type="submit" class="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50">"Filter"</button>
        </form>
        <RefusalNotice error=Signal::derive(move || open_error.get().or(resend_error.get())) />
        {move || open.value().get().and_then(Result::ok).map(|message| view! {
            <section class="mb-6 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-indigo-200" data-testid="opened-message">
                <div class="flex items-start justify-between gap-4">
                    <div class="min-w-0">
                        <h2 class="truncate text-base font-semibold text-slate-900">{message.subject.clone()}</h2>
                        <p class="text-sm text-slate-500">"To " {message.to.clone()}</p>
                    </div>
                    <button type="button" class=SMALL_BUTTON on:click=move |_| open.value().set(None)>"Close"</button>
                </div>
                {message.link_withheld.then(|| {
                    let user_page = message
                        .user_id
                        .clone()
                        .map(|user| format!("/console/apps/{}/users/{user}", app_id.get_value()));
                    view! {
                        <div class="mt-4" data-testid="link-withheld">
                            <Notice tone="info">
                                "Its one-time link is not shown: a link in the outbox would be a way into someone's account. To hand one over, issue a fresh link from "
                                {match user_page {
                                    Some(href) => view! { <a href=href class="font-medium underline">"the recipient's page"</a> }.into_any(),
                                    None => view! { <span>"the recipient's page"</span> }.into_any(),
                                }}
                                " (it voids this one)."
                            </Notice>
                        </div>
                    }
                })}
                <pre class="mt-4 whitespace-pre-wrap break-words rounded-lg bg-slate-50 p-4 font-mono text-xs leading-5 text-slate-800 ring-1 ring-slate-200" data-testid="message-text">{message.text.clone()}</pre>
            </section>
        })}
        {if view.rows.is_empty() {
            view! { <EmptyState title="No messages" text="E-mail this app sends (invitations, recovery links, notices) shows here." /> }.into_any()
        } else {
            view! {
                <div class="overflow-x-auto rounded-2xl bg-white shadow-sm ring-1 ring-slate-200">
                    <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="outbox-table">
                        <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                            <tr>
                                <th class="px-4 py-3">"Message"</th>
                                <th class="px-4 py-3">"Status"</th>
                                <th class="hidden px-4 py-3 md:table-cell">"Attempts"</th>
                                <th class="px-4 py-3"><span class="sr-only">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {view.rows.into_iter().map(|row| view! {
                                <Row row app_id=app_id.get_value() can_write open resend />
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn Row(
    row: OutboxRow,
    app_id: String,
    can_write: bool,
    open: ServerAction<ConsoleOpenEmail>,
    resend: ServerAction<ConsoleResendEmail>,
) -> impl IntoView {
    let resendable = row.status != "pending";
    let (resend_app_id, resend_id) = (app_id.clone(), row.id.clone());
    let problem = row.last_error.clone().filter(|_| row.status != "sent");
    view! {
        <tr class="align-top hover:bg-slate-50" data-testid="outbox-row">
            <td class="px-4 py-3">
                <div class="font-medium text-slate-900">{row.subject.clone()}</div>
                <div class="text-slate-500">
                    {row.to.clone()} " · " <span class="font-mono text-xs">{row.kind.clone()}</span> " · " {row.created.clone()}
                </div>
                {problem.map(|error| view! { <div class="mt-1 text-xs text-red-700" data-testid="last-error">{error}</div> })}
            </td>
            <td class="px-4 py-3">
                {status_badge(&row.status)}
                <div class="mt-1 text-xs text-slate-500">{row.when.clone()}</div>
            </td>
            <td class="hidden px-4 py-3 text-slate-600 md:table-cell">{row.attempts}</td>
            <td class="px-4 py-3">
                {can_write.then(|| view! {
                    <div class="flex justify-end gap-2">
                        <ActionForm action=open>
                            <input type="hidden" name="app_id" value=app_id.clone() />
                            <input type="hidden" name="id" value=row.id.clone() />
                            <SmallSubmit label="Open" pending=open.pending() test_id="open-email" />
                        </ActionForm>
                        {resendable.then(|| view! {
                            <ActionForm action=resend>
                                <input type="hidden" name="app_id" value=resend_app_id.clone() />
                                <input type="hidden" name="id" value=resend_id.clone() />
                                <SmallSubmit label="Resend" pending=resend.pending() test_id="resend-email" />
                            </ActionForm>
                        })}
                    </div>
                })}
            </td>
        </tr>
    }
}
