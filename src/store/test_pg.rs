//! A fresh PostgreSQL database for the unit tests that need the real thing (admin URL from
//! `EVENTCHAT_TEST_PG_URL`, default the machine's `postgres://postgres@127.0.0.1:5432/postgres`):
//! created empty under a prefixed random name, dropped with `WITH (FORCE)` at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

fn admin_url() -> String {
    std::env::var("EVENTCHAT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// One test database.
pub struct TestPg {
    pub name: String,
    /// Its URL, for more pools (a "node" each).
    pub url: String,
}

impl TestPg {
    /// A new empty database named `<prefix>_<uuid>`.
    pub async fn create(prefix: &str) -> TestPg {
        let admin_url = admin_url();
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {admin_url}: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let (root, _) = admin_url
            .rsplit_once('/')
            .expect("a database in the admin URL");
        let url = format!("{root}/{name}");
        TestPg { name, url }
    }

    /// As [`TestPg::create`], migrated, with a pool on it.
    pub async fn migrated(prefix: &str) -> (TestPg, DatabaseConnection) {
        use migration::MigratorTrait;
        let pg = Self::create(prefix).await;
        let db = Database::connect(&pg.url)
            .await
            .expect("connect test database");
        migration::Migrator::up(&db, None).await.expect("migrate");
        (pg, db)
    }

    /// Drops the database (its connections are closed by force).
    pub async fn drop_db(self) {
        let admin = Database::connect(admin_url()).await.unwrap();
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap();
        admin.close().await.ok();
    }
}
