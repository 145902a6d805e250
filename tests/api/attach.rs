//! Attach after a reload (issue #15): `threads.custom_action` with `eventchat.attach` follows
//! the running turn, starting with a snapshot of its unfinished items, with nothing lost or
//! doubled against the stream of the request that started the turn; it never starts, queues
//! or cancels a turn and stores nothing. Bounded waits only.

use std::time::Duration;

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use eventchat::vocab::ItemType;
use mock_llm::{MockLlm, Reply};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, parse_sse};
use crate::requests as req;
use crate::turns::{Open, all_items};

const PIECES: [&str; 6] = ["One ", "two ", "three ", "four ", "five ", "six"];

fn attach_request(thread_id: &str) -> Value {
    req::custom_action(thread_id, None, json!({"type": "eventchat.attach"}))
}

/// The `data:` events of a body with the number of the `: seq=N` before each (0: none).
fn numbered(body: &str) -> Vec<(u64, Value)> {
    let mut seq = 0;
    let mut out = Vec::new();
    for frame in body.split("\n\n") {
        if let Some(n) = frame.strip_prefix(": seq=") {
            seq = n.parse().unwrap();
        } else if frame.starts_with("data: ") {
            out.push((seq, parse_sse(&format!("{frame}\n\n")).remove(0)));
            seq = 0;
        }
    }
    out
}

fn delta(e: &Value) -> Option<&str> {
    (e["update"]["type"] == "assistant_message.content_part.text_delta")
        .then(|| e["update"]["delta"].as_str().unwrap())
}

/// A client's thread with a slow reply running; read up to its second delta.
async fn running_turn(app: &TestApp, mock: &MockLlm, token: &str) -> (Open, String) {
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    mock.push(Reply::text(PIECES).token_delay(Duration::from_millis(200)));
    let mut open = Open::start(
        app,
        token,
        req::create_thread("count", meta),
        Some("continue"),
    )
    .await;
    open.until("\"delta\":\"two \"").await;
    let thread_id = parse_sse(&open.text)[0]["thread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (open, thread_id)
}

/// The running turn's two readers, read side by side to its end: the request that started
/// it and an attach made after its second delta. (thread id, turn id, the starting body,
/// the attach's X-Eventchat-Turn, the attach's body)
async fn attach_mid_turn(
    app: &TestApp,
    mock: &MockLlm,
    token: &str,
) -> (String, String, String, String, String) {
    let (open, thread_id) = running_turn(app, mock, token).await;
    let turn_id = open.turn_id.clone();
    // The pages' live indicator sees the turn running.
    let now: Value = app
        .request_as(
            reqwest::Method::GET,
            token,
            &format!("/api/chatkit/threads/{thread_id}/turn"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&now["running"], &now["state"], &now["turn_id"]),
        (&json!(true), &json!("running"), &json!(turn_id))
    );
    let attach = async {
        let a = Open::start(app, token, attach_request(&thread_id), None).await;
        (a.turn_id.clone(), a.rest().await)
    };
    let (started, (attach_turn, attached)) = tokio::join!(open.rest(), attach);
    (thread_id, turn_id, started, attach_turn, attached)
}

async fn snapshot_then_tail(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (_, turn_id, started, attach_turn, attached) = attach_mid_turn(&app, &mock, &token).await;
    assert_eq!(
        attach_turn, turn_id,
        "X-Eventchat-Turn names the running turn"
    );
    assert!(
        attached.starts_with("data: {\"type\":\"thread.item.added\""),
        "the snapshot comes first, unnumbered: {attached}"
    );
    let events = numbered(&attached);
    let (snap_seq, snapshot) = &events[0];
    assert_eq!(*snap_seq, 0);
    assert_eq!(snapshot["item"]["type"], "assistant_message");
    let item_id = snapshot["item"]["id"].as_str().unwrap();
    let so_far = snapshot["item"]["content"][0]["text"].as_str().unwrap();
    assert!(so_far.starts_with("One two "), "{so_far:?}");
    // The tail is numbered and is exactly the starting stream's frames after the snapshot.
    let tail = &events[1..];
    assert!(tail.iter().all(|(seq, _)| *seq > 0), "{attached}");
    let first_tail = tail[0].0;
    let whole = numbered(&started);
    let after: Vec<&(u64, Value)> = whole.iter().filter(|(s, _)| *s >= first_tail).collect();
    assert_eq!(after.len(), tail.len());
    assert!(after.iter().zip(tail).all(|(a, b)| *a == b));
    // The snapshot holds what the frames before it streamed, the tail the rest.
    let before: String = whole
        .iter()
        .filter(|(s, _)| *s < first_tail)
        .filter_map(|(_, e)| delta(e))
        .collect();
    assert_eq!(before, so_far);
    let rest: String = tail.iter().filter_map(|(_, e)| delta(e)).collect();
    assert!(!rest.is_empty(), "{attached}");
    assert_eq!(format!("{so_far}{rest}"), PIECES.concat());
    let (_, last) = tail.last().unwrap();
    assert_eq!(last["type"], "thread.item.done", "{attached}");
    assert_eq!(last["item"]["id"], item_id);
    assert_eq!(last["item"]["content"][0]["text"], PIECES.concat());
    assert_eq!(
        mock.request_count(),
        1,
        "the attach asked the model nothing"
    );
    app.finish().await;
}
both_backends!(
    an_attach_mid_turn_gets_the_snapshot_then_the_tail,
    snapshot_then_tail
);

async fn each_item_once(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (thread_id, _, _, _, attached) = attach_mid_turn(&app, &mock, &token).await;
    let item_id = numbered(&attached)[0].1["item"]["id"].clone();
    // The page's items.list after the turn: the attached message is the stored one, once,
    // beside the user message, and nothing else was stored.
    let (status, page) = app
        .chatkit(&token, req::list_items(&thread_id, json!({"order": "asc"})))
        .await;
    assert_eq!(status, 200);
    let items = page["data"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["user_message", "assistant_message"], "{page}");
    assert_eq!(items[1]["id"], item_id);
    assert_eq!(items[1]["content"][0]["text"], PIECES.concat());
    let stored: Vec<ItemType> = all_items(&app, &thread_id)
        .await
        .iter()
        .map(|i| i.item_type)
        .collect();
    assert_eq!(stored, [ItemType::UserMessage, ItemType::AssistantMessage]);
    app.finish().await;
}
both_backends!(
    after_an_attach_items_list_has_each_item_once,
    each_item_once
);

async fn attach_when_idle(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text(["Hello."]));
    let (_, thread_id, _) = app.client_thread("hi").await;
    let stored = all_items(&app, &thread_id).await;
    let count = mock.request_count();
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&attach_request(&thread_id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert!(r.headers().get("x-eventchat-turn").is_none(), "no turn");
    let body = tokio::time::timeout(Duration::from_secs(5), r.text())
        .await
        .expect("the stream ends at once")
        .unwrap();
    assert_eq!(body, "", "just the end of the stream");
    // Nothing ran, nothing waits, nothing was stored.
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mock.request_count(), count);
    let after = all_items(&app, &thread_id).await;
    let ids = |items: &[eventchat::store::ItemRecord]| -> Vec<String> {
        items.iter().map(|i| i.id.clone()).collect()
    };
    assert_eq!(ids(&after), ids(&stored));
    app.finish().await;
}
both_backends!(an_attach_to_an_idle_thread_ends_at_once, attach_when_idle);

async fn attach_is_the_owners_and_cancels_nothing(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let other = app.token_for(DEMO_STAFF_EMAIL).await;
    let (open, thread_id) = running_turn(&app, &mock, &token).await;
    let turn_id = open.turn_id.clone();
    drop(open);
    // Someone else's attach is the usual 404 for a foreign thread.
    let (status, body) = app.chatkit(&other, attach_request(&thread_id)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    // The owner attaches to that very turn, then goes away mid-turn.
    let mut a = Open::start(&app, &token, attach_request(&thread_id), None).await;
    assert_eq!(a.turn_id, turn_id);
    a.until("\"type\":\"thread.item.updated\"").await;
    drop(a);
    // The turn runs to its end: the whole answer is stored and no cancellation note.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let items = loop {
        let items = all_items(&app, &thread_id).await;
        if items.iter().any(|i| {
            i.item_type == ItemType::AssistantMessage
                && i.content["content"][0]["text"] == PIECES.concat()
        }) {
            break items;
        }
        assert!(std::time::Instant::now() < deadline, "{items:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let kinds: Vec<ItemType> = items.iter().map(|i| i.item_type).collect();
    assert_eq!(kinds, [ItemType::UserMessage, ItemType::AssistantMessage]);
    assert_eq!(mock.request_count(), 1);
    app.finish().await;
}
both_backends!(
    an_attach_is_the_owners_and_its_drop_cancels_nothing,
    attach_is_the_owners_and_cancels_nothing
);
