//! Page frames and the card every form sits in.

use leptos::prelude::*;

use crate::api::hosted::HostedApp;

/// The 1Auth mark: a shield with a key slot.
#[component]
pub fn Logo(#[prop(default = "h-8 w-8")] class: &'static str) -> impl IntoView {
    view! {
        <svg class=class viewBox="0 0 32 32" fill="none" aria-hidden="true">
            <path
                d="M16 2.5 4.5 7v8.2c0 7.1 4.9 12.4 11.5 14.3 6.6-1.9 11.5-7.2 11.5-14.3V7L16 2.5Z"
                fill="currentColor"
                opacity="0.15"
            />
            <path
                d="M16 2.5 4.5 7v8.2c0 7.1 4.9 12.4 11.5 14.3 6.6-1.9 11.5-7.2 11.5-14.3V7L16 2.5Z"
                stroke="currentColor"
                stroke-width="2"
                stroke-linejoin="round"
            />
            <circle cx="16" cy="14" r="3" fill="currentColor" />
            <path d="M16 17v5" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" />
        </svg>
    }
}

/// A white panel with a soft border.
#[component]
pub fn Card(children: Children) -> impl IntoView {
    view! {
        <div class="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-8">
            {children()}
        </div>
    }
}

/// A message block: `tone` is "error", "success" or "info".
#[component]
pub fn Notice(#[prop(into)] tone: String, children: Children) -> impl IntoView {
    let class = match tone.as_str() {
        "error" => "rounded-lg bg-red-50 px-4 py-3 text-sm text-red-800 ring-1 ring-red-200",
        "success" => {
            "rounded-lg bg-emerald-50 px-4 py-3 text-sm text-emerald-800 ring-1 ring-emerald-200"
        }
        _ => "rounded-lg bg-sky-50 px-4 py-3 text-sm text-sky-800 ring-1 ring-sky-200",
    };
    view! { <div class=class role="status">{children()}</div> }
}

/// The frame of every hosted page: the app's name in its brand colour above a
/// centred column, and a discreet "secured by 1Auth" below.
#[component]
pub fn HostedFrame(
    app: HostedApp,
    /// A wider column, for pages with several sections (the account page).
    #[prop(default = false)]
    wide: bool,
    children: Children,
) -> impl IntoView {
    let initial = app
        .name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    view! {
        <div
            class="flex min-h-screen flex-col items-center px-4 py-10 sm:py-16"
            style=format!("--brand: {}", app.brand_color)
        >
            <div class=if wide { "w-full max-w-2xl" } else { "w-full max-w-md" }>
                <div class="mb-8 flex flex-col items-center gap-3 text-center">
                    <div class="flex h-12 w-12 items-center justify-center rounded-xl bg-[var(--brand)] text-xl font-semibold text-white shadow-sm">
                        {initial}
                    </div>
                    <p class="text-lg font-semibold tracking-tight text-slate-900" data-testid="app-name">
                        {app.name.clone()}
                    </p>
                </div>
                {children()}
                <p class="mt-8 flex items-center justify-center gap-1.5 text-xs text-slate-400">
                    <Logo class="h-3.5 w-3.5" />
                    "Secured by 1Auth"
                </p>
            </div>
        </div>
    }
}
