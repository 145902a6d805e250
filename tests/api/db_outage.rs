//! A database outage through the real server (issue #20, item 10), on PostgreSQL behind a
//! proxy the test black-holes (`tcp_proxy.rs`; the machine's shared server is never
//! touched): `/ready` answers 503 within a second, a turn ends with a retryable error event
//! within the acquire timeout, a plain request gets 503, and once the network is back the
//! pool recovers by itself: `/ready` is 200 and a turn succeeds. Every wait is bounded.

use std::time::{Duration, Instant};

use mock_llm::{MockLlm, Reply};
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestDb, parse_sse, pg_admin_url};
use crate::requests as req;
use crate::tcp_proxy::TcpProxy;
use crate::turns::Open;

/// `database.acquire_timeout_secs` for the test (the default is 5).
const ACQUIRE_SECS: u64 = 2;
/// What a failure may take beyond the acquire timeout (scheduling, the model's answer).
const SLACK: Duration = Duration::from_millis(1500);

/// `GET /ready`: its status (0 if it gave no answer in 20 s) and how long it took.
async fn ready(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let status = app
        .http
        .get(app.url("/ready"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, started.elapsed())
}

#[actix_web::test]
async fn a_database_outage_fails_fast_and_recovers() {
    let admin = reqwest::Url::parse(&pg_admin_url()).unwrap();
    let host = admin.host_str().unwrap().to_owned();
    let upstream = tokio::net::lookup_host((host.as_str(), admin.port().unwrap_or(5432)))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let db = TestDb::new(Backend::Postgres).await;
    let mut through_proxy = reqwest::Url::parse(&db.url).unwrap();
    through_proxy.set_ip_host(proxy.addr.ip()).unwrap();
    through_proxy.set_port(Some(proxy.addr.port())).unwrap();
    let mock = MockLlm::start();
    mock.set_fallback(Reply::text(["All ", "good."]));
    let (acquire, model) = (ACQUIRE_SECS.to_string(), mock.base_url());
    let app = TestApp::spawn_on(
        db,
        &[
            ("EVENTCHAT_DATABASE__URL", through_proxy.as_str()),
            ("EVENTCHAT_DATABASE__ACQUIRE_TIMEOUT_SECS", acquire.as_str()),
            ("EVENTCHAT_LLM__BASE_URL", model.as_str()),
            // The user lookup of each request stays cached: this test is about the turn.
            ("EVENTCHAT_AUTH__USER_CACHE_SECS", "600"),
        ],
        None,
    )
    .await;
    app.seed().await;
    let (token, thread_id, events) = app.client_thread("hello").await;
    assert_eq!(events.last().unwrap()["type"], "thread.item.done");
    assert_eq!(ready(&app).await.0, 200);
    // Every pooled connection sits idle past `ping_idle_after_secs` (1 s), so each is pinged,
    // within the acquire timeout, before a query may use it.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    proxy.black_hole();
    let (status, took) = ready(&app).await;
    assert_eq!(status, 503, "after {took:?}");
    assert!(took < Duration::from_secs(1), "/ready took {took:?}");

    // The turn's error event comes within the acquire timeout.
    let started = Instant::now();
    let mut open = Open::start(
        &app,
        &token,
        req::add_user_message(&thread_id, "during the outage"),
        None,
    )
    .await;
    open.until("\"type\":\"error\"").await;
    let failed = started.elapsed();
    let body = tokio::time::timeout(Duration::from_secs(30), open.rest())
        .await
        .expect("the stream was still open 30 s after its error");
    let ended = started.elapsed();
    let events = parse_sse(&body);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{events:?}");
    assert_eq!(last["allow_retry"], true, "{last}");
    assert!(
        failed < Duration::from_secs(ACQUIRE_SECS) + SLACK,
        "the turn was blocked for {failed:?} before its error"
    );
    // The body ends when the turn reports its end, which waits at most 500 ms for the turn's
    // run row to be cleared (`conversation::turn`).
    assert!(
        ended < failed + Duration::from_millis(500) + SLACK,
        "the error came after {failed:?}, the stream ended after {ended:?}"
    );

    // A request answered from the store: 503 `unavailable`, as fast.
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(30),
        app.chatkit(&token, req::list_threads(json!({}))),
    )
    .await
    .expect("threads.list was still blocked after 30 s");
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(
        took < Duration::from_secs(ACQUIRE_SECS) + SLACK,
        "took {took:?}"
    );

    proxy.restore();
    let restored = Instant::now();
    loop {
        let (status, _) = ready(&app).await;
        if status == 200 {
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(10),
            "/ready still {status} 10 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, events) = tokio::time::timeout(
        Duration::from_secs(10),
        app.stream(&token, req::add_user_message(&thread_id, "and now?")),
    )
    .await
    .expect("the turn after the outage was blocked");
    assert_eq!(status, 200, "{events:?}");
    assert!(events.iter().all(|e| e["type"] != "error"), "{events:?}");
    assert_eq!(
        events.last().unwrap()["type"],
        "thread.item.done",
        "{events:?}"
    );
    let (status, _) = app.chatkit(&token, req::get_thread(&thread_id)).await;
    assert_eq!(status, 200);
    app.finish().await;
}

/// `serve` waits for a database that is still starting (here: unreachable for its first
/// 1.5 s, longer than one acquire timeout) up to `connect_timeout_secs`, and gives up at
/// once on one that refuses it (an unknown database).
#[actix_web::test]
async fn startup_waits_for_a_starting_database_and_not_for_a_wrong_one() {
    let admin = reqwest::Url::parse(&pg_admin_url()).unwrap();
    let host = admin.host_str().unwrap().to_owned();
    let upstream = tokio::net::lookup_host((host.as_str(), admin.port().unwrap_or(5432)))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let db = TestDb::new(Backend::Postgres).await;
    let mut url = reqwest::Url::parse(&db.url).unwrap();
    url.set_ip_host(proxy.addr.ip()).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let settings = |url: &str| {
        let mut s =
            crate::helpers::test_settings(&db, &[("EVENTCHAT_DATABASE__URL", url)]).database;
        s.acquire_timeout_secs = 1;
        s.connect_timeout_secs = 5;
        s
    };

    proxy.black_hole();
    let started = Instant::now();
    let restore = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        proxy.restore();
    };
    let starting = settings(url.as_str());
    let (conn, ()) = tokio::join!(eventchat::store::db::connect(&starting), restore);
    let conn = conn.expect("connected once the database answered");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    eventchat::store::db::ping(&conn).await.unwrap();
    conn.close().await.unwrap();

    let mut wrong = reqwest::Url::parse(&db.url).unwrap();
    wrong.set_path("/ec_no_such_database");
    let started = Instant::now();
    let refused = eventchat::store::db::connect(&settings(wrong.as_str())).await;
    let refused_after = started.elapsed();
    assert!(refused.is_err());
    assert!(refused_after < Duration::from_secs(1), "{refused_after:?}");
    db.drop_db().await;
}
