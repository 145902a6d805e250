//! Per-user limits on the ChatKit endpoint: a request rate limit and a cap on open streams.
//!
//! - [`RateLimiter`]: one token bucket per user (`limits.rate_limit_per_minute` refilled
//!   continuously, at most `limits.rate_limit_burst` saved up). A request takes one token;
//!   without one it is refused with the time until the next token (HTTP 429 +
//!   `Retry-After`). `rate_limit_per_minute = 0` turns the limit off.
//! - [`StreamLimiter`]: the number of SSE responses open per user
//!   (`limits.max_concurrent_streams`, `0` = no cap). A slot is a [`StreamSlot`] owned by
//!   the response body ([`Guarded`]), so it is released however the stream ends: finished,
//!   failed, or the client went away.
//!
//! Both are keyed by user id, not by address: every request is authenticated first, and a
//! user behind a shared NAT must not starve another. The clock is a parameter
//! (`*_at(.., now)`) so the arithmetic is tested without sleeping.
//!
//! Layout: `rate.rs` (the token buckets), `streams.rs` (the open-stream cap and the body
//! wrapper that holds a slot). Plain names, not links: both modules are private, so
//! rustdoc could not resolve a link to them from this public page.

mod rate;
mod streams;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use rate::RateLimiter;
pub use streams::{Guarded, StreamLimiter, StreamSlot};

use crate::config::LimitSettings;
use crate::error::ApiError;

/// Both limiters, shared by every worker (`AppState::limits`).
#[derive(Debug)]
pub struct Limits {
    pub rate: RateLimiter,
    pub streams: StreamLimiter,
}

impl Limits {
    pub fn new(settings: &LimitSettings) -> Self {
        Self {
            rate: RateLimiter::new(settings.rate_limit_per_minute, settings.rate_limit_burst),
            streams: StreamLimiter::new(settings.max_concurrent_streams),
        }
    }

    /// Takes one request token for `user_id`, or the 429 to answer.
    pub fn check_rate(&self, user_id: &str) -> Result<(), ApiError> {
        self.rate
            .check(user_id)
            .map_err(|wait| ApiError::RateLimited {
                message: format!(
                    "too many requests; try again in {} s",
                    retry_after_secs(wait)
                ),
                retry_after_secs: retry_after_secs(wait),
            })
    }

    /// Opens a stream slot for `user_id`, or the 429 to answer.
    pub fn open_stream(&self, user_id: &str) -> Result<StreamSlot, ApiError> {
        self.streams
            .try_acquire(user_id)
            .ok_or_else(|| ApiError::RateLimited {
                message: format!(
                    "too many open streams: at most {} at a time per user; wait for one to finish",
                    self.streams.max
                ),
                retry_after_secs: 1,
            })
    }
}

/// Whole seconds for `Retry-After`, rounded up and never 0 (0 would invite a busy loop).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}
