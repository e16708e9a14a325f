//! Rules for message text and client ids, the same in the composer and on the server.

use crate::error::AppError;
use crate::text::grapheme_count;

/// Maximum message length in grapheme clusters. A compile-time constant so the browser bundle
/// and the server can never disagree about it.
pub const MESSAGE_MAX: usize = 4000;
pub const CLIENT_ID_MAX: usize = 64;
/// Distinct mentions recorded per message; more `@names` than this are plain text.
pub const MENTIONS_MAX: usize = 20;

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

/// The lower-cased usernames a message mentions, at most [`MENTIONS_MAX`]. A mention is `@`
/// followed by username characters, not preceded by one (so `ann@example.org` mentions no
/// one). Sentence punctuation after a name (`@ann.`) is ambiguous, since usernames may hold
/// `.` and `-`: both readings are returned and only a real member matches either.
pub fn mentioned_keys(body: &str) -> Vec<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut keys: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut rest = body;
    while let Some(at) = rest.find('@') {
        let before = rest[..at].chars().next_back().or(previous);
        let after = &rest[at + 1..];
        let len = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
        let token = after[..len].to_ascii_lowercase();
        if !before.is_some_and(|c| is_name(c) || c == '@') && !token.is_empty() {
            let trimmed = token.trim_end_matches(['.', '-']).to_owned();
            for key in [token, trimmed] {
                if !key.is_empty() && !keys.contains(&key) && keys.len() < MENTIONS_MAX {
                    keys.push(key);
                }
            }
        }
        previous = Some('@');
        rest = after;
    }
    keys
}

/// Whether `body` mentions the user whose lower-cased username is `username_key`.
pub fn mentions(body: &str, username_key: &str) -> bool {
    mentioned_keys(body).iter().any(|key| key == username_key)
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

    #[test]
    fn a_mention_is_the_whole_name() {
        assert!(mentions("look at this @Bob", "bob"));
        assert!(mentions("@bob: hi", "bob"));
        assert!(mentions("thanks @bob.", "bob"));
        assert!(mentions("thanks @bob.", "bob."));
        assert!(!mentions("@bobby look", "bob"));
        assert!(!mentions("ask @bob_smith", "bob"));
        assert!(!mentions("mail bob@bob.example", "bob"));
        assert!(!mentions("@@bob", "bob"));
    }

    #[test]
    fn mentions_are_capped() {
        let many: String = (0..50).map(|i| format!("@user{i} ")).collect();

        assert_eq!(mentioned_keys(&many).len(), MENTIONS_MAX);
    }
}
