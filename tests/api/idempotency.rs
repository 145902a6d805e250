//! Idempotent sends (issue #15 item 6) through HTTP: a repeat of a send's key (the
//! `Idempotency-Key` header or `metadata.clientMessageId`) by the same user stores no second
//! thread or message and runs no second turn; it answers the first send's turn, replayed from
//! its start (the same `X-Eventchat-Turn`, the same text), whether it comes after the first or
//! at the same time. Keys are per user; a malformed key is a 400 that writes nothing; a repeat
//! whose turn is no longer retained is a 409 naming the thread.

use std::time::{Duration, Instant};

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use mock_llm::{MockLlm, Reply};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, parse_sse};
use crate::requests as req;

/// A finished streaming response.
#[derive(Debug)]
struct Sent {
    status: u16,
    turn_id: Option<String>,
    body: String,
}

impl Sent {
    fn turn(&self) -> &str {
        assert_eq!(self.status, 200, "{}", self.body);
        self.turn_id.as_deref().unwrap()
    }

    /// The text of the assistant message's `done` event.
    fn answer(&self) -> String {
        let events = parse_sse(&self.body);
        let done = events
            .iter()
            .rev()
            .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
            .unwrap_or_else(|| panic!("no assistant message in {events:?}"));
        done["item"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The thread a `threads.create` response announced.
    fn thread_id(&self) -> String {
        let events = parse_sse(&self.body);
        let created = events
            .iter()
            .find(|e| e["type"] == "thread.created")
            .unwrap_or_else(|| panic!("no thread.created in {events:?}"));
        created["thread"]["id"].as_str().unwrap().to_owned()
    }

    fn error_json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// POSTs a ChatKit request with an optional `Idempotency-Key` header and reads it to the end.
async fn send(app: &TestApp, token: &str, body: Value, key: Option<&str>) -> Sent {
    let mut r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(token)
        .json(&body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    let resp = tokio::time::timeout(Duration::from_secs(20), r.send())
        .await
        .expect("no response")
        .unwrap();
    let status = resp.status().as_u16();
    let turn_id = resp
        .headers()
        .get("x-eventchat-turn")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = tokio::time::timeout(Duration::from_secs(20), resp.text())
        .await
        .expect("the body never ended")
        .unwrap();
    Sent {
        status,
        turn_id,
        body,
    }
}

/// The types of the thread's visible items, oldest first.
async fn item_types(app: &TestApp, token: &str, thread_id: &str) -> Vec<String> {
    let (status, page) = app
        .chatkit(
            token,
            req::list_items(thread_id, json!({"limit": 100, "order": "asc"})),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the user's threads.
async fn thread_ids(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = app
        .chatkit(token, req::list_threads(json!({"limit": 100})))
        .await;
    assert_eq!(status, 200, "{list}");
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn client_meta(app: &TestApp) -> Value {
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    json!({"agentType": "client", "eventId": event_id})
}

fn with_client_message_id(mut body: Value, id: &str) -> Value {
    if body.get("metadata").is_none() {
        body["metadata"] = json!({});
    }
    body["metadata"]["clientMessageId"] = json!(id);
    body
}

const ONE_TURN: [&str; 2] = ["user_message", "assistant_message"];
const TWO_TURNS: [&str; 4] = [
    "user_message",
    "assistant_message",
    "user_message",
    "assistant_message",
];

/// Asserts that two responses are one turn: the same id and the same answer.
fn same_turn(a: &Sent, b: &Sent) {
    assert_eq!(a.turn(), b.turn(), "one turn for both: {b:?}");
    assert_eq!(a.answer(), b.answer());
}

async fn repeated_one_after_the_other(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    let duplicates = || eventchat::metrics::global().duplicate_sends.get();
    let before = duplicates();
    mock.push(Reply::text(["Hello ", "there."]));
    let create = req::create_thread("hi", meta.clone());
    let first = send(&app, &token, create.clone(), Some("create-1")).await;
    let again = send(&app, &token, create, Some("create-1")).await;
    same_turn(&first, &again);
    assert_eq!(first.answer(), "Hello there.");
    // The repeat replays the whole turn, from the thread's announcement on.
    assert_eq!(parse_sse(&first.body), parse_sse(&again.body));
    let thread_id = first.thread_id();
    assert_eq!(thread_ids(&app, &token).await, [thread_id.as_str()]);
    assert_eq!(item_types(&app, &token, &thread_id).await, ONE_TURN);

    mock.push(Reply::text(["Noted."]));
    let message = req::add_user_message(&thread_id, "and then?");
    let first = send(&app, &token, message.clone(), Some("msg-1")).await;
    let again = send(&app, &token, message, Some("msg-1")).await;
    same_turn(&first, &again);
    assert_eq!(first.answer(), "Noted.");
    assert_eq!(item_types(&app, &token, &thread_id).await, TWO_TURNS);
    assert_eq!(mock.request_count(), 2, "one model request per turn");
    // The counter is the process's: other tests may add to it meanwhile.
    let after = duplicates();
    assert!(after >= before + 2, "{before} -> {after}");
    app.finish().await;
}
both_backends!(
    a_repeated_key_attaches_to_the_first_turn,
    repeated_one_after_the_other
);

async fn repeated_at_once(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    let slow = |pieces: &[&'static str]| {
        Reply::text(pieces.to_vec()).token_delay(Duration::from_millis(150))
    };
    mock.push(slow(&["One ", "two ", "three."]));
    let create = req::create_thread("count", meta.clone());
    let (a, b) = futures::join!(
        send(&app, &token, create.clone(), Some("same")),
        send(&app, &token, create, Some("same")),
    );
    same_turn(&a, &b);
    assert_eq!(a.answer(), "One two three.");
    let thread_id = a.thread_id();
    assert_eq!(b.thread_id(), thread_id);
    assert_eq!(thread_ids(&app, &token).await, [thread_id.as_str()]);
    assert_eq!(item_types(&app, &token, &thread_id).await, ONE_TURN);

    mock.push(slow(&["Four ", "five."]));
    let message = req::add_user_message(&thread_id, "go on");
    let (a, b) = futures::join!(
        send(&app, &token, message.clone(), Some("again")),
        send(&app, &token, message, Some("again")),
    );
    same_turn(&a, &b);
    assert_eq!(a.answer(), "Four five.");
    assert_eq!(item_types(&app, &token, &thread_id).await, TWO_TURNS);
    assert_eq!(mock.request_count(), 2, "one model request per turn");
    app.finish().await;
}
both_backends!(concurrent_duplicates_run_once, repeated_at_once);

async fn client_message_id(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    mock.push(Reply::text(["Welcome."]));
    let create = with_client_message_id(req::create_thread("hi", meta.clone()), "cm-1");
    let first = send(&app, &token, create.clone(), None).await;
    let again = send(&app, &token, create.clone(), None).await;
    same_turn(&first, &again);
    // The header and the metadata name the same key.
    let both = send(&app, &token, create, Some("cm-1")).await;
    same_turn(&first, &both);
    let thread_id = first.thread_id();
    assert_eq!(thread_ids(&app, &token).await, [thread_id.as_str()]);

    mock.push(Reply::text(["Sure."]));
    let message = with_client_message_id(req::add_user_message(&thread_id, "more"), "cm-2");
    let first = send(&app, &token, message.clone(), None).await;
    let again = send(&app, &token, message, None).await;
    same_turn(&first, &again);
    assert_eq!(item_types(&app, &token, &thread_id).await, TWO_TURNS);
    assert_eq!(mock.request_count(), 2);
    app.finish().await;
}
both_backends!(
    metadata_client_message_id_is_an_idempotency_key,
    client_message_id
);

async fn keys_per_user(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let client = app.token_for(DEMO_CLIENT_EMAIL).await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let (_, venue_id) = app.demo_staff().await;
    let client_create = req::create_thread("hi", client_meta(&app).await);
    let staff_create = req::create_thread(
        "hello",
        json!({"agentType": "venue_general", "venueId": venue_id}),
    );
    mock.push(Reply::text(["For the client."]));
    mock.push(Reply::text(["For the staff."]));
    let c1 = send(&app, &client, client_create.clone(), Some("shared")).await;
    let s1 = send(&app, &staff, staff_create.clone(), Some("shared")).await;
    assert_ne!(c1.turn(), s1.turn(), "the other user's key is another send");
    assert_eq!(c1.answer(), "For the client.");
    assert_eq!(s1.answer(), "For the staff.");
    // Each user's repeat finds their own first send.
    let c2 = send(&app, &client, client_create, Some("shared")).await;
    let s2 = send(&app, &staff, staff_create, Some("shared")).await;
    same_turn(&c1, &c2);
    same_turn(&s1, &s2);
    assert_eq!(thread_ids(&app, &client).await, [c1.thread_id()]);
    assert_eq!(thread_ids(&app, &staff).await, [s1.thread_id()]);
    assert_eq!(mock.request_count(), 2);
    app.finish().await;
}
both_backends!(keys_are_scoped_per_user, keys_per_user);

async fn malformed_keys(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    let create = req::create_thread("hi", meta.clone());
    let counts = app.chatkit_counts().await;
    let too_long = "k".repeat(201);
    for key in [too_long.as_str(), "   ", "tab\there"] {
        let r = send(&app, &token, create.clone(), Some(key)).await;
        assert_eq!(r.status, 400, "{key:?}: {}", r.body);
        assert_eq!(r.error_json()["error"]["code"], "invalid_request");
    }
    // Bytes beyond ASCII in the header.
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        )
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for id in [json!(too_long), json!("line\nbreak"), json!(""), json!(42)] {
        let mut body = create.clone();
        body["metadata"]["clientMessageId"] = id.clone();
        let r = send(&app, &token, body, None).await;
        assert_eq!(r.status, 400, "{id}: {}", r.body);
    }
    // A header and a metadata key that differ.
    let body = with_client_message_id(create.clone(), "one");
    let r = send(&app, &token, body, Some("two")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(app.chatkit_counts().await, counts, "nothing written");
    assert_eq!(mock.request_count(), 0);
    // 200 printable characters are a key.
    mock.push(Reply::text(["Fine."]));
    let longest = "~ ".repeat(100);
    let r = send(&app, &token, create, Some(&longest)).await;
    assert_eq!(r.answer(), "Fine.");
    app.finish().await;
}
both_backends!(a_malformed_key_is_a_400, malformed_keys);

async fn released_and_reused(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    // A first send refused before its turn (no agentType) does not hold the key.
    let refused = send(
        &app,
        &token,
        req::create_thread("hi", json!({})),
        Some("retry-me"),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    mock.push(Reply::text(["Hi."]));
    let create = req::create_thread("hi", meta.clone());
    let ok = send(&app, &token, create, Some("retry-me")).await;
    assert_eq!(ok.answer(), "Hi.");
    let thread_id = ok.thread_id();
    // The key names that create: a message under it is another request.
    let other = send(
        &app,
        &token,
        req::add_user_message(&thread_id, "next"),
        Some("retry-me"),
    )
    .await;
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.error_json()["error"]["code"], "conflict");
    assert_eq!(item_types(&app, &token, &thread_id).await, ONE_TURN);
    assert_eq!(mock.request_count(), 1);
    app.finish().await;
}
both_backends!(
    a_refused_send_releases_its_key_and_a_key_names_one_request,
    released_and_reused
);

async fn repeat_after_retention(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[("EVENTCHAT_TURNS__RETENTION_SECS", "1")]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    mock.push(Reply::text(["Once."]));
    let create = req::create_thread("hi", meta.clone());
    let first = send(&app, &token, create.clone(), Some("late")).await;
    let thread_id = first.thread_id();
    // Wait until the turn's log is dropped (its resume is a 410).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = app
            .http
            .post(app.url(&format!("/api/chatkit/turns/{}/events", first.turn())))
            .bearer_auth(&token)
            .json(&json!({"after": 0}))
            .send()
            .await
            .unwrap();
        if r.status() == 410 {
            break;
        }
        assert!(Instant::now() < deadline, "the turn was never dropped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let late = send(&app, &token, create, Some("late")).await;
    assert_eq!(late.status, 409, "{}", late.body);
    let message = late.error_json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains(&thread_id), "{message}");
    assert!(message.contains("already sent"), "{message}");
    assert_eq!(thread_ids(&app, &token).await, [thread_id.as_str()]);
    assert_eq!(item_types(&app, &token, &thread_id).await, ONE_TURN);
    assert_eq!(mock.request_count(), 1);
    app.finish().await;
}
both_backends!(
    a_repeat_after_the_retention_is_a_409_naming_the_thread,
    repeat_after_retention
);

async fn cancelled_while_queued(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let meta = client_meta(&app).await;
    mock.push(Reply::text(["Hi."]));
    let thread_id = send(&app, &token, req::create_thread("hi", meta), None)
        .await
        .thread_id();
    // A slow turn runs; the keyed message waits behind it, and its connection goes away.
    mock.push(Reply::text(["Slow ", "answer."]).token_delay(Duration::from_millis(500)));
    mock.push(Reply::text(["Queued answer."]));
    let running = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&req::add_user_message(&thread_id, "first"))
        .send()
        .await
        .unwrap();
    let message = req::add_user_message(&thread_id, "second");
    let dropped = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .header("idempotency-key", "queued")
        .json(&message)
        .send()
        .await
        .unwrap();
    let queued_turn = dropped.headers()["x-eventchat-turn"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(dropped);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .state
        .registry
        .turn(&queued_turn)
        .is_some_and(|log| log.ended_at().is_none())
    {
        assert!(
            Instant::now() < deadline,
            "the queued turn was not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Nothing of that turn was stored: the repeat sends the message after all, and a further
    // repeat attaches to that turn.
    let (retry, again) =
        futures::join!(send(&app, &token, message.clone(), Some("queued")), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            send(&app, &token, message.clone(), Some("queued")).await
        });
    assert_ne!(retry.turn(), queued_turn);
    same_turn(&retry, &again);
    assert_eq!(retry.answer(), "Queued answer.");
    running.text().await.unwrap();
    assert_eq!(
        item_types(&app, &token, &thread_id).await,
        [ONE_TURN, ONE_TURN, ONE_TURN].concat()
    );
    assert_eq!(mock.request_count(), 3);
    app.finish().await;
}
both_backends!(
    a_repeat_of_a_send_cancelled_while_queued_runs_it,
    cancelled_while_queued
);
