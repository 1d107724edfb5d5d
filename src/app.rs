//! The root component, the HTML shell and the route table.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::ui::console::ConsoleShell;
use crate::ui::console::app::AppSettingsPage;
use crate::ui::console::apps::AppsPage;
use crate::ui::console::audit::{AppAuditPage, AuditPage};
use crate::ui::console::clients::ClientsPage;
use crate::ui::console::roles::RolesPage;
use crate::ui::console::user::UserPage;
use crate::ui::console::users::UsersPage;
use crate::ui::hosted::account::AccountPage;
use crate::ui::hosted::invite::InvitePage;
use crate::ui::hosted::login::LoginPage;
use crate::ui::hosted::logout::LogoutPage;
use crate::ui::hosted::recover::RecoverPage;
use crate::ui::hosted::register::RegisterPage;
use crate::ui::landing::Landing;
use crate::ui::not_found::NotFound;

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HashedStylesheet id="leptos" options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this attribute says the WASM app has
    // taken over the server-rendered page (tests wait for it).
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|text: String| {
            if text.is_empty() { "1Auth".to_owned() } else { format!("{text} · 1Auth") }
        } />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/") view=Landing />
                // Async: the whole page (and its status code) is ready before
                // the first byte, so hosted pages work without JavaScript.
                <Route path=path!("/a/:app_id/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/register") view=RegisterPage ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/recover") view=RecoverPage ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/account") view=AccountPage ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/logout") view=LogoutPage ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/invite/:token") view=InvitePage ssr=SsrMode::Async />
                <ParentRoute path=path!("/console") view=ConsoleShell ssr=SsrMode::Async>
                    <Route path=path!("") view=AppsPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id") view=AppSettingsPage ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/clients") view=ClientsPage ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/users") view=UsersPage ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/users/:user_id") view=UserPage ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/roles") view=RolesPage ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/audit") view=AppAuditPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
