//! Rate limits on log-in and sign-up, by client IP and by account, using `governor`'s
//! keyed GCRA limiters.
//!
//! Counters live in this process. With several instances each keeps its own, so the effective
//! limit is multiplied by the instance count; a shared limiter (Redis) would fix that.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// Attempts allowed, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct RateConfig {
    pub login_per_minute: NonZeroU32,
    pub signup_per_hour: NonZeroU32,
}

pub struct RateLimits {
    login_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_by_account: DefaultKeyedRateLimiter<String>,
    signup_by_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimits {
    pub fn new(config: RateConfig) -> Self {
        let login = Quota::per_minute(config.login_per_minute);
        Self {
            login_by_ip: RateLimiter::keyed(login),
            login_by_account: RateLimiter::keyed(login),
            signup_by_ip: RateLimiter::keyed(Quota::per_hour(config.signup_per_hour)),
        }
    }

    /// One log-in attempt from `ip` for the account `username_key`. Both counters advance on
    /// every attempt, so a guesser spreading over many IPs still hits the account's limit.
    pub fn check_login(&self, ip: IpAddr, username_key: &str) -> Result<(), AppError> {
        check(&self.login_by_ip, &ip)?;
        check(&self.login_by_account, &username_key.to_owned())
    }

    pub fn check_signup(&self, ip: IpAddr) -> Result<(), AppError> {
        check(&self.signup_by_ip, &ip)
    }

    /// Drops counters that are back to full, so memory follows recent attackers only.
    pub fn forget_idle(&self) {
        self.login_by_ip.retain_recent();
        self.login_by_account.retain_recent();
        self.signup_by_ip.retain_recent();
    }
}

fn check<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), AppError>
where
    K: std::hash::Hash + Eq + Clone,
{
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        tracing::warn!(wait_ms = wait.as_millis() as u64, "rate limit reached");
        AppError::RateLimited { retry_after_secs: wait.as_secs() + 1 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight() -> RateLimits {
        let two = NonZeroU32::new(2).unwrap();
        RateLimits::new(RateConfig { login_per_minute: two, signup_per_hour: two })
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
}
