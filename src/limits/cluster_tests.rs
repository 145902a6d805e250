//! The cluster-wide limits against a real PostgreSQL: two nodes (`node-a`, `node-b`, each with
//! its own connection pool) on one fresh database (`ec_lim_<uuid>`, dropped at the end), as
//! two `eventchat` processes would be. Admin URL from `EVENTCHAT_TEST_PG_URL`.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use super::*;
use crate::limits::cluster::ClusterLimits;
use crate::store::test_pg::TestPg;

/// Long enough that the nodes' rows (heartbeat set once, at the start) stay alive throughout.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh migrated database with the rows of two live nodes.
struct TestNodes {
    pg: TestPg,
    url: String,
    db: DatabaseConnection,
}

impl TestNodes {
    async fn new() -> TestNodes {
        let pg = TestPg::create("ec_lim").await;
        let url = pg.url.clone();
        let db = connect(&url).await;
        migration::Migrator::up(&db, None).await.expect("migrate");
        db.execute_unprepared(
            "INSERT INTO cluster_nodes (node_id, epoch, address, state, started_at, heartbeat_at) \
             VALUES ('node-a', 1, 'http://a', 'live', now(), now()), \
                    ('node-b', 1, 'http://b', 'live', now(), now())",
        )
        .await
        .expect("insert nodes");
        TestNodes { pg, url, db }
    }

    /// The limits of `node` (epoch 1) on a pool of its own.
    async fn node(
        &self,
        node: &str,
        per_minute: u32,
        burst: u32,
        max_streams: usize,
    ) -> ClusterLimits {
        ClusterLimits::new(
            connect(&self.url).await,
            node.to_owned(),
            Arc::new(AtomicI64::new(1)),
            HEARTBEAT_TIMEOUT,
            per_minute,
            burst,
            max_streams,
        )
    }

    /// Lease rows of `node`, dead or alive.
    async fn lease_rows(&self, node: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) AS n FROM cluster_stream_leases WHERE node_id = $1",
                vec![node.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    async fn drop_db(self) {
        self.db.close().await.ok();
        self.pg.drop_db().await;
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(16).sqlx_logging(false);
    Database::connect(opts)
        .await
        .expect("connect test database")
}

fn settings(per_minute: u32, burst: u32, max_streams: usize) -> LimitSettings {
    LimitSettings {
        max_message_chars: 1,
        max_metadata_bytes: 1,
        max_page_size: 1,
        max_attachment_bytes: 1,
        attachment_mime_types: vec![],
        rate_limit_per_minute: per_minute,
        rate_limit_burst: burst,
        max_concurrent_streams: max_streams,
        max_feedback_items: 1,
        max_message_attachments: 1,
        max_content_parts: 1,
        max_structured_answers: 1,
        address_rate_limit_per_minute: 0,
        address_rate_limit_burst: 1,
    }
}

/// `Limits` of `node` with the cluster backend, as `startup` builds them.
async fn node_limits(
    pg: &TestNodes,
    node: &str,
    per_minute: u32,
    burst: u32,
    max: usize,
) -> Limits {
    Limits::new(&settings(per_minute, burst, max), &[])
        .with_cluster(pg.node(node, per_minute, burst, max).await)
}

#[tokio::test]
async fn the_rate_budget_is_shared_by_the_nodes() {
    let pg = TestNodes::new().await;
    // One token a minute: no refill to speak of while the test runs.
    let burst = 6;
    let a = pg.node("node-a", 1, burst, 0).await;
    let b = pg.node("node-b", 1, burst, 0).await;
    for i in 0..burst {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(node.check_rate("u").await.unwrap(), Ok(()), "request {i}");
    }
    for node in [&a, &b] {
        let wait = node.check_rate("u").await.unwrap().unwrap_err();
        // Nearly a whole minute to the next token (a few ms of refill have passed).
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
    }
    // Another user has a bucket of their own.
    assert_eq!(b.check_rate("v").await.unwrap(), Ok(()));
    // Through `Limits`: the 429 with its Retry-After, on either node.
    let la = node_limits(&pg, "node-a", 1, burst, 0).await;
    match la.check_rate("u").await {
        Err(ApiError::RateLimited {
            retry_after_secs,
            message,
        }) => {
            assert!((50..=60).contains(&retry_after_secs), "{retry_after_secs}");
            assert!(message.starts_with("too many requests"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    pg.drop_db().await;
}

#[tokio::test]
async fn the_rate_refills_on_the_database_clock() {
    let pg = TestNodes::new().await;
    // 600/min = 10 a second, burst 2.
    let a = pg.node("node-a", 600, 2, 0).await;
    let b = pg.node("node-b", 600, 2, 0).await;
    assert_eq!(a.check_rate("u").await.unwrap(), Ok(()));
    assert_eq!(b.check_rate("u").await.unwrap(), Ok(()));
    // A second refills 10 tokens, but the bucket holds only the burst.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(a.check_rate("u").await.unwrap(), Ok(()));
    assert_eq!(b.check_rate("u").await.unwrap(), Ok(()));
    // Empty again a few ms later: the next token is at most 100 ms away.
    let wait = a.check_rate("u").await.unwrap().unwrap_err();
    assert!(
        wait > Duration::from_millis(20) && wait <= Duration::from_millis(100),
        "{wait:?}"
    );
    // The rate limit off: always granted, without a query.
    let off = pg.node("node-a", 0, 1, 0).await;
    for _ in 0..5 {
        assert_eq!(off.check_rate("u").await.unwrap(), Ok(()));
    }
    pg.drop_db().await;
}

#[tokio::test]
async fn the_stream_cap_is_shared_by_the_nodes() {
    let pg = TestNodes::new().await;
    let max = 3;
    let a = node_limits(&pg, "node-a", 0, 1, max).await;
    let b = node_limits(&pg, "node-b", 0, 1, max).await;
    let mut slots = vec![
        a.open_stream("u").await.unwrap(),
        b.open_stream("u").await.unwrap(),
        a.open_stream("u").await.unwrap(),
    ];
    assert!(slots.iter().all(StreamSlot::is_cluster));
    for node in [&a, &b] {
        let err = node.open_stream("u").await.unwrap_err();
        assert_eq!(actix_web::ResponseError::status_code(&err), 429);
        assert!(err.to_string().contains("at most 3"), "{err}");
    }
    // Another user is not affected.
    let other = b.open_stream("v").await.unwrap();
    assert_eq!(a.cluster().unwrap().open_for("u").await.unwrap(), 3);
    // A slot held by a response body and dropped with it (a client that went away).
    let body = Guarded::new(futures::stream::iter([1]), slots.remove(0));
    drop(body);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(slot) = b.open_stream("u").await {
            reopened = Some(slot);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the dropped slot's lease was never deleted"
    );
    assert!(a.open_stream("u").await.is_err(), "at the cap again");
    drop((slots, reopened, other));
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = a.cluster().unwrap().open_for("u").await.unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "every dropped slot releases its lease");
    pg.drop_db().await;
}

#[tokio::test]
async fn leases_of_dead_left_or_replaced_nodes_do_not_count() {
    let pg = TestNodes::new().await;
    let max = 2;
    let a = pg.node("node-a", 0, 1, max).await;
    let b = pg.node("node-b", 0, 1, max).await;
    let held_by_b = [
        b.try_acquire("u").await.unwrap().unwrap(),
        b.try_acquire("u").await.unwrap().unwrap(),
    ];
    assert!(a.try_acquire("u").await.unwrap().is_none(), "at the cap");
    // node-b's heartbeat is older than the timeout: it is dead, its leases free.
    pg.db
        .execute_unprepared(
            "UPDATE cluster_nodes SET heartbeat_at = now() - interval '2 minutes' \
             WHERE node_id = 'node-b'",
        )
        .await
        .unwrap();
    assert_eq!(a.open_for("u").await.unwrap(), 0);
    let held_by_a = [
        a.try_acquire("u").await.unwrap().unwrap(),
        a.try_acquire("u").await.unwrap().unwrap(),
    ];
    assert!(a.try_acquire("u").await.unwrap().is_none());
    // The dead node's leases were deleted by those acquires.
    assert_eq!(pg.lease_rows("node-b").await, 0);
    drop(held_by_b);

    // node-b comes back under a new epoch (a restart): leases of its old epoch do not
    // count either. One taken at epoch 1 before the restart...
    pg.db
        .execute_unprepared(
            "UPDATE cluster_nodes SET heartbeat_at = now() WHERE node_id = 'node-b'",
        )
        .await
        .unwrap();
    drop(held_by_a);
    let mut old_epoch = None;
    for _ in 0..50 {
        if let Some(l) = b.try_acquire("u").await.unwrap() {
            old_epoch = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(old_epoch.is_some());
    pg.db
        .execute_unprepared("UPDATE cluster_nodes SET epoch = 2 WHERE node_id = 'node-b'")
        .await
        .unwrap();
    // ...is not counted once the row is at epoch 2.
    assert_eq!(a.open_for("u").await.unwrap(), 0);
    // A node that left: the same.
    let by_a = a.try_acquire("u").await.unwrap().unwrap();
    assert_eq!(b.open_for("u").await.unwrap(), 1);
    pg.db
        .execute_unprepared("UPDATE cluster_nodes SET state = 'left' WHERE node_id = 'node-a'")
        .await
        .unwrap();
    assert_eq!(b.open_for("u").await.unwrap(), 0);
    drop((old_epoch, by_a));
    pg.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_acquires_never_exceed_the_cap() {
    let pg = TestNodes::new().await;
    let max = 5;
    let a = Arc::new(pg.node("node-a", 0, 1, max).await);
    let b = Arc::new(pg.node("node-b", 0, 1, max).await);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { node.try_acquire("u").await })
        })
        .collect();
    let mut held = Vec::new();
    for t in tasks {
        if let Some(lease) = t.await.unwrap().expect("no database error") {
            held.push(lease);
        }
    }
    assert_eq!(held.len(), max, "exactly the cap, over both nodes");
    assert_eq!(a.open_for("u").await.unwrap(), max);
    drop(held);
    pg.drop_db().await;
}

#[tokio::test]
async fn a_database_failure_falls_back_on_the_nodes_own_limits() {
    let pg = TestNodes::new().await;
    let cluster = pg.node("node-a", 1, 1, 1).await;
    let limits = Limits::new(&settings(1, 1, 1), &[]).with_cluster(cluster);
    // Gone from under the node (an outage).
    pg.drop_db().await;
    let before = crate::metrics::global().db_errors.get();
    // The node's own bucket (burst 1) and stream cap (1) decide: no 500s, still limited.
    assert!(limits.check_rate("u").await.is_ok());
    assert!(matches!(
        limits.check_rate("u").await,
        Err(ApiError::RateLimited { .. })
    ));
    let slot = limits.open_stream("u").await.unwrap();
    assert!(!slot.is_cluster());
    assert!(matches!(
        limits.open_stream("u").await,
        Err(ApiError::RateLimited { .. })
    ));
    drop(slot);
    assert!(limits.open_stream("u").await.is_ok());
    assert!(crate::metrics::global().db_errors.get() >= before + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_take_each_token_once() {
    let pg = TestNodes::new().await;
    let burst = 5;
    let a = Arc::new(pg.node("node-a", 1, burst, 0).await);
    let b = Arc::new(pg.node("node-b", 1, burst, 0).await);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { node.check_rate("u").await })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap().expect("no database error").is_ok() {
            granted += 1;
        }
    }
    assert_eq!(granted, burst, "exactly the burst, over both nodes");
    pg.drop_db().await;
}
