//! The conversation layer's promises while turns run (issue #14): a live thread's row has one
//! writer, its actor, so a rename that lands mid-turn is kept, token totals are exact, and a
//! domain change that lands mid-turn reaches the next turn. Real HTTP, the real turn runner,
//! the mock LLM; the order of events is pinned by the mock's own request log, not by sleeps.

use std::time::{Duration, Instant};

use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use mock_llm::{MockLlm, Reply};

/// How long a model reply is held back, so that something can happen while the turn runs.
const HELD: Duration = Duration::from_millis(1200);

fn input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

/// Waits (bounded) until the mock has received `n` requests: the turn that sent the n-th
/// is then past its context and history and waiting for the model.
async fn until_requests(mock: &MockLlm, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.request_count() < n {
        assert!(Instant::now() < deadline, "the model never got request {n}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn create(meta: &Value, text: &str) -> Value {
    json!({"type":"threads.create","params":{"input":input(text)},"metadata":meta})
}

fn message(thread_id: &str, text: &str) -> Value {
    json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input(text)}})
}

async fn rename(app: &TestApp, token: &str, thread_id: &str, title: &str) {
    let (status, body) = app
        .chatkit(
            token,
            json!({"type":"threads.update","params":{"thread_id":thread_id,"title":title}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["title"], title);
}

/// The title as `threads.get_by_id` and `threads.list` report it.
async fn titles(app: &TestApp, token: &str, thread_id: &str) -> (Value, Value) {
    let (_, got) = app
        .chatkit(
            token,
            json!({"type":"threads.get_by_id","params":{"thread_id":thread_id}}),
        )
        .await;
    let (_, list) = app
        .chatkit(token, json!({"type":"threads.list","params":{}}))
        .await;
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == thread_id)
        .map(|t| t["title"].clone())
        .unwrap_or(Value::Null);
    (got["title"].clone(), listed)
}

/// The id of the user's newest thread, once `threads.list` shows one (bounded: 5 s).
async fn until_listed(app: &TestApp, token: &str) -> String {
    for _ in 0..500 {
        let (_, list) = app
            .chatkit(
                token,
                json!({"type":"threads.list","params":{"order":"desc"}}),
            )
            .await;
        if let Some(id) = list["data"][0]["id"].as_str() {
            return id.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no thread listed within 5 s");
}

async fn rename_during_a_turn(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[("EVENTCHAT_LLM__TITLE_ENABLED", "true")]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    // First turn: the answer is held while the user renames; then the generated title.
    mock.push(Reply::text(["Happy ", "to help."]).first_token_delay(HELD));
    mock.push(Reply::text(["Generated title"]));
    let streaming = app.stream(&token, create(&meta, "hello"));
    let renaming = async {
        until_requests(&mock, 1).await;
        // The model request goes out while the thread's first write commits (the client
        // learns the id from `thread.created`, which waits for it): wait for the row.
        let id = until_listed(&app, &token).await;
        rename(&app, &token, &id, "My own title").await;
        id
    };
    let ((status, events), thread_id) = futures::join!(streaming, renaming);
    assert_eq!(status, 200);
    assert_eq!(
        mock.request_count(),
        2,
        "the title was generated and offered"
    );
    assert_eq!(
        events.last().unwrap()["type"],
        "thread.updated",
        "{events:?}"
    );
    assert_eq!(events.last().unwrap()["thread"]["title"], "My own title");
    let (got, listed) = titles(&app, &token, &thread_id).await;
    assert_eq!(got, "My own title");
    assert_eq!(listed, "My own title");
    // A later turn: renamed again while it streams.
    mock.push(Reply::text(["More ", "details."]).first_token_delay(HELD));
    let streaming = app.stream(&token, message(&thread_id, "and the menu?"));
    let renaming = async {
        until_requests(&mock, 3).await;
        rename(&app, &token, &thread_id, "Second title").await;
    };
    let ((status, _), ()) = futures::join!(streaming, renaming);
    assert_eq!(status, 200);
    let (got, listed) = titles(&app, &token, &thread_id).await;
    assert_eq!(got, "Second title");
    assert_eq!(listed, "Second title");
    // The actor's own copy kept the rename too: the next turn's `thread.updated`, if any,
    // and the admin's view are built from it; a generated title never comes back.
    mock.push(Reply::text(["Anything else?"]));
    let (_, events) = app.stream(&token, message(&thread_id, "thanks")).await;
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == "thread.updated")
            .all(|e| e["thread"]["title"] == "Second title"),
        "{events:?}"
    );
    app.finish().await;
}
both_backends!(a_rename_during_a_turn_is_kept, rename_during_a_turn);

/// The stored token counters of a thread.
async fn tokens(app: &TestApp, thread_id: &str) -> (i64, i64) {
    let t = app.thread_record(DEMO_CLIENT_EMAIL, thread_id).await;
    (t.tokens_in, t.tokens_out)
}

/// Waits (bounded) until the stored counters reach `want`, then checks they stay there: the
/// usage is written after each stream ends.
async fn settle_tokens(app: &TestApp, thread_id: &str, want: (i64, i64)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokens(app, thread_id).await != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(tokens(app, thread_id).await, want, "thread {thread_id}");
}

async fn token_totals(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    // Every reply reports the same usage, so the totals do not depend on which thread's
    // request the mock answers first.
    let reply = || {
        Reply::text(["ok"])
            .usage(7, 3)
            .token_delay(Duration::from_millis(20))
    };
    for _ in 0..5 {
        mock.push(reply());
    }
    let (_, a) = app.stream(&token, create(&meta, "thread a")).await;
    let a = a[0]["thread"]["id"].as_str().unwrap().to_owned();
    let (_, b) = app.stream(&token, create(&meta, "thread b")).await;
    let b = b[0]["thread"]["id"].as_str().unwrap().to_owned();
    // Two turns queued on A, one on B beside them, and a rename of A while they run (its
    // write must not touch the counters).
    let renaming = async {
        until_requests(&mock, 3).await;
        rename(&app, &token, &a, "A").await;
    };
    let (r1, r2, r3, ()) = futures::join!(
        app.stream(&token, message(&a, "one")),
        app.stream(&token, message(&a, "two")),
        app.stream(&token, message(&b, "three")),
        renaming,
    );
    for (status, events) in [r1, r2, r3] {
        assert_eq!(status, 200);
        assert_ne!(events.last().unwrap()["type"], "error", "{events:?}");
    }
    assert_eq!(mock.request_count(), 5);
    settle_tokens(&app, &a, (21, 9)).await;
    settle_tokens(&app, &b, (14, 6)).await;
    // After a restart of the actor (evicted, then rehydrated from the store) the counters
    // go on from the stored values.
    let admin = app
        .token_for(eventchat::store::seed::DEMO_ADMIN_EMAIL)
        .await;
    let r = app
        .request_as(
            reqwest::Method::POST,
            &admin,
            &format!("/admin/actors/{a}/stop"),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    mock.push(reply());
    let (status, _) = app.stream(&token, message(&a, "after restart")).await;
    assert_eq!(status, 200);
    settle_tokens(&app, &a, (28, 12)).await;
    app.finish().await;
}
both_backends!(token_totals_are_exact, token_totals);

async fn domain_change_during_a_turn(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, venue_id) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    // The first turn builds the context (the thread's actor has none yet), then waits for
    // the model while the event changes and the change is published.
    mock.push(Reply::text(["Noted."]).first_token_delay(HELD));
    let streaming = app.stream(&token, create(&meta, "how many guests?"));
    let changing = async {
        until_requests(&mock, 1).await;
        let first = &mock.requests()[0];
        assert!(
            !first.to_string().contains("guest count: 4321"),
            "the old context has the old count"
        );
        let event = entity::events::Entity::find_by_id(event_id.clone())
            .one(&app.state.stores.db)
            .await
            .unwrap()
            .unwrap();
        let mut event: entity::events::ActiveModel = event.into();
        event.guest_count = Set(4321);
        event.update(&app.state.stores.db).await.unwrap();
        app.state
            .registry
            .bus()
            .publish(&venue_id, &event_id, "Guest count changed to 4321", None);
        // Bounded wait for the change to reach the live thread (its hidden note is stored);
        // the held reply is still pending then.
        let id = app.newest_thread(&token).await;
        let thread = app.thread_record(DEMO_CLIENT_EMAIL, &id).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let all = app
                .state
                .stores
                .items
                .load_items(
                    &thread,
                    None,
                    100,
                    eventchat::store::Order::Asc,
                    eventchat::store::Visibility::All,
                )
                .await
                .unwrap();
            if all
                .data
                .iter()
                .any(|i| i.content.to_string().contains("Guest count changed"))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the change never reached the thread"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(mock.request_count(), 1, "the turn was still waiting");
        id
    };
    let ((status, events), thread_id) = futures::join!(streaming, changing);
    assert_eq!(status, 200);
    assert_ne!(events.last().unwrap()["type"], "error", "{events:?}");
    mock.push(Reply::text(["4321 guests."]));
    let (status, _) = app.stream(&token, message(&thread_id, "and now?")).await;
    assert_eq!(status, 200);
    let next = mock.requests()[1].to_string();
    assert!(
        next.contains("guest count: 4321"),
        "the next turn's context must be rebuilt after the change: {next}"
    );
    assert!(next.contains("Guest count changed to 4321"));
    app.finish().await;
}
both_backends!(
    a_domain_change_during_a_turn_reaches_the_next_turn,
    domain_change_during_a_turn
);
