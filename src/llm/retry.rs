//! Retry policy: exponential backoff with jitter, and who retries what.
//!
//! Two places retry, never the same failure:
//! - HTTP 429, 5xx and connect errors are retried by the `tower` layer of `http_retry`
//!   around every request async-openai sends (honouring `Retry-After`), so the error that
//!   finally reaches our stream loop has already been retried;
//! - the stream loop retries what that layer cannot see, before the first event reached
//!   the caller: a stream that breaks or ends early, an `{"error": ...}` object of a
//!   retryable kind inside the stream, and transport errors other than connect errors.
//!
//! Both use `max_retries`, `retry_base_ms` and `retry_max_ms` from the settings, with
//! equal jitter. The whole answer, retries included, stays within `turn_timeout_secs`.

use std::time::Duration;

use rand::Rng;

use crate::config::LlmSettings;

/// How often and how long to wait before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn from_settings(settings: &LlmSettings) -> Self {
        Self {
            max_retries: settings.max_retries,
            base: Duration::from_millis(settings.retry_base_ms),
            max: Duration::from_millis(settings.retry_max_ms.max(settings.retry_base_ms)),
        }
    }

    /// The ceiling of the wait before retry number `retry` (0-based): `base * 2^retry`,
    /// capped at `max`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2_u32.saturating_pow(retry.min(30));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The wait before retry number `retry`: "equal jitter", uniformly between half the
    /// ceiling and the ceiling, so that clients rate-limited together spread out.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(500),
            max: Duration::from_millis(3_000),
        }
    }

    #[test]
    fn ceiling_doubles_and_caps() {
        let p = policy();
        let ceilings: Vec<u128> = (0..5).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, vec![500, 1_000, 2_000, 3_000, 3_000]);
        assert_eq!(p.ceiling(u32::MAX), Duration::from_millis(3_000));
    }

    #[test]
    fn delay_stays_between_half_and_full_ceiling() {
        let p = policy();
        for retry in 0..6 {
            for _ in 0..50 {
                let d = p.delay(retry);
                assert!(d >= p.ceiling(retry) / 2 && d <= p.ceiling(retry), "{d:?}");
            }
        }
    }

    #[test]
    fn zero_base_means_no_wait() {
        let p = RetryPolicy {
            max_retries: 1,
            base: Duration::ZERO,
            max: Duration::ZERO,
        };
        assert_eq!(p.delay(3), Duration::ZERO);
    }
}
