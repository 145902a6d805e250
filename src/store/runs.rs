//! The turns that are running (`chatkit_turn_runs`), so that a turn a dead process left
//! unfinished can be closed when the server starts again (issue #20).
//!
//! Protocol:
//! - [`RunStore::begin`] is a turn's first write, one transaction: the thread row when the
//!   turn creates the thread, the turn's input item when it has one (the user message), and
//!   the run row. So a thread never exists without its first message (nothing the client
//!   never saw shows in `threads.list`), and a stored user message always has its run row.
//! - [`RunStore::finish`] is a turn's last write, however it ends: the turn's token usage
//!   (an increment of the thread's counters) and the delete of its row, in one transaction
//!   (on SQLite, one write of a group commit, `group_commit.rs`, which may share its
//!   transaction with other threads' writes). [`RunStore::end`] is the
//!   delete alone (recovery, a turn stopped from outside). Both name the turn, so a late
//!   delete never removes the row of the thread's next turn.
//! - [`RunStore::open`] lists the rows left; only startup reads it, before any turn runs
//!   (one process per database: the cluster of issue #17 adds the owner's fencing).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::chatkit_turn_runs::{self, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::Writes;
use super::error::StoreResult;
use super::items::{ItemRecord, upsert_on};
use super::owners::OwnerStore;
use super::threads::{ThreadRecord, add_token_usage_on, insert_on};

/// A running (or, at startup, abandoned) turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub thread_id: String,
    pub turn_id: String,
    pub started_at: DateTime<Utc>,
}

/// What a turn writes first (see the module doc).
pub struct TurnBegin<'a> {
    pub thread: &'a ThreadRecord,
    /// The thread is new: its row is inserted in the same transaction.
    pub new_thread: bool,
    /// The turn's input item (a user message), if it has one.
    pub item: Option<&'a ItemRecord>,
    pub turn_id: &'a str,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct RunStore {
    db: DatabaseConnection,
    /// Where the writes go (`db::writer`, and group commit on SQLite).
    writes: Writes,
    owners: Option<OwnerStore>,
}

impl RunStore {
    /// Reads on `db`, writes on `writes` (`db::writer`; `db` itself where there is none).
    pub fn new(db: DatabaseConnection, writes: Writes, owners: Option<OwnerStore>) -> Self {
        Self { db, writes, owners }
    }

    /// A write transaction of `thread_id`'s turn on the writer, fenced in a cluster like every
    /// other write of the thread's owner (`owners.rs`).
    async fn write_txn(&self, thread_id: &str) -> StoreResult<DatabaseTransaction> {
        let txn = super::db::begin_write(&self.writes.pool).await?;
        if let Some(owners) = &self.owners
            && let Some(epoch) = owners.guard(thread_id)?
        {
            owners.check(&txn, thread_id, epoch).await?;
        }
        Ok(txn)
    }

    /// A turn's first write, in one transaction (see the module doc).
    pub async fn begin(&self, b: TurnBegin<'_>) -> StoreResult<()> {
        if let Some(group) = self.writes.grouped(&self.owners) {
            let owned = Arc::new(OwnedBegin {
                thread: b.thread.clone(),
                new_thread: b.new_thread,
                item: b.item.cloned(),
                turn_id: b.turn_id.to_owned(),
                now: b.now,
            });
            return group
                .write(move |c| {
                    let o = owned.clone();
                    Box::pin(async move { begin_on(c, &o.borrowed()).await })
                })
                .await;
        }
        let txn = self.write_txn(&b.thread.id).await?;
        begin_on(&txn, &b).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The turn ended: its row goes (a row of a later turn of the thread stays).
    pub async fn end(&self, thread_id: &str, turn_id: &str) -> StoreResult<()> {
        if let Some(group) = self.writes.grouped(&self.owners) {
            let ids = Arc::new((thread_id.to_owned(), turn_id.to_owned()));
            return group
                .write_single(move |c| {
                    let ids = ids.clone();
                    Box::pin(async move { delete_on(c, &ids.0, &ids.1).await })
                })
                .await;
        }
        delete_on(&self.writes.pool, thread_id, turn_id).await
    }

    /// The turn ended having used `usage` (prompt, completion) tokens: the thread's counters
    /// grow and the run row goes, in one transaction (one commit instead of two; fenced in a
    /// cluster like every write of the thread's owner).
    pub async fn finish(
        &self,
        thread_id: &str,
        turn_id: &str,
        usage: (i64, i64),
    ) -> StoreResult<()> {
        if usage == (0, 0) {
            return self.end(thread_id, turn_id).await;
        }
        if let Some(group) = self.writes.grouped(&self.owners) {
            let ids = Arc::new((thread_id.to_owned(), turn_id.to_owned()));
            return group
                .write(move |c| {
                    let ids = ids.clone();
                    Box::pin(async move { finish_on(c, &ids.0, &ids.1, usage).await })
                })
                .await;
        }
        let txn = self.write_txn(thread_id).await?;
        finish_on(&txn, thread_id, turn_id, usage).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The row of `thread_id`, if its last turn did not end.
    pub async fn find(&self, thread_id: &str) -> StoreResult<Option<RunRecord>> {
        let row = Entity::find_by_id(thread_id.to_owned())
            .one(&self.db)
            .await?;
        Ok(row.map(|m| RunRecord {
            thread_id: m.thread_id,
            turn_id: m.turn_id,
            started_at: m.started_at,
        }))
    }

    /// The thread a running turn belongs to (routing a resume or cancel in a cluster).
    pub async fn thread_of_turn(&self, turn_id: &str) -> StoreResult<Option<String>> {
        let row = Entity::find()
            .filter(Column::TurnId.eq(turn_id))
            .one(&self.db)
            .await?;
        Ok(row.map(|m| m.thread_id))
    }

    /// Every row, oldest first.
    pub async fn open(&self) -> StoreResult<Vec<RunRecord>> {
        let rows = Entity::find()
            .order_by_asc(Column::StartedAt)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| RunRecord {
                thread_id: m.thread_id,
                turn_id: m.turn_id,
                started_at: m.started_at,
            })
            .collect())
    }
}

/// [`TurnBegin`] with owned fields, for a write that may run twice (`group_commit.rs`).
struct OwnedBegin {
    thread: ThreadRecord,
    new_thread: bool,
    item: Option<ItemRecord>,
    turn_id: String,
    now: DateTime<Utc>,
}

impl OwnedBegin {
    fn borrowed(&self) -> TurnBegin<'_> {
        TurnBegin {
            thread: &self.thread,
            new_thread: self.new_thread,
            item: self.item.as_ref(),
            turn_id: &self.turn_id,
            now: self.now,
        }
    }
}

/// The statements of [`RunStore::begin`], on `conn` (inside a transaction).
async fn begin_on(conn: &impl ConnectionTrait, b: &TurnBegin<'_>) -> StoreResult<()> {
    if b.new_thread {
        insert_on(conn, b.thread).await?;
    }
    if let Some(item) = b.item {
        upsert_on(conn, &b.thread.id, item).await?;
    }
    let row = chatkit_turn_runs::ActiveModel {
        thread_id: Set(b.thread.id.clone()),
        turn_id: Set(b.turn_id.to_owned()),
        started_at: Set(b.now),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::ThreadId)
                .update_columns([Column::TurnId, Column::StartedAt])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The statements of [`RunStore::finish`], on `conn` (inside a transaction).
async fn finish_on(
    conn: &impl ConnectionTrait,
    thread_id: &str,
    turn_id: &str,
    usage: (i64, i64),
) -> StoreResult<()> {
    add_token_usage_on(conn, thread_id, usage.0, usage.1).await?;
    delete_on(conn, thread_id, turn_id).await
}

/// Deletes the run row of `turn_id` (and only that turn's), on `conn`.
async fn delete_on(conn: &impl ConnectionTrait, thread_id: &str, turn_id: &str) -> StoreResult<()> {
    Entity::delete_many()
        .filter(Column::ThreadId.eq(thread_id))
        .filter(Column::TurnId.eq(turn_id))
        .exec(conn)
        .await?;
    Ok(())
}
