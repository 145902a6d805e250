//! Latency distributions and the server's own time: nearest-rank percentiles of microsecond
//! samples, reported in milliseconds as `{n, p50, p90, p99, max}` JSON objects; and, per turn,
//! the full turn minus the mock LLM's service intervals inside it (issue #7's "server time").

use std::time::Instant;

use serde_json::{Value, json};

use crate::load::Turn;

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// p50/p90/p99/max in milliseconds.
pub fn dist(values: impl Iterator<Item = u64>) -> Value {
    let mut v: Vec<u64> = values.collect();
    v.sort_unstable();
    json!({
        "n": v.len(),
        "p50": pct(&v, 50.0), "p90": pct(&v, 90.0), "p99": pct(&v, 99.0), "max": pct(&v, 100.0),
    })
}

/// Per successful turn, in µs: the full turn minus the mock's service intervals (request
/// reached the mock's handler → last frame produced) that lie within the turn. Meaningful when
/// turns do not overlap (V=1): then every interval inside a turn is that turn's model time.
/// The mock runs in this process, so its `Instant`s and the load generator's compare.
pub fn server_times(turns: &[Turn], intervals: &[(Instant, Instant)]) -> Vec<u64> {
    turns
        .iter()
        .filter(|t| t.ok)
        .map(|t| {
            let mock_us: u64 = intervals
                .iter()
                .filter(|(s, e)| *s >= t.start && *e <= t.end)
                .map(|(s, e)| e.duration_since(*s).as_micros() as u64)
                .sum();
            t.full_us.saturating_sub(mock_us)
        })
        .collect()
}
