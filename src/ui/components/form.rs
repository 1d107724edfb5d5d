//! Form pieces: labelled inputs with their error beside them, buttons with a
//! pending state, and an inline confirmation for destructive actions.

use leptos::prelude::*;

use crate::api::ApiError;

/// The error of the last run of an action, if it failed.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<ApiError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = ApiError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// A labelled input; `error` shows beneath it when it concerns this field.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(default = true)] required: bool,
    #[prop(optional)] node_ref: Option<NodeRef<leptos::html::Input>>,
    #[prop(into, optional)] error: Signal<Option<ApiError>>,
    /// The input's id, when two forms on one page have a field of one name.
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| format!("field-{name}"));
    let field_error = {
        let name = name.clone();
        Signal::derive(move || error.get().and_then(|e| e.for_field(&name)))
    };
    let described_by = format!("{id}-error");
    let input_class = {
        move || {
            let base = "block w-full rounded-lg border-0 px-3 py-2.5 text-slate-900 shadow-sm ring-1 ring-inset placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-[var(--brand,#4f46e5)] sm:text-sm";
            if field_error.get().is_some() {
                format!("{base} ring-red-400")
            } else {
                format!("{base} ring-slate-300")
            }
        }
    };
    let node_ref = node_ref.unwrap_or_default();
    let input = view! {
        <input
            node_ref=node_ref
            id=id.clone()
            name=name.clone()
            type=kind
            autocomplete=autocomplete
            value=value
            placeholder=placeholder
            required=required
            aria-describedby=described_by.clone()
            aria-invalid=move || field_error.get().is_some().to_string()
            class=input_class
        />
    };
    view! {
        <div class="space-y-1.5">
            <label for=id class="block text-sm font-medium text-slate-700">
                {label}
            </label>
            {input}
            {hint.map(|hint| view! { <p class="text-xs text-slate-500">{hint}</p> })}
            <p id=described_by class="text-sm text-red-600" role="alert">
                {move || field_error.get()}
            </p>
        </div>
    }
}

/// The error that belongs above the form (not to a single field).
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().filter(|e| !e.is_field_error()).map(|e| {
            view! {
                <div
                    class="rounded-lg bg-red-50 px-4 py-3 text-sm text-red-800 ring-1 ring-red-200"
                    role="alert"
                    data-testid="form-error"
                >
                    {e.to_string()}
                </div>
            }
        })
    }
}

/// Visual weight of a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Primary,
    Secondary,
    Danger,
}

pub fn button_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Primary => {
            "inline-flex w-full items-center justify-center gap-2 rounded-lg bg-[var(--brand,#4f46e5)] px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:brightness-110 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-[var(--brand,#4f46e5)] disabled:cursor-wait disabled:opacity-70"
        }
        Tone::Secondary => {
            "inline-flex w-full items-center justify-center gap-2 rounded-lg bg-white px-4 py-2.5 text-sm font-semibold text-slate-800 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-slate-400 disabled:cursor-wait disabled:opacity-70"
        }
        Tone::Danger => {
            "inline-flex w-full items-center justify-center gap-2 rounded-lg bg-red-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-red-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-red-600 disabled:cursor-wait disabled:opacity-70"
        }
    }
}

/// A spinner for pending buttons.
#[component]
pub fn Spinner() -> impl IntoView {
    view! {
        <svg class="h-4 w-4 animate-spin" viewBox="0 0 24 24" fill="none" aria-hidden="true">
            <circle class="opacity-25" cx="12" cy="12" r="10" stroke="currentColor" stroke-width="4"></circle>
            <path class="opacity-75" fill="currentColor" d="M4 12a8 8 0 0 1 8-8v4a4 4 0 0 0-4 4H4z"></path>
        </svg>
    }
}

/// A submit button that shows `pending_label` and a spinner while pending.
#[component]
pub fn SubmitButton(
    #[prop(into)] label: String,
    #[prop(into)] pending_label: String,
    #[prop(into)] pending: Signal<bool>,
    #[prop(optional)] tone: Tone,
) -> impl IntoView {
    view! {
        <button type="submit" class=button_class(tone) disabled=move || pending.get()>
            {move || pending.get().then(|| view! { <Spinner /> })}
            {move || if pending.get() { pending_label.clone() } else { label.clone() }}
        </button>
    }
}
