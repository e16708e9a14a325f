//! The app shell: HTML document, router, and the signed-in layout with its sidebar.

pub mod fetch;
pub mod layout;
pub mod widgets;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::messages::view::RoomPage;
use crate::rooms::pages::{BrowsePage, PeoplePage, RoomSettingsPage};
use crate::users::pages::{LoginPage, SettingsPage, SignupPage};
use layout::{HomePage, SignedInLayout};
use widgets::NotFound;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();

    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Every route renders fully on the server before the first byte (`SsrMode::Async`): pages
/// work without JavaScript, and a signed-out visitor gets a real 302 to the log-in page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="parley" href="/pkg/parley.css" />
        <Title formatter=title />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=SignedInLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/r/:id") view=RoomPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/r/:id/settings")
                        view=RoomSettingsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/browse") view=BrowsePage ssr=SsrMode::Async />
                    <Route path=path!("/people") view=PeoplePage ssr=SsrMode::Async />
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// "Room name · Parley". leptos_meta writes the server-rendered `<title>` without escaping it,
/// so a room named `</title><meta …>` would become markup; escape it there. In the browser the
/// title is set as text, so it stays as typed.
fn title(page: String) -> String {
    let full = if page.is_empty() { "Parley".to_owned() } else { format!("{page} · Parley") };
    if cfg!(feature = "ssr") { full.replace('&', "&amp;").replace('<', "&lt;") } else { full }
}

/// The page's Content-Security-Policy. Scripts run only with this response's nonce (the
/// hydration loader) or are loaded by it; everything else comes from this origin.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use axum::http::HeaderValue;
    use axum::http::header::CONTENT_SECURITY_POLICY;

    let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}
