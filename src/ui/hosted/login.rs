//! `/a/{app_id}/login`: the app's hosted sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::hosted::load_hosted_app;
use crate::ui::components::{Card, HostedFrame, Notice};
use crate::ui::not_found::NotFound;

#[component]
pub fn LoginPage() -> impl IntoView {
    let params = use_params_map();
    let app_id = move || params.read().get("app_id").unwrap_or_default();
    let app = Resource::new(app_id, load_hosted_app);

    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match app.await {
                    Ok(Some(app)) => {
                        let name = app.name.clone();
                        view! {
                            <Title text=format!("Sign in to {name}") />
                            <HostedFrame app>
                                <Card>
                                    <h1 class="text-xl font-semibold tracking-tight text-slate-900">
                                        "Sign in"
                                    </h1>
                                    <p class="mt-1 text-sm text-slate-500">
                                        {format!("to continue to {name}")}
                                    </p>
                                </Card>
                            </HostedFrame>
                        }
                            .into_any()
                    }
                    Ok(None) => {
                        view! {
                            <NotFound message=format!(
                                "There is no app called \"{}\".",
                                app_id(),
                            ) />
                        }
                            .into_any()
                    }
                    Err(_) => {
                        view! {
                            <div class="mx-auto max-w-md px-4 py-16">
                                <Notice tone="error">
                                    "The sign-in page could not be loaded. Try again in a moment."
                                </Notice>
                            </div>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
