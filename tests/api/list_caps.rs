//! Caps on the lists a request carries (issue #20, item 6): `items.feedback` once inserted
//! 6,000 rows for one request (and answered 500 above ~6,550 ids on SQLite); now every list in
//! a ChatKit request's `params` is capped with a 400 that names the field and the cap, before
//! anything is read or written, and repeated ids count once.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests as req;

async fn feedback_rows(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::chatkit_item_feedback::Entity::find()
        .count(&app.state.stores.db)
        .await
        .unwrap()
}

/// A 400 whose message names `field` and the shipped cap `max`.
fn assert_capped(status: u16, body: &Value, field: &str, max: usize) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{field} has ")), "{message}");
    assert!(
        message.contains(&format!("at most {max} are accepted")),
        "{message}"
    );
}

async fn feedback(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (token, thread_id, ev) = app.client_thread("hello").await;
    let answer = ev.last().unwrap()["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 6,000 ids (the drill's request): refused, nothing written.
    let ids: Vec<String> = (0..6000).map(|i| format!("msg_{i:08}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (status, body) = app
        .chatkit(&token, req::feedback(&thread_id, &ids, "positive"))
        .await;
    assert_capped(status, &body, "params.item_ids", 100);
    assert!(body["error"]["message"].as_str().unwrap().contains("6000"));
    assert_eq!(feedback_rows(&app).await, 0);
    // 101 is one too many; 100 are looked up (these do not exist: 404, nothing written).
    let (status, body) = app
        .chatkit(&token, req::feedback(&thread_id, &ids[..101], "positive"))
        .await;
    assert_capped(status, &body, "params.item_ids", 100);
    let (status, body) = app
        .chatkit(&token, req::feedback(&thread_id, &ids[..100], "positive"))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(feedback_rows(&app).await, 0);
    // The same id many times is one id: one row.
    let repeated = vec![answer.as_str(); 500];
    let (status, body) = app
        .chatkit(&token, req::feedback(&thread_id, &repeated, "negative"))
        .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(feedback_rows(&app).await, 1);
    app.finish().await;
}
both_backends!(feedback_ids_are_deduplicated_and_capped, feedback);

/// `input` with `parts` text parts and these attachment ids.
fn input(parts: usize, attachments: &[String]) -> Value {
    let content: Vec<Value> = (0..parts)
        .map(|i| json!({"type": "input_text", "text": format!("part {i} ")}))
        .collect();
    json!({"content": content, "attachments": attachments, "inference_options": {}})
}

async fn other_lists(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (token, thread_id, ev) = app.client_thread("hello").await;
    let (event_id, _) = app
        .event_of(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    let before = app.chatkit_counts().await;
    // Attachments of a new thread's first message: 11 distinct ids (no lookup is made).
    let eleven: Vec<String> = (0..11).map(|i| format!("atc_{i:08}")).collect();
    let create =
        json!({"type": "threads.create", "params": {"input": input(1, &eleven)}, "metadata": meta});
    let (status, body) = app.chatkit(&token, create).await;
    assert_capped(status, &body, "params.input.attachments", 10);
    // Repeats count once: eleven copies of one unknown id are one lookup (404).
    let same = vec![eleven[0].clone(); 11];
    let create =
        json!({"type": "threads.create", "params": {"input": input(1, &same)}, "metadata": meta});
    let (status, body) = app.chatkit(&token, create).await;
    assert_eq!(status, 404, "{body}");
    // Content parts of a message.
    let send = json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": input(101, &[])}});
    let (status, body) = app.chatkit(&token, send).await;
    assert_capped(status, &body, "params.input.content", 100);
    // A structured-input submission: its answers, and the values of one answer (checked
    // before the item is looked up, so any item id will do).
    let item = ev.last().unwrap()["item"]["id"].as_str().unwrap();
    let answers: serde_json::Map<String, Value> = (0..51)
        .map(|i| (format!("q{i}"), json!({"values": ["x"]})))
        .collect();
    let submit = req::add_structured_input(&thread_id, item, json!({"answers": answers}));
    let (status, body) = app.chatkit(&token, submit).await;
    assert_capped(status, &body, "params.input.answers", 50);
    let values: Vec<String> = (0..51).map(|i| format!("v{i}")).collect();
    let submit = req::add_structured_input(
        &thread_id,
        item,
        json!({"answers": {"priority": {"values": values}}}),
    );
    let (status, body) = app.chatkit(&token, submit).await;
    assert_capped(status, &body, "params.input.answers.priority.values", 50);
    assert_eq!(app.chatkit_counts().await, before, "nothing written");
    app.finish().await;
}
both_backends!(every_other_list_is_capped, other_lists);
