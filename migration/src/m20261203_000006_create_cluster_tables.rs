//! Creates the cluster's tables (issue #17), on PostgreSQL only: SQLite stays one node, and
//! a cluster setting on SQLite is refused at startup, so there the migration does nothing.
//!
//! - `cluster_nodes`: the membership table. One row per node id; `epoch` grows by one each
//!   time a process starts under that id, `heartbeat_at` is renewed every
//!   `cluster.heartbeat_interval_ms` from the database's clock. A node whose heartbeat is
//!   older than `cluster.heartbeat_timeout_ms` is dead to the others.
//! - `cluster_thread_owners`: which node (and which of its epochs) runs a thread's actor.
//!   `owner_epoch` grows by one with every change of owner; a turn's writes check it (the
//!   fence), so a node that lost a thread writes nothing more to it.
//! - `cluster_outbox`: domain changes, written with the change; `NOTIFY` wakes the other
//!   nodes, which read from the last id they saw. Pruned after `cluster.outbox_retention_secs`.
//! - `cluster_rate_buckets`, `cluster_stream_leases`: the per-user rate limit and stream cap,
//!   shared by every node.
//!
//! Plain SQL: these tables are only ever read with hand-written statements
//! (`src/cluster/`), and the statements use PostgreSQL's own types.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE cluster_nodes (
    node_id      text PRIMARY KEY,
    epoch        bigint NOT NULL,
    address      text NOT NULL,
    state        text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE cluster_thread_owners (
    thread_id   text PRIMARY KEY,
    node_id     text NOT NULL,
    node_epoch  bigint NOT NULL,
    owner_epoch bigint NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_cluster_thread_owners_node ON cluster_thread_owners (node_id, node_epoch);
CREATE TABLE cluster_outbox (
    id            bigserial PRIMARY KEY,
    venue_id      text NOT NULL,
    event_id      text NOT NULL,
    summary       text NOT NULL,
    origin_thread text,
    origin_node   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_cluster_outbox_created_at ON cluster_outbox (created_at);
CREATE TABLE cluster_rate_buckets (
    key        text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE cluster_stream_leases (
    lease_id    text PRIMARY KEY,
    user_id     text NOT NULL,
    node_id     text NOT NULL,
    node_epoch  bigint NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_cluster_stream_leases_user ON cluster_stream_leases (user_id);
"#;

const DOWN: &str = r#"
DROP TABLE cluster_stream_leases;
DROP TABLE cluster_rate_buckets;
DROP TABLE cluster_outbox;
DROP TABLE cluster_thread_owners;
DROP TABLE cluster_nodes;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
