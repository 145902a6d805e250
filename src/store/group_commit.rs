//! Group commit: the turn path's SQLite writes of many threads in one transaction.
//!
//! On SQLite every write of a turn (items, thread rows, run rows) goes through one writer
//! connection (`db::writer`), and each commit costs beside its statements: the dirty pages
//! appended to the WAL, the full-text index's pending terms flushed into a new segment (the
//! items table feeds FTS5), the transaction's BEGIN and COMMIT. The turns of different threads
//! touch the same hot pages (the items table's tail, its indexes, the FTS segments), so while
//! one commit is in flight the writes that queue behind it are run together and committed once:
//! each page and each FTS flush is written once per batch instead of once per write.
//!
//! Protocol:
//! - [`GroupCommit::write`] sends a write (a function of a transaction) to the one writer task
//!   and waits for its outcome, which arrives after the batch that holds it is committed, so
//!   an acknowledged write is on disk exactly as with a transaction of its own (WAL,
//!   `synchronous = NORMAL`: it survives a kill of the process; README "Durability").
//! - The task takes the first write that is queued and every other one ready at that moment
//!   (up to `database.sqlite_group_commit_max`), opens one `BEGIN IMMEDIATE`, runs them in
//!   order and commits. A write waits at most for the batch in flight before its own: the
//!   batch forms while the previous one commits; nothing waits for a timer.
//! - If any write of a batch fails, or the BEGIN or COMMIT does, the whole batch is rolled back
//!   and each write runs again alone, in its own transaction, so every write gets its own true
//!   outcome and a failing one takes no other with it. A write is therefore a function
//!   (`Fn`): it may run twice, each time on a transaction that was rolled back before.
//! - A write of one statement ([`GroupCommit::write_single`]) that is alone in its batch runs
//!   without BEGIN and COMMIT (SQLite's autocommit), so a quiet server pays no round trip
//!   for the grouping; in a batch it joins the transaction like any other.
//! - One thread's writes are never reordered: its turn awaits each write before the next, and
//!   the task runs a batch in the order the writes arrived.
//!
//! Only SQLite uses this (one writer at a time is how SQLite works anyway); PostgreSQL's many
//! connections commit in parallel, and a cluster's fenced writes need their own transaction.

use std::sync::Arc;

use futures::future::BoxFuture;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};

pub use super::conn::Conn;
use super::error::{StoreError, StoreResult};

/// How many writes may wait for the writer task before senders wait too.
const QUEUE: usize = 4096;

/// The handle of the writer task; cheap to clone. The task ends when every handle is gone.
#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::Sender<Box<dyn Job>>,
    /// Batches committed and the writes they held (for `/metrics`).
    stats: Arc<Stats>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

/// Counters of the writer task.
#[derive(Debug, Default)]
pub struct Stats {
    pub batches: std::sync::atomic::AtomicU64,
    pub writes: std::sync::atomic::AtomicU64,
    /// Batches rolled back and run again one write at a time.
    pub split: std::sync::atomic::AtomicU64,
}

impl GroupCommit {
    /// Starts the writer task on `writer` (a pool of one connection), with batches of at most
    /// `max_batch` writes. Needs a Tokio runtime.
    pub fn spawn(writer: DatabaseConnection, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        tokio::spawn(run(writer, rx, max_batch.max(1), stats.clone()));
        Self { tx, stats }
    }

    /// The task's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Runs `write` in the next batch and answers its outcome once that batch is committed
    /// (see the module doc: `write` may run a second time, alone, after a rollback).
    pub async fn write<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c Conn<'c>) -> BoxFuture<'c, StoreResult<T>> + Send + Sync + 'static,
    {
        self.send(write, false).await
    }

    /// [`Self::write`] for a write of one statement: alone in its batch, it runs without a
    /// transaction around it (SQLite's autocommit: one round trip instead of BEGIN, statement,
    /// COMMIT; the statement is atomic by itself).
    pub async fn write_single<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c Conn<'c>) -> BoxFuture<'c, StoreResult<T>> + Send + Sync + 'static,
    {
        self.send(write, true).await
    }

    async fn send<T, F>(&self, write: F, single: bool) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c Conn<'c>) -> BoxFuture<'c, StoreResult<T>> + Send + Sync + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job = Box::new(TypedJob {
            write,
            single,
            outcome: None,
            reply,
        });
        if self.tx.send(job).await.is_err() {
            return Err(stopped());
        }
        outcome.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> StoreError {
    StoreError::Db(DbErr::Custom("the database writer has stopped".into()))
}

/// A queued write with its outcome, type-erased for the queue.
trait Job: Send {
    /// Runs the write on `conn` and keeps its outcome; whether it succeeded.
    fn run<'a>(&'a mut self, conn: &'a Conn<'a>) -> BoxFuture<'a, bool>;
    /// The write is one statement (atomic without a transaction).
    fn single(&self) -> bool;
    /// Replaces the kept outcome with a failure of the transaction around the write.
    fn fail(&mut self, e: StoreError);
    /// Sends the kept outcome to the waiting caller.
    fn reply(self: Box<Self>);
}

struct TypedJob<T, F> {
    write: F,
    single: bool,
    outcome: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c Conn<'c>) -> BoxFuture<'c, StoreResult<T>> + Send + Sync + 'static,
{
    fn run<'a>(&'a mut self, conn: &'a Conn<'a>) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let out = (self.write)(conn).await;
            let ok = out.is_ok();
            self.outcome = Some(out);
            ok
        })
    }

    fn single(&self) -> bool {
        self.single
    }

    fn fail(&mut self, e: StoreError) {
        self.outcome = Some(Err(e));
    }

    fn reply(self: Box<Self>) {
        let out = self.outcome.unwrap_or_else(|| Err(stopped()));
        // The caller may have stopped waiting (its turn was cancelled); the write stands.
        let _ = self.reply.send(out);
    }
}

async fn run(
    writer: DatabaseConnection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    stats: Arc<Stats>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    let metrics = crate::metrics::global();
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        stats.batches.fetch_add(1, Relaxed);
        stats.writes.fetch_add(batch.len() as u64, Relaxed);
        metrics.db_group_commits.inc();
        metrics.db_group_commit_writes.add(batch.len() as u64);
        if batch.len() == 1 || commit_together(&writer, &mut batch).await.is_err() {
            if batch.len() > 1 {
                stats.split.fetch_add(1, Relaxed);
                metrics.db_group_commit_splits.inc();
            }
            for job in &mut batch {
                commit_alone(&writer, job.as_mut()).await;
            }
        }
        for job in batch.drain(..) {
            job.reply();
        }
    }
}

/// Runs the batch in one transaction. `Err` when anything failed: the transaction is then
/// rolled back (dropping it does that) and the outcomes kept are void.
async fn commit_together(
    writer: &DatabaseConnection,
    batch: &mut [Box<dyn Job>],
) -> Result<(), ()> {
    let txn = super::db::begin_write(writer).await.map_err(|_| ())?;
    {
        let conn = Conn::Txn(&txn);
        for job in batch.iter_mut() {
            if !job.run(&conn).await {
                return Err(());
            }
        }
    }
    txn.commit().await.map_err(|_| ())
}

/// Runs one write in a transaction of its own (a single statement in none), keeping its
/// true outcome.
async fn commit_alone(writer: &DatabaseConnection, job: &mut dyn Job) {
    if job.single() {
        job.run(&Conn::Pool(writer)).await;
        return;
    }
    let txn = match super::db::begin_write(writer).await {
        Ok(t) => t,
        Err(e) => return job.fail(e.into()),
    };
    let ok = job.run(&Conn::Txn(&txn)).await;
    if ok && let Err(e) = txn.commit().await {
        job.fail(e.into());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::*;

    async fn db() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
        let db = sea_orm::Database::connect(url).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        (dir, db)
    }

    fn insert(
        x: i64,
    ) -> impl for<'c> Fn(&'c Conn<'c>) -> BoxFuture<'c, StoreResult<u64>> + Send + Sync + 'static
    {
        move |c| {
            Box::pin(async move {
                let sql = format!("INSERT INTO t (x) VALUES ({x})");
                Ok(c.execute_unprepared(&sql).await?.rows_affected())
            })
        }
    }

    async fn count(db: &DatabaseConnection) -> i64 {
        db.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT COUNT(*) AS n FROM t",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
    }

    /// Writes that arrive together share a commit, and each gets its own answer.
    #[tokio::test]
    async fn concurrent_writes_are_committed_together() {
        let (_dir, db) = db().await;
        let group = GroupCommit::spawn(db.clone(), 64);
        let writes: Vec<_> = (0..200).map(|x| group.write(insert(x))).collect();
        let outcomes = futures::future::join_all(writes).await;
        assert!(outcomes.iter().all(|o| matches!(o, Ok(1))));
        assert_eq!(count(&db).await, 200);
        let batches = group
            .stats()
            .batches
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(batches < 200, "{batches} batches for 200 concurrent writes");
        assert_eq!(
            group
                .stats()
                .split
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }

    /// A failing write in a batch fails alone: the others of its batch land.
    #[tokio::test]
    async fn a_failing_write_takes_no_other_with_it() {
        let (_dir, db) = db().await;
        db.execute_unprepared("INSERT INTO t (x) VALUES (7)")
            .await
            .unwrap();
        let group = GroupCommit::spawn(db.clone(), 64);
        // 7 exists: its insert violates the primary key.
        // Single-statement and transactional writes mixed.
        let writes: Vec<_> = (0..20)
            .map(|x| {
                let group = group.clone();
                async move {
                    if x % 2 == 0 {
                        group.write(insert(x)).await
                    } else {
                        group.write_single(insert(x)).await
                    }
                }
            })
            .collect();
        let outcomes = futures::future::join_all(writes).await;
        for (x, o) in outcomes.iter().enumerate() {
            if x == 7 {
                assert!(matches!(o, Err(StoreError::Db(_))), "{o:?}");
            } else {
                assert!(matches!(o, Ok(1)), "write {x}: {o:?}");
            }
        }
        assert_eq!(count(&db).await, 20);
        assert!(
            group
                .stats()
                .split
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 1
        );
    }

    /// A write is answered only after its commit: what it wrote is visible to another
    /// connection by then.
    #[tokio::test]
    async fn an_answered_write_is_committed() {
        let (_dir, db) = db().await;
        let group = GroupCommit::spawn(db.clone(), 8);
        let other = db.clone();
        for x in 0..20 {
            // Alone in its batch: a single statement runs without a transaction.
            if x % 2 == 0 {
                group.write(insert(x)).await.unwrap();
            } else {
                group.write_single(insert(x)).await.unwrap();
            }
            assert_eq!(count(&other).await, x + 1);
        }
    }

    /// A write whose caller stopped waiting still lands, and the task goes on.
    #[tokio::test]
    async fn an_abandoned_write_still_lands() {
        let (_dir, db) = db().await;
        let group = GroupCommit::spawn(db.clone(), 8);
        let abandoned = tokio::time::timeout(Duration::from_nanos(1), group.write(insert(1)));
        let _ = abandoned.await;
        group.write(insert(2)).await.unwrap();
        assert_eq!(count(&db).await, 2);
    }
}
