//! Rules for account fields, shared by the sign-up form and the server.

use unicode_normalization::UnicodeNormalization;

use crate::error::AppError;
use crate::text::clean_name;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const PASSWORD_MIN: usize = 8;
/// Bounds the work one login can cost: argon2 is run over the whole password.
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// A username after NFKC normalization: 3 to 32 of `a-z A-Z 0-9 _ . -`, starting with a letter
/// or digit. NFKC first, so full-width "ａｎｎ" becomes "ann" rather than a look-alike account.
/// Returns the name as typed (for display) and its lower-case key (for uniqueness).
pub fn normalize_username(raw: &str) -> Result<(String, String), AppError> {
    let name: String = raw.trim().nfkc().collect();
    let len = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(AppError::invalid(
            "username",
            format!("Usernames are {USERNAME_MIN} to {USERNAME_MAX} characters long."),
        ));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(AppError::invalid(
            "username",
            "Usernames may contain only letters a-z, digits, '_', '.' and '-'.",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid("username", "Usernames start with a letter or a digit."));
    }
    let key = name.to_ascii_lowercase();
    Ok((name, key))
}

pub fn clean_display_name(raw: &str) -> Result<String, AppError> {
    clean_name(raw, DISPLAY_NAME_MAX)
        .map_err(|problem| AppError::invalid("display_name", problem.message("A display name")))
}

pub fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < PASSWORD_MIN {
        return Err(AppError::invalid(
            "password",
            format!("Passwords need at least {PASSWORD_MIN} characters."),
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(AppError::invalid(
            "password",
            format!("Passwords are limited to {PASSWORD_MAX_BYTES} bytes."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_nfkc_normalized_and_keyed_without_case() {
        let (name, key) = normalize_username("ＡｎｎＬｅｅ").unwrap();
        assert_eq!(name, "AnnLee");
        assert_eq!(key, "annlee");
    }

    #[test]
    fn usernames_reject_characters_outside_the_set() {
        for raw in ["ann lee", "ann@x", "аnn", "<b>x</b>", "_ann", "ab", &"a".repeat(33)] {
            assert!(normalize_username(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn display_names_reject_bidi_and_blank() {
        assert!(clean_display_name("\u{202E}nnA").is_err());
        assert!(clean_display_name("\u{200B} ").is_err());
        assert_eq!(clean_display_name("  Ann  ").unwrap(), "Ann");
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(PASSWORD_MAX_BYTES + 1)).is_err());
        assert!(check_password("correct horse").is_ok());
    }
}
