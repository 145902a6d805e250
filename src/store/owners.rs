//! Thread ownership in a cluster (issue #17): which node runs a thread's actor, and the
//! fence that keeps every other node's writes out of the thread.
//!
//! Protocol (PostgreSQL, `cluster_thread_owners`, `cluster_nodes`):
//! - [`OwnerStore::claim`] runs before a node starts a thread's actor. It inserts the row, or
//!   takes it over when the row's node (at the epoch it claimed with) is dead: not `live`, or
//!   its heartbeat older than `cluster.heartbeat_timeout_ms` by the database's clock. A
//!   takeover adds one to `owner_epoch`. A row held by a live other node is not touched: the
//!   claim answers [`Claim::Elsewhere`] and the request goes there.
//! - While this node owns the thread it remembers the epoch of its claim. Every write of the
//!   thread's items, run row, thread row and tool audit then runs in one transaction that
//!   first reads the owner row `FOR SHARE` and finds it unchanged ([`OwnerStore::check`]). A
//!   takeover's `UPDATE` waits for such a transaction, and such a transaction started after a
//!   takeover sees the new epoch, so a write either lands before the thread changed hands or
//!   not at all. A refused write ([`StoreError::Fenced`]) marks the thread lost on this node:
//!   every later write of its old actor is refused without asking the database, and the
//!   actor stops.
//! - [`OwnerStore::release`] deletes the row when the actor is evicted (idle) or the node
//!   leaves, naming the epoch, so a node never deletes a row it no longer holds.
//!
//! Without a cluster there is no `OwnerStore` and every write goes straight to the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

use super::error::{StoreError, StoreResult};

/// This node's hold on a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Claimed with this owner epoch.
    Owned(i64),
    /// Taken over by another node; this node must not write to it again.
    Lost,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node owns the thread. `fresh`: the claim inserted the row or took it over (the
    /// thread's previous turn, if one is left, is this node's to close).
    Here { owner_epoch: i64, fresh: bool },
    /// A live other node owns it.
    Elsewhere { node_id: String, address: String },
}

/// Who owns a thread, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// No row, a dead owner, or this node: the request is served here (after a claim).
    Here,
    Elsewhere {
        node_id: String,
        address: String,
    },
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    node_id: String,
    /// This node's epoch in `cluster_nodes`, set when it joins (`cluster::membership`).
    node_epoch: Arc<AtomicI64>,
    timeout_ms: i64,
    holds: DashMap<String, Hold>,
}

/// Cheap to clone; one per node, shared by the stores that fence their writes.
#[derive(Debug, Clone)]
pub struct OwnerStore {
    inner: Arc<Inner>,
}

/// The condition, on `cluster_nodes n`, that the node is alive (`$t`: the timeout in ms).
fn alive(t: usize) -> String {
    format!("n.state = 'live' AND n.heartbeat_at > now() - ${t} * interval '1 millisecond'")
}

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

impl OwnerStore {
    pub fn new(
        db: DatabaseConnection,
        node_id: String,
        node_epoch: Arc<AtomicI64>,
        heartbeat_timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                node_id,
                node_epoch,
                timeout_ms: i64::try_from(heartbeat_timeout.as_millis()).unwrap_or(i64::MAX),
                holds: DashMap::new(),
            }),
        }
    }

    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    fn node_epoch(&self) -> i64 {
        self.inner.node_epoch.load(Ordering::Acquire)
    }

    /// This node's hold on a thread, if it has one.
    pub fn hold(&self, thread_id: &str) -> Option<Hold> {
        self.inner.holds.get(thread_id).map(|h| *h)
    }

    /// How many threads this node holds (lost ones not counted).
    pub fn held(&self) -> usize {
        self.inner
            .holds
            .iter()
            .filter(|h| matches!(*h.value(), Hold::Owned(_)))
            .count()
    }

    /// The owner epoch a write of `thread_id` must find, `None` when this node holds no
    /// claim on it (the write is not fenced); `Fenced` when the thread was taken over.
    pub fn guard(&self, thread_id: &str) -> StoreResult<Option<i64>> {
        match self.hold(thread_id) {
            None => Ok(None),
            Some(Hold::Owned(epoch)) => Ok(Some(epoch)),
            Some(Hold::Lost) => Err(StoreError::Fenced(thread_id.to_owned())),
        }
    }

    /// Inside a write's transaction: the owner row still names this node and `epoch`. Locks
    /// the row (`FOR SHARE`) until the transaction ends, so no takeover commits in between.
    pub async fn check<C: ConnectionTrait>(
        &self,
        conn: &C,
        thread_id: &str,
        epoch: i64,
    ) -> StoreResult<()> {
        let row = conn
            .query_one_raw(stmt(
                "SELECT 1 AS held FROM cluster_thread_owners \
                 WHERE thread_id = $1 AND node_id = $2 AND owner_epoch = $3 FOR SHARE",
                vec![
                    thread_id.into(),
                    self.inner.node_id.clone().into(),
                    epoch.into(),
                ],
            ))
            .await?;
        if row.is_some() {
            return Ok(());
        }
        self.lose(thread_id, epoch);
        Err(StoreError::Fenced(thread_id.to_owned()))
    }

    /// The fence on its own, outside a write (before a tool call that writes the domain).
    pub async fn verify(&self, thread_id: &str) -> StoreResult<()> {
        match self.guard(thread_id)? {
            None => Ok(()),
            Some(epoch) => self.check(&self.inner.db, thread_id, epoch).await,
        }
    }

    /// Marks a thread lost if this node still held it with `epoch`.
    fn lose(&self, thread_id: &str, epoch: i64) {
        if let Some(mut hold) = self.inner.holds.get_mut(thread_id)
            && *hold == Hold::Owned(epoch)
        {
            *hold = Hold::Lost;
            crate::metrics::global().cluster_fenced_writes.inc();
            tracing::warn!(
                thread_id,
                epoch,
                "thread taken over by another node; its writes here are refused"
            );
        }
    }

    /// Who owns `thread_id` (no claim is made).
    pub async fn owner(&self, thread_id: &str) -> StoreResult<Owner> {
        let sql = format!(
            "SELECT o.node_id, o.node_epoch, n.address, ({}) AS alive \
             FROM cluster_thread_owners o \
             LEFT JOIN cluster_nodes n ON n.node_id = o.node_id AND n.epoch = o.node_epoch \
             WHERE o.thread_id = $1",
            alive(2)
        );
        let row = self
            .inner
            .db
            .query_one_raw(stmt(
                &sql,
                vec![thread_id.into(), self.inner.timeout_ms.into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(Owner::Here);
        };
        let node_id: String = row.try_get("", "node_id")?;
        let node_epoch: i64 = row.try_get("", "node_epoch")?;
        let alive: Option<bool> = row.try_get("", "alive")?;
        let address: Option<String> = row.try_get("", "address")?;
        let mine = node_id == self.inner.node_id && node_epoch == self.node_epoch();
        match (mine, alive.unwrap_or(false), address) {
            (false, true, Some(address)) => Ok(Owner::Elsewhere { node_id, address }),
            _ => Ok(Owner::Here),
        }
    }

    /// Claims `thread_id` for this node (see the module doc).
    pub async fn claim(&self, thread_id: &str) -> StoreResult<Claim> {
        let node_epoch = self.node_epoch();
        let sql = format!(
            "INSERT INTO cluster_thread_owners AS o (thread_id, node_id, node_epoch, owner_epoch) \
             VALUES ($1, $2, $3, 1) \
             ON CONFLICT (thread_id) DO UPDATE SET node_id = EXCLUDED.node_id, \
               node_epoch = EXCLUDED.node_epoch, owner_epoch = o.owner_epoch + 1, claimed_at = now() \
             WHERE NOT EXISTS (SELECT 1 FROM cluster_nodes n \
               WHERE n.node_id = o.node_id AND n.epoch = o.node_epoch AND {}) \
             RETURNING owner_epoch",
            alive(4)
        );
        let values = vec![
            thread_id.into(),
            self.inner.node_id.clone().into(),
            node_epoch.into(),
            self.inner.timeout_ms.into(),
        ];
        if let Some(row) = self.inner.db.query_one_raw(stmt(&sql, values)).await? {
            let owner_epoch: i64 = row.try_get("", "owner_epoch")?;
            if owner_epoch > 1 {
                crate::metrics::global().cluster_takeovers.inc();
            }
            self.inner
                .holds
                .insert(thread_id.to_owned(), Hold::Owned(owner_epoch));
            return Ok(Claim::Here {
                owner_epoch,
                fresh: true,
            });
        }
        // The row is held by a live node: this one at its current epoch, or another.
        let row = self
            .inner
            .db
            .query_one_raw(stmt(
                "SELECT o.node_id, o.node_epoch, o.owner_epoch, n.address \
                 FROM cluster_thread_owners o \
                 LEFT JOIN cluster_nodes n ON n.node_id = o.node_id AND n.epoch = o.node_epoch \
                 WHERE o.thread_id = $1",
                vec![thread_id.into()],
            ))
            .await?
            .ok_or_else(|| StoreError::Conflict("the thread's owner row vanished".into()))?;
        let node_id: String = row.try_get("", "node_id")?;
        let row_epoch: i64 = row.try_get("", "node_epoch")?;
        let owner_epoch: i64 = row.try_get("", "owner_epoch")?;
        if node_id == self.inner.node_id && row_epoch == node_epoch {
            self.inner
                .holds
                .insert(thread_id.to_owned(), Hold::Owned(owner_epoch));
            return Ok(Claim::Here {
                owner_epoch,
                fresh: false,
            });
        }
        let address: Option<String> = row.try_get("", "address")?;
        Ok(Claim::Elsewhere {
            node_id,
            address: address.unwrap_or_default(),
        })
    }

    /// Threads whose turn is still marked running (`chatkit_turn_runs`) but whose owner is a
    /// dead node: turns nobody will finish, to be closed by a node that claims them.
    pub async fn orphaned_turns(&self, limit: u64) -> StoreResult<Vec<String>> {
        let sql = format!(
            "SELECT r.thread_id FROM chatkit_turn_runs r \
             JOIN cluster_thread_owners o ON o.thread_id = r.thread_id \
             WHERE NOT EXISTS (SELECT 1 FROM cluster_nodes n \
               WHERE n.node_id = o.node_id AND n.epoch = o.node_epoch AND {}) \
             ORDER BY r.started_at LIMIT $2",
            alive(1)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .inner
            .db
            .query_all_raw(stmt(&sql, vec![self.inner.timeout_ms.into(), limit.into()]))
            .await?;
        rows.iter()
            .map(|r| {
                r.try_get::<String>("", "thread_id")
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// Gives a thread up (its actor was evicted or stopped): the row goes if this node still
    /// holds it with the epoch it remembers.
    pub async fn release(&self, thread_id: &str) -> StoreResult<()> {
        let Some((_, hold)) = self.inner.holds.remove(thread_id) else {
            return Ok(());
        };
        let Hold::Owned(epoch) = hold else {
            return Ok(());
        };
        self.inner
            .db
            .execute_raw(stmt(
                "DELETE FROM cluster_thread_owners \
                 WHERE thread_id = $1 AND node_id = $2 AND owner_epoch = $3",
                vec![
                    thread_id.into(),
                    self.inner.node_id.clone().into(),
                    epoch.into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// Forgets every hold (the node left the cluster or lost its membership); the rows are
    /// deleted by the caller with the node's epoch.
    pub fn forget_all(&self) {
        self.inner.holds.clear();
    }

    /// Marks every hold lost (the node found its membership taken over).
    pub fn lose_all(&self) {
        for mut hold in self.inner.holds.iter_mut() {
            *hold = Hold::Lost;
        }
    }
}

/// Runs a write of thread `$thread_id`: straight on `$db` when `$owners` (an
/// `Option<OwnerStore>`) holds no claim on it, else in one transaction that checks the claim
/// first. `$body` is evaluated with `$conn` bound to the connection or transaction; it must
/// give a `StoreResult`.
macro_rules! fenced {
    ($owners:expr, $db:expr, $thread_id:expr, |$conn:ident| $body:expr) => {{
        let epoch = match &$owners {
            Some(owners) => owners.guard($thread_id)?.map(|e| (owners, e)),
            None => None,
        };
        match epoch {
            None => {
                let $conn = $db;
                $body
            }
            Some((owners, epoch)) => {
                let txn = sea_orm::TransactionTrait::begin($db).await?;
                owners.check(&txn, $thread_id, epoch).await?;
                let out = {
                    let $conn = &txn;
                    $body
                }?;
                txn.commit().await?;
                Ok(out)
            }
        }
    }};
}
pub(crate) use fenced;
