//! Connecting to the database and running migrations.
//!
//! One URL selects the backend: `sqlite://path?mode=rwc` (the embedded default; the parent
//! directory is created, the file is put in WAL mode with a busy timeout so concurrent
//! writers wait instead of failing) or `postgres://...`. Everything else in the store is
//! backend-agnostic.
//!
//! SQLite connections get two settings from profiling the turn path (issue #7):
//! - `database.sqlite_mmap_bytes` (`mmap_size`): reads through a memory map instead of a
//!   `pread` per page. Off by default: while the file grows every connection remaps it, and
//!   the unmaps (TLB shootdowns) cost more than the reads saved;
//! - the query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`). The bundled
//!   SQLite is built with STAT4, under which every statement with a bound `LIMIT ?` (every
//!   `.one()` of sea-orm) is marked expired on each bind and parsed and planned again on
//!   every execution. With QPSG the cached plan is reused.

use std::ffi::c_int;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous,
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

/// Opens a pool for the configured URL.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose_secret().to_owned();
    if url.starts_with("sqlite:") {
        ensure_sqlite_parent_dir(&url)?;
    }
    let mmap = settings.sqlite_mmap_bytes;
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .acquire_timeout(Duration::from_secs(
            settings.connect_timeout_secs.max(1) * 3,
        ))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o: SqliteConnectOptions| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("mmap_size", mmap.to_string())
        })
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _meta| Box::pin(sqlite_plan_stability(conn)))
        });
    Database::connect(opts).await
}

/// Turns on `SQLITE_DBCONFIG_ENABLE_QPSG` for one new connection (see the module docs).
async fn sqlite_plan_stability(conn: &mut SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    // SAFETY: `lock_handle` guarantees that the connection's worker thread makes no call on
    // this handle while `handle` lives, and `sqlite3_db_config(QPSG, int, int*)` is called
    // with the argument types its documentation names (a null out-pointer is allowed).
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db.as_ptr(),
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if rc == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sea_orm::sqlx::Error::Configuration(
            format!("sqlite3_db_config(ENABLE_QPSG) returned {rc}").into(),
        ))
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

/// A trivial round trip, for `/ready`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The backend in use, for logs.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}
