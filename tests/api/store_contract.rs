//! The thread store contract, against both databases: ordering, cursor paging without gaps or
//! duplicates (identical timestamps included), per-user isolation, soft delete, upsert,
//! hidden items, not-found errors.

use chrono::{DateTime, Duration, TimeZone, Utc};
use eventchat::chatkit::ThreadStatus;
use eventchat::store::{
    ItemRecord, Order, StoreError, Stores, ThreadPatch, ThreadRecord, Visibility, db,
};
use eventchat::vocab::AgentType;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

async fn stores(backend: Backend) -> (TestDb, Stores) {
    let tdb = TestDb::new(backend).await;
    let settings = crate::helpers::test_settings(&tdb, &[]);
    let conn = db::connect(&settings.database).await.unwrap();
    db::migrate_up(&conn).await.unwrap();
    (tdb, Stores::new(conn))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn thread(id: &str, user: &str, at: DateTime<Utc>) -> ThreadRecord {
    ThreadRecord {
        id: id.into(),
        user_id: user.into(),
        agent_type: AgentType::Client,
        venue_id: Some("v1".into()),
        event_id: Some("e1".into()),
        title: None,
        status: ThreadStatus::Active,
        allowed_image_domains: None,
        metadata: Default::default(),
        tokens_in: 0,
        tokens_out: 0,
        created_at: at,
        updated_at: at,
    }
}

fn item(id: &str, thread: &str, item_type: &str, at: DateTime<Utc>) -> ItemRecord {
    ItemRecord {
        id: id.into(),
        thread_id: thread.into(),
        item_type: item_type.parse().unwrap(),
        role: None,
        status: None,
        content: json!({"id": id, "type": item_type}),
        metadata: json!({}),
        created_at: at,
    }
}

/// Follows `after` cursors to the end and returns every id seen.
async fn walk_items(s: &Stores, t: &ThreadRecord, limit: u64, order: Order) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .items
            .load_items(t, after.as_deref(), limit, order, Visibility::Visible)
            .await
            .unwrap();
        assert!(page.data.len() as u64 <= limit);
        seen.extend(page.data.iter().map(|i| i.id.clone()));
        if !page.has_more {
            assert!(page.after.is_none());
            break;
        }
        assert_eq!(
            page.data.len() as u64,
            limit,
            "a page before the last is full"
        );
        after = page.after.clone();
    }
    seen
}

async fn item_paging(backend: Backend) {
    let (tdb, s) = stores(backend).await;
    let t = thread("thr_a", "alice", t0());
    s.threads.insert_thread(&t).await.unwrap();
    // 26 items, in groups of three sharing one timestamp, inserted out of time order, plus
    // hidden items scattered among them.
    let mut expected = Vec::new();
    for n in 0..26 {
        let at = t0() + Duration::seconds(n / 3);
        let id = format!("msg_{n:02}");
        expected.push((at, n, id.clone()));
    }
    for (at, _, id) in expected.iter().rev() {
        s.items
            .upsert_item(&t, &item(id, "thr_a", "user_message", *at))
            .await
            .unwrap();
        if id.ends_with('5') {
            let hid = format!("shcx_{id}");
            s.items
                .upsert_item(&t, &item(&hid, "thr_a", "sdk_hidden_context", *at))
                .await
                .unwrap();
        }
    }
    // Inserted in reverse, so within one timestamp the sequence runs backwards too.
    let mut asc: Vec<(DateTime<Utc>, usize, String)> = Vec::new();
    for (i, (at, _, id)) in expected.iter().rev().enumerate() {
        asc.push((*at, i, id.clone()));
    }
    asc.sort();
    let asc_ids: Vec<String> = asc.into_iter().map(|(_, _, id)| id).collect();
    for limit in [1, 5, 7, 20, 26, 100] {
        assert_eq!(
            walk_items(&s, &t, limit, Order::Asc).await,
            asc_ids,
            "asc limit {limit}"
        );
        let mut desc = asc_ids.clone();
        desc.reverse();
        assert_eq!(
            walk_items(&s, &t, limit, Order::Desc).await,
            desc,
            "desc limit {limit}"
        );
    }
    let all = s
        .items
        .load_items(&t, None, 100, Order::Asc, Visibility::All)
        .await
        .unwrap();
    assert_eq!(all.data.len(), 26 + 3, "hidden items are stored");
    tdb.drop_db().await;
}
both_backends!(item_paging_is_stable, item_paging);

async fn thread_paging_and_isolation(backend: Backend) {
    let (tdb, s) = stores(backend).await;
    for n in 0..25 {
        // Pairs share a timestamp.
        let at = t0() + Duration::seconds(n / 2);
        s.threads
            .insert_thread(&thread(&format!("thr_{n:02}"), "alice", at))
            .await
            .unwrap();
    }
    s.threads
        .insert_thread(&thread("thr_bob", "bob", t0()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .threads
            .list_threads("alice", 10, after.as_deref(), Order::Desc)
            .await
            .unwrap();
        seen.extend(page.data.iter().map(|t| t.id.clone()));
        if !page.has_more {
            break;
        }
        after = page.after;
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "no duplicates");
    assert_eq!(
        seen.first().map(String::as_str),
        Some("thr_24"),
        "newest first"
    );
    // Isolation: bob's thread is invisible to alice and vice versa.
    assert!(!seen.contains(&"thr_bob".to_owned()));
    assert!(matches!(
        s.threads.load_thread("alice", "thr_bob").await,
        Err(StoreError::NotFound(_))
    ));
    let bob_list = s
        .threads
        .list_threads("bob", 20, None, Order::Desc)
        .await
        .unwrap();
    assert_eq!(bob_list.data.len(), 1);
    // Writing someone else's thread changes nothing.
    let stolen = ThreadPatch::rename(Some("mine now".into()), Utc::now());
    assert!(matches!(
        s.threads.update_thread("alice", "thr_bob", &stolen).await,
        Err(StoreError::NotFound(_))
    ));
    let bob_thread = s.threads.load_thread("bob", "thr_bob").await.unwrap();
    assert_eq!(bob_thread.title, None);
    tdb.drop_db().await;
}
both_backends!(
    thread_paging_and_isolation_hold,
    thread_paging_and_isolation
);

async fn soft_delete_upsert_not_found(backend: Backend) {
    let (tdb, s) = stores(backend).await;
    let t = thread("thr_x", "alice", t0());
    s.threads.insert_thread(&t).await.unwrap();
    s.items
        .upsert_item(&t, &item("msg_1", "thr_x", "user_message", t0()))
        .await
        .unwrap();
    s.items
        .upsert_item(
            &t,
            &item(
                "msg_2",
                "thr_x",
                "assistant_message",
                t0() + Duration::seconds(1),
            ),
        )
        .await
        .unwrap();
    // Upsert keeps position and timestamp, replaces content.
    let mut changed = item("msg_1", "thr_x", "user_message", t0() + Duration::hours(5));
    changed.content = json!({"id": "msg_1", "type": "user_message", "changed": true});
    s.items.upsert_item(&t, &changed).await.unwrap();
    let page = s
        .items
        .load_items(&t, None, 10, Order::Asc, Visibility::All)
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.data[0].id, "msg_1");
    assert_eq!(page.data[0].created_at, t0());
    assert_eq!(page.data[0].content["changed"], true);
    // An item id of another thread cannot be overwritten.
    let other = thread("thr_y", "alice", t0());
    s.threads.insert_thread(&other).await.unwrap();
    assert!(matches!(
        s.items
            .upsert_item(&other, &item("msg_1", "thr_y", "user_message", t0()))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Not found.
    assert!(matches!(
        s.items.load_item(&t, "msg_nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.items.delete_item(&t, "msg_nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.threads.load_thread("alice", "thr_nope").await,
        Err(StoreError::NotFound(_))
    ));
    // Timestamps round-trip exactly (microseconds).
    let precise = t0() + Duration::microseconds(123_456);
    s.items
        .upsert_item(&t, &item("msg_3", "thr_x", "user_message", precise))
        .await
        .unwrap();
    assert_eq!(
        s.items.load_item(&t, "msg_3").await.unwrap().created_at,
        precise
    );
    // Soft delete hides the thread everywhere.
    s.threads
        .soft_delete_thread("alice", "thr_x", t0())
        .await
        .unwrap();
    assert!(matches!(
        s.threads.load_thread("alice", "thr_x").await,
        Err(StoreError::NotFound(_))
    ));
    let list = s
        .threads
        .list_threads("alice", 20, None, Order::Desc)
        .await
        .unwrap();
    assert_eq!(
        list.data.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        vec!["thr_y"]
    );
    assert!(matches!(
        s.threads.soft_delete_thread("alice", "thr_x", t0()).await,
        Err(StoreError::NotFound(_))
    ));
    tdb.drop_db().await;
}
both_backends!(
    soft_delete_upsert_and_not_found,
    soft_delete_upsert_not_found
);
