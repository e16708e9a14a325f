//! Configuration: one typed struct, read from the environment at start-up. A bad value fails
//! start-up with the variable's name; every default is a named constant, listed in the README.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "data";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
/// sqlx reports PostgreSQL notices ("already exists, skipping") at info; they are noise.
pub const DEFAULT_LOG: &str = "info,parley=debug,app=debug,sqlx=warn";
pub const DEFAULT_LOGIN_PER_MINUTE: u32 = 10;
pub const DEFAULT_SIGNUP_PER_HOUR: u32 = 20;
/// Sustained sends per author; up to `app::limits::SEND_BURST` may come at once.
pub const DEFAULT_SENDS_PER_MINUTE: u32 = 120;
/// Largest request body accepted, in bytes. A maximal message (4,000 graphemes of long emoji
/// sequences, JSON-escaped) fits well inside it.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug)]
pub struct Config {
    /// `PARLEY_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `PARLEY_DATA_DIR`: holds `parley.db` (and later media).
    pub data_dir: PathBuf,
    /// `PARLEY_DATABASE`: a SQLite file (default `<data dir>/parley.db`) or a
    /// `postgres://` URL.
    pub database: DatabaseUrl,
    /// `PARLEY_REDIS_URL`: when set, live events travel between instances through Redis.
    pub redis_url: Option<DatabaseUrl>,
    /// `PARLEY_SITE_ROOT`: the built bundle (`pkg/`) and public files.
    pub site_root: String,
    /// `PARLEY_LOG`: a tracing filter such as `info` or `app=debug`.
    pub log: String,
    /// `PARLEY_SECURE_COOKIES`: set `true` behind HTTPS so the session cookie is `Secure`.
    pub secure_cookies: bool,
    /// `PARLEY_ALLOWED_ORIGINS`: comma-separated origins allowed to post and open sockets,
    /// besides the server's own (the request's Host).
    pub allowed_origins: Vec<String>,
    /// `PARLEY_TRUSTED_PROXIES`: comma-separated addresses of reverse proxies (nginx) whose
    /// `X-Forwarded-For` names the client, for per-IP rate limits.
    pub trusted_proxies: Vec<IpAddr>,
    /// `PARLEY_LOGIN_PER_MINUTE`: log-in attempts per minute, per IP and per account.
    pub login_per_minute: NonZeroU32,
    /// `PARLEY_SIGNUP_PER_HOUR`: sign-ups per hour per IP.
    pub signup_per_hour: NonZeroU32,
    /// `PARLEY_SENDS_PER_MINUTE`: messages per minute per author, sustained.
    pub sends_per_minute: NonZeroU32,
    /// `PARLEY_MAX_BODY_BYTES`: request body limit.
    pub max_body_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    reason: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests can configure without touching the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str, default: &str| lookup(name).unwrap_or(default.to_owned());
        let data_dir = PathBuf::from(get("PARLEY_DATA_DIR", DEFAULT_DATA_DIR));
        // An empty value counts as unset, as for every optional variable here.
        let database = DatabaseUrl(
            lookup("PARLEY_DATABASE")
                .filter(|db| !db.trim().is_empty())
                .unwrap_or_else(|| data_dir.join("parley.db").display().to_string()),
        );
        if let Some((scheme, _)) = database.0.split_once("://")
            && !matches!(scheme, "sqlite" | "postgres" | "postgresql")
        {
            let reason = format!("{database}: expected a file path, sqlite:// or postgres://");
            return Err(ConfigError { name: "PARLEY_DATABASE", reason });
        }
        let redis_url = lookup("PARLEY_REDIS_URL").filter(|url| !url.trim().is_empty());
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            let reason = format!("{url:?}: expected a redis:// URL");
            return Err(ConfigError { name: "PARLEY_REDIS_URL", reason });
        }

        Ok(Self {
            addr: parse("PARLEY_ADDR", &get("PARLEY_ADDR", DEFAULT_ADDR))?,
            data_dir,
            database,
            redis_url: redis_url.map(DatabaseUrl),
            site_root: get("PARLEY_SITE_ROOT", DEFAULT_SITE_ROOT),
            log: get("PARLEY_LOG", DEFAULT_LOG),
            secure_cookies: parse(
                "PARLEY_SECURE_COOKIES",
                &get("PARLEY_SECURE_COOKIES", "false"),
            )?,
            allowed_origins: get("PARLEY_ALLOWED_ORIGINS", "")
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            trusted_proxies: get("PARLEY_TRUSTED_PROXIES", "")
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| parse("PARLEY_TRUSTED_PROXIES", p))
                .collect::<Result<_, _>>()?,
            login_per_minute: parse(
                "PARLEY_LOGIN_PER_MINUTE",
                &get("PARLEY_LOGIN_PER_MINUTE", &DEFAULT_LOGIN_PER_MINUTE.to_string()),
            )?,
            signup_per_hour: parse(
                "PARLEY_SIGNUP_PER_HOUR",
                &get("PARLEY_SIGNUP_PER_HOUR", &DEFAULT_SIGNUP_PER_HOUR.to_string()),
            )?,
            sends_per_minute: parse(
                "PARLEY_SENDS_PER_MINUTE",
                &get("PARLEY_SENDS_PER_MINUTE", &DEFAULT_SENDS_PER_MINUTE.to_string()),
            )?,
            max_body_bytes: parse(
                "PARLEY_MAX_BODY_BYTES",
                &get("PARLEY_MAX_BODY_BYTES", &DEFAULT_MAX_BODY_BYTES.to_string()),
            )?,
        })
    }
}

/// A database or Redis address. It may carry a password, so it prints without one.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// `scheme://user:password@host/db?password=...`: everything but the passwords. The last `@`
/// before the query ends the user part, since a password may itself hold an unencoded `@`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let mut out = format!("{scheme}://");
    match before_query.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
            let hidden = if user_info.contains(':') { ":[redacted]" } else { "" };
            out.push_str(&format!("{user}{hidden}@{host}"));
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                    format!("{key}=[redacted]")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{self}\"")
    }
}

fn parse<T>(name: &'static str, raw: &str) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    raw.trim().parse().map_err(|e: T::Err| ConfigError { name, reason: format!("{raw:?}: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = Config::from_lookup(|_| None).unwrap();

        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(config.database.as_str(), "data/parley.db");
        assert_eq!(config.redis_url, None);
        assert!(!config.secure_cookies);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = Config::from_lookup(|name| (name == "PARLEY_ADDR").then(|| "nowhere".into()))
            .unwrap_err();

        assert!(err.to_string().starts_with("PARLEY_ADDR:"), "{err}");
    }

    #[test]
    fn database_passwords_stay_out_of_logs() {
        let url = DatabaseUrl("postgres://parley:hunter2@db.internal:5432/parley".into());

        let shown = format!("{url} {url:?} {:?}", Config::from_lookup(|_| None).unwrap());

        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://parley:[redacted]@db.internal:5432/parley"));
    }

    #[test]
    fn passwords_with_an_at_sign_or_in_the_query_are_hidden_too() {
        let at = DatabaseUrl("postgres://ann:ab@Leaky9@127.0.0.1/parley".into());
        let query =
            DatabaseUrl("postgres://ann@127.0.0.1/parley?sslmode=off&password=Sup3r".into());

        assert_eq!(at.to_string(), "postgres://ann:[redacted]@127.0.0.1/parley");
        assert_eq!(
            query.to_string(),
            "postgres://ann@127.0.0.1/parley?sslmode=off&password=[redacted]"
        );
    }

    #[test]
    fn an_empty_database_is_the_default_and_an_unknown_scheme_is_refused() {
        let empty = Config::from_lookup(|name| (name == "PARLEY_DATABASE").then(String::new));
        let typo = Config::from_lookup(|name| {
            (name == "PARLEY_DATABASE").then(|| "postgress://localhost/parley".into())
        });

        assert_eq!(empty.unwrap().database.as_str(), "data/parley.db");
        assert!(typo.unwrap_err().to_string().starts_with("PARLEY_DATABASE:"));
    }

    #[test]
    fn a_redis_url_must_say_redis() {
        let err = Config::from_lookup(|name| {
            (name == "PARLEY_REDIS_URL").then(|| "localhost:6379".into())
        })
        .unwrap_err();

        assert!(err.to_string().starts_with("PARLEY_REDIS_URL:"), "{err}");
    }

    #[test]
    fn a_zero_rate_limit_is_refused() {
        let err =
            Config::from_lookup(|name| (name == "PARLEY_LOGIN_PER_MINUTE").then(|| "0".into()))
                .unwrap_err();

        assert!(err.to_string().contains("PARLEY_LOGIN_PER_MINUTE"), "{err}");
    }
}
