//! A model that stalls mid-answer (#20 item 11): after some text the mock sends nothing and
//! holds the connection open. The idle clock between chunks (`llm.idle_timeout_secs`, 1 s
//! here) ends the turn with the `stall` row of the fault table (protocol §10.3), the text
//! already streamed is stored, the model request is closed, and a second message sent to the
//! same thread while the model is stalled is answered as soon as the first turn is over,
//! not after the turn clock (300 s).

use std::time::{Duration, Instant};

use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use mock_llm::{MockLlm, Reply};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, parse_sse};
use crate::requests as req;
use crate::turns::Open;

/// Every wait of this test is bounded by this.
const BOUND: Duration = Duration::from_secs(20);

async fn a_stalled_model_frees_the_thread(backend: Backend) {
    let mock = MockLlm::start();
    let app =
        TestApp::with_mock(backend, &mock, &[("EVENTCHAT_LLM__IDLE_TIMEOUT_SECS", "1")]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    // The role chunk, "Part ", "one ", then nothing.
    mock.push(Reply::text(["Part ", "one ", "and ", "never more"]).stall_after(3));
    mock.push(Reply::text(["Second answer."]));
    let metadata = json!({"agentType": "client", "eventId": event_id});
    let mut first = Open::start(&app, &token, req::create_thread("first", metadata), None).await;
    first.until("\"one \"").await;
    let stalled_at = Instant::now();
    let thread_id = parse_sse(&first.text)[0]["thread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The second message goes in while the model is stalled; it waits for the first turn.
    let first_end = async {
        let body = first.rest().await;
        (body, stalled_at.elapsed())
    };
    let second = async {
        let sent = Instant::now();
        let answer = app.add_user_message(&token, &thread_id, "second").await;
        (answer, sent.elapsed())
    };
    let ((body, first_took), ((status, second_events), waited)) =
        tokio::time::timeout(BOUND, async { tokio::join!(first_end, second) })
            .await
            .expect("both turns end within the bound");

    let events = parse_sse(&body);
    let (message, allow_retry) = crate::model_faults::row("stall");
    assert_eq!(
        events.last().unwrap(),
        &json!({"type": "error", "code": "custom", "message": message, "allow_retry": allow_retry}),
        "{body}"
    );
    assert!(
        first_took < Duration::from_millis(2_500),
        "the stalled turn ended {first_took:?} after its last text (idle timeout 1 s)"
    );
    assert_eq!(status, 200, "{second_events:?}");
    let answered = second_events.iter().any(|e| {
        e["type"] == "thread.item.done" && e["item"]["content"][0]["text"] == "Second answer."
    });
    assert!(answered, "{second_events:?}");
    assert!(
        waited < Duration::from_millis(2_500),
        "the second message waited {waited:?}"
    );

    // The partial answer is stored, and the stalled model request was closed.
    let (_, items) = app
        .chatkit(&token, req::list_items(&thread_id, json!({"order": "asc"})))
        .await;
    let texts: Vec<&str> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "assistant_message")
        .filter_map(|i| i["content"][0]["text"].as_str())
        .collect();
    assert_eq!(texts, ["Part one ", "Second answer."], "{items}");
    assert_eq!(mock.request_count(), 2);
    assert_eq!(
        mock.closed_early().first().map(|(index, _)| *index),
        Some(0),
        "the stalled request was closed"
    );
    app.finish().await;
}
both_backends!(
    a_stalled_model_ends_the_turn_and_frees_the_thread,
    a_stalled_model_frees_the_thread
);
