//! The root component, the HTML shell and the route table.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use crate::ui::console::ConsoleShell;
use crate::ui::console::app::AppSettingsPage;
use crate::ui::console::apps::AppsPage;
use crate::ui::console::audit::{AppAuditPage, AuditPage};
use crate::ui::console::clients::ClientsPage;
use crate::ui::console::orgs::{OrgPage as ConsoleOrgPage, OrgsPage as ConsoleOrgsPage};
use crate::ui::console::outbox::OutboxPage;
use crate::ui::console::providers::ProvidersPage;
use crate::ui::console::roles::RolesPage;
use crate::ui::console::user::UserPage;
use crate::ui::console::users::UsersPage;
use crate::ui::hosted::account::AccountPage;
use crate::ui::hosted::choose_org::ChooseOrgPage;
use crate::ui::hosted::invite::InvitePage;
use crate::ui::hosted::login::LoginPage;
use crate::ui::hosted::logout::LogoutPage;
use crate::ui::hosted::orgs::{OrgPage, OrgsPage};
use crate::ui::hosted::recover::RecoverPage;
use crate::ui::hosted::register::RegisterPage;
use crate::ui::hosted::verify::VerifyPage;
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
    // `data-hydrated` on <html> is set by `crate::hydrate` once the whole
    // page, its lazily loaded chunks included, has hydrated.

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
                <Route path=path!("/a/:app_id/register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/recover") view={Lazy::<RecoverRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/logout") view={Lazy::<LogoutRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/verify") view={Lazy::<VerifyRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/orgs/choose") view={Lazy::<ChooseOrgRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/orgs") view={Lazy::<OrgsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/a/:app_id/orgs/:slug") view={Lazy::<OrgRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("/console") view={Lazy::<ConsoleRoute>::new()} ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<AppsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id") view={Lazy::<AppSettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/clients") view={Lazy::<ClientsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/users/:user_id") view={Lazy::<UserRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/roles") view={Lazy::<RolesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/orgs") view={Lazy::<ConsoleOrgsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/orgs/:slug") view={Lazy::<ConsoleOrgRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/providers") view={Lazy::<ProvidersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/outbox") view={Lazy::<OutboxRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("apps/:app_id/audit") view={Lazy::<AppAuditRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A page whose code is a WASM chunk of its own, fetched when the page is
/// first shown (`cargo leptos build --split`): the sign-in page, which every
/// end user loads, carries only its own code, not the console's, the
/// account page's or the other hosted pages'.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(AccountRoute, AccountPage);
lazy_page!(InviteRoute, InvitePage);
lazy_page!(LogoutRoute, LogoutPage);
lazy_page!(RecoverRoute, RecoverPage);
lazy_page!(RegisterRoute, RegisterPage);
lazy_page!(VerifyRoute, VerifyPage);
lazy_page!(ChooseOrgRoute, ChooseOrgPage);
lazy_page!(OrgsRoute, OrgsPage);
lazy_page!(OrgRoute, OrgPage);
lazy_page!(ConsoleRoute, ConsoleShell);
lazy_page!(AppsRoute, AppsPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(AppSettingsRoute, AppSettingsPage);
lazy_page!(ClientsRoute, ClientsPage);
lazy_page!(UsersRoute, UsersPage);
lazy_page!(UserRoute, UserPage);
lazy_page!(RolesRoute, RolesPage);
lazy_page!(ConsoleOrgsRoute, ConsoleOrgsPage);
lazy_page!(ConsoleOrgRoute, ConsoleOrgPage);
lazy_page!(ProvidersRoute, ProvidersPage);
lazy_page!(AppAuditRoute, AppAuditPage);
lazy_page!(OutboxRoute, OutboxPage);
