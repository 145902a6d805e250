//! The thread half of the ChatKit store: thread rows, scoped to their owner.
//!
//! Guarantees:
//! - every query filters by `user_id`; a thread of another user is `NotFound`, exactly like a
//!   thread that does not exist;
//! - a soft-deleted thread (`deleted_at` set) is invisible to every query here and, because
//!   item access needs a loaded [`ThreadRecord`], to every item query too;
//! - listing pages by `(created_at, id)`, so threads created in the same microsecond are
//!   neither skipped nor repeated, and filters by assistant, venue and event in the query
//!   ([`ThreadFilter`]), so paging stays exact within the filtered list.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::chatkit_threads::{self, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, UpdateMany,
};
use serde_json::{Map, Value};

use super::Writes;
use super::error::{StoreError, StoreResult};
use super::owners::{OwnerStore, fenced};
use super::paging::{Order, PageOf, after_condition};
use super::thread_patch::{ThreadPatch, TitleChange};
use crate::chatkit::ThreadStatus;
use crate::vocab::AgentType;

/// Which threads a listing returns, besides being the user's and live: each field set must
/// equal the thread's column; `None` matches any value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadFilter {
    pub agent_type: Option<AgentType>,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
}

/// A thread as the server sees it, including its server-side metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRecord {
    pub id: String,
    pub user_id: String,
    pub agent_type: AgentType,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
    pub title: Option<String>,
    /// Active, locked or closed; stored as the ChatKit status object.
    pub status: ThreadStatus,
    pub allowed_image_domains: Option<Vec<String>>,
    /// Server-only metadata; never sent to clients.
    pub metadata: Map<String, Value>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_model(m: chatkit_threads::Model) -> StoreResult<ThreadRecord> {
    let metadata = match m.metadata {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(StoreError::Corrupt(format!(
                "thread {} metadata is not an object: {other}",
                m.id
            )));
        }
    };
    let allowed_image_domains = match m.allowed_image_domains {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v).map_err(|e| {
            StoreError::Corrupt(format!("thread {} allowed_image_domains: {e}", m.id))
        })?),
    };
    let agent_type = AgentType::parse(&m.agent_type)
        .map_err(|e| StoreError::Corrupt(format!("thread {} agent_type: {e}", m.id)))?;
    let status = serde_json::from_value(m.status)
        .map_err(|e| StoreError::Corrupt(format!("thread {} status: {e}", m.id)))?;
    Ok(ThreadRecord {
        id: m.id,
        user_id: m.user_id,
        agent_type,
        venue_id: m.venue_id,
        event_id: m.event_id,
        title: m.title,
        status,
        allowed_image_domains,
        metadata,
        tokens_in: m.tokens_in,
        tokens_out: m.tokens_out,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The status as stored.
fn status_json(thread_id: &str, status: &ThreadStatus) -> StoreResult<Value> {
    serde_json::to_value(status).map_err(|e| {
        StoreError::Corrupt(format!("thread {thread_id} status cannot be encoded: {e}"))
    })
}

/// [`ThreadStore::insert_thread`] on any connection (a transaction too, see `runs.rs`).
pub(super) async fn insert_on<C: sea_orm::ConnectionTrait>(
    conn: &C,
    thread: &ThreadRecord,
) -> StoreResult<()> {
    Entity::insert(to_active(thread)?)
        .exec_without_returning(conn)
        .await
        .map_err(|e| {
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) {
                StoreError::Conflict(format!("thread {} already exists", thread.id))
            } else {
                StoreError::Db(e)
            }
        })?;
    Ok(())
}

fn to_active(t: &ThreadRecord) -> StoreResult<chatkit_threads::ActiveModel> {
    Ok(chatkit_threads::ActiveModel {
        id: Set(t.id.clone()),
        user_id: Set(t.user_id.clone()),
        agent_type: Set(t.agent_type.as_str().to_owned()),
        venue_id: Set(t.venue_id.clone()),
        event_id: Set(t.event_id.clone()),
        title: Set(t.title.clone()),
        status: Set(status_json(&t.id, &t.status)?),
        allowed_image_domains: Set(t
            .allowed_image_domains
            .as_ref()
            .map(|d| Value::from(d.clone()))),
        metadata: Set(Value::Object(t.metadata.clone())),
        tokens_in: Set(t.tokens_in),
        tokens_out: Set(t.tokens_out),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
        deleted_at: Set(None),
    })
}

/// Thread queries over one connection pool.
#[derive(Clone, Debug)]
pub struct ThreadStore {
    db: DatabaseConnection,
    /// Where the writes go (`db::writer`, and group commit on SQLite).
    writes: Writes,
    owners: Option<OwnerStore>,
}

impl ThreadStore {
    /// Reads on `db`, writes on `writes` (`db::writer`; `db` itself where there is none).
    pub fn new(db: DatabaseConnection, writes: Writes, owners: Option<OwnerStore>) -> Self {
        Self { db, writes, owners }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Inserts a new thread; an existing id is a conflict.
    pub async fn insert_thread(&self, thread: &ThreadRecord) -> StoreResult<()> {
        insert_on(&self.writes.pool, thread).await
    }

    /// Writes the fields a patch changes (see `thread_patch.rs`); token counters are never
    /// written here. Only the owner's live thread is touched.
    pub async fn update_thread(
        &self,
        user_id: &str,
        thread_id: &str,
        patch: &ThreadPatch,
    ) -> StoreResult<()> {
        let mut update = Entity::update_many();
        match &patch.title {
            Some(TitleChange::User(t)) => {
                update = update.col_expr(Column::Title, Expr::value(t.clone()));
            }
            Some(TitleChange::Generated(t)) => {
                // Only where no title is set: a rename that landed first wins.
                let kept = Func::coalesce([Expr::col(Column::Title), Expr::value(t.clone())]);
                update = update.col_expr(Column::Title, kept.into());
            }
            None => {}
        }
        if let Some(status) = &patch.status {
            let v = status_json(thread_id, status)?;
            update = update.col_expr(Column::Status, Expr::value(v));
        }
        if let Some(domains) = &patch.allowed_image_domains {
            let v = domains.as_ref().map(|d| Value::from(d.clone()));
            update = update.col_expr(Column::AllowedImageDomains, Expr::value(v));
        }
        if let Some(metadata) = &patch.metadata {
            let v = Value::Object(metadata.clone());
            update = update.col_expr(Column::Metadata, Expr::value(v));
        }
        let update = update
            .col_expr(Column::UpdatedAt, Expr::value(patch.updated_at))
            .filter(Column::Id.eq(thread_id))
            .filter(Column::UserId.eq(user_id))
            .filter(Column::DeletedAt.is_null());
        let res: sea_orm::UpdateResult = match self.writes.grouped(&self.owners) {
            Some(group) => {
                let update = Arc::new(update);
                group
                    .write_single(move |c| {
                        let update = UpdateMany::clone(&update);
                        Box::pin(async move { update.exec(c).await.map_err(StoreError::from) })
                    })
                    .await?
            }
            None => fenced!(self.owners, &self.writes.pool, thread_id, |c| {
                update.exec(c).await.map_err(StoreError::from)
            })?,
        };
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("thread"));
        }
        Ok(())
    }

    /// Loads a live thread of `user_id`.
    pub async fn load_thread(&self, user_id: &str, thread_id: &str) -> StoreResult<ThreadRecord> {
        let model = Entity::find_by_id(thread_id.to_owned())
            .filter(Column::UserId.eq(user_id))
            .filter(Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("thread"))?;
        from_model(model)
    }

    /// Loads a live thread by id alone, for the server's own use (rehydrating an actor whose
    /// owner is checked elsewhere). Never call this with an id taken from a request without
    /// checking `user_id` afterwards.
    pub async fn load_thread_unscoped(&self, thread_id: &str) -> StoreResult<ThreadRecord> {
        let model = Entity::find_by_id(thread_id.to_owned())
            .filter(Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("thread"))?;
        from_model(model)
    }

    /// A page of the user's live threads, ordered by `(created_at, id)`.
    pub async fn list_threads(
        &self,
        user_id: &str,
        limit: u64,
        after: Option<&str>,
        order: Order,
    ) -> StoreResult<PageOf<ThreadRecord>> {
        self.list_threads_where(user_id, &ThreadFilter::default(), limit, after, order)
            .await
    }

    /// A page of the user's live threads that match `filter`, ordered by
    /// `(created_at, id)`. The filter is part of the query, so pages are full and
    /// `has_more`/`after` describe the filtered list; the `after` thread only has to be the
    /// user's (its position is what counts).
    pub async fn list_threads_where(
        &self,
        user_id: &str,
        filter: &ThreadFilter,
        limit: u64,
        after: Option<&str>,
        order: Order,
    ) -> StoreResult<PageOf<ThreadRecord>> {
        let mut query = Entity::find()
            .filter(Column::UserId.eq(user_id))
            .filter(Column::DeletedAt.is_null());
        if let Some(a) = filter.agent_type {
            // The column holds the agent type's one string form.
            query = query.filter(Column::AgentType.eq(a.as_str()));
        }
        if let Some(v) = &filter.venue_id {
            query = query.filter(Column::VenueId.eq(v.as_str()));
        }
        if let Some(e) = &filter.event_id {
            query = query.filter(Column::EventId.eq(e.as_str()));
        }
        if let Some(cursor) = after {
            let anchor = Entity::find_by_id(cursor.to_owned())
                .filter(Column::UserId.eq(user_id))
                .one(&self.db)
                .await?
                .ok_or(StoreError::NotFound("cursor thread"))?;
            query = query.filter(after_condition(
                order,
                Column::CreatedAt,
                anchor.created_at,
                Column::Id,
                anchor.id,
            ));
        }
        query = match order {
            Order::Asc => query
                .order_by_asc(Column::CreatedAt)
                .order_by_asc(Column::Id),
            Order::Desc => query
                .order_by_desc(Column::CreatedAt)
                .order_by_desc(Column::Id),
        };
        let rows = query.limit(limit.saturating_add(1)).all(&self.db).await?;
        let page = PageOf::from_overfetch(rows, limit, |m| m.id.clone());
        page.try_map(from_model)
    }

    /// Soft-deletes a thread: it disappears from every later request. Its items stay in the
    /// database for retention policies but are unreachable through the store.
    pub async fn soft_delete_thread(
        &self,
        user_id: &str,
        thread_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let res = Entity::update_many()
            .col_expr(Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(thread_id))
            .filter(Column::UserId.eq(user_id))
            .filter(Column::DeletedAt.is_null())
            .exec(&self.writes.pool)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("thread"));
        }
        Ok(())
    }
}

/// Adds a turn's token usage to the thread's counters, on `conn`: the one write of the token
/// columns, an increment in the database, so concurrent turns and restarts cannot lose or
/// double a turn's tokens, and it commutes with every other write of the row (it needs no
/// place in the row writer's order).
pub(crate) async fn add_token_usage_on(
    conn: &impl ConnectionTrait,
    thread_id: &str,
    tokens_in: i64,
    tokens_out: i64,
) -> StoreResult<()> {
    Entity::update_many()
        .col_expr(Column::TokensIn, Expr::col(Column::TokensIn).add(tokens_in))
        .col_expr(
            Column::TokensOut,
            Expr::col(Column::TokensOut).add(tokens_out),
        )
        .filter(Column::Id.eq(thread_id))
        .exec(conn)
        .await?;
    Ok(())
}
