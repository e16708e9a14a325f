//! Rules for message text and client ids, the same in the composer and on the server.

use crate::error::AppError;
use crate::text::grapheme_count;

/// Maximum message length in grapheme clusters. A compile-time constant so the browser bundle
/// and the server can never disagree about it.
pub const MESSAGE_MAX: usize = 4000;
pub const CLIENT_ID_MAX: usize = 64;

/// Trims trailing whitespace (leading spaces can be indentation) and checks the length.
pub fn clean_body(raw: &str) -> Result<String, AppError> {
    let body = raw.trim_end();
    if body.trim_start().is_empty() {
        return Err(AppError::EmptyMessage);
    }
    if grapheme_count(body) > MESSAGE_MAX {
        return Err(AppError::MessageTooLong { max: MESSAGE_MAX });
    }
    Ok(body.to_owned())
}

/// What the composer shows: characters left, once the writer is near the limit.
pub fn remaining(raw: &str) -> i64 {
    MESSAGE_MAX as i64 - grapheme_count(raw.trim_end()) as i64
}

/// Client ids are opaque tokens: 1 to 64 of `A-Z a-z 0-9 - _`.
pub fn check_client_id(id: &str) -> Result<(), AppError> {
    let valid = !id.is_empty()
        && id.len() <= CLIENT_ID_MAX
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err(AppError::invalid("client_id", "Invalid client message id.")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_graphemes_not_bytes() {
        let emoji = "👍🏽".repeat(MESSAGE_MAX);
        assert!(clean_body(&emoji).is_ok());

        let over = "a".repeat(MESSAGE_MAX + 1);
        assert_eq!(clean_body(&over), Err(AppError::MessageTooLong { max: MESSAGE_MAX }));
    }

    #[test]
    fn blank_messages_are_refused_and_indentation_kept() {
        assert_eq!(clean_body(" \n\t "), Err(AppError::EmptyMessage));
        assert_eq!(clean_body("    code\n\n").unwrap(), "    code");
    }

    #[test]
    fn remaining_matches_the_rule() {
        assert_eq!(remaining("hi  "), MESSAGE_MAX as i64 - 2);
    }

    #[test]
    fn client_ids_are_tokens() {
        assert!(check_client_id("a1-b2_c3").is_ok());
        assert!(check_client_id("").is_err());
        assert!(check_client_id("a b").is_err());
        assert!(check_client_id(&"x".repeat(65)).is_err());
    }
}
