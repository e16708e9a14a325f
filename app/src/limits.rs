//! Rate limits on log-in and sign-up (by client IP and by account) and on sends (by author),
//! using `governor`'s keyed GCRA limiters.
//!
//! Counters live in this process. With several instances each keeps its own, so the effective
//! limit is multiplied by the instance count; a shared limiter (Redis) would fix that.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::ids::UserId;

/// Sends one author may make at once before the per-minute rate applies: enough for a quick
/// exchange or a client's outbox flushed on reconnect, not for a flood.
pub const SEND_BURST: u32 = 20;

/// Attempts allowed, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct RateConfig {
    pub login_per_minute: NonZeroU32,
    pub signup_per_hour: NonZeroU32,
    pub sends_per_minute: NonZeroU32,
}

pub struct RateLimits {
    login_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_by_account: DefaultKeyedRateLimiter<String>,
    signup_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    sends_by_author: DefaultKeyedRateLimiter<UserId>,
}

impl RateLimits {
    pub fn new(config: RateConfig) -> Self {
        let login = Quota::per_minute(config.login_per_minute);
        Self {
            login_by_ip: RateLimiter::keyed(login),
            login_by_account: RateLimiter::keyed(login),
            signup_by_ip: RateLimiter::keyed(Quota::per_hour(config.signup_per_hour)),
            sends_by_author: RateLimiter::keyed(send_quota(config.sends_per_minute)),
        }
    }

    /// One log-in attempt from `ip` for the account `username_key`. Both counters advance on
    /// every attempt, so a guesser spreading over many IPs still hits the account's limit.
    pub fn check_login(&self, ip: IpAddr, username_key: &str) -> Result<(), AppError> {
        check(&self.login_by_ip, &ip, "log-in by IP")?;
        check(&self.login_by_account, &username_key.to_owned(), "log-in by account")
    }

    pub fn check_signup(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.signup_by_ip, &ip, "sign-up by IP")
    }

    /// One send (or a retry of one) by `author`, from any client: the browser or a bot.
    pub fn check_send(&self, author: UserId) -> Result<(), AppError> {
        check(&self.sends_by_author, &author, "sends by author")
    }

    /// Drops counters that are back to full, so memory follows recent attackers only.
    pub fn forget_idle(&self) {
        self.login_by_ip.retain_recent();
        self.login_by_account.retain_recent();
        self.signup_by_ip.retain_recent();
        self.sends_by_author.retain_recent();
    }
}

fn send_quota(per_minute: NonZeroU32) -> Quota {
    let burst = NonZeroU32::new(SEND_BURST.min(per_minute.get())).unwrap_or(per_minute);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// One attempt against `limiter`; `limit` names it in the log.
fn check<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K, limit: &str) -> Result<(), AppError>
where
    K: std::hash::Hash + Eq + Clone,
{
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        tracing::warn!(limit, wait_ms = wait.as_millis() as u64, "rate limit reached");
        AppError::RateLimited { retry_after_secs: wait.as_secs() + 1 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight() -> RateLimits {
        let two = NonZeroU32::new(2).unwrap();
        RateLimits::new(RateConfig {
            login_per_minute: two,
            signup_per_hour: two,
            sends_per_minute: two,
        })
    }

    #[test]
    fn login_is_limited_per_account_across_ips() {
        let limits = tight();

        limits.check_login("10.0.0.1".parse().unwrap(), "ann").unwrap();
        limits.check_login("10.0.0.2".parse().unwrap(), "ann").unwrap();
        let third = limits.check_login("10.0.0.3".parse().unwrap(), "ann");

        let Err(AppError::RateLimited { retry_after_secs }) = third else {
            panic!("third attempt allowed: {third:?}");
        };
        assert!(retry_after_secs > 0);
    }

    #[test]
    fn signup_is_limited_per_ip() {
        let limits = tight();
        let ip = "10.0.0.9".parse().unwrap();

        limits.check_signup(ip).unwrap();
        limits.check_signup(ip).unwrap();

        assert!(limits.check_signup(ip).is_err());
        assert!(limits.check_signup("10.0.0.8".parse().unwrap()).is_ok());
    }

    #[test]
    fn sends_are_limited_per_author() {
        let limits = tight();
        let (ann, bob) = (UserId(1), UserId(2));

        limits.check_send(ann).unwrap();
        limits.check_send(ann).unwrap();

        assert!(matches!(limits.check_send(ann), Err(AppError::RateLimited { .. })));
        assert!(limits.check_send(bob).is_ok());
    }

    #[test]
    fn a_high_send_rate_still_caps_the_burst() {
        let limits = RateLimits::new(RateConfig {
            login_per_minute: NonZeroU32::MIN,
            signup_per_hour: NonZeroU32::MIN,
            sends_per_minute: NonZeroU32::new(600).unwrap(),
        });
        let ann = UserId(1);

        let allowed = (0..SEND_BURST * 2).take_while(|_| limits.check_send(ann).is_ok()).count();

        // 600 a minute refills one every 100 ms, so a few may slip in while this runs.
        assert!((SEND_BURST as usize..SEND_BURST as usize + 3).contains(&allowed), "{allowed}");
    }
}
