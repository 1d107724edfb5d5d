//! `/`: what 1Auth is, and the way into the console.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::ui::components::Logo;

#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <Title text="" />
        <div class="relative min-h-screen overflow-hidden bg-slate-950 text-white">
            <div class="pointer-events-none absolute inset-x-0 -top-40 h-96 bg-gradient-to-b from-indigo-600/30 to-transparent blur-3xl"></div>
            <header class="relative mx-auto flex max-w-5xl items-center justify-between px-6 py-6">
                <a href="/" class="flex items-center gap-2 text-lg font-semibold tracking-tight">
                    <Logo class="h-7 w-7 text-indigo-400" />
                    "1Auth"
                </a>
                <a
                    href="/a/console/login"
                    class="rounded-lg px-3 py-2 text-sm font-medium text-slate-300 hover:bg-white/10 hover:text-white"
                >
                    "Operator sign-in"
                </a>
            </header>
            <main class="relative mx-auto max-w-5xl px-6 pb-24 pt-12 sm:pt-20">
                <p class="text-sm font-semibold uppercase tracking-widest text-indigo-400">
                    "Authentication for admin panels"
                </p>
                <h1 class="mt-4 max-w-3xl text-4xl font-semibold tracking-tight sm:text-6xl">
                    "Every application is its own security boundary."
                </h1>
                <p class="mt-6 max-w-2xl text-lg leading-8 text-slate-300">
                    "1Auth gives each app its own users, roles, passkeys, OpenID Connect issuer and tamper-evident audit trail. One compromised account never reaches past the app it belongs to."
                </p>
                <div class="mt-10 flex flex-wrap items-center gap-4">
                    <a
                        href="/a/console/login"
                        class="rounded-lg bg-indigo-500 px-5 py-3 text-sm font-semibold text-white shadow-sm hover:bg-indigo-400 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-400"
                    >
                        "Sign in to the console"
                    </a>
                    <span class="text-sm text-slate-400">"Operators sign in with a passkey."</span>
                </div>
                <dl class="mt-20 grid gap-6 sm:grid-cols-3">
                    <Feature
                        title="Passkeys first"
                        text="Phishing-resistant sign-in, required by role where it matters, with step-up before a privileged token is issued."
                    />
                    <Feature
                        title="An issuer per app"
                        text="Standard OpenID Connect with per-app keys and rotating refresh tokens that detect reuse."
                    />
                    <Feature
                        title="An audit trail nobody edits"
                        text="Every change is chained by hash; one command shows whether a single row was touched."
                    />
                </dl>
            </main>
        </div>
    }
}

#[component]
fn Feature(title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-2xl bg-white/5 p-6 ring-1 ring-white/10">
            <dt class="font-semibold text-white">{title}</dt>
            <dd class="mt-2 text-sm leading-6 text-slate-400">{text}</dd>
        </div>
    }
}
