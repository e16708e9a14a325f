//! Account flows on the server: each validates, hashes off the async threads, then stores.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::rules::{check_password, clean_display_name, normalize_username};
use super::{User, store};
use crate::error::AppError;
use crate::ids::UserId;
use crate::state::{AppState, now_ms};

/// OWASP's argon2id baseline: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Verified against when the username does not exist, so a miss costs the same time as a
/// wrong password and response times do not reveal which accounts exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("not a real password").expect("hashing a constant works"));

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Argon2 takes tens of milliseconds of CPU; keep it off the async worker threads.
async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.map_err(|e| {
        tracing::error!(error = %e, "hashing task failed");
        AppError::Internal
    })?
}

async fn verify(password: String, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &hash)).await.map_err(|e| {
        tracing::error!(error = %e, "verify task failed");
        AppError::Internal
    })
}

/// A new account. Returns the user and the `auth_version` to bind the session to.
pub async fn sign_up(
    state: &AppState,
    username: &str,
    display_name: &str,
    password: &str,
) -> Result<(User, i64), AppError> {
    let (username, key) = normalize_username(username)?;
    let display_name = clean_display_name(display_name)?;
    check_password(password)?;

    let password_hash = hash(password.to_owned()).await?;
    let id =
        store::insert(&state.db, &username, &key, &display_name, &password_hash, now_ms()).await?;

    tracing::debug!(user_id = %id, "account created");
    Ok((User { id, username, display_name }, 0))
}

/// Checks a username and password. Any failure is `WrongCredentials`, whichever part was wrong.
pub async fn log_in(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<(UserId, i64), AppError> {
    let key = match normalize_username(username) {
        Ok((_, key)) => key,
        Err(_) => return Err(AppError::WrongCredentials),
    };
    let found = store::credentials_by_key(&state.db, &key).await?;

    let (hash, found) = match found {
        Some(creds) => (creds.password_hash.clone(), Some(creds)),
        None => (DUMMY_HASH.clone(), None),
    };
    let password_ok = verify(password.to_owned(), hash).await?;

    match found {
        Some(creds) if password_ok => Ok((creds.id, creds.auth_version)),
        _ => Err(AppError::WrongCredentials),
    }
}

/// The normalized key a log-in attempt is rate limited under.
pub fn attempt_key(username: &str) -> String {
    normalize_username(username).map(|(_, key)| key).unwrap_or_else(|_| username.to_lowercase())
}

/// Replaces the password after checking the current one. Returns the new `auth_version`; every
/// session bound to an older one is dead from this moment.
pub async fn change_password(
    state: &AppState,
    user: UserId,
    current: &str,
    new: &str,
) -> Result<i64, AppError> {
    check_password(new)?;
    let creds = store::credentials_by_id(&state.db, user).await?;
    if !verify(current.to_owned(), creds.password_hash).await? {
        return Err(AppError::WrongPassword);
    }

    let new_hash = hash(new.to_owned()).await?;
    let version = store::set_password(&state.db, user, &new_hash).await?;

    tracing::debug!(user_id = %user, "password changed; older sessions revoked");
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_required_cost() {
        let hash = hash_blocking("correct horse").unwrap();

        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_blocking("correct horse", &hash));
        assert!(!verify_blocking("wrong horse", &hash));
    }

    #[test]
    fn credentials_debug_never_shows_the_hash() {
        let creds = store::Credentials {
            id: UserId(1),
            password_hash: "$argon2id$secret".into(),
            auth_version: 0,
        };

        let shown = format!("{creds:?}");

        assert!(!shown.contains("secret"), "{shown}");
    }
}
