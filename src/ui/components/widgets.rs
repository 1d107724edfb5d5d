//! Small building blocks of the console: headers, badges, empty states,
//! checkboxes, text areas, selects and the confirmation dialog.

use leptos::prelude::*;

use crate::api::ApiError;

/// Title, optional subtitle and actions of a page.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-end justify-between gap-4">
            <div class="min-w-0">
                <h1 class="truncate text-2xl font-semibold tracking-tight text-slate-900" data-testid="page-title">
                    {title}
                </h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500">{s}</p> })}
            </div>
            {children.map(|c| view! { <div class="flex flex-wrap gap-2">{c()}</div> })}
        </div>
    }
}

/// A small label: tone is "green", "red", "amber", "indigo" or "slate".
#[component]
pub fn Badge(#[prop(into)] tone: String, #[prop(into)] text: String) -> impl IntoView {
    let class = match tone.as_str() {
        "green" => "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
        "red" => "bg-red-50 text-red-700 ring-red-600/20",
        "amber" => "bg-amber-50 text-amber-800 ring-amber-600/20",
        "indigo" => "bg-indigo-50 text-indigo-700 ring-indigo-600/20",
        _ => "bg-slate-100 text-slate-600 ring-slate-500/20",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset {class}")>
            {text}
        </span>
    }
}

/// What a list shows when it has nothing in it.
#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] text: String) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-dashed border-slate-300 px-6 py-10 text-center" data-testid="empty-state">
            <p class="font-medium text-slate-900">{title}</p>
            <p class="mt-1 text-sm text-slate-500">{text}</p>
        </div>
    }
}

/// A labelled checkbox (a form sends it only when ticked).
#[component]
pub fn Checkbox(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(default = false)] checked: bool,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    let id = format!("check-{name}");
    view! {
        <div class="flex items-start gap-3">
            <input
                id=id.clone()
                name=name
                type="checkbox"
                checked=checked
                class="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-600"
            />
            <div>
                <label for=id class="text-sm font-medium text-slate-700">{label}</label>
                {hint.map(|h| view! { <p class="text-xs text-slate-500">{h}</p> })}
            </div>
        </div>
    }
}

/// A labelled multi-line input; `error` shows beneath it for this field.
#[component]
pub fn TextArea(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(into, optional)] error: Signal<Option<ApiError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let field = name.clone();
    let message = Signal::derive(move || error.get().and_then(|e| e.for_field(&field)));
    view! {
        <div class="space-y-1.5">
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <textarea
                id=id
                name=name
                rows="3"
                class="block w-full rounded-lg border-0 px-3 py-2 font-mono text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-indigo-600"
            >
                {value.unwrap_or_default()}
            </textarea>
            {hint.map(|h| view! { <p class="text-xs text-slate-500">{h}</p> })}
            <p class="text-sm text-red-600" role="alert">{move || message.get()}</p>
        </div>
    }
}

/// A labelled select of (value, label) options.
#[component]
pub fn Select(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    options: Vec<(String, String)>,
    #[prop(optional, into)] selected: Option<String>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="space-y-1.5">
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <select
                id=id
                name=name
                class="block w-full rounded-lg border-0 py-2.5 pl-3 pr-8 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
            >
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let is_selected = selected.as_deref() == Some(value.as_str());
                        view! { <option value=value selected=is_selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

/// A modal asking to confirm a destructive action; `children` is the form
/// whose submit button performs it. Escape or Cancel closes it.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    children: ChildrenFn,
) -> impl IntoView {
    let title = StoredValue::new(title);
    let message = StoredValue::new(message);
    view! {
        <Show when=move || open.get()>
            <div
                class="fixed inset-0 z-40 flex items-end justify-center bg-slate-900/40 p-4 sm:items-center"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        open.set(false);
                    }
                }
            >
                <div
                    class="w-full max-w-md rounded-2xl bg-white p-6 shadow-xl ring-1 ring-slate-200"
                    role="dialog"
                    aria-modal="true"
                    data-testid="confirm-dialog"
                >
                    <h2 class="text-lg font-semibold text-slate-900">{title.get_value()}</h2>
                    <p class="mt-2 text-sm text-slate-600">{message.get_value()}</p>
                    <div class="mt-5">{children()}</div>
                    <button
                        type="button"
                        class="mt-3 w-full rounded-lg px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100"
                        on:click=move |_| open.set(false)
                    >
                        "Cancel"
                    </button>
                </div>
            </div>
        </Show>
    }
}

/// Compact button classes for actions inside cards and table rows.
pub const SMALL_BUTTON: &str = "inline-flex items-center gap-1.5 rounded-md px-2.5 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50 disabled:cursor-wait disabled:opacity-70";
pub const SMALL_DANGER_BUTTON: &str = "inline-flex items-center gap-1.5 rounded-md px-2.5 py-1.5 text-sm font-medium text-red-700 ring-1 ring-red-200 hover:bg-red-50 disabled:cursor-wait disabled:opacity-70";

/// A compact submit button that shows a spinner while its action runs.
#[component]
pub fn SmallSubmit(
    #[prop(into)] label: String,
    #[prop(into)] pending: Signal<bool>,
    #[prop(optional, into)] test_id: Option<String>,
) -> impl IntoView {
    view! {
        <button type="submit" class=SMALL_BUTTON disabled=move || pending.get() data-testid=test_id>
            {move || pending.get().then(|| view! { <super::Spinner /> })}
            {label}
        </button>
    }
}
