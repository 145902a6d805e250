//! The cluster (issue #17): real processes of the binary on one PostgreSQL database, on
//! loopback ports chosen at run time, stopped by their process ids.
//!
//! The in-process application of each test only seeds the database and mints tokens; the
//! nodes serve. `config/test.toml` sets the heartbeat to 200 ms and the timeout to 1.5 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use eventchat::store::seed::{DEMO_ADMIN_EMAIL, DEMO_CLIENT_EMAIL};
use futures::StreamExt;
use mock_llm::{MockLlm, Reply};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::binary::{Binary, read_for};
use crate::helpers::{Backend, TestApp, parse_sse};
use crate::requests::{add_user_message, create_thread, list_items};

/// A node of the cluster named `node_id`, with `extra` settings.
async fn node(app: &TestApp, mock: &MockLlm, node_id: &str, extra: &[(&str, &str)]) -> Binary {
    let mut env: Vec<(&str, String)> = vec![
        ("EVENTCHAT_CLUSTER__ENABLED", "true".to_owned()),
        ("EVENTCHAT_CLUSTER__NODE_ID", node_id.to_owned()),
        // The supervisors' sweep (a quarter of the idle ttl, at least 1 s) stops the actors
        // of lost threads: keep it at 1 s.
        ("EVENTCHAT_ACTORS__IDLE_TTL_SECS", "4".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Binary::start_with(app, mock, &env).await
}

/// The whole body of a response, bounded in time.
async fn body(resp: reqwest::Response) -> String {
    tokio::time::timeout(Duration::from_secs(30), resp.text())
        .await
        .expect("the response did not end within 30 s")
        .unwrap()
}

/// The shape of a stream: each event's type and, for updates, the update's type.
fn shape(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["update"]["type"].as_str() {
            Some(u) => format!("{}/{u}", e["type"].as_str().unwrap_or("?")),
            None => e["type"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

/// A new client thread of `event_id` on `node`, answered with `reply_text`; its id.
async fn thread_on(
    app: &TestApp,
    mock: &MockLlm,
    node: &Binary,
    token: &str,
    event_id: &str,
    reply_text: &str,
) -> String {
    mock.push(Reply::text([reply_text]));
    let meta = json!({"agentType": "client", "eventId": event_id});
    let r = node
        .chatkit(app, token, &create_thread("Hi", meta))
        .send()
        .await
        .unwrap();
    thread_of(&parse_sse(&body(r).await))
}

/// The value of counter `name` in a node's `/metrics`.
async fn metric(app: &TestApp, node: &Binary, name: &str) -> u64 {
    let text = app
        .http
        .get(node.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

fn thread_of(events: &[Value]) -> String {
    events
        .iter()
        .find(|e| e["type"] == "thread.created")
        .and_then(|e| e["thread"]["id"].as_str())
        .expect("thread.created")
        .to_owned()
}

fn answer(events: &[Value]) -> String {
    events
        .iter()
        .rev()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .and_then(|e| e["item"]["content"][0]["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn count(app: &TestApp, sql: &str, thread_id: &str) -> i64 {
    app.state
        .stores
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            vec![thread_id.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

/// How many nodes run a live actor for `thread_id` (asked through each node's admin API).
async fn live_actors(app: &TestApp, admin: &str, nodes: &[&Binary], thread_id: &str) -> usize {
    let mut n = 0;
    for node in nodes {
        let r = app
            .http
            .get(node.url(&format!("/admin/actors/{thread_id}")))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => n += 1,
            404 => {}
            other => panic!("admin actors on {}: {other}", node.port),
        }
    }
    n
}

/// Sends until a node answers 200 (a node that cannot reach the thread's dead owner answers
/// 503 until the owner's heartbeat is older than the timeout); bounded to 15 s.
async fn send_until_served(app: &TestApp, node: &Binary, token: &str, body_: &Value) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let r = node.chatkit(app, token, body_).send().await.unwrap();
        let status = r.status().as_u16();
        if status == 200 {
            return parse_sse(&body(r).await);
        }
        assert_eq!(status, 503, "{}", body(r).await);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no node served the thread within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Three nodes, requests spread round-robin: each thread has one owner row and one live
/// actor in the whole cluster, and a turn streams through a forwarding node as it does
/// from the owner.
#[actix_web::test]
async fn three_nodes_serve_each_thread_from_one_owner() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let a = node(&app, &mock, "node-a", &[]).await;
    let b = node(&app, &mock, "node-b", &[]).await;
    let c = node(&app, &mock, "node-c", &[]).await;
    let nodes = [&a, &b, &c];

    // Every node sees the three of them live.
    for n in nodes {
        let view: Value = app
            .http
            .get(n.url("/admin/cluster"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let states: Vec<&str> = view["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["live", "live", "live"], "{view}");
        assert_eq!(view["node"]["accepting"], true);
    }

    // Three threads, each created on another node.
    let meta = json!({"agentType": "client", "eventId": event_id});
    let mut threads = Vec::new();
    let mut direct_shape = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        mock.push(Reply::text(["Hello", " there"]));
        let r = n
            .chatkit(
                &app,
                &token,
                &create_thread(&format!("Hi {i}"), meta.clone()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let events = parse_sse(&body(r).await);
        assert_eq!(answer(&events), "Hello there");
        threads.push(thread_of(&events));
        if i == 0 {
            // The next turn of thread 0 on its owner, for the comparison below.
            mock.push(Reply::text(["Direct", " answer"]));
            let r = n
                .chatkit(&app, &token, &add_user_message(&threads[0], "Again"))
                .send()
                .await
                .unwrap();
            direct_shape = shape(&parse_sse(&body(r).await));
        }
    }
    // Round-robin: each thread's next message arrives at the next node, which forwards it.
    for round in 1..=2 {
        for (i, thread_id) in threads.iter().enumerate() {
            let via = nodes[(i + round) % 3];
            mock.push(Reply::text(["Forwarded", " answer"]));
            let r = via
                .chatkit(&app, &token, &add_user_message(thread_id, "Next"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.headers()["content-type"].to_str().unwrap(),
                "text/event-stream"
            );
            assert!(r.headers().contains_key("x-eventchat-turn"));
            let raw = body(r).await;
            // The owner's frames as it wrote them: its sequence comments and `data:` lines.
            assert!(
                raw.starts_with(": seq=") && raw.contains("\n\ndata: "),
                "{raw}"
            );
            let events = parse_sse(&raw);
            assert_eq!(answer(&events), "Forwarded answer");
            assert_eq!(shape(&events), direct_shape, "thread {i} via node {round}");
        }
    }
    for thread_id in &threads {
        let owners = count(
            &app,
            "SELECT COUNT(*) AS n FROM cluster_thread_owners WHERE thread_id = $1",
            thread_id,
        )
        .await;
        assert_eq!(owners, 1, "{thread_id}");
        assert_eq!(live_actors(&app, &admin, &nodes, thread_id).await, 1);
    }
    // Reads are answered by any node from the store.
    for n in nodes {
        let r = n
            .chatkit(&app, &token, &list_items(&threads[1], json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let forwards = metric(&app, &b, "eventchat_cluster_forwards_total").await;
    assert!(forwards >= 2, "node b forwarded {forwards} requests");
    drop((a, b, c));
    app.finish().await;
}

/// kill -9 of a thread's owner mid-answer: another node serves the thread once the owner's
/// heartbeat is older than the timeout; the forwarded stream ended with a retryable error;
/// the acknowledged message is stored, the partial answer is kept once and marked, and the
/// next message gets a normal turn.
#[actix_web::test]
async fn a_killed_owner_s_threads_are_taken_over() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let mut a = node(&app, &mock, "node-a", &[]).await;
    // No sweep on b: the dead turn stays open until the test's own requests reach it.
    let b = node(
        &app,
        &mock,
        "node-b",
        &[("EVENTCHAT_CLUSTER__ORPHAN_SWEEP_MS", "600000")],
    )
    .await;
    let thread_id = thread_on(&app, &mock, &a, &token, &event_id, "First").await;

    // A long answer, asked through b (forwarded to the owner a); a dies while writing it.
    mock.push(Reply::generated(300).token_delay(Duration::from_millis(40)));
    let r = b
        .chatkit(&app, &token, &add_user_message(&thread_id, "Write a lot"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let turn_id = r.headers()["x-eventchat-turn"].to_str().unwrap().to_owned();
    let (mut seen, mut stream) = read_for(r, Duration::from_millis(1200)).await;
    a.kill9();
    let killed = Instant::now();
    while let Ok(Some(Ok(chunk))) =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = parse_sse(&seen);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{last}");
    assert_eq!(last["allow_retry"], true, "{last}");
    // A client that reconnects to the dead turn through another node gets 503 while the
    // owner may still be alive, then (dead) one retryable error event.
    let resumed = loop {
        let r = app
            .http
            .post(b.url(&format!("/api/chatkit/turns/{turn_id}/events")))
            .bearer_auth(&token)
            .json(&json!({"after": 0}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break parse_sse(&body(r).await);
        }
        assert_eq!(r.status(), 503, "{}", body(r).await);
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "resume never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert_eq!(resumed[0]["type"], "error");
    assert_eq!(resumed[0]["allow_retry"], true);

    mock.push(Reply::text(["Back", " again"]));
    let events = send_until_served(
        &app,
        &b,
        &token,
        &add_user_message(&thread_id, "Still there?"),
    )
    .await;
    let takeover = killed.elapsed();
    assert_eq!(answer(&events), "Back again");
    assert!(takeover < Duration::from_secs(10), "{takeover:?}");

    let (_, items) = app
        .chatkit(&token, list_items(&thread_id, json!({"order": "asc"})))
        .await;
    let items = items["data"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message"
        ]
    );
    let partial = items[3]["content"][0]["text"].as_str().unwrap();
    assert!(partial.starts_with("tok0 tok1"), "{partial}");
    assert_eq!(items[5]["content"][0]["text"], "Back again");
    // The partial answer is in the model's history once, with the note that it was cut off.
    let history = mock.requests().last().unwrap()["messages"].to_string();
    assert_eq!(history.matches(partial).count(), 1, "{history}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM chatkit_thread_items WHERE thread_id = $1 AND status = 'in_progress'",
            &thread_id
        )
        .await,
        0
    );
    let owner = app
        .state
        .stores
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT node_id, owner_epoch FROM cluster_thread_owners WHERE thread_id = $1",
            vec![thread_id.clone().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.try_get::<String>("", "node_id").unwrap(), "node-b");
    assert_eq!(owner.try_get::<i64>("", "owner_epoch").unwrap(), 2);
    drop(b);
    app.finish().await;
}

/// A paused owner (SIGSTOP past its timeout, then SIGCONT): another node takes the thread
/// over; the old owner's late writes are refused by the fence, its stream ends with an
/// error, and it stops its actor. The data shows only the new owner's writes.
#[actix_web::test]
async fn a_paused_owner_is_fenced_out() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let a = node(&app, &mock, "node-a", &[]).await;
    let b = node(&app, &mock, "node-b", &[]).await;
    let thread_id = thread_on(&app, &mock, &a, &token, &event_id, "First").await;

    mock.push(Reply::generated(400).token_delay(Duration::from_millis(40)));
    let r = a
        .chatkit(&app, &token, &add_user_message(&thread_id, "Write a lot"))
        .header("x-eventchat-on-disconnect", "continue")
        .send()
        .await
        .unwrap();
    let (mut seen, mut stream) = read_for(r, Duration::from_millis(1000)).await;
    a.signal("STOP");
    tokio::time::sleep(Duration::from_millis(2500)).await;

    mock.push(Reply::text(["New", " owner"]));
    let events = send_until_served(&app, &b, &token, &add_user_message(&thread_id, "Hello?")).await;
    assert_eq!(answer(&events), "New owner");
    let (_, before) = app
        .chatkit(&token, list_items(&thread_id, json!({"order": "asc"})))
        .await;

    a.signal("CONT");
    // a's turn goes on reading the model; its next write is refused and the turn ends.
    while let Ok(Some(Ok(chunk))) =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = parse_sse(&seen);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{last}");
    assert_eq!(last["allow_retry"], true, "{last}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, after) = app
        .chatkit(&token, list_items(&thread_id, json!({"order": "asc"})))
        .await;
    assert_eq!(
        before["data"], after["data"],
        "the fenced node wrote to the thread"
    );
    // a stops its actor of the lost thread (its sweep runs every second).
    let started = Instant::now();
    while live_actors(&app, &admin, &[&a], &thread_id).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "node a kept its actor"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(live_actors(&app, &admin, &[&b], &thread_id).await, 1);
    let fenced = metric(&app, &a, "eventchat_cluster_fenced_writes_total").await;
    assert!(fenced >= 1, "{fenced}");
    // And a is ready again: its heartbeat renews after the pause.
    crate::binary::until_ready(&app.http, a.port).await;
    drop((a, b));
    app.finish().await;
}

/// A forwarded principal from outside the cluster is refused: unsigned, signed with another
/// secret, or sent to a node without a cluster.
#[actix_web::test]
async fn a_forged_forwarding_header_is_refused() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let a = node(&app, &mock, "node-a", &[]).await;
    let principal = eventchat::auth::Principal {
        user_id: "u_admin".into(),
        email: DEMO_ADMIN_EMAIL.into(),
        name: "Admin".into(),
        user_type: eventchat::auth::principal::UserType::Admin,
        venue_id: None,
    };
    let now = chrono::Utc::now().timestamp();
    let other =
        eventchat::cluster::signing::Signer::new(b"not-the-cluster-secret-0123456789", 30).unwrap();
    let forged = other.sign(&principal, "node-x", now);
    let header = eventchat::cluster::signing::PRINCIPAL_HEADER;
    for value in [forged.as_str(), "v1.e30.AAAA", "anything"] {
        for path in ["/admin/cluster", "/api/chatkit"] {
            let r = app
                .http
                .post(a.url(path))
                .header(header, value)
                .json(&json!({"type": "threads.list", "params": {}}))
                .send()
                .await
                .unwrap();
            // `/admin/cluster` is a GET route: a POST is 404/405 before any extractor, so it
            // is asked with GET.
            let r = if path == "/admin/cluster" {
                app.http
                    .get(a.url(path))
                    .header(header, value)
                    .send()
                    .await
                    .unwrap()
            } else {
                r
            };
            assert_eq!(r.status(), 401, "{path} with {value}");
        }
    }
    // A single node (the in-process application) takes no forwarded principal at all, even
    // one signed with the development cluster secret.
    let settings = &app.state.settings.cluster;
    let dev = eventchat::cluster::signing::Signer::new(
        secrecy::ExposeSecret::expose_secret(&settings.secret).as_bytes(),
        30,
    )
    .unwrap();
    let r = app
        .http
        .get(app.url("/admin/actors"))
        .header(header, dev.sign(&principal, "node-a", now))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    drop(a);
    app.finish().await;
}

/// The turn endpoints reach the owner through any node: the current turn, a resume from a
/// sequence number, and a cancel.
#[actix_web::test]
async fn turn_endpoints_reach_the_owner() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let a = node(&app, &mock, "node-a", &[]).await;
    let b = node(&app, &mock, "node-b", &[]).await;
    let thread_id = thread_on(&app, &mock, &a, &token, &event_id, "First").await;
    mock.push(Reply::generated(300).token_delay(Duration::from_millis(40)));
    let r = a
        .chatkit(&app, &token, &add_user_message(&thread_id, "Write a lot"))
        .header("x-eventchat-on-disconnect", "continue")
        .send()
        .await
        .unwrap();
    let turn_id = r.headers()["x-eventchat-turn"].to_str().unwrap().to_owned();
    let (_, stream) = read_for(r, Duration::from_millis(500)).await;
    drop(stream);

    let current: Value = app
        .http
        .get(b.url(&format!("/api/chatkit/threads/{thread_id}/turn")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["running"], true, "{current}");
    assert_eq!(current["turn_id"], turn_id.as_str());

    let r = app
        .http
        .post(b.url(&format!("/api/chatkit/turns/{turn_id}/events")))
        .bearer_auth(&token)
        .json(&json!({"after": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (seen, stream) = read_for(r, Duration::from_millis(300)).await;
    assert!(seen.contains("thread.item.added"), "{seen}");
    drop(stream);

    let cancelled: Value = app
        .http
        .post(b.url(&format!("/api/chatkit/turns/{turn_id}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["cancelled"], "running", "{cancelled}");
    drop((a, b));
    app.finish().await;
}

/// A dead node's unfinished turn is closed by a live node within a few heartbeats even if
/// nobody writes to the thread: a reload shows the partial answer.
#[actix_web::test]
async fn a_dead_node_s_turn_is_closed_without_a_new_message() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let mut a = node(&app, &mock, "node-a", &[]).await;
    let b = node(&app, &mock, "node-b", &[]).await;
    mock.push(Reply::generated(300).token_delay(Duration::from_millis(40)));
    let r = a
        .chatkit(
            &app,
            &token,
            &create_thread(
                "Write a lot",
                json!({"agentType": "client", "eventId": event_id}),
            ),
        )
        .send()
        .await
        .unwrap();
    let (seen, stream) = read_for(r, Duration::from_millis(1200)).await;
    let thread_id = thread_of(&parse_sse(&seen[..seen.rfind("\n\n").unwrap() + 2]));
    a.kill9();
    drop(stream);
    let started = Instant::now();
    loop {
        let r = b
            .chatkit(
                &app,
                &token,
                &list_items(&thread_id, json!({"order": "asc"})),
            )
            .send()
            .await
            .unwrap();
        let items: Value = r.json().await.unwrap();
        let kinds: Vec<&str> = items["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect();
        if kinds == ["user_message", "assistant_message"] {
            let text = items["data"][1]["content"][0]["text"].as_str().unwrap();
            assert!(text.starts_with("tok0"), "{text}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the partial answer did not appear: {items}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(b);
    app.finish().await;
}

/// A domain change made through node A (a change request approved over the REST API)
/// reaches a live thread owned by node C: its next model request carries the change. Also
/// after C's outbox listener lost its database connection.
#[actix_web::test]
async fn a_domain_change_on_one_node_reaches_threads_on_another() {
    use crate::rest_support::{MAYA, venue};
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let maya = app.token_for(MAYA).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let a = node(&app, &mock, "node-a", &[]).await;
    let c = node(&app, &mock, "node-c", &[]).await;
    let thread_id = thread_on(&app, &mock, &c, &token, &event_id, "Hello").await;
    let v1 = venue(1);

    // The open change requests of the client's event, approved one at a time through a.
    let open: Value = app
        .http
        .get(a.url(&format!("/api/v1/venues/{v1}/change-requests?status=open")))
        .bearer_auth(&maya)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = open["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cr| cr["event_id"] == event_id.as_str())
        .unwrap_or_else(|| panic!("no open change request: {open}"))
        .clone();
    let emily = eventchat::auth::principal::authenticate(&app.state, &token)
        .await
        .unwrap();

    for round in 0..2 {
        let (cr, verb) = if round == 0 {
            (first["id"].as_str().unwrap().to_owned(), "approve")
        } else {
            // c's listener loses its connection; the change is read after it reconnects.
            let killed = count(
                &app,
                "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE application_name = $1",
                "eventchat-outbox node-c",
            )
            .await;
            assert_eq!(killed, 1, "c's listener connection");
            // A second request, made through the domain as the client's tool would.
            let request = eventchat::domain::change_requests::request_change(
                &app.state.stores.domain,
                &emily,
                eventchat::domain::change_requests::NewChangeRequest {
                    event_id: event_id.clone(),
                    request_type: "modify".into(),
                    element_id: first["element_id"].as_str().map(str::to_owned),
                    description: "Make it 30 vegetarian meals.".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            (request.id, "decline")
        };
        let r = app
            .http
            .post(a.url(&format!("/api/v1/venues/{v1}/change-requests/{cr}/{verb}")))
            .bearer_auth(&maya)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", body(r).await);
        // c's thread hears of it (a hidden note, stored by c's actor): bounded wait.
        let started = Instant::now();
        loop {
            let notes = count(
                &app,
                "SELECT COUNT(*) AS n FROM chatkit_thread_items \
                 WHERE thread_id = $1 AND item_type = 'hidden_context_item'",
                &thread_id,
            )
            .await;
            if notes > round as i64 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "round {round}: the change did not reach node c"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        mock.push(Reply::text(["Noted"]));
        let r = c
            .chatkit(&app, &token, &add_user_message(&thread_id, "Anything new?"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer(&parse_sse(&body(r).await)), "Noted");
        let history = mock.requests().last().unwrap()["messages"].to_string();
        assert_eq!(
            history.matches("the modify request").count(),
            round + 1,
            "round {round}: {history}"
        );
    }
    drop((a, c));
    app.finish().await;
}

/// The per-user rate limit and stream cap hold across two nodes: the configured budget in
/// all, not once per node.
#[actix_web::test]
async fn limits_hold_across_the_nodes() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let limits = [
        ("EVENTCHAT_LIMITS__RATE_LIMIT_PER_MINUTE", "1"),
        ("EVENTCHAT_LIMITS__RATE_LIMIT_BURST", "8"),
        ("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", "2"),
    ];
    let a = node(&app, &mock, "node-a", &limits).await;
    let b = node(&app, &mock, "node-b", &limits).await;
    let meta = json!({"agentType": "client", "eventId": event_id});

    // Two streams open, one on each node; a third on either is refused.
    mock.set_fallback(Reply::generated(200).token_delay(Duration::from_millis(40)));
    let s1 = a
        .chatkit(&app, &token, &create_thread("One", meta.clone()))
        .send()
        .await
        .unwrap();
    let s2 = b
        .chatkit(&app, &token, &create_thread("Two", meta.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!((s1.status().as_u16(), s2.status().as_u16()), (200, 200));
    let r = a
        .chatkit(&app, &token, &create_thread("Three", meta.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "{}", body(r).await);
    drop((s1, s2));

    // The rate budget: 8 requests in all, 3 spent above; the rest alternate over the nodes.
    let mut granted = 0;
    let mut refused_on = Vec::new();
    for i in 0..12 {
        let via = if i % 2 == 0 { &a } else { &b };
        let r = via
            .chatkit(&app, &token, &json!({"type": "threads.list", "params": {}}))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => granted += 1,
            429 => {
                assert!(r.headers().contains_key("retry-after"));
                refused_on.push(i % 2);
            }
            other => panic!("{other}: {}", body(r).await),
        }
    }
    assert_eq!(granted, 5, "the budget was not shared");
    assert!(
        refused_on.contains(&0) && refused_on.contains(&1),
        "{refused_on:?}"
    );
    drop((a, b));
    app.finish().await;
}

/// A write tool on node A: the guest, its audit row and its outbox row are committed
/// together, and a live thread of the same event on node C hears of it.
#[actix_web::test]
async fn a_tool_s_change_reaches_the_other_node_with_its_outbox_row() {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(Backend::Postgres, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let a = node(&app, &mock, "node-a", &[]).await;
    let c = node(&app, &mock, "node-c", &[]).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    mock.push(Reply::text(["Hello"]));
    let r = c
        .chatkit(&app, &token, &create_thread("Watching", meta.clone()))
        .send()
        .await
        .unwrap();
    let watcher = thread_of(&parse_sse(&body(r).await));
    mock.push(Reply::tool_calls(vec![mock_llm::MockToolCall::new(
        "call_1",
        "addGuest",
        json!({"eventId": event_id, "name": "Jane Doe"}),
    )]));
    mock.push(Reply::text(["Jane is on the list."]));
    let r = a
        .chatkit(&app, &token, &create_thread("Add Jane Doe", meta))
        .send()
        .await
        .unwrap();
    let events = parse_sse(&body(r).await);
    assert_eq!(answer(&events), "Jane is on the list.");
    let writer = thread_of(&events);
    let n = |sql: &'static str, arg: String| {
        let app = &app;
        async move { count(app, sql, &arg).await }
    };
    assert_eq!(
        n(
            "SELECT COUNT(*) AS n FROM guests WHERE name = $1",
            "Jane Doe".into()
        )
        .await,
        1
    );
    assert_eq!(
        n(
            "SELECT COUNT(*) AS n FROM tool_calls WHERE thread_id = $1 AND ok",
            writer.clone()
        )
        .await,
        1
    );
    assert_eq!(
        n(
            "SELECT COUNT(*) AS n FROM cluster_outbox WHERE origin_thread = $1 AND origin_node = 'node-a' AND summary = 'Added guest Jane Doe'",
            writer
        )
        .await,
        1
    );
    let started = Instant::now();
    loop {
        let notes = n(
            "SELECT COUNT(*) AS n FROM chatkit_thread_items WHERE thread_id = $1 \
             AND item_type = 'hidden_context_item' AND content::text LIKE '%Added guest Jane Doe%'",
            watcher.clone(),
        )
        .await;
        if notes == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the change did not reach node c"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((a, c));
    app.finish().await;
}
