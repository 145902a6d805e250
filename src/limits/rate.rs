//! Per-user token buckets for the request rate limit (see the module docs of `limits`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use dashmap::DashMap;

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
