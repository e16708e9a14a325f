//! Small pieces used by several screens.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

/// An action's error, announced to screen readers when it appears.
#[component]
pub fn ErrorNote(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <p class="error" role="alert" aria-live="assertive">
            {move || error.get().map(|e| e.to_string())}
        </p>
    }
}

/// The error of a server action's last result, if it failed.
pub fn action_error<T, S>(value: S) -> Signal<Option<AppError>>
where
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(|r| r.err()))
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text="Not found" />
        <main class="page narrow">
            <h1>"Not found"</h1>
            <p>"There is nothing here, or it is not visible to you."</p>
            <p><a href="/">"Back to your conversations"</a></p>
        </main>
    }
}

/// A failed load shown in place of the content it was for.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(error.status())
    {
        response.set_status(status);
    }

    let heading = if error == AppError::NotFound { "Not found" } else { "Could not load this" };
    view! {
        <div class="page narrow" role="alert">
            <h1>{heading}</h1>
            <p>{error.to_string()}</p>
            <p><a href="/">"Back to your conversations"</a></p>
        </div>
    }
}

/// "online", "away", or "last seen 3 Dec 2026 14:05", kept current by the socket.
#[component]
pub fn PresenceNote(user: crate::ids::UserId, last_seen: Option<i64>) -> impl IntoView {
    use crate::live::protocol::PresenceStatus;
    use crate::live::state::LiveState;

    let live = expect_context::<LiveState>();
    let status = move || {
        live.presence.with(|p| p.get(&user).copied()).unwrap_or((PresenceStatus::Offline, None))
    };
    let class = move || match status().0 {
        PresenceStatus::Online => "presence online",
        PresenceStatus::Away => "presence away",
        PresenceStatus::Offline => "presence",
    };
    let text = move || match status() {
        (PresenceStatus::Online, _) => "online".to_owned(),
        (PresenceStatus::Away, _) => "away".to_owned(),
        (PresenceStatus::Offline, seen) => match seen.or(last_seen) {
            Some(ms) => {
                let at = crate::time::DateParts::utc(ms);
                #[cfg(feature = "hydrate")]
                let at =
                    if live.local_time.get() { crate::time::DateParts::local(ms) } else { at };
                format!("last seen {} {}", at.day_label(), at.clock())
            }
            None => "offline".to_owned(),
        },
    };

    view! { <span class=class>{text}</span> }
}
