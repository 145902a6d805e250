//! A dropped stream gives its per-user stream slot back at once, even while the model is
//! quiet and the server has nothing to write (issue #20, item 12): the close is read at EOF
//! (`h1_allow_half_closed(false)`), not found out at the next keep-alive write, 15 s later.
//!
//! The slot belongs to the connection, not to the turn: with `continue` the turn goes on
//! without a reader and holds no slot; a resume of it takes one like any stream.

use std::time::{Duration, Instant};

use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use mock_llm::{MockLlm, Reply};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::requests as req;
use crate::turns::Open;

/// How soon after a drop the user must be able to stream again.
const FREED_WITHIN: Duration = Duration::from_secs(1);

async fn slot_freed_on_drop(backend: Backend, policy: &str) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(
        backend,
        &mock,
        &[
            ("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", "1"),
            // The server's default: nothing is written for 15 s while the model is quiet.
            ("EVENTCHAT_SERVER__SSE_KEEP_ALIVE_SECS", "15"),
        ],
    )
    .await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let uid = app.user(DEMO_CLIENT_EMAIL).await.id;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    // A quiet model: its first token comes after 10 s.
    mock.push(Reply::text(["Much ", "later."]).first_token_delay(Duration::from_secs(10)));
    mock.set_fallback(Reply::text(["Right away."]));
    let mut open = Open::start(
        &app,
        &token,
        req::create_thread("slow one", meta.clone()),
        Some(policy),
    )
    .await;
    let first_turn = open.turn_id.clone();
    open.until("stream_options").await;
    // The model request is out and nothing more comes: the quiet stretch of the issue.
    let deadline = Instant::now() + Duration::from_secs(5);
    while mock.request_count() < 1 {
        assert!(Instant::now() < deadline, "the model was never asked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.state.limits.streams.open_for(&uid), 1);
    drop(open);
    let dropped = Instant::now();
    while app.state.limits.streams.open_for(&uid) > 0 {
        assert!(
            dropped.elapsed() < FREED_WITHIN,
            "the slot of the dropped stream ({policy}) is still held after {:?}",
            dropped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The same user streams again at once: not 429.
    let (status, events) = app
        .stream(&token, req::create_thread("next one", meta))
        .await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(
        events.last().unwrap()["type"],
        "thread.item.done",
        "{events:?}"
    );
    // With `continue` the dropped turn is still running (it only lost its reader); with
    // `cancel` it is over. Either way it held no slot while the second stream ran.
    let r = app
        .http
        .post(app.url(&format!("/api/chatkit/turns/{first_turn}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let expected = if policy == "continue" {
        "running"
    } else {
        "already_over"
    };
    assert_eq!(body["cancelled"], expected, "{body}");
    app.finish().await;
}

async fn cancel(backend: Backend) {
    slot_freed_on_drop(backend, "cancel").await;
}
crate::both_backends!(a_dropped_cancel_stream_frees_its_slot_at_once, cancel);

async fn keep_running(backend: Backend) {
    slot_freed_on_drop(backend, "continue").await;
}
crate::both_backends!(
    a_dropped_continue_stream_frees_its_slot_at_once,
    keep_running
);
