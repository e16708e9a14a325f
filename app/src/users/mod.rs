//! People: accounts, profiles, sessions.
//!
//! `rules` holds the field rules both sides apply; `store` the SQL; `accounts` the server-side
//! flows (sign up, log in, change password) as plain functions; `api` the server functions the
//! UI calls; `pages` the screens.

pub mod api;
pub mod pages;
pub mod rules;

#[cfg(feature = "ssr")]
pub mod accounts;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// What anyone may see of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}
