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

use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use futures::Stream;

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-user token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: DashMap<String, Bucket>,
    /// Tokens per second; `0` disables the limiter.
    per_sec: f64,
    capacity: f64,
    /// A bucket untouched this long is full again, so forgetting it changes nothing.
    idle_after: Duration,
    /// When the last sweep ran; `try_lock` so at most one request pays for a sweep.
    last_sweep: Mutex<Option<Instant>>,
}

/// How often idle buckets are swept at most.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_sec = f64::from(per_minute) / 60.0;
        // A burst of 0 would refuse everything forever; one request is the least useful bucket.
        let capacity = f64::from(burst.max(1));
        let refill = if per_sec > 0.0 {
            Duration::from_secs_f64((capacity / per_sec).min(86_400.0))
        } else {
            Duration::ZERO
        };
        Self {
            buckets: DashMap::new(),
            per_sec,
            capacity,
            idle_after: refill.max(SWEEP_EVERY),
            last_sweep: Mutex::new(None),
        }
    }

    /// [`RateLimiter::check_at`] with the real clock.
    pub fn check(&self, user_id: &str) -> Result<(), Duration> {
        self.check_at(user_id, Instant::now())
    }

    /// Takes a token for `user_id` at `now`; `Err` is the wait until the next token.
    pub fn check_at(&self, user_id: &str, now: Instant) -> Result<(), Duration> {
        if self.per_sec <= 0.0 {
            return Ok(());
        }
        self.maybe_sweep(now);
        let mut bucket = self.buckets.entry(user_id.to_owned()).or_insert(Bucket {
            tokens: self.capacity,
            last: now,
        });
        // `saturating_duration_since`: an out-of-order `now` (another thread's earlier
        // reading) refills nothing rather than panicking or going negative.
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.capacity);
        if now > bucket.last {
            bucket.last = now;
        }
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_sec;
            // At most 60 s (per_sec >= 1/60); the fallback only guards the conversion.
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::from_secs(60)))
        }
    }

    /// Forgets buckets idle for long enough to be full again, at most once per minute.
    fn maybe_sweep(&self, now: Instant) {
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return; // someone else is sweeping
        };
        match *last {
            Some(t) if now.saturating_duration_since(t) < SWEEP_EVERY => {}
            Some(_) => {
                *last = Some(now);
                drop(last);
                self.sweep_at(now);
            }
            None => *last = Some(now),
        }
    }

    /// Removes every bucket idle since before `now - idle_after`.
    pub fn sweep_at(&self, now: Instant) {
        let idle_after = self.idle_after;
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.last) < idle_after);
    }

    /// Users with a live bucket (for tests and the memory bound).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

/// Open streams per user.
#[derive(Debug)]
pub struct StreamLimiter {
    open: Arc<DashMap<String, usize>>,
    /// `0` = no cap.
    max: usize,
}

impl StreamLimiter {
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::new(DashMap::new()),
            max,
        }
    }

    /// A slot for one more stream of `user_id`, or `None` at the cap.
    pub fn try_acquire(&self, user_id: &str) -> Option<StreamSlot> {
        let mut n = self.open.entry(user_id.to_owned()).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            open: self.open.clone(),
            user_id: user_id.to_owned(),
        })
    }

    /// Streams open for `user_id` now.
    pub fn open_for(&self, user_id: &str) -> usize {
        self.open.get(user_id).map_or(0, |n| *n)
    }

    /// Users with at least one open stream (entries at zero are removed).
    pub fn tracked(&self) -> usize {
        self.open.len()
    }
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    open: Arc<DashMap<String, usize>>,
    user_id: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Entry::Occupied(mut e) = self.open.entry(std::mem::take(&mut self.user_id)) {
            let n = e.get_mut();
            *n = n.saturating_sub(1);
            // Removed at zero so the map only holds users streaming right now.
            if *n == 0 {
                e.remove();
            }
        }
    }
}

/// A response body that holds a [`StreamSlot`] for as long as actix keeps it: until the
/// stream ends or the connection is dropped.
pub struct Guarded<S> {
    inner: S,
    _slot: StreamSlot,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, slot: StreamSlot) -> Self {
        Self { inner, _slot: slot }
    }
}

impl<S: Stream + Unpin> Stream for Guarded<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn burst_then_refusal_with_the_wait_for_one_token() {
        // 60/min = one token per second, burst 3.
        let rl = RateLimiter::new(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check_at("u", t0).is_ok());
        }
        let wait = rl.check_at("u", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Half a second later: half a token, half a second to go.
        let wait = rl.check_at("u", t0 + secs(0.5)).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // One second after the burst: exactly one more.
        assert!(rl.check_at("u", t0 + secs(1.0)).is_ok());
        assert!(rl.check_at("u", t0 + secs(1.0)).is_err());
    }

    #[test]
    fn refill_is_capped_at_the_burst() {
        let rl = RateLimiter::new(60, 2);
        let t0 = Instant::now();
        assert!(rl.check_at("u", t0).is_ok());
        let later = t0 + secs(3600.0);
        assert!(rl.check_at("u", later).is_ok());
        assert!(rl.check_at("u", later).is_ok());
        assert!(rl.check_at("u", later).is_err(), "only `burst` saved up");
    }

    #[test]
    fn users_have_separate_buckets() {
        let rl = RateLimiter::new(60, 1);
        let t0 = Instant::now();
        assert!(rl.check_at("a", t0).is_ok());
        assert!(rl.check_at("a", t0).is_err());
        assert!(rl.check_at("b", t0).is_ok());
    }

    #[test]
    fn slow_rates_give_long_retry_after() {
        // 6/min = one token per 10 s.
        let rl = RateLimiter::new(6, 1);
        let t0 = Instant::now();
        assert!(rl.check_at("u", t0).is_ok());
        let wait = rl.check_at("u", t0 + secs(2.5)).unwrap_err();
        assert_eq!(retry_after_secs(wait), 8, "{wait:?}");
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing() {
        let rl = RateLimiter::new(60, 1);
        let t0 = Instant::now() + secs(10.0);
        assert!(rl.check_at("u", t0).is_ok());
        assert!(rl.check_at("u", t0 - secs(5.0)).is_err());
        assert!(rl.check_at("u", t0 + secs(1.0)).is_ok());
    }

    #[test]
    fn zero_rate_disables_and_zero_burst_still_allows_one() {
        let off = RateLimiter::new(0, 0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(off.check_at("u", t0).is_ok());
        }
        assert_eq!(off.tracked(), 0);
        let one = RateLimiter::new(60, 0);
        assert!(one.check_at("u", t0).is_ok());
        assert!(one.check_at("u", t0).is_err());
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        // Burst 120 at 60/min refills in 120 s, so buckets idle that long are dropped.
        let rl = RateLimiter::new(60, 120);
        let t0 = Instant::now();
        for i in 0..100 {
            assert!(rl.check_at(&format!("user{i}"), t0).is_ok());
        }
        assert_eq!(rl.tracked(), 100);
        rl.sweep_at(t0 + secs(119.0));
        assert_eq!(rl.tracked(), 100, "not idle long enough");
        // The opportunistic sweep runs from a later request, at most once a minute.
        assert!(rl.check_at("fresh", t0 + secs(121.0)).is_ok());
        assert_eq!(rl.tracked(), 1, "only the new user remains");
        assert!(rl.check_at("again", t0 + secs(122.0)).is_ok());
        assert_eq!(rl.tracked(), 2, "no sweep within a minute of the last");
    }

    #[test]
    fn a_forgotten_bucket_comes_back_full() {
        let rl = RateLimiter::new(60, 2);
        let t0 = Instant::now();
        assert!(rl.check_at("u", t0).is_ok());
        assert!(rl.check_at("u", t0).is_ok());
        rl.sweep_at(t0 + secs(600.0));
        assert_eq!(rl.tracked(), 0);
        let t1 = t0 + secs(600.0);
        assert!(rl.check_at("u", t1).is_ok());
        assert!(rl.check_at("u", t1).is_ok());
        assert!(rl.check_at("u", t1).is_err());
    }

    #[test]
    fn stream_slots_are_capped_and_released_on_drop() {
        let sl = StreamLimiter::new(2);
        let a = sl.try_acquire("u").unwrap();
        let b = sl.try_acquire("u").unwrap();
        assert!(sl.try_acquire("u").is_none());
        assert!(sl.try_acquire("other").is_some(), "per user");
        assert_eq!(sl.open_for("u"), 2);
        drop(a);
        assert_eq!(sl.open_for("u"), 1);
        let c = sl.try_acquire("u").unwrap();
        drop(b);
        drop(c);
        assert_eq!(sl.open_for("u"), 0);
        assert_eq!(sl.tracked(), 0, "no entry left behind");
    }

    #[test]
    fn zero_stream_cap_means_unlimited() {
        let sl = StreamLimiter::new(0);
        let slots: Vec<_> = (0..50).map(|_| sl.try_acquire("u").unwrap()).collect();
        assert_eq!(sl.open_for("u"), 50);
        drop(slots);
        assert_eq!(sl.tracked(), 0);
    }

    #[tokio::test]
    async fn a_guarded_body_holds_its_slot_until_dropped() {
        let sl = StreamLimiter::new(1);
        let slot = sl.try_acquire("u").unwrap();
        let mut body = Guarded::new(futures::stream::iter([1, 2]), slot);
        assert_eq!(body.next().await, Some(1));
        assert!(
            sl.try_acquire("u").is_none(),
            "held while the body is alive"
        );
        // Dropped mid-stream (a client that went away) releases it too.
        drop(body);
        assert!(sl.try_acquire("u").is_some());
    }

    #[test]
    fn limits_render_as_429s() {
        let settings = LimitSettings {
            max_message_chars: 1,
            max_metadata_bytes: 1,
            max_page_size: 1,
            max_attachment_bytes: 1,
            attachment_mime_types: vec![],
            rate_limit_per_minute: 60,
            rate_limit_burst: 1,
            max_concurrent_streams: 1,
        };
        let limits = Limits::new(&settings);
        assert!(limits.check_rate("u").is_ok());
        match limits.check_rate("u") {
            Err(ApiError::RateLimited {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 1),
            other => panic!("{other:?}"),
        }
        let _slot = limits.open_stream("u").unwrap();
        let err = limits.open_stream("u").unwrap_err();
        assert_eq!(actix_web::ResponseError::status_code(&err), 429);
        assert!(err.to_string().contains("at most 1"), "{err}");
    }
}
