//! Unit tests of the limiters, on an explicit clock.

use super::*;
use futures::StreamExt;
use std::time::Instant;

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

#[tokio::test]
async fn limits_render_as_429s() {
    let settings = LimitSettings {
        max_message_chars: 1,
        max_metadata_bytes: 1,
        max_page_size: 1,
        max_attachment_bytes: 1,
        attachment_mime_types: vec![],
        rate_limit_per_minute: 60,
        rate_limit_burst: 1,
        max_concurrent_streams: 1,
        max_feedback_items: 1,
        max_message_attachments: 1,
        max_content_parts: 1,
        max_structured_answers: 1,
        address_rate_limit_per_minute: 60,
        address_rate_limit_burst: 2,
    };
    let limits = Limits::new(&settings, &[]);
    assert!(limits.check_rate("u").await.is_ok());
    match limits.check_rate("u").await {
        Err(ApiError::RateLimited {
            retry_after_secs, ..
        }) => assert_eq!(retry_after_secs, 1),
        other => panic!("{other:?}"),
    }
    let _slot = limits.open_stream("u").await.unwrap();
    let err = limits.open_stream("u").await.unwrap_err();
    assert_eq!(actix_web::ResponseError::status_code(&err), 429);
    assert!(err.to_string().contains("at most 1"), "{err}");
    // Per address: two, then a 429 for that address only; no address, no limit.
    let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
    assert!(limits.check_address(ip("203.0.113.7")).is_ok());
    assert!(limits.check_address(ip("203.0.113.7")).is_ok());
    let err = limits.check_address(ip("203.0.113.7")).unwrap_err();
    assert!(err.to_string().contains("from this address"), "{err}");
    assert!(limits.check_address(ip("203.0.113.8")).is_ok());
    for _ in 0..10 {
        assert!(limits.check_address(None).is_ok());
    }
}
