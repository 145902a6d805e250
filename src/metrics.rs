//! Process-wide metrics in the Prometheus text format (`GET /metrics`).
//!
//! Counters and gauges are atomics; histograms have fixed buckets. Labelled counters use a
//! small concurrent map. Everything is lock-free on the hot path except the first sight of a
//! new label set.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Seconds buckets from 1 ms to 2 minutes.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0,
];

pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
    total: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Observations so far, and their mean (for views that show one figure).
    pub fn count_and_mean(&self) -> (u64, Duration) {
        let total = self.total.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed);
        (
            total,
            Duration::from_micros(sum.checked_div(total).unwrap_or(0)),
        )
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let total = self.total.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    }
}

#[derive(Default)]
pub struct Metrics {
    /// (request type, HTTP status) -> count.
    pub requests: DashMap<(String, u16), u64>,
    /// Turns cancelled, by cause (disconnect, explicit, admin).
    pub turn_cancels: DashMap<&'static str, u64>,
    /// Requests answered 401, by reason (`missing`, `malformed_header`, `expired`, ...).
    pub auth_failures: DashMap<&'static str, u64>,
    /// Requests answered 429 by a limiter, by scope (`address`, `user`, `streams`).
    pub rate_limited: DashMap<&'static str, u64>,
    /// Reads of a turn's events that resumed after a sequence number.
    pub turn_resumes: Counter,
    /// Resumes refused because the turn was gone (410) or the reader fell behind.
    pub turn_replay_misses: Counter,
    /// Sends absorbed by their idempotency key.
    pub duplicate_sends: Counter,
    pub turn_latency: Histogram,
    pub time_to_first_event: Histogram,
    pub live_thread_actors: Gauge,
    pub actor_restarts: Counter,
    pub turns_total: Counter,
    pub turn_errors: Counter,
    pub llm_tokens_in: Counter,
    pub llm_tokens_out: Counter,
    pub llm_errors: Counter,
    pub db_errors: Counter,
    /// SQLite group commit (`store::group_commit`): batches committed, the writes they held,
    /// and batches rolled back to run their writes one at a time.
    pub db_group_commits: Counter,
    pub db_group_commit_writes: Counter,
    pub db_group_commit_splits: Counter,
    pub tool_calls: Counter,
    /// The local model (issue #16): prompt tokens evaluated, prompt tokens found in a
    /// thread's KV cache instead (of which those taken from another thread's cache: a shared
    /// prompt prefix), tokens generated and the time spent generating them.
    pub local_prompt_evaluated: Counter,
    pub local_prompt_reused: Counter,
    pub local_prompt_shared: Counter,
    pub local_generated: Counter,
    pub local_generation_micros: Counter,
    pub local_prompt_micros: Counter,
    /// From a turn's request to its first evaluated token.
    pub local_queue_wait: Histogram,
    pub local_queued: Gauge,
    pub local_active: Gauge,
    pub local_cached_threads: Gauge,
    /// The cluster (issue #17): requests handed to a thread's owner, threads taken over from
    /// a dead node, writes refused by the owner fence, domain changes read from the outbox
    /// and how far behind their writing the newest one arrived.
    pub cluster_forwards: Counter,
    pub cluster_forward_errors: Counter,
    pub cluster_takeovers: Counter,
    pub cluster_fenced_writes: Counter,
    pub cluster_outbox_received: Counter,
    pub cluster_outbox_lag_ms: Gauge,
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::default)
}

impl Metrics {
    pub fn record_request(&self, kind: &str, status: u16) {
        *self.requests.entry((kind.to_owned(), status)).or_insert(0) += 1;
    }

    /// A turn cancelled for `cause` (disconnect, explicit, admin).
    pub fn record_cancel(&self, cause: &'static str) {
        *self.turn_cancels.entry(cause).or_insert(0) += 1;
    }

    /// A request refused 401 for `reason`.
    pub fn record_auth_failure(&self, reason: &'static str) {
        *self.auth_failures.entry(reason).or_insert(0) += 1;
    }

    /// A request refused 429 by the limiter of `scope`.
    pub fn record_rate_limited(&self, scope: &'static str) {
        *self.rate_limited.entry(scope).or_insert(0) += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP eventchat_requests_total ChatKit requests by type and HTTP status.\n# TYPE eventchat_requests_total counter"
        );
        let mut rows: Vec<_> = self
            .requests
            .iter()
            .map(|e| (e.key().clone(), *e.value()))
            .collect();
        rows.sort();
        for ((kind, status), n) in rows {
            let _ = writeln!(
                out,
                "eventchat_requests_total{{type=\"{kind}\",status=\"{status}\"}} {n}"
            );
        }
        let labelled = [
            (
                "eventchat_turn_cancels_total",
                "Turns cancelled, by cause.",
                "cause",
                &self.turn_cancels,
            ),
            (
                "eventchat_auth_failures_total",
                "Requests refused 401 (no valid token), by reason; they are logged at debug only.",
                "reason",
                &self.auth_failures,
            ),
            (
                "eventchat_rate_limited_total",
                "Requests refused 429 by a limiter: per client address, per user, open streams.",
                "scope",
                &self.rate_limited,
            ),
        ];
        for (name, help, label, map) in labelled {
            render_labelled(&mut out, name, help, label, map);
        }
        self.turn_latency.render(
            "eventchat_turn_seconds",
            "Duration of a whole turn.",
            &mut out,
        );
        self.time_to_first_event.render(
            "eventchat_time_to_first_event_seconds",
            "Time from request to the first SSE event.",
            &mut out,
        );
        self.local_queue_wait.render(
            "eventchat_local_queue_wait_seconds",
            "Local model: time a turn waited for a free sequence.",
            &mut out,
        );
        let gauges: [(&str, &str, i64); 5] = [
            (
                "eventchat_cluster_outbox_lag_ms",
                "Milliseconds between the writing of the newest outbox change read and its reading.",
                self.cluster_outbox_lag_ms.get(),
            ),
            (
                "eventchat_live_thread_actors",
                "Thread actors currently alive.",
                self.live_thread_actors.get(),
            ),
            (
                "eventchat_local_queued",
                "Local model: turns waiting for a sequence.",
                self.local_queued.get(),
            ),
            (
                "eventchat_local_active",
                "Local model: turns being decoded.",
                self.local_active.get(),
            ),
            (
                "eventchat_local_cached_threads",
                "Local model: idle threads whose KV cache is kept.",
                self.local_cached_threads.get(),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let counters: [(&str, &str, &Counter); 25] = [
            (
                "eventchat_cluster_forwards_total",
                "Requests this node handed to the thread's owner node.",
                &self.cluster_forwards,
            ),
            (
                "eventchat_cluster_forward_errors_total",
                "Forwards that failed before the owner answered.",
                &self.cluster_forward_errors,
            ),
            (
                "eventchat_cluster_takeovers_total",
                "Threads this node took over from a dead node.",
                &self.cluster_takeovers,
            ),
            (
                "eventchat_cluster_fenced_writes_total",
                "Writes refused because another node took the thread over.",
                &self.cluster_fenced_writes,
            ),
            (
                "eventchat_cluster_outbox_received_total",
                "Domain changes of other nodes read from the outbox.",
                &self.cluster_outbox_received,
            ),
            (
                "eventchat_turn_resumes_total",
                "Reads of a turn's events resumed after a sequence number.",
                &self.turn_resumes,
            ),
            (
                "eventchat_turn_replay_misses_total",
                "Resumes refused: the turn was gone or the reader fell behind its buffer.",
                &self.turn_replay_misses,
            ),
            (
                "eventchat_duplicate_sends_total",
                "Sends absorbed by their idempotency key.",
                &self.duplicate_sends,
            ),
            (
                "eventchat_actor_restarts_total",
                "Thread actors restarted after dying.",
                &self.actor_restarts,
            ),
            ("eventchat_turns_total", "Turns run.", &self.turns_total),
            (
                "eventchat_turn_errors_total",
                "Turns that ended with an error event.",
                &self.turn_errors,
            ),
            (
                "eventchat_llm_prompt_tokens_total",
                "Prompt tokens reported by the LLM.",
                &self.llm_tokens_in,
            ),
            (
                "eventchat_llm_completion_tokens_total",
                "Completion tokens reported by the LLM.",
                &self.llm_tokens_out,
            ),
            (
                "eventchat_llm_errors_total",
                "LLM requests that failed.",
                &self.llm_errors,
            ),
            (
                "eventchat_db_errors_total",
                "Database operations that failed.",
                &self.db_errors,
            ),
            (
                "eventchat_db_group_commits_total",
                "SQLite: transactions of the group-commit writer (one per batch of writes).",
                &self.db_group_commits,
            ),
            (
                "eventchat_db_group_commit_writes_total",
                "SQLite: writes run by the group-commit writer.",
                &self.db_group_commit_writes,
            ),
            (
                "eventchat_db_group_commit_splits_total",
                "SQLite: batches rolled back because one write failed, then run one write at a time.",
                &self.db_group_commit_splits,
            ),
            (
                "eventchat_tool_calls_total",
                "Tool calls executed.",
                &self.tool_calls,
            ),
            (
                "eventchat_local_prompt_tokens_evaluated_total",
                "Local model: prompt tokens evaluated.",
                &self.local_prompt_evaluated,
            ),
            (
                "eventchat_local_prompt_tokens_reused_total",
                "Local model: prompt tokens taken from a thread's KV cache instead.",
                &self.local_prompt_reused,
            ),
            (
                "eventchat_local_prompt_tokens_shared_total",
                "Local model: prompt tokens of those reused that came from another thread's cache.",
                &self.local_prompt_shared,
            ),
            (
                "eventchat_local_generated_tokens_total",
                "Local model: tokens generated.",
                &self.local_generated,
            ),
            (
                "eventchat_local_generation_microseconds_total",
                "Local model: time spent in decode steps that generated tokens.",
                &self.local_generation_micros,
            ),
            (
                "eventchat_local_prompt_microseconds_total",
                "Local model: time spent in decode steps that evaluated prompts only.",
                &self.local_prompt_micros,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.get()
            );
        }
        out
    }
}

/// A counter with one label, its rows sorted by label value.
fn render_labelled(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    map: &DashMap<&'static str, u64>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    let mut rows: Vec<_> = map.iter().map(|e| (*e.key(), *e.value())).collect();
    rows.sort();
    for (value, n) in rows {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.record_request("threads.list", 200);
        m.turn_latency.observe(Duration::from_millis(30));
        m.actor_restarts.inc();
        m.record_cancel("explicit");
        m.record_auth_failure("expired");
        m.record_auth_failure("expired");
        m.record_rate_limited("address");
        let text = m.render();
        assert!(text.contains("eventchat_turn_cancels_total{cause=\"explicit\"} 1"));
        assert!(text.contains("eventchat_auth_failures_total{reason=\"expired\"} 2"));
        assert!(text.contains("# TYPE eventchat_rate_limited_total counter"));
        assert!(text.contains("eventchat_rate_limited_total{scope=\"address\"} 1"));
        assert!(text.contains("eventchat_requests_total{type=\"threads.list\",status=\"200\"} 1"));
        assert!(text.contains("eventchat_turn_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("eventchat_turn_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("eventchat_turn_seconds_count 1"));
        assert!(text.contains("eventchat_actor_restarts_total 1"));
    }
}
