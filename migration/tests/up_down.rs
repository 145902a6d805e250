//! Runs every migration up, all the way down, and up again, on SQLite (a temp file) and on
//! PostgreSQL (a fresh database, dropped afterwards; admin URL from `EVENTCHAT_TEST_PG_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};

const TABLES: &[&str] = &[
    "venues",
    "vendors",
    "users",
    "venue_vendors",
    "venue_offerings",
    "events",
    "event_elements",
    "change_requests",
    "guests",
    "contracts",
    "tasks",
    "messages",
    "chatkit_threads",
    "chatkit_thread_items",
    "chatkit_attachments",
    "chatkit_item_feedback",
    "tool_calls",
    "search_docs",
    "chatkit_turn_runs",
];

/// The cluster's tables (issue #17): PostgreSQL only.
const CLUSTER_TABLES: &[&str] = &[
    "cluster_nodes",
    "cluster_thread_owners",
    "cluster_outbox",
    "cluster_rate_buckets",
    "cluster_stream_leases",
];

/// The tables every migration up leaves on `db`'s backend.
fn expected(db: &DatabaseConnection) -> Vec<&'static str> {
    let mut all = TABLES.to_vec();
    if db.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
        all.extend_from_slice(CLUSTER_TABLES);
    }
    all
}

async fn tables_present(db: &DatabaseConnection) -> Vec<&'static str> {
    let manager = SchemaManager::new(db);
    let mut present = Vec::new();
    for t in TABLES.iter().chain(CLUSTER_TABLES) {
        if manager.has_table(*t).await.unwrap() {
            present.push(*t);
        }
    }
    present
}

/// Up, down, up again; checks the tables and a few constraints along the way.
async fn round_trip(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    assert_eq!(tables_present(db).await, expected(db));
    let manager = SchemaManager::new(db);
    assert!(
        manager
            .has_index(
                "chatkit_thread_items",
                "idx_chatkit_thread_items_thread_id_created_at_seq"
            )
            .await
            .unwrap()
    );
    assert!(
        manager
            .has_index("venue_vendors", "idx_venue_vendors_venue_id_vendor_id")
            .await
            .unwrap()
    );
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );

    // The sequence column is filled by the database and keeps growing.
    let now = "2026-01-01T00:00:00Z";
    db.execute_unprepared(&format!(
        "INSERT INTO chatkit_threads (id, user_id, agent_type, status, metadata, created_at, updated_at) \
         VALUES ('thr_1', 'u1', 'client', '{{}}', '{{}}', '{now}', '{now}')"
    ))
    .await
    .unwrap();
    for id in ["msg_a", "msg_b"] {
        db.execute_unprepared(&format!(
            "INSERT INTO chatkit_thread_items (id, thread_id, item_type, content, metadata, created_at) \
             VALUES ('{id}', 'thr_1', 'user_message', '{{}}', '{{}}', '{now}')"
        ))
        .await
        .unwrap();
    }
    // Item ids are unique; a duplicate is refused.
    let dup = db
        .execute_unprepared(&format!(
            "INSERT INTO chatkit_thread_items (id, thread_id, item_type, content, metadata, created_at) \
             VALUES ('msg_a', 'thr_1', 'user_message', '{{}}', '{{}}', '{now}')"
        ))
        .await;
    assert!(dup.is_err(), "duplicate item id accepted");
    // Deleting the thread deletes its items.
    db.execute_unprepared("DELETE FROM chatkit_threads WHERE id = 'thr_1'")
        .await
        .unwrap();
    let left = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM chatkit_thread_items",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(left, 0);

    Migrator::down(db, None).await.unwrap();
    assert!(tables_present(db).await.is_empty());
    assert_eq!(
        Migrator::get_pending_migrations(db).await.unwrap().len(),
        Migrator::migrations().len()
    );

    Migrator::up(db, None).await.unwrap();
    assert_eq!(tables_present(db).await, expected(db));
    // One step down removes only the last migration's tables (the cluster's: none on SQLite).
    Migrator::down(db, Some(1)).await.unwrap();
    assert_eq!(tables_present(db).await, TABLES);
    Migrator::down(db, Some(1)).await.unwrap();
    assert!(!tables_present(db).await.contains(&"chatkit_turn_runs"));
    assert!(tables_present(db).await.contains(&"search_docs"));
    Migrator::down(db, Some(1)).await.unwrap();
    assert!(!tables_present(db).await.contains(&"search_docs"));
    assert!(tables_present(db).await.contains(&"chatkit_threads"));
    Migrator::down(db, Some(1)).await.unwrap();
    assert!(!tables_present(db).await.contains(&"chatkit_threads"));
    assert!(tables_present(db).await.contains(&"events"));
    Migrator::up(db, None).await.unwrap();
    assert_eq!(tables_present(db).await, expected(db));
}

#[tokio::test]
async fn sqlite_up_down_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("mig.db").display());
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared("PRAGMA foreign_keys = ON")
        .await
        .unwrap();
    round_trip(&db).await;
    db.close().await.unwrap();
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    format!("{root}/{name}{query}")
}

#[tokio::test]
async fn postgres_up_down_up() {
    let admin_url = std::env::var("EVENTCHAT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("ec_mig_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url)
        .await
        .expect("PostgreSQL reachable at EVENTCHAT_TEST_PG_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();

    let db = Database::connect(&with_database(&admin_url, &name))
        .await
        .unwrap();
    round_trip(&db).await;
    db.close().await.unwrap();

    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.unwrap();
}

#[test]
fn database_name_is_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
