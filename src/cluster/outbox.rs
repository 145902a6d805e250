//! Domain changes fan out across the cluster's nodes (issue #17, item 5).
//!
//! A change a tool makes on one node must reach the live threads of every node. The
//! publishing node's bus appends it to `cluster_outbox` (`store::outbox`), whose insert also
//! runs `pg_notify('eventchat_outbox', id)`; every node runs the fan-out of this module,
//! which reads the rows after the last one it delivered and hands the other nodes' changes to
//! its own bus with `DomainBus::deliver_local` (a node's own changes were delivered locally
//! when they were published, and are skipped).
//!
//! Protocol:
//! - At start the fan-out takes the newest id as its watermark: only changes from then on
//!   are delivered. A node that just started has no live thread whose context could be stale.
//! - It reads (`since`) when a notification arrives, on a periodic tick (1 s: a lost
//!   notification delays a change by at most that long), and after every (re)connection of
//!   its `LISTEN`. The notification is only a wake-up; the table is the truth. `LISTEN` alone
//!   would lose every change made while its connection was down.
//! - The listener runs on a connection of its own (a one-connection pool with the app pool's
//!   options and `application_name` `eventchat-outbox <node id>`), on a task of its own (its
//!   `recv` is never cancelled half-way). After an error it reconnects with a backoff that
//!   doubles from 100 ms to 5 s, then wakes the reader, which replays from the watermark.
//! - Holes: a `bigserial` id is taken at insert and committed whenever its transaction
//!   commits, so a reader can see id 11 before id 10. The reader keeps a watermark (every id
//!   at or below it is done) and the ids above it it has delivered; an id missing between
//!   them is waited for, and the watermark passes it only once it has been missing for
//!   [`Timing::gap_timeout`] (5 s): a rolled-back insert leaves a hole that never fills. A
//!   change whose insert commits later than that is not delivered here (each append is a
//!   single statement, so in practice its commit follows its id within milliseconds).
//! - Every minute the rows older than `cluster.outbox_retention_secs` are deleted (any node
//!   may; it is idempotent). A node away longer than that misses what was pruned.
//!
//! Metrics: `cluster_outbox_received` counts the other nodes' changes delivered here,
//! `cluster_outbox_lag_ms` is the age (by the database's clock) of the newest one delivered.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbBackend};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ClusterError;
use crate::conversation::DomainBus;
use crate::store::outbox::CHANNEL;
use crate::store::{OutboxStore, StoreResult};

/// Rows read per query.
const PAGE: u32 = 500;
/// A hole wider than this is not waited for id by id (it is a prune or a sequence jump, not
/// inserts in flight): the watermark jumps over it at once.
const MAX_TRACKED_GAP: i64 = 4096;

/// The fan-out's clocks; [`Timing::default`] in production, shorter ones in tests.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often the table is read without a notification.
    pub poll: Duration,
    /// How long a missing id is waited for before the watermark passes it.
    pub gap_timeout: Duration,
    /// How often old rows are pruned.
    pub prune_every: Duration,
    /// The listener's reconnect backoff: first wait, and the most it doubles to.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            gap_timeout: Duration::from_secs(5),
            prune_every: Duration::from_secs(60),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// A running fan-out. Dropping it leaves it running; [`Fanout::stop`] stops it.
#[derive(Debug)]
pub struct Fanout {
    task: JoinHandle<()>,
}

impl Fanout {
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Starts this node's fan-out: reads the newest id (only later changes are delivered), then
/// runs on the current runtime until stopped. Fails only when the database does not answer
/// the first read or is not PostgreSQL.
pub async fn start(
    db: DatabaseConnection,
    node_id: String,
    bus: DomainBus,
    retention: Duration,
) -> Result<Fanout, ClusterError> {
    start_with(db, node_id, bus, retention, Timing::default()).await
}

/// [`start`] with its clocks given.
pub async fn start_with(
    db: DatabaseConnection,
    node_id: String,
    bus: DomainBus,
    retention: Duration,
    timing: Timing,
) -> Result<Fanout, ClusterError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Err(ClusterError::Setup(
            "the cluster's outbox needs PostgreSQL".into(),
        ));
    }
    let pool = listener_pool(db.get_postgres_connection_pool(), &node_id);
    let store = OutboxStore::new(db);
    let newest = store
        .newest_id()
        .await
        .map_err(|e| ClusterError::Setup(format!("cannot read the outbox: {e}")))?;
    tracing::info!(node_id, newest, "outbox fan-out starting");
    let reader = Reader {
        store,
        node_id,
        bus,
        retention,
        timing,
        seen: Seen::new(newest, timing.gap_timeout),
    };
    Ok(Fanout {
        task: tokio::spawn(reader.run(pool)),
    })
}

/// A pool of one connection for the listener, so that it takes none of the app pool's.
fn listener_pool(app: &PgPool, node_id: &str) -> PgPool {
    let options = (*app.connect_options())
        .clone()
        .application_name(&format!("eventchat-outbox {node_id}"));
    PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(options)
}

/// What the listener task tells the reader.
#[derive(Debug, Clone, Copy)]
enum Wake {
    /// A notification (or several) arrived.
    Notified,
    /// The listener (re)connected: what was published while it was down must be read.
    Connected,
}

/// Aborts a task when dropped (the listener goes when the reader is stopped).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Reader {
    store: OutboxStore,
    node_id: String,
    bus: DomainBus,
    retention: Duration,
    timing: Timing,
    seen: Seen,
}

impl Reader {
    async fn run(mut self, pool: PgPool) {
        // One pending wake-up is enough: the read it causes sees everything committed.
        let (wake_tx, mut wake_rx) = mpsc::channel(1);
        let _listener = AbortOnDrop(tokio::spawn(listen(
            pool,
            self.node_id.clone(),
            wake_tx,
            self.timing,
        )));
        let mut poll = tokio::time::interval(self.timing.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval(self.timing.prune_every);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut listening = true;
        loop {
            tokio::select! {
                wake = wake_rx.recv(), if listening => match wake {
                    Some(Wake::Connected) => {
                        tracing::debug!(node_id = %self.node_id, watermark = self.seen.watermark, "outbox listener connected; replaying");
                        self.catch_up().await;
                    }
                    Some(Wake::Notified) => self.catch_up().await,
                    // The listener task does not end on its own (it would have panicked);
                    // the tick still reads.
                    None => {
                        tracing::warn!(node_id = %self.node_id, "outbox listener ended; polling only");
                        listening = false;
                    }
                },
                _ = poll.tick() => self.catch_up().await,
                _ = prune.tick() => self.prune().await,
            }
        }
    }

    /// Reads every row above the watermark and delivers the new ones of other nodes. An
    /// error is logged; the next wake-up or tick reads again from the same watermark.
    async fn catch_up(&mut self) {
        if let Err(error) = self.read_new().await {
            tracing::warn!(node_id = %self.node_id, %error, "cannot read the outbox; retrying on the next tick");
        }
    }

    async fn read_new(&mut self) -> StoreResult<()> {
        let now = Instant::now();
        let mut after = self.seen.watermark;
        let mut newest_age = None;
        loop {
            let rows = self.store.since(after, PAGE).await?;
            let full = rows.len() == PAGE as usize;
            for row in rows {
                after = row.id;
                if !self.seen.is_new(row.id) {
                    continue;
                }
                self.seen.mark(row.id, now);
                if row.origin_node == self.node_id {
                    continue;
                }
                newest_age = Some(row.age_ms);
                crate::metrics::global().cluster_outbox_received.inc();
                self.bus.deliver_local(row.change.into());
            }
            if !full {
                break;
            }
        }
        if let Some(age) = newest_age {
            crate::metrics::global().cluster_outbox_lag_ms.set(age);
        }
        for skipped in self.seen.advance(now) {
            tracing::warn!(
                node_id = %self.node_id,
                id = skipped,
                "outbox id never committed within the gap timeout; passing it (a rolled-back insert, or a change lost to this node)"
            );
        }
        Ok(())
    }

    async fn prune(&self) {
        match self.store.prune(self.retention).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "outbox pruned"),
            Err(error) => tracing::warn!(%error, "cannot prune the outbox"),
        }
    }
}

/// Keeps a `LISTEN` open and turns its notifications into wake-ups; reconnects with backoff.
/// Ends only when the reader is gone.
async fn listen(pool: PgPool, node_id: String, wake: mpsc::Sender<Wake>, timing: Timing) {
    let mut backoff = timing.backoff_min;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            // A lost connection is ours to handle (backoff, then a replay), not sqlx's.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        match connected {
            Ok(mut listener) => {
                let since = Instant::now();
                if !send(&wake, Wake::Connected) {
                    return;
                }
                let reason = loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => {
                            // Several notifications already in: one read covers them all.
                            while listener.next_buffered().is_some() {}
                            if !send(&wake, Wake::Notified) {
                                return;
                            }
                        }
                        Ok(None) => break "connection lost".to_owned(),
                        Err(e) => break e.to_string(),
                    }
                };
                tracing::warn!(
                    node_id,
                    reason,
                    "outbox listener disconnected; reconnecting"
                );
                // A connection that held for a while starts the backoff over; one that dies
                // at once keeps doubling it.
                if since.elapsed() >= timing.backoff_max {
                    backoff = timing.backoff_min;
                }
            }
            Err(error) => {
                tracing::warn!(node_id, %error, ?backoff, "cannot listen to the outbox; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(timing.backoff_max);
    }
}

/// A wake-up for the reader; false when the reader is gone. A full channel already holds one.
fn send(wake: &mpsc::Sender<Wake>, what: Wake) -> bool {
    !matches!(
        wake.try_send(what),
        Err(mpsc::error::TrySendError::Closed(_))
    )
}

/// Which ids the reader is done with: all at or below `watermark`, and `above`. Every id
/// between the watermark and the highest in `above` that is not in `above` is in `missing`,
/// with the time it was first found missing.
#[derive(Debug)]
struct Seen {
    watermark: i64,
    above: BTreeSet<i64>,
    missing: BTreeMap<i64, Instant>,
    gap_timeout: Duration,
}

impl Seen {
    fn new(watermark: i64, gap_timeout: Duration) -> Self {
        Self {
            watermark,
            above: BTreeSet::new(),
            missing: BTreeMap::new(),
            gap_timeout,
        }
    }

    /// Whether the row with `id` has not been handled yet.
    fn is_new(&self, id: i64) -> bool {
        id > self.watermark && !self.above.contains(&id)
    }

    /// The row with `id` was handled at `now`.
    fn mark(&mut self, id: i64, now: Instant) {
        if !self.is_new(id) {
            return;
        }
        let top = self.above.last().copied().unwrap_or(self.watermark);
        if id - top - 1 > MAX_TRACKED_GAP {
            // Not inserts in flight (prune, sequence jump): everything handled so far is
            // below `id`, so the watermark can stand just under it.
            tracing::debug!(from = top, to = id, "outbox ids skipped wholesale");
            self.above.clear();
            self.missing.clear();
            self.watermark = id - 1;
        } else {
            for gap in top + 1..id {
                self.missing.entry(gap).or_insert(now);
            }
        }
        self.missing.remove(&id);
        self.above.insert(id);
    }

    /// Moves the watermark as far as it may; the ids it passed without their row (missing
    /// for longer than the gap timeout).
    fn advance(&mut self, now: Instant) -> Vec<i64> {
        let mut skipped = Vec::new();
        loop {
            let next = self.watermark + 1;
            if self.above.remove(&next) {
                self.watermark = next;
                continue;
            }
            match self.missing.get(&next) {
                Some(since) if now.saturating_duration_since(*since) >= self.gap_timeout => {
                    self.missing.remove(&next);
                    self.watermark = next;
                    skipped.push(next);
                }
                _ => return skipped,
            }
        }
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
