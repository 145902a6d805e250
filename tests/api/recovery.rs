//! Nothing streamed is lost, and no partial answer passes for a whole one (issue #20, items
//! 1-3): an answer is snapshotted while it streams, a process killed mid-answer leaves it
//! marked interrupted after the next start, an answer cut off by a model failure is marked
//! incomplete for the model, and a thread is written together with its first message.

use std::time::{Duration, Instant};

use eventchat::store::{ItemRecord, ThreadRecord, TurnBegin};
use eventchat::vocab::{ItemStatus, ItemType};
use mock_llm::{MockLlm, Reply};
use serde_json::{Value, json};

use crate::binary::{Binary, read_for, server_log};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests::{add_user_message, create_thread, list_items, list_threads};

use eventchat::store::seed::DEMO_CLIENT_EMAIL;

/// Every item of a thread, hidden ones and snapshots included, in store order.
async fn all_items(app: &TestApp, thread_id: &str) -> Vec<ItemRecord> {
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, thread_id).await;
    app.state.stores.items.all_items(&thread).await.unwrap()
}

/// Waits (bounded: 5 s) until no run row is left: a turn deletes its row on a task of its
/// own after it ended.
async fn until_no_runs(app: &TestApp) {
    for _ in 0..500 {
        if app.state.stores.runs.open().await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("a run row was left 5 s after its turn ended");
}

fn text_of(item: &ItemRecord) -> String {
    item.content["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A model failure after text: the answer is stored with the text it had, marked
/// `incomplete`, followed by a hidden note; the next model request carries both.
async fn cut_off_answer(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text(["w0 ", "w1 ", "w2 ", "w3"]).disconnect_after(3));
    let (thread_id, ev) = app
        .create_thread(
            &token,
            "Tell me a story",
            json!({"agentType": "client", "eventId": event_id}),
        )
        .await;
    // The error event is the `reset-mid` row of the fault table (protocol §10.3).
    let (message, allow_retry) = crate::model_faults::row("reset-mid");
    assert_eq!(
        ev.last().unwrap(),
        &json!({"type":"error","code":"custom","message":message,"allow_retry":allow_retry})
    );
    let items = all_items(&app, &thread_id).await;
    let kinds: Vec<ItemType> = items.iter().map(|i| i.item_type).collect();
    assert_eq!(
        kinds,
        [
            ItemType::UserMessage,
            ItemType::AssistantMessage,
            ItemType::SdkHiddenContext
        ]
    );
    assert_eq!(text_of(&items[1]), "w0 w1 ");
    assert_eq!(items[1].metadata["incomplete"], "model_error");
    assert_eq!(items[1].status, None);
    // The user still sees the partial text (and not the note).
    let (_, page) = app
        .chatkit(&token, list_items(&thread_id, json!({"order": "asc"})))
        .await;
    let visible: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(visible, ["user_message", "assistant_message"]);
    // The next turn's model reads the partial answer and, after it, that it was cut off.
    mock.push(Reply::text(["Sure."]));
    let (status, _) = app
        .stream(&token, add_user_message(&thread_id, "go on"))
        .await;
    assert_eq!(status, 200);
    let next = mock.requests()[1].clone();
    let messages: Vec<String> = next["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    let partial = messages.iter().position(|m| m == "w0 w1 ");
    let note = messages.iter().position(|m| m.contains("was cut off"));
    assert!(
        matches!((partial, note), (Some(p), Some(n)) if n == p + 1),
        "{messages:#?}"
    );
    app.finish().await;
}
both_backends!(a_cut_off_answer_is_marked_incomplete, cut_off_answer);

/// While an answer streams, it is stored as it stands (invisible to listings); its end
/// makes it an ordinary message.
async fn snapshots(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(
        backend,
        &mock,
        &[("EVENTCHAT_TURNS__SNAPSHOT_INTERVAL_MS", "200")],
    )
    .await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::generated(30).token_delay(Duration::from_millis(60)));
    let body = create_thread(
        "Write a long answer",
        json!({"agentType": "client", "eventId": event_id}),
    );
    let http = app.http.clone();
    let url = app.url("/api/chatkit");
    let stream = {
        let token = token.clone();
        actix_web::rt::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    // Bounded: the reply takes ~1.8 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (thread_id, snapshot) = loop {
        assert!(Instant::now() < deadline, "no snapshot while streaming");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, list) = app.chatkit(&token, list_threads(json!({}))).await;
        let Some(id) = list["data"][0]["id"].as_str() else {
            continue;
        };
        let items = all_items(&app, id).await;
        if let Some(s) = items
            .iter()
            .find(|i| i.status == Some(ItemStatus::InProgress))
        {
            break (id.to_owned(), s.clone());
        }
    };
    assert_eq!(snapshot.item_type, ItemType::AssistantMessage);
    assert!(!text_of(&snapshot).is_empty());
    // Listings leave the unfinished answer out.
    let (_, page) = app.chatkit(&token, list_items(&thread_id, json!({}))).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
    let body = stream.await.unwrap();
    assert!(!body.contains("\"type\":\"error\""), "{body}");
    let items = all_items(&app, &thread_id).await;
    let answer = items
        .iter()
        .find(|i| i.id == snapshot.id)
        .expect("the snapshot's row is the answer's");
    assert_eq!(answer.status, None);
    assert!(text_of(answer).len() > text_of(&snapshot).len());
    assert!(text_of(answer).starts_with(&text_of(&snapshot)));
    assert!(answer.metadata.get("incomplete").is_none());
    until_no_runs(&app).await;
    app.finish().await;
}
both_backends!(a_streaming_answer_is_snapshotted, snapshots);

/// The thread row, the first message and the run row are one transaction: if the message
/// cannot be stored, no thread is left behind.
async fn first_write_is_atomic(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let (_, existing, _) = app.client_thread("hello").await;
    let taken = all_items(&app, &existing).await[0].clone();
    let owner = app.thread_record(DEMO_CLIENT_EMAIL, &existing).await;
    let now = chrono::Utc::now();
    let fresh = ThreadRecord {
        id: "thr_atomic".into(),
        created_at: now,
        updated_at: now,
        title: None,
        ..owner
    };
    // The message's id belongs to another thread: the insert of it fails.
    let mut message = taken.clone();
    message.thread_id = fresh.id.clone();
    let result = app
        .state
        .stores
        .runs
        .begin(TurnBegin {
            thread: &fresh,
            new_thread: true,
            item: Some(&message),
            turn_id: "trn_atomic",
            now,
        })
        .await;
    assert!(result.is_err());
    let gone = app
        .state
        .stores
        .threads
        .load_thread_unscoped("thr_atomic")
        .await;
    assert!(gone.is_err(), "the thread row was left behind: {gone:?}");
    until_no_runs(&app).await;
    app.finish().await;
}
both_backends!(
    a_thread_is_stored_with_its_first_message,
    first_write_is_atomic
);

/// kill -9 mid-answer, then a restart: the partial answer the client saw is kept and
/// marked interrupted, a hidden note follows it, and the next turn is normal.
async fn killed_mid_answer(backend: Backend) {
    let mock = MockLlm::start();
    // The in-process application seeds the database and mints tokens; the binary serves.
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let mut server = Binary::start(&app, &mock).await;
    mock.push(Reply::generated(200).token_delay(Duration::from_millis(50)));
    let body = create_thread(
        "Write a long answer",
        json!({"agentType": "client", "eventId": event_id}),
    );
    let response = server.chatkit(&app, &token, &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Read the stream until well over a second of text has arrived, then kill the server.
    let (seen, stream) = read_for(response, Duration::from_millis(1500)).await;
    server.kill9();
    drop(stream);
    let deltas: String = crate::helpers::parse_sse(&complete_frames(&seen))
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.text_delta")
        .map(|e| e["update"]["delta"].as_str().unwrap().to_owned())
        .collect();
    assert!(!deltas.is_empty(), "no text before the kill: {seen}");
    let thread_id = app.newest_thread(&token).await;
    assert_eq!(app.state.stores.runs.open().await.unwrap().len(), 1);
    // The restart closes the turn.
    let mut server = Binary::start(&app, &mock).await;
    assert!(app.state.stores.runs.open().await.unwrap().is_empty());
    let items = all_items(&app, &thread_id).await;
    let kinds: Vec<ItemType> = items.iter().map(|i| i.item_type).collect();
    assert_eq!(
        kinds,
        [
            ItemType::UserMessage,
            ItemType::AssistantMessage,
            ItemType::SdkHiddenContext
        ],
        "{items:#?}"
    );
    let kept = text_of(&items[1]);
    assert!(!kept.is_empty());
    // What was stored is what the client saw, less at most the last interval's text.
    assert!(deltas.starts_with(&kept), "kept {kept:?}, saw {deltas:?}");
    assert!(
        kept.len() * 2 >= deltas.len(),
        "kept {} of {} bytes",
        kept.len(),
        deltas.len()
    );
    assert_eq!(items[1].metadata["incomplete"], "interrupted");
    assert_eq!(items[1].status, None);
    // The next turn is normal, and its model reads the partial answer and the note.
    mock.push(Reply::text(["Picking up."]));
    let r = server
        .chatkit(&app, &token, &add_user_message(&thread_id, "go on"))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    server.kill9();
    let events = crate::helpers::parse_sse(&text);
    assert_eq!(events.last().unwrap()["type"], "thread.item.done", "{text}");
    let request = mock.requests().last().cloned().unwrap();
    let messages: Vec<Value> = request["messages"].as_array().unwrap().clone();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user", "user"],
        "{messages:#?}"
    );
    assert_eq!(messages[2]["content"], kept.as_str());
    assert!(
        messages[3]["content"]
            .as_str()
            .unwrap()
            .contains("the server stopped"),
        "{messages:#?}"
    );
    let logged = std::fs::read_to_string(server_log(&app)).unwrap_or_default();
    assert!(
        logged.contains("closed turns the previous process left running"),
        "{logged}"
    );
    app.finish().await;
}
both_backends!(a_killed_server_keeps_the_partial_answer, killed_mid_answer);

/// The whole frames of an SSE body cut at an arbitrary byte.
fn complete_frames(body: &str) -> String {
    match body.rfind("\n\n") {
        Some(end) => body[..end + 2].to_owned(),
        None => String::new(),
    }
}

/// kill -9 within the first ~30 ms of `threads.create`, eight times: after each restart
/// every thread `threads.list` shows has its first message (never an empty thread), and
/// every message the previous process stored ends with a note, not in a dangling turn.
async fn killed_while_creating(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.set_fallback(Reply::generated(50).token_delay(Duration::from_millis(20)));
    for round in 0..8u64 {
        let mut server = Binary::start(&app, &mock).await;
        let body = create_thread(
            "Hello there",
            json!({"agentType": "client", "eventId": event_id}),
        );
        let send = server.chatkit(&app, &token, &body).send();
        // Kill at 0, 4, 8, ... 28 ms after the request went out.
        let _ = tokio::time::timeout(Duration::from_millis(round * 4), send).await;
        server.kill9();
    }
    // One more start closes what the last kill left.
    Binary::start(&app, &mock).await.kill9();
    let (_, list) = app
        .chatkit(&token, list_threads(json!({"limit": 100})))
        .await;
    for thread in list["data"].as_array().unwrap() {
        let id = thread["id"].as_str().unwrap();
        let items = all_items(&app, id).await;
        assert_eq!(
            items.first().map(|i| i.item_type),
            Some(ItemType::UserMessage),
            "thread {id} has no first message: {items:#?}"
        );
    }
    assert!(app.state.stores.runs.open().await.unwrap().is_empty());
    app.finish().await;
}
both_backends!(
    a_kill_while_creating_leaves_no_empty_thread,
    killed_while_creating
);

/// A run row whose turn finished (its delete, on a task of its own, lost to a stop) is only
/// dropped at startup: no note, nothing marked.
async fn finished_turn_row(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text(["All done."]));
    let (thread_id, _) = app
        .create_thread(
            &token,
            "hello",
            json!({"agentType": "client", "eventId": event_id}),
        )
        .await;
    until_no_runs(&app).await;
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    let before = all_items(&app, &thread_id).await;
    app.state
        .stores
        .runs
        .begin(TurnBegin {
            thread: &thread,
            new_thread: false,
            item: None,
            turn_id: "trn_lost_delete",
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let closed = eventchat::conversation::recovery::close_abandoned_turns(&app.state.stores)
        .await
        .unwrap();
    assert_eq!(
        closed,
        eventchat::conversation::recovery::Recovered {
            turns: 0,
            partial_answers: 0,
            stale_rows: 1,
        },
        "counted as a stale row, not as a turn closed"
    );
    assert_eq!(
        all_items(&app, &thread_id).await,
        before,
        "nothing added or marked"
    );
    assert!(app.state.stores.runs.open().await.unwrap().is_empty());
    app.finish().await;
}
both_backends!(
    a_finished_turns_stale_row_is_only_dropped,
    finished_turn_row
);

/// A send's idempotency key outlives the process (issue #20, item 3): the client's retry of
/// a send the killed server had taken (its response never arrived) reaches the restarted
/// server, whose memory of keys is empty; the key in the stored message's metadata makes it a
/// repeat: a 409 naming the thread, and no second message. Both sends of the drill: a
/// message to a thread, and a thread's creation.
async fn key_survives_a_kill(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let mut server = Binary::start(&app, &mock).await;
    let meta =
        json!({"agentType": "client", "eventId": event_id, "clientMessageId": "cm-create-1"});
    mock.push(Reply::generated(200).token_delay(Duration::from_millis(50)));
    let create = create_thread("Plan the seating", meta);
    let response = server.chatkit(&app, &token, &create).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, stream) = read_for(response, Duration::from_millis(600)).await;
    server.kill9();
    drop(stream);
    let thread_id = app.newest_thread(&token).await;
    let mut server = Binary::start(&app, &mock).await;
    // The retry of the create: absorbed.
    let r = server.chatkit(&app, &token, &create).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&thread_id) && body.contains("cm-create-1"),
        "{body}"
    );
    let (status, threads) = app.chatkit(&token, list_threads(json!({}))).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = threads["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, [thread_id.as_str()], "no second thread");
    // A message with a key, killed mid-answer, retried with the header form of the key.
    mock.push(Reply::generated(200).token_delay(Duration::from_millis(50)));
    let message = add_user_message(&thread_id, "And the menu?");
    let send = |server: &Binary| {
        server
            .chatkit(&app, &token, &message)
            .header("Idempotency-Key", "msg-menu-1")
    };
    let response = send(&server).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, stream) = read_for(response, Duration::from_millis(600)).await;
    server.kill9();
    drop(stream);
    let mut server = Binary::start(&app, &mock).await;
    let r = send(&server).send().await.unwrap();
    assert_eq!(r.status(), 409, "{:?}", r.text().await);
    let users: Vec<String> = all_items(&app, &thread_id)
        .await
        .iter()
        .filter(|i| i.item_type == ItemType::UserMessage)
        .map(text_of)
        .collect();
    assert_eq!(users, ["Plan the seating", "And the menu?"]);
    // Another key is another message, as always.
    mock.push(Reply::text(["Sure."]));
    let other = server
        .chatkit(&app, &token, &message)
        .header("Idempotency-Key", "msg-menu-2")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let _ = other.text().await;
    server.kill9();
    app.finish().await;
}
both_backends!(
    a_sends_key_survives_a_kill_of_the_server,
    key_survives_a_kill
);
