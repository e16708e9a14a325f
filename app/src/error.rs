//! The one error type that crosses the wire.
//!
//! Server functions return `Result<T, AppError>`. Each variant names what the user sees; the
//! HTTP status for each is decided in [`AppError::status`] and applied by the server in one
//! middleware. Internal causes are logged on the server where they happen and reach the client
//! only as [`AppError::Internal`].

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    /// The request could not be read (malformed body, missing field, invalid UTF-8).
    #[error("The request was malformed: {reason}")]
    BadRequest { reason: String },
    /// A field failed validation; `field` names the input, `reason` says why.
    #[error("{reason}")]
    Invalid { field: String, reason: String },
    #[error("Messages are limited to {max} characters.")]
    MessageTooLong { max: usize },
    #[error("Messages cannot be empty.")]
    EmptyMessage,
    #[error("You need to log in.")]
    Unauthenticated,
    #[error("Wrong username or password.")]
    WrongCredentials,
    #[error("The current password is wrong.")]
    WrongPassword,
    /// Returned for anything the caller may not see, exactly as for what does not exist.
    #[error("Not found.")]
    NotFound,
    #[error("You are not allowed to do that.")]
    Forbidden,
    #[error("That username is taken.")]
    UsernameTaken,
    #[error("That id was already used for a different message.")]
    ClientIdReused,
    #[error("This message was deleted.")]
    MessageDeleted,
    #[error("Too many requests. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_owned(), reason: reason.into() }
    }

    /// The variant's wire name, as in the JSON `error` field.
    pub fn code(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("error").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "internal".to_owned())
    }

    /// The message for an error code carried in a page's query string, after a form post
    /// made without JavaScript. Codes only, so a link cannot put arbitrary text on the page.
    pub fn message_for_code(code: &str) -> Option<&'static str> {
        Some(match code {
            "wrong_credentials" => "Wrong username or password.",
            "rate_limited" => "Too many attempts. Wait a minute and try again.",
            "username_taken" => "That username is taken.",
            "invalid" => "Please check the form: one of the fields is not valid.",
            "bad_request" => "The form could not be read. Please try again.",
            "internal" => "Something went wrong on our side. Please try again.",
            _ => return None,
        })
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Invalid { .. } | Self::MessageTooLong { .. } | Self::EmptyMessage => 422,
            Self::Unauthenticated | Self::WrongCredentials => 401,
            Self::WrongPassword | Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::UsernameTaken | Self::ClientIdReused | Self::MessageDeleted => 409,
            Self::RateLimited { .. } => 429,
            Self::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(reason)
            | ServerFnErrorErr::MissingArg(reason)
            | ServerFnErrorErr::Deserialization(reason) => Self::BadRequest { reason },
            // Transport failures seen by the browser: the server never answered usefully.
            _ => Self::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            if matches!(err, sqlx::Error::RowNotFound) {
                return Self::NotFound;
            }
            tracing::error!(error = %err, "database error");
            Self::Internal
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(err: tower_sessions::session::Error) -> Self {
            tracing::error!(error = %err, "session store error");
            Self::Internal
        }
    }
}
