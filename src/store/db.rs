//! Connecting to the database and running migrations.
//!
//! One URL selects the backend: `sqlite://path?mode=rwc` (the embedded default; the parent
//! directory is created, the file is put in WAL mode with a busy timeout so concurrent
//! writers wait instead of failing) or `postgres://...`. Everything else in the store is
//! backend-agnostic.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

/// Opens a pool for the configured URL.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose_secret().to_owned();
    if url.starts_with("sqlite:") {
        ensure_sqlite_parent_dir(&url)?;
    }
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .acquire_timeout(Duration::from_secs(
            settings.connect_timeout_secs.max(1) * 3,
        ))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(opts).await
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
