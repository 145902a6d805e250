//! Connecting to the database and running migrations.
//!
//! One URL selects the backend: `sqlite://path?mode=rwc` (the embedded default; the parent
//! directory is created, the file is put in WAL mode, concurrent writers wait instead of
//! failing) or `postgres://...`. Everything else in the store is
//! backend-agnostic.
//!
//! The pool does not ping a connection on every checkout (sqlx's default): for SQLite that
//! ping is a round trip to the connection's worker thread that can never fail, and it doubled
//! the thread hand-offs of every statement; for PostgreSQL only a connection idle for
//! `database.ping_idle_after_secs` is pinged, the one that a server or proxy may have dropped.
//!
//! **Outages.** Every checkout is bounded by `database.acquire_timeout_secs`: the wait for a
//! free connection, a new connection's connect, and an idle connection's ping. sqlx then
//! fails the query with `PoolTimedOut`, so a turn ends with a retryable error event instead of
//! waiting for the database to come back, and the pool reconnects on its own once it is
//! back: a connection whose ping or query failed is closed, not returned. A statement already
//! sent on a connection the network then black-holes has no client-side bound (sqlx has
//! none); the idle ping closes that window for every connection that sat idle past
//! `ping_idle_after_secs`. The first connection at startup is waited for separately, up to
//! `database.connect_timeout_secs` ([`connect`]), so a database that is still starting does
//! not fail `serve`.
//!
//! SQLite connections are tuned per connection by `sqlite_tuning` (plan stability, busy
//! handler) and by two settings:
//! - `database.sqlite_mmap_bytes` (`mmap_size`): reads through a memory map instead of a
//!   `pread` per page. Off by default: while the file grows every connection remaps it, and
//!   the unmaps (TLB shootdowns) cost more than the reads saved;
//! - `database.sqlite_wal_autocheckpoint_pages` (`wal_autocheckpoint`): how many WAL pages
//!   accumulate before they are copied back into the database file. Every turn rewrites the
//!   same hot pages (the items table's tail, its indexes, the thread row); a checkpoint copies
//!   each once however often it was rewritten, so checkpointing every 10,000 pages instead of
//!   SQLite's 1,000 cut the server's CPU per turn by ~10% under the #7 benchmark (64 users),
//!   for a WAL file of up to ~40 MB.
//!
//! **The writer.** On SQLite the writes of the turn path (items, the thread row, run rows:
//! `ItemStore`, `ThreadStore`, `RunStore`) go through a second pool of one connection
//! ([`writer`]). SQLite drops a connection's page cache whenever another connection has
//! committed, so with the writes spread over the whole pool nearly every statement started
//! by re-reading its pages from the WAL; the writer's cache stays warm across its own
//! commits, and writers queue in the pool (in order) instead of in SQLite's busy handler.
//! SQLite takes one writer at a time anyway. Reads and the tools' domain writes use the main
//! pool. A write transaction on the writer must not wait for another writer write (it would
//! wait for itself until the acquire timeout): every write inside one goes through the
//! transaction. In front of it, `group_commit.rs` commits the writes of many threads that
//! queue behind one commit together. On PostgreSQL the writer is the main pool.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

/// Opens a pool for the configured URL.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    connect_sized(
        settings,
        settings.max_connections,
        settings.min_connections,
        None,
    )
    .await
}

/// The pool the turn path's writes go through (see "The writer" in the module doc): on
/// SQLite a pool of its own with one connection; on PostgreSQL `pool` itself.
pub async fn writer(
    settings: &DatabaseSettings,
    pool: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if pool.get_database_backend() == DbBackend::Sqlite {
        let cache = format!("-{}", settings.sqlite_writer_cache_kib.max(1));
        connect_sized(settings, 1, 1, Some(cache)).await
    } else {
        Ok(pool.clone())
    }
}

/// A pool of at most `max_connections`; `cache_size` is SQLite's `cache_size` pragma of each
/// connection (SQLite's default when `None`).
async fn connect_sized(
    settings: &DatabaseSettings,
    max_connections: u32,
    min_connections: u32,
    cache_size: Option<String>,
) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose_secret().to_owned();
    let sqlite = url.starts_with("sqlite:");
    if sqlite {
        ensure_sqlite_parent_dir(&url)?;
    }
    let mmap = settings.sqlite_mmap_bytes;
    let checkpoint = settings.sqlite_wal_autocheckpoint_pages;
    let mut opts = ConnectOptions::new(url);
    // sea-orm's `connect_timeout` is sqlx's acquire timeout too (sqlx has no other): one
    // setting, the acquire timeout. The pool is lazy so that the first connection is waited
    // for by `first_connection`, within its own deadline.
    opts.max_connections(max_connections)
        .min_connections(min_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
        .connect_lazy(true)
        .sqlx_logging(settings.log_statements);
    if sqlite {
        opts.test_before_acquire(false);
    } else {
        opts.test_before_acquire_if_idle_for(Duration::from_secs(settings.ping_idle_after_secs));
    }
    opts.map_sqlx_sqlite_opts(move |o: SqliteConnectOptions| {
        let o = o
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .pragma("mmap_size", mmap.to_string())
            .pragma("wal_autocheckpoint", checkpoint.to_string());
        match &cache_size {
            Some(kib) => o.pragma("cache_size", kib.clone()),
            None => o,
        }
    })
    .map_sqlx_sqlite_pool_opts(|pool| {
        pool.after_connect(|conn, _meta| Box::pin(super::sqlite_tuning::tune(conn)))
    });
    let db = Database::connect(opts).await?;
    first_connection(&db, Duration::from_secs(settings.connect_timeout_secs)).await?;
    Ok(db)
}

/// Waits up to `within` for the database to accept a connection: a database that cannot be
/// reached ([`is_unreachable`]: refused, reset, timed out) is tried again, since the server may
/// still be starting; one that answers with a refusal (a bad login, an unknown database) fails
/// at once.
async fn first_connection(db: &DatabaseConnection, within: Duration) -> Result<(), DbErr> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match ping(db).await {
            Ok(()) => return Ok(()),
            Err(e) if is_unreachable(&e) && tokio::time::Instant::now() < deadline => {
                tracing::info!(error = %e, "the database does not answer yet; waiting");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Creates the directory that will hold a SQLite file, so a fresh checkout needs no setup.
fn ensure_sqlite_parent_dir(url: &str) -> Result<(), DbErr> {
    let Ok(opts) = SqliteConnectOptions::from_str(url) else {
        return Err(DbErr::Custom(format!("invalid SQLite URL: {url}")));
    };
    let file = opts.get_filename();
    if file == Path::new(":memory:") || file.as_os_str().is_empty() {
        return Ok(());
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// Applies every pending migration.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Rolls back `steps` migrations (all of them when `None`).
pub async fn migrate_down(db: &DatabaseConnection, steps: Option<u32>) -> Result<(), DbErr> {
    Migrator::down(db, steps).await
}

/// Names of the known migrations and whether each is applied, in order.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    Ok(Migrator::get_migration_with_status(db)
        .await?
        .iter()
        .map(|m| {
            let applied = m.status() == migration::MigrationStatus::Applied;
            (m.name().to_owned(), applied)
        })
        .collect())
}

/// A write transaction on `db`, `IMMEDIATE` on SQLite: the write lock is taken (waiting on
/// the busy handler) at BEGIN. A deferred transaction that meets another connection's commit
/// between its first read and its first write fails at once with SQLITE_BUSY, which
/// concurrent turns and the tools' domain writes (other connections) make happen; SQLite's
/// default `BEGIN` is deferred. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// A trivial round trip, for `/ready`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Whether `e` says the database could not be reached (no connection within the acquire
/// timeout, a connection lost or refused) rather than that it refused a statement: the
/// request may succeed once the database is back (503, not 500).
pub fn is_unreachable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(inner))
        | DbErr::Exec(RuntimeErr::SqlxError(inner))
        | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            matches!(
                inner.as_ref(),
                Sqlx::Io(_)
                    | Sqlx::Tls(_)
                    | Sqlx::PoolTimedOut
                    | Sqlx::PoolClosed
                    | Sqlx::WorkerCrashed
            )
        }
        _ => false,
    }
}

/// The backend in use, for logs.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::{Duration, Instant};

    use sea_orm::{ConnectionTrait, TransactionTrait};

    use super::*;

    fn settings(url: String) -> DatabaseSettings {
        DatabaseSettings {
            url: url.into(),
            max_connections: 4,
            min_connections: 1,
            connect_timeout_secs: 5,
            acquire_timeout_secs: 5,
            migrate_on_start: false,
            sqlite_mmap_bytes: 0,
            sqlite_wal_autocheckpoint_pages: 1234,
            ping_idle_after_secs: 30,
            sqlite_writer_cache_kib: 1024,
            sqlite_group_commit_max: 0,
            log_statements: false,
        }
    }

    #[tokio::test]
    async fn sqlite_connections_get_the_configured_checkpoint_interval() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ck.db").display());
        let db = connect(&settings(url)).await.unwrap();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA wal_autocheckpoint",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1234);
    }

    /// A write that finds the lock taken waits for it (the busy handler retries) and lands
    /// soon after it is released, not after a stock back-off sleep.
    #[tokio::test]
    async fn a_blocked_sqlite_writer_waits_for_the_lock_and_then_writes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("busy.db").display());
        let db = connect(&settings(url)).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();

        let holder = db.begin().await.unwrap();
        holder
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let pool = db.clone();
        let started = Instant::now();
        let blocked = tokio::spawn(async move {
            pool.execute_unprepared("INSERT INTO t VALUES (2)").await?;
            Ok::<_, DbErr>(Instant::now())
        });
        // Stock busy_timeout would next try at 328 ms (its sleeps: 1, 2, 5, 10, 15, 20, 25, 25,
        // 25, 50, 50, 100 ms), ~90 ms after the release.
        tokio::time::sleep(Duration::from_millis(240)).await;
        let released = Instant::now();
        holder.commit().await.unwrap();
        let landed = blocked.await.unwrap().unwrap();

        assert!(
            landed >= released,
            "the second write cannot land while the lock is held"
        );
        assert!(
            landed - released < Duration::from_millis(40),
            "landed {:?} after the lock was released ({:?} after it started waiting)",
            landed - released,
            landed - started
        );
        let n = db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM t",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(n, 2);
    }
}
