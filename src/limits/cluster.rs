//! The per-user limits shared by every node of a cluster (issue #17), on PostgreSQL.
//!
//! Used only when `cluster.enabled`: a single node keeps the in-process limiters of
//! `rate.rs` and `streams.rs` and never touches the database for a limit. With N nodes on one
//! database those would give a user N times the budget, so here both limits live in tables
//! every node reads and writes (`cluster_rate_buckets`, `cluster_stream_leases`, migration
//! `m20261203_000006`).
//!
//! ## The rate limit: one statement per request
//!
//! A user's bucket is the row `key = 'user:<id>'` holding `tokens` as of `updated_at`. The
//! refill is lazy, as in `rate.rs`: the tokens now are
//! `least(burst, tokens + elapsed_seconds * per_minute / 60)`, with the elapsed time measured
//! on the database clock so that the nodes' clocks do not matter. One
//! `INSERT .. ON CONFLICT (key) DO UPDATE .. WHERE <tokens now> >= 1` takes a token:
//!
//! - a user without a row gets one with `burst - 1` tokens;
//! - otherwise PostgreSQL locks the row and evaluates the refill and the `WHERE` on its newest
//!   committed version (READ COMMITTED re-checks a conflicting row after waiting for its
//!   writer), so concurrent requests on any nodes queue on the row and each sees the tokens
//!   the previous one left: no two take the same token;
//! - when the `WHERE` fails nothing is written (the refill being lazy, leaving the row as it
//!   is loses nothing) and the statement's `SELECT` arm reads the row for the time until the
//!   next token (`Retry-After`). That read uses the statement's snapshot, so it may be a
//!   request behind: only the hint can be off, never the decision.
//!
//! `updated_at` never moves backwards (`greatest`): a statement whose transaction started
//! before a concurrent one that committed first would otherwise hand out the gap again.
//! Buckets untouched for longer than a full refill are full, so deleting them changes
//! nothing; each node sweeps them at most once a minute, on a task of its own.
//!
//! ## The stream cap: leases
//!
//! An open stream is a row of `cluster_stream_leases` naming the user and the node and epoch
//! that hold it. A lease counts only while its node is alive: the `cluster_nodes` row with
//! that node id *and epoch* is `live` with a heartbeat younger than
//! `cluster.heartbeat_timeout_ms` (database clock), the rule of `cluster::membership`. So a
//! node that died, left, or restarted (new epoch) frees its users' slots without anyone
//! deleting anything; such leases are deleted on the next acquire of the same user.
//!
//! Acquiring is a short transaction: `pg_advisory_xact_lock(<namespace>, hashtext(user_id))`,
//! then one `INSERT .. SELECT .. WHERE (<alive leases of the user>) < max`. The lock is taken
//! in a statement of its own because a READ COMMITTED statement's snapshot is taken when it
//! starts: the count of the `INSERT` that follows the lock sees every lease committed by the
//! lock's previous holders, and no other acquire of that user can run between the count and
//! the insert. Two users whose ids hash alike merely share a lock. Releasing needs no lock (it
//! only lowers the count): dropping the [`ClusterLease`] (held by the response body through
//! `StreamSlot`) spawns the `DELETE` on the runtime, since `Drop` cannot wait; a lease whose
//! delete never ran (no runtime, database down for all retries) counts until its node's epoch
//! ends.
//!
//! ## When the database fails
//!
//! The limits guard against abuse, not correctness, so a database error must not turn every
//! request into a 500 (or a 503). Both limits fail open *onto the node's own limiter*: the
//! caller (`Limits`) then takes the in-process bucket or stream slot instead, so during an
//! outage a user gets at most the single-node budget per node, as before clustering, rather
//! than no limit at all. Each failure is counted in `eventchat_db_errors_total` and logged at
//! WARN (at most once per [`WARN_EVERY`], with the number since the last line). Every
//! statement has a deadline ([`QUERY_TIMEOUT`]) so a hung database costs a request at most
//! that. An acquire that failed or timed out after its `INSERT` may still have committed, so
//! its lease id is deleted on the way out as well.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait, Value,
};

/// The deadline of one limit query (or the acquire transaction as a whole).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// At most one WARN line per this long about failing limit queries.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// How often a node sweeps full buckets at most.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The first key of the two-key advisory locks of stream acquires (`"ECST"`), so they cannot
/// meet another use of advisory locks keyed by a plain hash.
const STREAM_LOCK_NAMESPACE: i32 = 0x4543_5354;

/// Attempts of a lease's `DELETE` and the pause before each retry.
const RELEASE_RETRIES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(200),
    Duration::from_secs(1),
];

/// A limit query that did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterLimitError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// The per-user rate limit and stream cap of a cluster.
pub struct ClusterLimits {
    db: DatabaseConnection,
    node_id: String,
    node_epoch: Arc<AtomicI64>,
    heartbeat_timeout_ms: i64,
    /// Tokens per second; `0` = no rate limit.
    per_sec: f64,
    /// `burst`, at least 1 (as `RateLimiter`).
    capacity: f64,
    /// `0` = no cap.
    max_streams: usize,
    last_sweep: Mutex<Option<Instant>>,
    warnings: WarnThrottle,
}

impl fmt::Debug for ClusterLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterLimits")
            .field("node_id", &self.node_id)
            .field("per_sec", &self.per_sec)
            .field("capacity", &self.capacity)
            .field("max_streams", &self.max_streams)
            .finish_non_exhaustive()
    }
}

impl ClusterLimits {
    /// `node_epoch` is the cluster's own cell (`Cluster::epoch_handle`), read at each acquire
    /// so leases carry the epoch the node holds now. `heartbeat_timeout` is
    /// `cluster.heartbeat_timeout_ms`: a node is alive for the leases by the same rule as for
    /// the membership.
    pub fn new(
        db: DatabaseConnection,
        node_id: String,
        node_epoch: Arc<AtomicI64>,
        heartbeat_timeout: Duration,
        per_minute: u32,
        burst: u32,
        max_streams: usize,
    ) -> Self {
        Self {
            db,
            node_id,
            node_epoch,
            heartbeat_timeout_ms: i64::try_from(heartbeat_timeout.as_millis()).unwrap_or(i64::MAX),
            per_sec: f64::from(per_minute) / 60.0,
            capacity: f64::from(burst.max(1)),
            max_streams,
            last_sweep: Mutex::new(None),
            warnings: WarnThrottle::default(),
        }
    }

    /// Whether the rate limit is on (else [`ClusterLimits::check_rate`] never queries).
    pub fn limits_rate(&self) -> bool {
        self.per_sec > 0.0
    }

    /// Whether the stream cap is on (else [`ClusterLimits::try_acquire`] never queries).
    pub fn limits_streams(&self) -> bool {
        self.max_streams > 0
    }

    /// The stream cap (`0` = none).
    pub fn max_streams(&self) -> usize {
        self.max_streams
    }

    /// Takes one token of `user_id`'s bucket. `Ok(Err(wait))`: refused, the next token is
    /// `wait` away.
    pub async fn check_rate(
        &self,
        user_id: &str,
    ) -> Result<Result<(), Duration>, ClusterLimitError> {
        if !self.limits_rate() {
            return Ok(Ok(()));
        }
        self.maybe_sweep();
        // `tokens now`, written out three times because SQL has no local names here; $2 is
        // the capacity, $3 the tokens per second.
        const NOW: &str = "LEAST($2, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (now() - b.updated_at))::float8) * $3)";
        let sql = format!(
            "WITH took AS ( \
               INSERT INTO cluster_rate_buckets AS b (key, tokens, updated_at) \
               VALUES ($1, $2 - 1, now()) \
               ON CONFLICT (key) DO UPDATE \
                 SET tokens = {NOW} - 1, updated_at = GREATEST(b.updated_at, now()) \
                 WHERE {NOW} >= 1 \
               RETURNING b.tokens \
             ) \
             SELECT true AS taken, tokens FROM took \
             UNION ALL \
             SELECT false AS taken, {NOW} AS tokens FROM cluster_rate_buckets b \
               WHERE b.key = $1 AND NOT EXISTS (SELECT 1 FROM took)"
        );
        let row = deadline(self.db.query_one_raw(stmt(
            &sql,
            vec![
                format!("user:{user_id}").into(),
                self.capacity.into(),
                self.per_sec.into(),
            ],
        )))
        .await?;
        let Some(row) = row else {
            // Refused, but the row was committed after this statement's snapshot, so there
            // is nothing to read the level from: one token's time is the honest hint.
            return Ok(Err(Duration::from_secs_f64(1.0 / self.per_sec)));
        };
        let taken: bool = row.try_get("", "taken")?;
        if taken {
            return Ok(Ok(()));
        }
        let tokens: f64 = row.try_get("", "tokens")?;
        let wait = ((1.0 - tokens) / self.per_sec).clamp(0.0, 86_400.0);
        Ok(Err(Duration::from_secs_f64(wait)))
    }

    /// A lease on one more open stream of `user_id`, or `Ok(None)` at the cap (counting the
    /// leases of alive nodes only). With no cap, a lease that holds no row.
    pub async fn try_acquire(
        &self,
        user_id: &str,
    ) -> Result<Option<ClusterLease>, ClusterLimitError> {
        if !self.limits_streams() {
            return Ok(Some(ClusterLease { row: None }));
        }
        let lease_id = uuid::Uuid::new_v4().to_string();
        match deadline(self.acquire(user_id, &lease_id)).await {
            Ok(true) => Ok(Some(ClusterLease {
                row: Some((self.db.clone(), lease_id)),
            })),
            Ok(false) => Ok(None),
            Err(e) => {
                // The commit may have landed before the error (or the deadline): do not
                // leave a lease nobody holds.
                release(self.db.clone(), lease_id);
                Err(e)
            }
        }
    }

    async fn acquire(&self, user_id: &str, lease_id: &str) -> Result<bool, DbErr> {
        let epoch = self.node_epoch.load(Ordering::Acquire);
        let max = i64::try_from(self.max_streams).unwrap_or(i64::MAX);
        let txn = self.db.begin().await?;
        // Its own statement: the INSERT below must take its snapshot after the lock.
        txn.execute_raw(stmt(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            vec![STREAM_LOCK_NAMESPACE.into(), user_id.into()],
        ))
        .await?;
        let inserted = txn
            .query_one_raw(stmt(
                "WITH dead AS ( \
                   DELETE FROM cluster_stream_leases l \
                    WHERE l.user_id = $1 AND NOT EXISTS ( \
                      SELECT 1 FROM cluster_nodes n \
                       WHERE n.node_id = l.node_id AND n.epoch = l.node_epoch \
                         AND n.state = 'live' \
                         AND n.heartbeat_at > now() - $5 * interval '1 millisecond') \
                 ) \
                 INSERT INTO cluster_stream_leases (lease_id, user_id, node_id, node_epoch) \
                 SELECT $2, $1, $3, $4 \
                  WHERE (SELECT count(*) FROM cluster_stream_leases l \
                           JOIN cluster_nodes n \
                             ON n.node_id = l.node_id AND n.epoch = l.node_epoch \
                          WHERE l.user_id = $1 AND n.state = 'live' \
                            AND n.heartbeat_at > now() - $5 * interval '1 millisecond') < $6 \
                 RETURNING lease_id",
                vec![
                    user_id.into(),
                    lease_id.into(),
                    self.node_id.as_str().into(),
                    epoch.into(),
                    self.heartbeat_timeout_ms.into(),
                    max.into(),
                ],
            ))
            .await?
            .is_some();
        txn.commit().await?;
        Ok(inserted)
    }

    /// The leases of `user_id` that count now (held by alive nodes).
    pub async fn open_for(&self, user_id: &str) -> Result<usize, ClusterLimitError> {
        let row = deadline(self.db.query_one_raw(stmt(
            "SELECT count(*) AS n FROM cluster_stream_leases l \
               JOIN cluster_nodes n ON n.node_id = l.node_id AND n.epoch = l.node_epoch \
              WHERE l.user_id = $1 AND n.state = 'live' \
                AND n.heartbeat_at > now() - $2 * interval '1 millisecond'",
            vec![user_id.into(), self.heartbeat_timeout_ms.into()],
        )))
        .await?;
        let n: i64 = match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        };
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Counts a failed limit query and logs it (throttled); the caller falls back on the
    /// node's own limiter.
    pub fn record_failure(&self, limit: &'static str, error: &ClusterLimitError) {
        crate::metrics::global().db_errors.inc();
        if let Some(suppressed) = self.warnings.admit() {
            tracing::warn!(
                limit,
                %error,
                suppressed,
                "cluster limit unavailable; this node's own limit applies instead"
            );
        }
    }

    /// Deletes buckets that are full again (untouched for a whole refill), at most once per
    /// [`SWEEP_EVERY`] per node, on a task of its own.
    fn maybe_sweep(&self) {
        let now = Instant::now();
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return;
        };
        if last.is_some_and(|t| now.duration_since(t) < SWEEP_EVERY) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        *last = Some(now);
        let full_after = (self.capacity / self.per_sec).min(86_400.0);
        let db = self.db.clone();
        handle.spawn(async move {
            let res = deadline(db.execute_raw(stmt(
                "DELETE FROM cluster_rate_buckets \
                  WHERE key LIKE 'user:%' AND updated_at < now() - $1 * interval '1 second'",
                vec![full_after.into()],
            )))
            .await;
            if let Err(error) = res {
                tracing::debug!(%error, "sweeping full rate buckets failed; next time");
            }
        });
    }
}

/// One open stream of the cluster: dropping it deletes its lease row (on a spawned task).
pub struct ClusterLease {
    /// The connection and lease id to delete; `None` when the cap is off.
    row: Option<(DatabaseConnection, String)>,
}

impl fmt::Debug for ClusterLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterLease")
            .field("lease_id", &self.row.as_ref().map(|(_, id)| id))
            .finish()
    }
}

impl Drop for ClusterLease {
    fn drop(&mut self) {
        if let Some((db, lease_id)) = self.row.take() {
            release(db, lease_id);
        }
    }
}

/// Deletes a lease on a spawned task, with a few retries: the caller is a `Drop` (or an
/// acquire on its way out) and must not wait.
fn release(db: DatabaseConnection, lease_id: String) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            %lease_id,
            "no runtime to release a stream lease on; it counts until this node's epoch ends"
        );
        return;
    };
    handle.spawn(async move {
        let mut last = None;
        for pause in RELEASE_RETRIES {
            tokio::time::sleep(pause).await;
            match deadline(db.execute_raw(stmt(
                "DELETE FROM cluster_stream_leases WHERE lease_id = $1",
                vec![lease_id.as_str().into()],
            )))
            .await
            {
                Ok(_) => return,
                Err(e) => last = Some(e),
            }
        }
        if let Some(error) = last {
            crate::metrics::global().db_errors.inc();
            tracing::warn!(
                %lease_id,
                %error,
                "cannot release a stream lease; it counts until this node's epoch ends"
            );
        }
    });
}

/// `fut` with the [`QUERY_TIMEOUT`] deadline.
async fn deadline<T>(fut: impl Future<Output = Result<T, DbErr>>) -> Result<T, ClusterLimitError> {
    match tokio::time::timeout(QUERY_TIMEOUT, fut).await {
        Ok(res) => res.map_err(ClusterLimitError::from),
        Err(_) => Err(ClusterLimitError::Timeout(QUERY_TIMEOUT)),
    }
}

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Lets one WARN through per [`WARN_EVERY`] and counts the ones it held back.
#[derive(Default)]
struct WarnThrottle {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl WarnThrottle {
    /// `Some(held back since the last one)` when a line may be logged now.
    fn admit(&self) -> Option<u64> {
        let now = Instant::now();
        let admitted = match self.last.lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|t| now.duration_since(t) >= WARN_EVERY);
                if due {
                    *last = Some(now);
                }
                due
            }
            // A poisoned lock only loses the throttle: log.
            Err(_) => true,
        };
        if admitted {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}
