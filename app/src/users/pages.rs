//! Screens for accounts: log in, sign up, account settings. Plain forms, so they work before
//! (and without) the WASM bundle.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{ChangePassword, LogIn, LogOut, SignUp, UpdateProfile};
use super::rules::{DISPLAY_NAME_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN};
use crate::error::AppError;
use crate::ui::layout::Me;
use crate::ui::widgets::{ErrorNote, action_error};

/// The error of a form post made without JavaScript, from the `?error=` code.
fn query_error() -> Signal<Option<&'static str>> {
    let query = leptos_router::hooks::use_query_map();
    Signal::derive(move || {
        query.read().get("error").and_then(|code| AppError::message_for_code(&code))
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();

    view! {
        <Title text="Log in" />
        <main class="auth">
            <h1>"Log in to Parley"</h1>
            <ActionForm action>
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required autofocus />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <ErrorNote error=action_error(action.value()) />
                <NoScriptError />
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    "Log in"
                </button>
            </ActionForm>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </main>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let username_hint = format!(
        "{USERNAME_MIN}–{USERNAME_MAX} characters: letters, digits, '_', '.' or '-'. \
         Not case-sensitive."
    );

    view! {
        <Title text="Sign up" />
        <main class="auth">
            <h1>"Create your Parley account"</h1>
            <ActionForm action>
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    autocomplete="username"
                    required
                    autofocus
                    minlength=USERNAME_MIN
                    maxlength=USERNAME_MAX
                    aria-describedby="username-hint"
                />
                <p id="username-hint" class="hint">{username_hint}</p>
                <label for="display_name">"Display name"</label>
                <input
                    id="display_name"
                    name="display_name"
                    autocomplete="name"
                    required
                    maxlength=DISPLAY_NAME_MAX * 4
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    required
                    minlength=PASSWORD_MIN
                    aria-describedby="password-hint"
                />
                <p id="password-hint" class="hint">
                    {format!("At least {PASSWORD_MIN} characters.")}
                </p>
                <ErrorNote error=action_error(action.value()) />
                <NoScriptError />
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    "Sign up"
                </button>
            </ActionForm>
            <p>"Already have an account? " <a href="/login">"Log in"</a></p>
        </main>
    }
}

/// Shown until the app runs its own action: the error of a form post made without JavaScript.
#[component]
fn NoScriptError() -> impl IntoView {
    let error = query_error();
    move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let Me(me) = expect_context::<Me>();
    let profile = ServerAction::<UpdateProfile>::new();
    let password = ServerAction::<ChangePassword>::new();
    let log_out = ServerAction::<LogOut>::new();

    // Show the new name everywhere (sidebar included) once the server accepted it.
    Effect::new(move |_| {
        if let Some(Ok(user)) = profile.value().get() {
            me.set(user);
        }
    });
    let password_done = move || matches!(password.value().get(), Some(Ok(())));

    view! {
        <Title text="Account settings" />
        <div class="page narrow">
            <p class="back"><a href="/">"← Conversations"</a></p>
            <h1>"Account settings"</h1>
            <p>"Signed in as " <strong>{move || me.get().username}</strong></p>

            <section aria-labelledby="profile-heading">
                <h2 id="profile-heading">"Profile"</h2>
                <ActionForm action=profile>
                    <label for="display_name">"Display name"</label>
                    <input
                        id="display_name"
                        name="display_name"
                        required
                        prop:value=move || me.get().display_name
                    />
                    <ErrorNote error=action_error(profile.value()) />
                    <button type="submit">"Save profile"</button>
                </ActionForm>
            </section>

            <section aria-labelledby="password-heading">
                <h2 id="password-heading">"Change password"</h2>
                <p class="hint">"Changing your password signs you out everywhere else."</p>
                <ActionForm action=password>
                    <label for="current">"Current password"</label>
                    <input
                        id="current"
                        name="current"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                    <label for="new">"New password"</label>
                    <input
                        id="new"
                        name="new"
                        type="password"
                        autocomplete="new-password"
                        required
                        minlength=PASSWORD_MIN
                    />
                    <ErrorNote error=action_error(password.value()) />
                    <Show when=password_done>
                        <p class="ok" role="status">"Password changed."</p>
                    </Show>
                    <button type="submit">"Change password"</button>
                </ActionForm>
            </section>

            <section aria-labelledby="session-heading">
                <h2 id="session-heading">"Session"</h2>
                <ActionForm action=log_out>
                    <button type="submit" class="danger">"Log out"</button>
                </ActionForm>
            </section>
        </div>
    }
}
