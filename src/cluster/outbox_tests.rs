//! Tests of the outbox and its fan-out: the watermark on its own, then two nodes (two buses,
//! two fan-outs) on a fresh database of the real PostgreSQL (`EVENTCHAT_TEST_PG_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;

use super::{MAX_TRACKED_GAP, Seen, Timing, start_with};
use crate::conversation::{DomainBus, DomainChange};
use crate::store::outbox::CHANNEL;
use crate::store::test_pg::TestPg;
use crate::store::{OutboxChange, OutboxStore};

// ---- the watermark ------------------------------------------------------------------------

#[test]
fn an_id_behind_a_hole_waits_and_the_hole_is_filled_late() {
    let t0 = Instant::now();
    let mut seen = Seen::new(10, Duration::from_secs(5));
    seen.mark(12, t0);
    assert!(seen.advance(t0).is_empty());
    assert_eq!(seen.watermark, 10, "12 is done, 11 is not yet");
    assert!(seen.is_new(11) && !seen.is_new(12));
    seen.mark(11, t0 + Duration::from_secs(1));
    assert!(seen.advance(t0 + Duration::from_secs(1)).is_empty());
    assert_eq!(seen.watermark, 12);
    assert!(seen.above.is_empty() && seen.missing.is_empty());
}

#[test]
fn a_hole_older_than_the_gap_timeout_is_passed_for_good() {
    let t0 = Instant::now();
    let mut seen = Seen::new(10, Duration::from_secs(5));
    seen.mark(13, t0);
    assert!(seen.advance(t0 + Duration::from_secs(4)).is_empty());
    assert_eq!(seen.advance(t0 + Duration::from_secs(5)), vec![11, 12]);
    assert_eq!(seen.watermark, 13);
    assert!(
        !seen.is_new(11),
        "a late commit after the timeout is not delivered"
    );
}

#[test]
fn a_hole_found_later_is_timed_from_when_it_was_found() {
    let t0 = Instant::now();
    let mut seen = Seen::new(10, Duration::from_secs(5));
    seen.mark(12, t0);
    seen.mark(14, t0 + Duration::from_secs(4));
    assert_eq!(seen.advance(t0 + Duration::from_secs(6)), vec![11]);
    assert_eq!(seen.watermark, 12, "13 has been missing for 2 s only");
    assert_eq!(seen.advance(t0 + Duration::from_secs(9)), vec![13]);
    assert_eq!(seen.watermark, 14);
}

#[test]
fn a_very_wide_hole_is_jumped_at_once() {
    let t0 = Instant::now();
    let mut seen = Seen::new(10, Duration::from_secs(5));
    let far = 10 + MAX_TRACKED_GAP + 2;
    seen.mark(far, t0);
    assert!(seen.advance(t0).is_empty());
    assert_eq!(seen.watermark, far);
    assert!(seen.missing.is_empty());
}

// ---- against PostgreSQL --------------------------------------------------------------------

struct TestDb {
    pg: TestPg,
    db: DatabaseConnection,
}

impl TestDb {
    async fn fresh() -> Self {
        let (pg, db) = TestPg::migrated("ec_obx").await;
        Self { pg, db }
    }

    async fn drop_db(self) {
        self.db.close().await.unwrap();
        self.pg.drop_db().await;
    }

    /// The pids of `node`'s outbox listener connections that are listening.
    async fn listener_pids(&self, node: &str) -> Vec<i32> {
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = $1 \
                   AND query ILIKE 'LISTEN%'",
                vec![format!("eventchat-outbox {node}").into()],
            ))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get("", "pid").unwrap()).collect()
    }

    /// Waits (bounded) until `node`'s listener is listening; its pid.
    async fn wait_listening(&self, node: &str) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pid) = self.listener_pids(node).await.first() {
                return *pid;
            }
            assert!(Instant::now() < deadline, "{node} never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// No tick: a change is delivered only by a notification or a (re)connection's replay.
fn no_poll() -> Timing {
    Timing {
        poll: Duration::from_secs(3600),
        prune_every: Duration::from_secs(3600),
        ..Timing::default()
    }
}

fn node(db: &TestDb, id: &str) -> (DomainBus, UnboundedReceiver<DomainChange>) {
    let (bus, rx) = DomainBus::channel();
    assert!(bus.set_outbox(OutboxStore::new(db.db.clone()), id.to_owned()));
    (bus, rx)
}

async fn next(rx: &mut UnboundedReceiver<DomainChange>) -> DomainChange {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a change within 10 s")
        .expect("the bus is open")
}

fn change(event: &str, summary: &str, thread: Option<&str>) -> DomainChange {
    DomainChange {
        venue_id: "v1".into(),
        event_id: event.into(),
        summary: summary.into(),
        origin_thread: thread.map(str::to_owned),
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_notifies_the_channel_with_its_id() {
    let t = TestDb::fresh().await;
    let mut listener =
        sqlx::postgres::PgListener::connect_with(t.db.get_postgres_connection_pool())
            .await
            .unwrap();
    listener.listen(CHANNEL).await.unwrap();
    let store = OutboxStore::new(t.db.clone());
    let id = store
        .append(&change("e1", "x", None).into(), "node-a")
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification within 10 s")
        .unwrap();
    assert_eq!(n.payload(), id.to_string());
    assert_eq!(store.newest_id().await.unwrap(), id);
    let rows = store.since(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].change, OutboxChange::from(change("e1", "x", None)));
    assert_eq!(rows[0].origin_node, "node-a");
    drop(listener);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_published_on_one_node_reaches_the_other_once() {
    let t = TestDb::fresh().await;
    let (bus_a, mut rx_a) = node(&t, "node-a");
    let (bus_b, mut rx_b) = node(&t, "node-b");
    let fan_a = start_with(
        t.db.clone(),
        "node-a".into(),
        bus_a.clone(),
        HOUR,
        no_poll(),
    )
    .await
    .unwrap();
    let fan_b = start_with(
        t.db.clone(),
        "node-b".into(),
        bus_b.clone(),
        HOUR,
        no_poll(),
    )
    .await
    .unwrap();
    t.wait_listening("node-a").await;
    t.wait_listening("node-b").await;
    let received = crate::metrics::global().cluster_outbox_received.get();

    bus_a.publish("v1", "e1", "Element confirmed", Some("thr_1"));
    let sent = change("e1", "Element confirmed", Some("thr_1"));
    assert_eq!(next(&mut rx_a).await, sent, "local delivery is immediate");
    assert_eq!(next(&mut rx_b).await, sent, "node-b got it from the outbox");

    // A change back from node-b: node-a reads in id order, so once it has it, it has read
    // past its own row, and must not have delivered that again.
    bus_b.publish("v1", "e2", "Message sent", None);
    assert_eq!(next(&mut rx_b).await, change("e2", "Message sent", None));
    assert_eq!(next(&mut rx_a).await, change("e2", "Message sent", None));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx_a.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx_b.try_recv(), Err(TryRecvError::Empty));
    assert!(crate::metrics::global().cluster_outbox_received.get() >= received + 2);
    assert_eq!((bus_a.outbox_failures(), bus_b.outbox_failures()), (0, 0));

    fan_a.stop();
    fan_b.stop();
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_the_listener_is_down_is_replayed_after_it_reconnects() {
    let t = TestDb::fresh().await;
    let (bus_a, mut rx_a) = node(&t, "node-a");
    let (bus_b, mut rx_b) = node(&t, "node-b");
    // node-b waits 1 s before it reconnects: the change is surely published meanwhile, and
    // with no tick only the replay after the reconnect can deliver it.
    let slow_reconnect = Timing {
        backoff_min: Duration::from_secs(1),
        ..no_poll()
    };
    let fan_a = start_with(
        t.db.clone(),
        "node-a".into(),
        bus_a.clone(),
        HOUR,
        no_poll(),
    )
    .await
    .unwrap();
    let fan_b = start_with(t.db.clone(), "node-b".into(), bus_b, HOUR, slow_reconnect)
        .await
        .unwrap();
    let old_pid = t.wait_listening("node-b").await;

    t.db.execute_unprepared(&format!("SELECT pg_terminate_backend({old_pid})"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !t.listener_pids("node-b").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the listener's backend did not end"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = OutboxStore::new(t.db.clone());
    let before = store.newest_id().await.unwrap();
    bus_a.publish("v1", "e1", "Element confirmed", Some("thr_1"));
    assert_eq!(
        next(&mut rx_a).await,
        change("e1", "Element confirmed", Some("thr_1"))
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.newest_id().await.unwrap() == before {
        assert!(
            Instant::now() < deadline,
            "the change never reached the outbox"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        t.listener_pids("node-b").await.is_empty(),
        "node-b was not listening when the change was written"
    );

    assert_eq!(
        next(&mut rx_b).await,
        change("e1", "Element confirmed", Some("thr_1"))
    );
    let new_pid = t.wait_listening("node-b").await;
    assert_ne!(new_pid, old_pid);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx_b.try_recv(), Err(TryRecvError::Empty));

    fan_a.stop();
    fan_b.stop();
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_committed_after_a_later_one_is_still_delivered_once() {
    let t = TestDb::fresh().await;
    let (bus_b, mut rx_b) = node(&t, "node-b");
    let fan_b = start_with(t.db.clone(), "node-b".into(), bus_b, HOUR, no_poll())
        .await
        .unwrap();
    t.wait_listening("node-b").await;

    let first = change("e1", "first id, committed last", None);
    let second = change("e2", "second id, committed first", Some("thr_2"));
    let t1 = t.db.begin().await.unwrap();
    let id1 = OutboxStore::append_on(&t1, &first.clone().into(), "node-x")
        .await
        .unwrap();
    let t2 = t.db.begin().await.unwrap();
    let id2 = OutboxStore::append_on(&t2, &second.clone().into(), "node-x")
        .await
        .unwrap();
    assert!(id2 > id1);
    t2.commit().await.unwrap();
    assert_eq!(next(&mut rx_b).await, second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx_b.try_recv(), Err(TryRecvError::Empty));

    t1.commit().await.unwrap();
    assert_eq!(
        next(&mut rx_b).await,
        first,
        "the hole below id2 was filled"
    );

    // One more change: once it arrives, the reader has been over id1 and id2 again.
    let store = OutboxStore::new(t.db.clone());
    let third = change("e3", "third", None);
    store.append(&third.clone().into(), "node-x").await.unwrap();
    assert_eq!(next(&mut rx_b).await, third);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx_b.try_recv(), Err(TryRecvError::Empty));

    fan_b.stop();
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_only_rows_older_than_the_retention() {
    let t = TestDb::fresh().await;
    let store = OutboxStore::new(t.db.clone());
    let mut ids = Vec::new();
    for e in ["e1", "e2", "e3"] {
        ids.push(
            store
                .append(&change(e, "x", None).into(), "node-a")
                .await
                .unwrap(),
        );
    }
    t.db.execute_unprepared(&format!(
        "UPDATE cluster_outbox SET created_at = now() - interval '2 hours' WHERE id IN ({}, {})",
        ids[0], ids[1]
    ))
    .await
    .unwrap();
    assert_eq!(store.prune(HOUR).await.unwrap(), 2);
    let left: Vec<i64> = store
        .since(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, vec![ids[2]]);
    assert_eq!(store.prune(HOUR).await.unwrap(), 0, "idempotent");
    t.drop_db().await;
}
