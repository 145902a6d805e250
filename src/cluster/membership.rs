//! Membership (issue #17): each node's row in `cluster_nodes` and its heartbeat.
//!
//! Protocol:
//! - [`join`]: a node starting under id `N` inserts its row, or, when `N` has been seen
//!   before, takes the row with `epoch + 1`. The epoch names this run of the process: the
//!   threads an earlier run of `N` owned (it was killed, say) carry the old epoch, so they
//!   count as a dead node's and any node may take them over at once.
//! - [`heartbeat`]: every `cluster.heartbeat_interval_ms` the node sets `heartbeat_at = now()`
//!   (the database's clock, so the nodes' own clocks never matter) where its id and epoch
//!   still match. No matching row means another process joined under the same id: this one
//!   has been replaced, loses every thread, and stops taking turns for good.
//! - Self-fencing: a node that has not renewed its heartbeat for half of
//!   `cluster.heartbeat_timeout_ms` (the database is unreachable from here, or the process
//!   was paused) stops taking new turns and says so on `/ready` (503), while its running turns
//!   drain; the other nodes will see it dead at the full timeout and may take its threads,
//!   after which the owner fence refuses its writes. When the heartbeat is renewed again it
//!   takes turns again (threads taken over meanwhile stay with their new owners).
//! - [`leave`]: on a clean stop the node marks its row `left` and deletes the owner rows of
//!   its epoch, so its threads move at once instead of after the timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};

/// What the node knows of its own health.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    /// Milliseconds since `started` of the last renewed heartbeat.
    last_renewed_ms: AtomicU64,
    /// Another process joined under this node's id.
    replaced: AtomicBool,
    fence_after: Duration,
}

impl Health {
    pub fn new(timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            last_renewed_ms: AtomicU64::new(0),
            replaced: AtomicBool::new(false),
            fence_after: timeout / 2,
        }
    }

    fn renewed(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_renewed_ms.store(ms, Ordering::Release);
    }

    /// Time since the last renewed heartbeat.
    pub fn since_renewed(&self) -> Duration {
        let last = Duration::from_millis(self.last_renewed_ms.load(Ordering::Acquire));
        self.started.elapsed().saturating_sub(last)
    }

    /// Whether the node takes new turns (see the module doc).
    pub fn accepting(&self) -> bool {
        !self.replaced.load(Ordering::Acquire) && self.since_renewed() < self.fence_after
    }

    pub fn replaced(&self) -> bool {
        self.replaced.load(Ordering::Acquire)
    }
}

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Takes this node's row; returns its new epoch.
pub async fn join(db: &DatabaseConnection, node_id: &str, address: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            "INSERT INTO cluster_nodes AS n (node_id, epoch, address, state) \
             VALUES ($1, 1, $2, 'live') \
             ON CONFLICT (node_id) DO UPDATE SET epoch = n.epoch + 1, address = EXCLUDED.address, \
               state = 'live', started_at = now(), heartbeat_at = now() \
             RETURNING epoch",
            vec![node_id.into(), address.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    row.try_get("", "epoch")
}

/// Renews the heartbeat once; `Ok(false)` when the row belongs to a newer epoch.
pub async fn renew(db: &DatabaseConnection, node_id: &str, epoch: i64) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(stmt(
            "UPDATE cluster_nodes SET heartbeat_at = now(), state = 'live' \
             WHERE node_id = $1 AND epoch = $2 AND state <> 'left'",
            vec![node_id.into(), epoch.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// The heartbeat loop; ends when the node was replaced (or its task is dropped).
pub async fn heartbeat(
    db: DatabaseConnection,
    node_id: String,
    epoch: Arc<AtomicI64>,
    health: Arc<Health>,
    every: Duration,
    on_replaced: impl Fn(),
) {
    health.renewed();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let was_accepting = health.accepting();
        let e = epoch.load(Ordering::Acquire);
        // Bounded: a renewal that hangs must not keep the node looking healthy.
        match tokio::time::timeout(
            every.max(Duration::from_millis(100)),
            renew(&db, &node_id, e),
        )
        .await
        {
            Ok(Ok(true)) => {
                health.renewed();
                if failing || !was_accepting {
                    tracing::info!(node_id, epoch = e, "heartbeat renewed; taking turns again");
                }
                failing = false;
            }
            Ok(Ok(false)) => {
                health.replaced.store(true, Ordering::Release);
                tracing::error!(
                    node_id,
                    epoch = e,
                    "another process joined the cluster under this node's id; this one takes no more turns"
                );
                on_replaced();
                return;
            }
            Ok(Err(err)) => {
                if !failing {
                    tracing::warn!(node_id, error = %err, "cannot renew the heartbeat");
                }
                failing = true;
            }
            Err(_) => {
                if !failing {
                    tracing::warn!(node_id, "the heartbeat timed out");
                }
                failing = true;
            }
        }
        if was_accepting && !health.accepting() {
            tracing::error!(
                node_id,
                silent_ms = u64::try_from(health.since_renewed().as_millis()).unwrap_or(u64::MAX),
                "heartbeat not renewed for half the timeout: this node takes no new turns (self-fenced)"
            );
        }
    }
}

/// Marks the node `left` and gives up the threads of its epoch.
pub async fn leave(db: &DatabaseConnection, node_id: &str, epoch: i64) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        "DELETE FROM cluster_thread_owners WHERE node_id = $1 AND node_epoch = $2",
        vec![node_id.into(), epoch.into()],
    ))
    .await?;
    db.execute_raw(stmt(
        "UPDATE cluster_nodes SET state = 'left' WHERE node_id = $1 AND epoch = $2",
        vec![node_id.into(), epoch.into()],
    ))
    .await?;
    Ok(())
}

/// One node as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeInfo {
    pub node_id: String,
    pub epoch: i64,
    pub address: String,
    /// `live`, `dead` (heartbeat older than the timeout) or `left`.
    pub state: String,
    /// Milliseconds since its last heartbeat, by the database's clock.
    pub heartbeat_age_ms: i64,
    /// Threads whose owner row names this node and epoch.
    pub threads: i64,
}

/// Every node of the membership table, with how many threads each owns.
pub async fn nodes(db: &DatabaseConnection, timeout: Duration) -> Result<Vec<NodeInfo>, DbErr> {
    let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    let rows = db
        .query_all_raw(stmt(
            "SELECT n.node_id, n.epoch, n.address, \
               CASE WHEN n.state = 'left' THEN 'left' \
                    WHEN n.heartbeat_at > now() - $1 * interval '1 millisecond' THEN n.state \
                    ELSE 'dead' END AS state, \
               (EXTRACT(EPOCH FROM (now() - n.heartbeat_at)) * 1000)::bigint AS heartbeat_age_ms, \
               (SELECT COUNT(*) FROM cluster_thread_owners o \
                 WHERE o.node_id = n.node_id AND o.node_epoch = n.epoch) AS threads \
             FROM cluster_nodes n ORDER BY n.node_id",
            vec![timeout_ms.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(NodeInfo {
                node_id: r.try_get("", "node_id")?,
                epoch: r.try_get("", "epoch")?,
                address: r.try_get("", "address")?,
                state: r.try_get("", "state")?,
                heartbeat_age_ms: r.try_get("", "heartbeat_age_ms")?,
                threads: r.try_get("", "threads")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_fences_itself_half_a_timeout_after_its_last_heartbeat() {
        let health = Health::new(Duration::from_millis(200));
        health.renewed();
        assert!(health.accepting());
        std::thread::sleep(Duration::from_millis(130));
        assert!(
            !health.accepting(),
            "not renewed for more than half the timeout"
        );
        health.renewed();
        assert!(health.accepting(), "a renewed heartbeat takes turns again");
        health.replaced.store(true, Ordering::Release);
        assert!(
            !health.accepting(),
            "a replaced node never takes turns again"
        );
    }
}
