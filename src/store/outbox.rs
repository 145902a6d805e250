//! The cluster's outbox of domain changes (issue #17; PostgreSQL only, `cluster_outbox`).
//!
//! A node that publishes a domain change appends a row and, in the same statement, calls
//! `pg_notify('eventchat_outbox', id)`: PostgreSQL delivers a notification when its
//! transaction commits, so a node woken by it always finds the row. The other nodes read the
//! rows after the last id they saw ([`OutboxStore::since`]); the protocol (gaps, reconnects)
//! is `cluster::outbox`'s. Rows are deleted after the retention ([`OutboxStore::prune`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

use super::error::{StoreError, StoreResult};

/// The channel every append notifies; the payload is the new row's id.
pub const CHANNEL: &str = "eventchat_outbox";

/// A domain change as the outbox stores it (the bus's `DomainChange`, without depending on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxChange {
    pub venue_id: String,
    pub event_id: String,
    pub summary: String,
    pub origin_thread: Option<String>,
}

/// One row read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub change: OutboxChange,
    /// The node that published it (a node skips its own: it delivered them locally).
    pub origin_node: String,
    pub created_at: DateTime<Utc>,
    /// Milliseconds from `created_at` to the read, by the database's clock (no node skew).
    pub age_ms: i64,
}

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboxStore {
    db: DatabaseConnection,
}

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

impl OutboxStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Appends `change` and notifies [`CHANNEL`] with the new id, in one statement (so in one
    /// transaction: the notification goes out when the row is committed, never before).
    pub async fn append(&self, change: &OutboxChange, origin_node: &str) -> StoreResult<i64> {
        Self::append_on(&self.db, change, origin_node).await
    }

    /// [`OutboxStore::append`] on a given connection or transaction (then the notification
    /// waits for that transaction's commit).
    pub async fn append_on<C: ConnectionTrait>(
        conn: &C,
        change: &OutboxChange,
        origin_node: &str,
    ) -> StoreResult<i64> {
        // `n` is referenced so that it runs (an unreferenced SELECT in a WITH is not
        // evaluated); its column is `void` and is not read.
        let row = conn
            .query_one_raw(stmt(
                "WITH ins AS (INSERT INTO cluster_outbox \
                   (venue_id, event_id, summary, origin_thread, origin_node) \
                   VALUES ($1, $2, $3, $4, $5) RETURNING id), \
                 n AS (SELECT pg_notify($6, ins.id::text) FROM ins) \
                 SELECT ins.id FROM ins CROSS JOIN n",
                vec![
                    change.venue_id.clone().into(),
                    change.event_id.clone().into(),
                    change.summary.clone().into(),
                    change.origin_thread.clone().into(),
                    origin_node.into(),
                    CHANNEL.into(),
                ],
            ))
            .await?
            .ok_or_else(|| StoreError::Conflict("the outbox insert returned no id".into()))?;
        Ok(row.try_get("", "id")?)
    }

    /// Up to `limit` rows with an id above `after`, in id order.
    pub async fn since(&self, after: i64, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                "SELECT id, venue_id, event_id, summary, origin_thread, origin_node, created_at, \
                   GREATEST(0, (EXTRACT(EPOCH FROM (clock_timestamp() - created_at)) * 1000))::bigint \
                     AS age_ms \
                 FROM cluster_outbox WHERE id > $1 ORDER BY id LIMIT $2",
                vec![after.into(), i64::from(limit).into()],
            ))
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(OutboxEntry {
                    id: row.try_get("", "id")?,
                    change: OutboxChange {
                        venue_id: row.try_get("", "venue_id")?,
                        event_id: row.try_get("", "event_id")?,
                        summary: row.try_get("", "summary")?,
                        origin_thread: row.try_get("", "origin_thread")?,
                    },
                    origin_node: row.try_get("", "origin_node")?,
                    created_at: row.try_get("", "created_at")?,
                    age_ms: row.try_get("", "age_ms")?,
                })
            })
            .collect()
    }

    /// The highest id written so far (0 for an empty table).
    pub async fn newest_id(&self) -> StoreResult<i64> {
        let row = self
            .db
            .query_one_raw(stmt(
                "SELECT COALESCE(MAX(id), 0)::bigint AS id FROM cluster_outbox",
                vec![],
            ))
            .await?;
        match row {
            Some(row) => Ok(row.try_get("", "id")?),
            None => Ok(0),
        }
    }

    /// Deletes the rows written more than `older_than` ago (by the database's clock); how
    /// many. Idempotent: any node may run it.
    pub async fn prune(&self, older_than: Duration) -> StoreResult<u64> {
        let ms = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
        let done = self
            .db
            .execute_raw(stmt(
                "DELETE FROM cluster_outbox WHERE created_at < now() - $1 * interval '1 millisecond'",
                vec![ms.into()],
            ))
            .await?;
        Ok(done.rows_affected())
    }
}
