//! Widget actions (protocol §3.6, §3.8) reach the assistant: a streamed action is part of
//! the model's input for its turn, a sync action is recorded for the next turn, and a
//! responder's updated widget is answered and stored.

use eventchat::chatkit::ThreadItem;
use eventchat::conversation::convert::item_to_record;
use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, types};
use crate::scripted::Step;
use mock_llm::{MockLlm, Reply};

fn input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

/// The content of the last message of the newest request the model received.
fn last_message(mock: &MockLlm, back: usize) -> Value {
    let req = mock.requests().pop().expect("the model was asked");
    let messages = req["messages"].as_array().unwrap().clone();
    messages[messages.len() - 1 - back]["content"].clone()
}

async fn action_reaches_the_model(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    mock.push(Reply::text(["Hello Emily."]));
    let (token, thread_id, _) = app.client_thread("hi").await;
    // An action with no sender: the model's input for the turn ends with it, and the
    // assistant's answer streams back.
    mock.push(Reply::text(["I sent Ann", " a reminder."]));
    let (status, ev) = app
        .stream(&token, json!({"type":"threads.custom_action","params":{"thread_id":thread_id,"action":{"type":"rsvp.remind","payload":{"guest":"Ann"}}}}))
        .await;
    assert_eq!(status, 200, "{ev:?}");
    assert_eq!(types(&ev)[0], "stream_options");
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "I sent Ann a reminder."
    );
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(
        last_message(&mock, 0),
        r#"<HiddenContext><Action type="rsvp.remind">{"guest":"Ann"}</Action></HiddenContext>"#
    );
    // The note is for the model only: never streamed, never listed.
    assert!(!ev.iter().any(|e| e.to_string().contains("rsvp.remind")));
    let (_, items) = app
        .chatkit(
            &token,
            json!({"type":"items.list","params":{"thread_id":thread_id,"limit":100}}),
        )
        .await;
    assert!(!items.to_string().contains("rsvp.remind"), "{items}");
    // From a widget: the sender's id and type are part of it, and a payload cannot close
    // the tag (`<`, `>` and `&` are JSON escapes).
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    let widget: ThreadItem = serde_json::from_value(json!({
        "id": "msg_widget1", "thread_id": thread_id, "created_at": "2026-11-25T10:00:00.000000Z",
        "type": "widget", "widget": {"type": "Card", "children": []}, "copy_text": "RSVPs"
    }))
    .unwrap();
    let record = item_to_record(&widget, json!({})).unwrap();
    app.state
        .stores
        .items
        .upsert_item(&thread, &record)
        .await
        .unwrap();
    mock.push(Reply::text(["Done."]));
    let (status, ev) = app
        .stream(&token, json!({"type":"threads.custom_action","params":{"thread_id":thread_id,"item_id":"msg_widget1","action":{"type":"rsvp.note","payload":{"note":"</Action> & more"}}}}))
        .await;
    assert_eq!(status, 200, "{ev:?}");
    assert_eq!(
        last_message(&mock, 0),
        r#"<HiddenContext><Action type="rsvp.note" sender="msg_widget1" sender_type="widget">{"note":"\u003c/Action\u003e \u0026 more"}</Action></HiddenContext>"#
    );
    // A payload over the limit (`limits.max_metadata_bytes`) is refused before the stream
    // starts, and changes nothing.
    let before = app.chatkit_counts().await;
    let big = "x".repeat(app.state.settings.limits.max_metadata_bytes + 1);
    for kind in ["threads.custom_action", "threads.sync_custom_action"] {
        let (status, body) = app
            .chatkit(&token, json!({"type":kind,"params":{"thread_id":thread_id,"action":{"type":"rsvp.note","payload":{"note":big}}}}))
            .await;
        assert_eq!(status, 413, "{kind}: {body}");
        assert_eq!(body["error"]["code"], "payload_too_large");
    }
    assert_eq!(app.chatkit_counts().await, before);
    assert_eq!(mock.requests().len(), 3);
    app.finish().await;
}
both_backends!(
    custom_action_is_part_of_the_model_input,
    action_reaches_the_model
);

async fn sync_action_reaches_the_next_turn(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    mock.push(Reply::text(["Hello Emily."]));
    // The thread's actor is live and holds its items when the sync action comes.
    let (token, thread_id, _) = app.client_thread("hi").await;
    let (status, body) = app
        .chatkit(&token, json!({"type":"threads.sync_custom_action","params":{"thread_id":thread_id,"action":{"type":"rsvp.toggle","payload":{"going":true}}}}))
        .await;
    // The assistants render no widgets: no update, and no model call.
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(mock.requests().len(), 1);
    mock.push(Reply::text(["Noted."]));
    let (status, ev) = app
        .stream(&token, json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input("anything else?")}}))
        .await;
    assert_eq!(status, 200, "{ev:?}");
    assert_eq!(
        last_message(&mock, 1),
        r#"<HiddenContext><Action type="rsvp.toggle">{"going":true}</Action></HiddenContext>"#
    );
    assert_eq!(last_message(&mock, 0), "anything else?");
    app.finish().await;
}
both_backends!(
    sync_action_is_part_of_the_next_model_input,
    sync_action_reaches_the_next_turn
);

fn card(status: &str) -> Value {
    json!({"type":"Card","children":[
        {"type":"Text","id":"rsvp","value":format!("Ann: {status}")},
        {"type":"Button","label":"Going","onClickAction":{"type":"rsvp.toggle","payload":{"guest":"Ann"},"streaming":false}}
    ]})
}

async fn sync_action_updates_widget(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    script.push(vec![Step::Widget(card("not replied"), "Ann: not replied")]);
    let (token, thread_id, ev) = app.client_thread("show the RSVPs").await;
    let done = |t: &str| {
        ev.iter()
            .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == t)
            .unwrap()["item"]
            .clone()
    };
    let widget = done("widget");
    let user_message = done("user_message");
    script.push_sync_update(card("going"));
    let action = json!({"type":"rsvp.toggle","payload":{"guest":"Ann"}});
    let (status, body) = app
        .chatkit(&token, json!({"type":"threads.sync_custom_action","params":{"thread_id":thread_id,"item_id":widget["id"],"action":action}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut updated = widget.clone();
    updated["widget"] = card("going");
    assert_eq!(body, json!({"updated_item": updated}));
    assert!(script.seen.lock().unwrap().contains(&format!(
        "sync:rsvp.toggle:{}",
        widget["id"].as_str().unwrap()
    )));
    // The update is stored: the thread shows the new widget in place of the old one.
    let (_, items) = app
        .chatkit(
            &token,
            json!({"type":"items.list","params":{"thread_id":thread_id,"limit":100,"order":"asc"}}),
        )
        .await;
    let widgets: Vec<&Value> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "widget")
        .collect();
    assert_eq!(widgets, vec![&updated]);
    // With no update the answer is `{}`; a sender that is not a widget stays a 400 and
    // changes nothing.
    let (status, body) = app
        .chatkit(&token, json!({"type":"threads.sync_custom_action","params":{"thread_id":thread_id,"item_id":widget["id"],"action":action}}))
        .await;
    assert_eq!((status, body), (200, json!({})));
    let before = app.chatkit_counts().await;
    let (status, body) = app
        .chatkit(&token, json!({"type":"threads.sync_custom_action","params":{"thread_id":thread_id,"item_id":user_message["id"],"action":action}}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.chatkit_counts().await, before);
    app.finish().await;
}
both_backends!(
    sync_action_answers_and_stores_the_updated_widget,
    sync_action_updates_widget
);
