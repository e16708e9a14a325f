//! Server functions for accounts. Each pulls the session and state, calls one function from
//! `accounts` or `store`, and maps the result.

use leptos::prelude::*;

use super::User;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::session;

/// The signed-in user, or `None`.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    let (state, session) = session::context().await?;
    session::current_user(&session, &state).await
}

#[server(endpoint = "sign_up")]
pub async fn sign_up(
    username: String,
    display_name: String,
    password: String,
) -> Result<User, AppError> {
    let result = async {
        let (state, session) = session::context().await?;
        state.limits.check_signup(session::client_ip().await)?;

        let (user, version) =
            super::accounts::sign_up(&state, &username, &display_name, &password).await?;
        session::begin(&session, user.id, version).await?;
        Ok(user)
    }
    .await;
    finish_form(result, "/", "/signup").await
}

#[server(endpoint = "log_in")]
pub async fn log_in(username: String, password: String) -> Result<(), AppError> {
    let result = async {
        let (state, session) = session::context().await?;
        let key = super::accounts::attempt_key(&username);
        state.limits.check_login(session::client_ip().await, &key)?;

        let (id, version) = super::accounts::log_in(&state, &username, &password).await?;
        session::begin(&session, id, version).await
    }
    .await;
    finish_form(result, "/", "/login").await
}

/// Where a sign-in form goes next. With JavaScript the page shows the error itself; a plain
/// HTML form post (no WASM yet) is sent back to the form with the error's code in the query,
/// which the page turns into a message.
#[cfg(feature = "ssr")]
async fn finish_form<T>(
    result: Result<T, AppError>,
    done: &str,
    form: &str,
) -> Result<T, AppError> {
    match &result {
        Ok(_) => leptos_axum::redirect(done),
        Err(error) if session::is_plain_form_post().await => {
            leptos_axum::redirect(&format!("{form}?error={}", error.code()));
        }
        Err(_) => {}
    }
    result
}

#[server(endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    let (state, session) = session::context().await?;
    let user = session::current_user(&session, &state).await?;
    let id = session.id();
    session::end(&session).await?;

    // Sockets opened under this session close now, not at their next request.
    if let (Some(user), Some(id)) = (user, id) {
        state.hub.session_ended(user.id, id.to_string());
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// Changes the password and ends every other session of the user.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    let (state, session) = session::context().await?;
    let user = session::current_user(&session, &state).await?.ok_or(AppError::Unauthenticated)?;

    let version = super::accounts::change_password(&state, user.id, &current, &new).await?;
    session::renew(&session, version).await?;
    let kept = session.id().map(|id| id.to_string());
    state.hub.sessions_revoked(user.id, kept);
    Ok(())
}

#[server(endpoint = "update_profile")]
pub async fn update_profile(display_name: String) -> Result<User, AppError> {
    let (state, user) = session::require_user().await?;
    let name = super::rules::clean_display_name(&display_name)?;
    super::store::set_display_name(&state.db, user.id, &name).await?;
    Ok(User { display_name: name, ..user })
}

/// The user directory: people whose username or display name contains `query`.
#[server(endpoint = "search_users")]
pub async fn search_users(query: String) -> Result<Vec<User>, AppError> {
    let (state, me) = session::require_user().await?;
    let query = query.trim().to_lowercase();
    let mut found = super::store::search(&state.db, &query, 30).await?;
    found.retain(|u| u.id != me.id);
    Ok(found)
}
