//! The turn lifecycle (issue #15) through HTTP: Stop stops (a dropped connection cancels the
//! model request and every later tool call, keeping the partial answer), a `continue` turn
//! survives a drop and is resumed from its last sequence number with nothing lost or doubled,
//! explicit cancels, and who may see a turn. Order is pinned by the stream itself and the
//! mock's own log; bounded waits only.

use std::time::{Duration, Instant};

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use eventchat::vocab::ItemType;
use futures::StreamExt;
use mock_llm::{MockLlm, MockToolCall, Reply};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, parse_sse};
use crate::requests as req;

/// An open SSE response read chunk by chunk.
pub(crate) struct Open {
    pub(crate) turn_id: String,
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    pub(crate) text: String,
}

impl Open {
    pub(crate) async fn start(
        app: &TestApp,
        token: &str,
        body: Value,
        policy: Option<&str>,
    ) -> Open {
        let mut r = app
            .http
            .post(app.url("/api/chatkit"))
            .bearer_auth(token)
            .json(&body);
        if let Some(p) = policy {
            r = r.header("x-eventchat-on-disconnect", p);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let turn_id = resp.headers()["x-eventchat-turn"]
            .to_str()
            .unwrap()
            .to_owned();
        Open {
            turn_id,
            body: Box::pin(resp.bytes_stream()),
            text: String::new(),
        }
    }

    /// Reads (bounded) until the body so far contains `needle`.
    pub(crate) async fn until(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.body.next())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in {}", self.text))
                .unwrap_or_else(|| panic!("the stream ended before {needle:?}: {}", self.text))
                .unwrap();
            self.text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    pub(crate) async fn rest(mut self) -> String {
        while let Some(chunk) = self.body.next().await {
            self.text
                .push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        self.text
    }
}

/// The `data:` frames of a body, in order.
fn data_frames(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter(|f| f.starts_with("data: "))
        .map(str::to_owned)
        .collect()
}

/// The highest `: seq=N` of a body.
fn last_seq(body: &str) -> u64 {
    body.split("\n\n")
        .filter_map(|f| f.strip_prefix(": seq="))
        .filter_map(|n| n.parse().ok())
        .max()
        .unwrap_or(0)
}

async fn resume(app: &TestApp, token: &str, turn_id: &str, after: u64) -> (u16, String) {
    let r = app
        .http
        .post(app.url(&format!("/api/chatkit/turns/{turn_id}/events")))
        .bearer_auth(token)
        .json(&json!({ "after": after }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn cancel(app: &TestApp, token: &str, turn_id: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/chatkit/turns/{turn_id}/cancel")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Every stored item of the thread, hidden ones included, oldest first.
pub(crate) async fn all_items(app: &TestApp, thread_id: &str) -> Vec<eventchat::store::ItemRecord> {
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, thread_id).await;
    app.state.stores.items.all_items(&thread).await.unwrap()
}

async fn stop_on_disconnect(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    // A slow reply: one token a second, so that a close seen only at the server's next write
    // (a second later) cannot pass for a close seen at once.
    mock.push(
        Reply::text(["First ", "second ", "third ", "fourth"])
            .token_delay(Duration::from_millis(1000)),
    );
    let mut open = Open::start(
        &app,
        &token,
        req::create_thread("hello", meta.clone()),
        None,
    )
    .await;
    open.until("\"delta\":\"First \"").await;
    drop(open);
    let dropped = Instant::now();
    // The model request is closed (the mock saw its client go) promptly.
    let deadline = Instant::now() + Duration::from_secs(5);
    let closed = loop {
        if let Some((0, at)) = mock.closed_early().first().copied() {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "the model request was never closed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let latency = closed.saturating_duration_since(dropped);
    assert!(
        latency < Duration::from_secs(1),
        "closed {latency:?} after the drop"
    );
    let thread_id = app.newest_thread(&token).await;
    // The partial answer holds exactly the text streamed, and the hidden note follows it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let items = loop {
        let items = all_items(&app, &thread_id).await;
        if items
            .iter()
            .any(|i| i.item_type == ItemType::SdkHiddenContext)
        {
            break items;
        }
        assert!(Instant::now() < deadline, "no cancellation note");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let kinds: Vec<ItemType> = items.iter().map(|i| i.item_type).collect();
    assert_eq!(
        kinds,
        [
            ItemType::UserMessage,
            ItemType::AssistantMessage,
            ItemType::SdkHiddenContext
        ]
    );
    assert_eq!(items[1].content["content"][0]["text"], "First ");
    assert_eq!(mock.request_count(), 1);
    // The next message gets a normal turn, and the model sees the partial answer and note.
    mock.push(Reply::text(["Sure."]));
    let (status, ev) = app
        .stream(&token, req::add_user_message(&thread_id, "go on"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ev.last().unwrap()["type"], "thread.item.done", "{ev:?}");
    let next = mock.requests()[1].to_string();
    assert!(next.contains("First "), "{next}");
    assert!(next.contains("The user cancelled the stream"), "{next}");
    app.finish().await;
}
both_backends!(a_dropped_connection_stops_the_turn, stop_on_disconnect);

async fn stop_before_the_second_tool(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    let guest = |id: &str, name: &str| {
        MockToolCall::new(
            id,
            "addGuest",
            json!({"eventId": event_id, "name": name, "email": format!("{}@guests.example", name.to_lowercase())}),
        )
    };
    // Round one adds Ann; round two (held back a second) would add Bob.
    mock.push(Reply::tool_calls(vec![guest("g1", "Ann")]));
    mock.push(
        Reply::tool_calls(vec![guest("g2", "Bob")]).first_token_delay(Duration::from_secs(1)),
    );
    mock.push(Reply::text(["Both added."]));
    let mut open = Open::start(
        &app,
        &token,
        req::create_thread("add my guests", meta.clone()),
        None,
    )
    .await;
    open.until("workflow.task.added").await;
    drop(open);
    let thread_id = app.newest_thread(&token).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_items(&app, &thread_id)
        .await
        .iter()
        .any(|i| i.item_type == ItemType::SdkHiddenContext)
    {
        assert!(Instant::now() < deadline, "the turn was not cancelled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Wait out the held second reply: even once it could have arrived, Bob is not added.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let audit = app
        .state
        .stores
        .domain
        .tool_calls_for_thread(&thread_id)
        .await
        .unwrap();
    let tools: Vec<&str> = audit.iter().map(|a| a.tool.as_str()).collect();
    assert_eq!(tools, ["addGuest"], "only the first tool ran");
    let names: Vec<String> = entity::guests::Entity::find()
        .filter(entity::guests::Column::EventId.eq(&event_id))
        .all(&app.state.stores.db)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert!(names.iter().any(|n| n == "Ann"), "{names:?}");
    assert!(!names.iter().any(|n| n == "Bob"), "{names:?}");
    assert!(mock.request_count() <= 2, "no third model request");
    app.finish().await;
}
both_backends!(a_cancel_starts_no_later_tool, stop_before_the_second_tool);

async fn resume_after_a_drop(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[("EVENTCHAT_TURNS__RETENTION_SECS", "2")]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let other = app.token_for(DEMO_STAFF_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    let pieces = ["One ", "two ", "three ", "four ", "five ", "six"];
    mock.push(Reply::text(pieces).token_delay(Duration::from_millis(100)));
    let mut open = Open::start(
        &app,
        &token,
        req::create_thread("count", meta.clone()),
        Some("continue"),
    )
    .await;
    let turn_id = open.turn_id.clone();
    open.until("\"delta\":\"two \"").await;
    let first = open.text.clone();
    drop(open);
    let after = last_seq(&first);
    assert!(after > 0, "{first}");
    // The turn runs on; the resume gives the rest, the live tail included.
    let (status, rest) = resume(&app, &token, &turn_id, after).await;
    assert_eq!(status, 200, "{rest}");
    // Someone else may not see it.
    let (status, _) = resume(&app, &other, &turn_id, 0).await;
    assert_eq!(status, 404);
    let (status, _) = cancel(&app, &other, &turn_id).await;
    assert_eq!(status, 404);
    // No gap, no duplicate: the two parts are the whole turn, frame for frame.
    let (status, whole) = resume(&app, &token, &turn_id, 0).await;
    assert_eq!(status, 200);
    let mut joined = data_frames(&first);
    joined.extend(data_frames(&rest));
    assert_eq!(joined, data_frames(&whole));
    let events: Vec<Value> = parse_sse(&whole);
    assert_eq!(events.last().unwrap()["type"], "thread.item.done");
    assert_eq!(
        events.last().unwrap()["item"]["content"][0]["text"],
        pieces.concat()
    );
    // The same events an uninterrupted turn gives (ids and times aside).
    mock.push(Reply::text(pieces).token_delay(Duration::from_millis(10)));
    let (_, straight) = app
        .stream(&token, req::create_thread("count", meta.clone()))
        .await;
    let kinds = |ev: &[Value]| -> Vec<String> {
        ev.iter()
            .map(|e| format!("{}:{}", e["type"], e["update"]["delta"]))
            .collect()
    };
    assert_eq!(kinds(&events), kinds(&straight));
    // Once the retention has passed, the turn is gone: 410.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = resume(&app, &token, &turn_id, 0).await;
        if status == 410 {
            assert!(body.contains("no longer kept"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "the turn was never dropped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.finish().await;
}
both_backends!(
    a_continue_turn_resumes_without_gap_or_duplicate,
    resume_after_a_drop
);

async fn explicit_cancel(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    mock.push(Reply::text(["Slow ", "answer ", "here"]).token_delay(Duration::from_millis(400)));
    let mut open = Open::start(
        &app,
        &token,
        req::create_thread("hi", meta.clone()),
        Some("continue"),
    )
    .await;
    let turn_id = open.turn_id.clone();
    open.until("\"delta\":\"Slow \"").await;
    let (status, body) = cancel(&app, &token, &turn_id).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"turn_id": turn_id, "cancelled": "running"}));
    // The stream of the cancelled turn ends cleanly with the partial answer, no error.
    let text = open.rest().await;
    let events = parse_sse(&text);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "thread.item.done", "{events:?}");
    assert_eq!(last["item"]["content"][0]["text"], "Slow ");
    assert!(events.iter().all(|e| e["type"] != "error"));
    // A second cancel finds nothing to do.
    let (status, body) = cancel(&app, &token, &turn_id).await;
    assert_eq!(status, 200);
    assert_eq!(body["cancelled"], "already_over");
    // The thread's running turn is reported, then none.
    let thread_id = app.newest_thread(&token).await;
    let r = app
        .http
        .get(app.url(&format!("/api/chatkit/threads/{thread_id}/turn")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"running": false, "state": "idle"})
    );
    app.finish().await;
}
both_backends!(an_explicit_cancel_stops_a_continue_turn, explicit_cancel);
