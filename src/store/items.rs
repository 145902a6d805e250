//! The item half of the ChatKit store: thread items in a stable order.
//!
//! Guarantees:
//! - item access takes a [`ThreadRecord`], which only `ThreadStore::load_thread` (scoped to
//!   the owner) hands out, so an item can never be reached through another user's thread;
//! - the order is `(created_at, seq)`, where `seq` is a monotonic row number assigned on first
//!   insert, so items with identical timestamps page without gaps or duplicates;
//! - writes are upserts (the reference's insert-on-`done` fails on a repeated `done`, see
//!   protocol §12.2); an upsert keeps the original `seq` and `created_at`, and refuses to
//!   touch an item id that belongs to another thread;
//! - hidden items (`hidden_context_item`, `sdk_hidden_context`) and snapshots of an answer
//!   still being streamed (status `in_progress`, see `conversation::snapshot`) are filtered in
//!   SQL when the caller asks for visible items, so pages stay full.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::chatkit_thread_items::{self, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::Writes;
use super::error::{StoreError, StoreResult};
use super::owners::{OwnerStore, fenced};
use super::paging::{Order, PageOf, after_condition};
use super::threads::ThreadRecord;
use crate::vocab::{ItemStatus, ItemType};

/// Whether a listing includes hidden items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// What clients may see.
    Visible,
    /// Everything, for the server's own use (history for the model, retries).
    All,
}

/// A stored item: the ChatKit item JSON plus the server-side columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRecord {
    pub id: String,
    pub thread_id: String,
    pub item_type: ItemType,
    pub role: Option<String>,
    pub status: Option<ItemStatus>,
    /// The item exactly as it goes on the wire.
    pub content: Value,
    /// Server-only data (tool arguments and results); never sent to clients.
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

fn from_model(m: chatkit_thread_items::Model) -> StoreResult<ItemRecord> {
    let corrupt = |column: &str, e: crate::vocab::UnknownValue| {
        StoreError::Corrupt(format!("item {} {column}: {e}", m.id))
    };
    let item_type = ItemType::parse(&m.item_type).map_err(|e| corrupt("item_type", e))?;
    let status = match m.status.as_deref() {
        None => None,
        Some(s) => Some(ItemStatus::parse(s).map_err(|e| corrupt("status", e))?),
    };
    Ok(ItemRecord {
        id: m.id,
        thread_id: m.thread_id,
        item_type,
        role: m.role,
        status,
        content: m.content,
        metadata: m.metadata,
        created_at: m.created_at,
    })
}

/// [`ItemStore::upsert_item`] on any connection (a transaction too, see `runs.rs`), into
/// thread `thread_id`.
pub(super) async fn upsert_on<C: ConnectionTrait>(
    conn: &C,
    thread_id: &str,
    item: &ItemRecord,
) -> StoreResult<()> {
    if item.thread_id != thread_id {
        return Err(StoreError::Conflict(format!(
            "item {} names thread {}, not {thread_id}",
            item.id, item.thread_id
        )));
    }
    let model = chatkit_thread_items::ActiveModel {
        seq: NotSet,
        id: Set(item.id.clone()),
        thread_id: Set(thread_id.to_owned()),
        item_type: Set(item.item_type.as_str().to_owned()),
        role: Set(item.role.clone()),
        content: Set(item.content.clone()),
        status: Set(item.status.map(|s| s.as_str().to_owned())),
        metadata: Set(item.metadata.clone()),
        created_at: Set(item.created_at),
    };
    let affected = Entity::insert(model)
        .on_conflict(
            OnConflict::column(Column::Id)
                .update_columns([
                    Column::ItemType,
                    Column::Role,
                    Column::Content,
                    Column::Status,
                    Column::Metadata,
                ])
                .action_and_where(Expr::col((Entity, Column::ThreadId)).eq(thread_id))
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if affected == 0 {
        return Err(StoreError::Conflict(format!(
            "item id {} is taken by another thread",
            item.id
        )));
    }
    Ok(())
}

/// Item queries over one connection pool. The writes of a thread this node holds in a
/// cluster are fenced (`owners.rs`).
#[derive(Clone, Debug)]
pub struct ItemStore {
    db: DatabaseConnection,
    /// Where the writes go (`db::writer`, and group commit on SQLite).
    writes: Writes,
    owners: Option<OwnerStore>,
}

impl ItemStore {
    /// Reads on `db`, writes on `writes` (`db::writer`; `db` itself where there is none).
    pub fn new(db: DatabaseConnection, writes: Writes, owners: Option<OwnerStore>) -> Self {
        Self { db, writes, owners }
    }

    /// Inserts the item, or updates it in place if its id exists in the same thread.
    pub async fn upsert_item(&self, thread: &ThreadRecord, item: &ItemRecord) -> StoreResult<()> {
        if let Some(group) = self.writes.grouped(&self.owners) {
            let write = Arc::new((thread.id.clone(), item.clone()));
            return group
                .write_single(move |c| {
                    let write = write.clone();
                    Box::pin(async move { upsert_on(c, &write.0, &write.1).await })
                })
                .await;
        }
        fenced!(self.owners, &self.writes.pool, &thread.id, |c| upsert_on(
            c, &thread.id, item
        )
        .await)
    }

    /// A page of the thread's items in `(created_at, seq)` order, starting strictly after the
    /// item `after` when given.
    pub async fn load_items(
        &self,
        thread: &ThreadRecord,
        after: Option<&str>,
        limit: u64,
        order: Order,
        visibility: Visibility,
    ) -> StoreResult<PageOf<ItemRecord>> {
        let mut query = Entity::find().filter(Column::ThreadId.eq(&thread.id));
        if visibility == Visibility::Visible {
            // Hidden items, and the snapshot of an answer still being written (it becomes
            // visible when its turn finishes it, or startup closes it as interrupted).
            query = query
                .filter(Column::ItemType.is_not_in(ItemType::HIDDEN.map(ItemType::as_str)))
                .filter(
                    Column::Status
                        .is_null()
                        .or(Column::Status.ne(ItemStatus::InProgress.as_str())),
                );
        }
        if let Some(cursor) = after {
            let anchor = self.find_model(thread, cursor).await?;
            query = query.filter(after_condition(
                order,
                Column::CreatedAt,
                anchor.created_at,
                Column::Seq,
                anchor.seq,
            ));
        }
        query = match order {
            Order::Asc => query
                .order_by_asc(Column::CreatedAt)
                .order_by_asc(Column::Seq),
            Order::Desc => query
                .order_by_desc(Column::CreatedAt)
                .order_by_desc(Column::Seq),
        };
        let rows = query.limit(limit.saturating_add(1)).all(&self.db).await?;
        let page = PageOf::from_overfetch(rows, limit, |m| m.id.clone());
        Ok(PageOf {
            data: page
                .data
                .into_iter()
                .map(from_model)
                .collect::<StoreResult<_>>()?,
            has_more: page.has_more,
            after: page.after,
        })
    }

    /// The newest `n` items (hidden ones included), newest first.
    pub async fn newest_items(
        &self,
        thread: &ThreadRecord,
        n: u64,
    ) -> StoreResult<Vec<ItemRecord>> {
        Ok(self
            .load_items(thread, None, n, Order::Desc, Visibility::All)
            .await?
            .data)
    }

    /// Every item of the thread, oldest first (hidden ones included).
    pub async fn all_items(&self, thread: &ThreadRecord) -> StoreResult<Vec<ItemRecord>> {
        let rows = Entity::find()
            .filter(Column::ThreadId.eq(&thread.id))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Seq)
            .all(&self.db)
            .await?;
        rows.into_iter().map(from_model).collect()
    }

    /// One item of the thread.
    pub async fn load_item(&self, thread: &ThreadRecord, item_id: &str) -> StoreResult<ItemRecord> {
        from_model(self.find_model(thread, item_id).await?)
    }

    async fn find_model(
        &self,
        thread: &ThreadRecord,
        item_id: &str,
    ) -> StoreResult<chatkit_thread_items::Model> {
        Entity::find()
            .filter(Column::ThreadId.eq(&thread.id))
            .filter(Column::Id.eq(item_id))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("item"))
    }

    /// Deletes one item; `NotFound` if it is not in the thread.
    pub async fn delete_item(&self, thread: &ThreadRecord, item_id: &str) -> StoreResult<()> {
        let delete = Entity::delete_many()
            .filter(Column::ThreadId.eq(&thread.id))
            .filter(Column::Id.eq(item_id));
        let res: sea_orm::DeleteResult =
            fenced!(self.owners, &self.writes.pool, &thread.id, |c| {
                delete.exec(c).await.map_err(StoreError::from)
            })?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("item"));
        }
        Ok(())
    }

    /// Deletes every item ordered after `item_id` (used by retry); returns how many went.
    pub async fn delete_items_after(
        &self,
        thread: &ThreadRecord,
        item_id: &str,
    ) -> StoreResult<u64> {
        let anchor = self.find_model(thread, item_id).await?;
        let delete = Entity::delete_many()
            .filter(Column::ThreadId.eq(&thread.id))
            .filter(after_condition(
                Order::Asc,
                Column::CreatedAt,
                anchor.created_at,
                Column::Seq,
                anchor.seq,
            ));
        let res: sea_orm::DeleteResult =
            fenced!(self.owners, &self.writes.pool, &thread.id, |c| {
                delete.exec(c).await.map_err(StoreError::from)
            })?;
        Ok(res.rows_affected)
    }

    /// The thread's items stored as snapshots of an unfinished answer
    /// (`ItemStatus::InProgress`), oldest first.
    pub async fn in_progress(&self, thread: &ThreadRecord) -> StoreResult<Vec<ItemRecord>> {
        let rows = Entity::find()
            .filter(Column::ThreadId.eq(&thread.id))
            .filter(Column::Status.eq(ItemStatus::InProgress.as_str()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Seq)
            .all(&self.db)
            .await?;
        rows.into_iter().map(from_model).collect()
    }

    /// The newest pending client tool call of the thread, wherever it stands: hidden items
    /// written after it do not hide it (protocol §12.3).
    pub async fn pending_client_tool_call(
        &self,
        thread: &ThreadRecord,
    ) -> StoreResult<Option<ItemRecord>> {
        let row = Entity::find()
            .filter(Column::ThreadId.eq(&thread.id))
            .filter(Column::ItemType.eq(ItemType::ClientToolCall.as_str()))
            .filter(Column::Status.eq(ItemStatus::Pending.as_str()))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Seq)
            .one(&self.db)
            .await?;
        row.map(from_model).transpose()
    }

    /// The user message of `user_id` that a send with idempotency key `key` stored since
    /// `since` (its server metadata's `send_key`), in `thread_id` or in any of the user's
    /// threads: `(thread id, item id)`. How a repeat is recognised when the first send's
    /// claim is not in this process's memory (it restarted, or another node took the
    /// send). Bounded: the user's newest messages of the window, at most [`SEND_KEY_SCAN`].
    pub async fn sent_with_key(
        &self,
        user_id: &str,
        thread_id: Option<&str>,
        key: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<(String, String)>> {
        use entity::chatkit_threads;
        let mut query = Entity::find()
            .inner_join(chatkit_threads::Entity)
            .filter(chatkit_threads::Column::UserId.eq(user_id))
            .filter(Column::ItemType.eq(ItemType::UserMessage.as_str()))
            .filter(Column::CreatedAt.gte(since));
        if let Some(thread_id) = thread_id {
            query = query.filter(Column::ThreadId.eq(thread_id));
        }
        let rows = query
            .order_by_desc(Column::CreatedAt)
            .limit(SEND_KEY_SCAN)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .find(|row| row.metadata.get(SEND_KEY).and_then(Value::as_str) == Some(key))
            .map(|row| (row.thread_id, row.id)))
    }
}

/// The server-metadata field of a user message that holds its send's idempotency key.
pub const SEND_KEY: &str = "send_key";
/// The most messages [`ItemStore::sent_with_key`] looks at.
pub const SEND_KEY_SCAN: u64 = 500;
