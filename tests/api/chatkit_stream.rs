//! The streaming requests through the real server: event order and shapes (protocol §3, §5),
//! persistence, errors mid-stream.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, types};
use crate::requests as req;
use crate::scripted::Step;

fn is_micro_utc(ts: &Value) -> bool {
    let s = ts.as_str().unwrap_or("");
    s.len() == 27 && s.ends_with('Z') && s.as_bytes()[19] == b'.'
}

async fn create_event_order(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    script.push(vec![
        Step::Text(vec!["Hello", " world"]),
        Step::Title("Greeting"),
    ]);
    let (_, thread_id, ev) = app.client_thread("Hi").await;
    assert_eq!(
        types(&ev),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.added",
            "thread.item.updated",
            "thread.item.updated",
            "thread.item.updated",
            "thread.item.updated",
            "thread.item.done",
            "thread.updated",
        ]
    );
    // thread.created: exact shape, metadata hidden, no title yet.
    let t = &ev[0]["thread"];
    assert!(thread_id.starts_with("thr_"));
    assert!(is_micro_utc(&t["created_at"]));
    assert_eq!(t["status"], json!({"type": "active"}));
    assert_eq!(t["metadata"], json!({}));
    assert_eq!(t["items"], json!({"data": [], "has_more": false}));
    assert!(t.get("title").is_none());
    // The user message, exactly as the reference writes it.
    let user = &ev[1]["item"];
    assert!(user["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(user["thread_id"], thread_id.as_str());
    assert_eq!(user["type"], "user_message");
    assert_eq!(
        user["content"],
        json!([{"type": "input_text", "text": "Hi"}])
    );
    assert_eq!(user["attachments"], json!([]));
    assert_eq!(user["inference_options"], json!({}));
    assert!(user.get("quoted_text").is_none());
    assert_eq!(
        ev[2],
        json!({"type": "stream_options", "stream_options": {"allow_cancel": true}})
    );
    let added = &ev[3]["item"];
    assert_eq!(added["type"], "assistant_message");
    assert_eq!(added["content"], json!([]));
    let aid = added["id"].as_str().unwrap();
    assert_eq!(
        ev[4],
        json!({"type":"thread.item.updated","item_id":aid,"update":{"type":"assistant_message.content_part.added","content_index":0,"content":{"annotations":[],"text":"","type":"output_text"}}})
    );
    assert_eq!(
        ev[5]["update"],
        json!({"type":"assistant_message.content_part.text_delta","content_index":0,"delta":"Hello"})
    );
    assert_eq!(
        ev[7]["update"]["type"],
        "assistant_message.content_part.done"
    );
    assert_eq!(
        ev[8]["item"]["content"],
        json!([{"annotations":[],"text":"Hello world","type":"output_text"}])
    );
    assert_eq!(ev[9]["thread"]["title"], "Greeting");
    assert_eq!(
        ev[9]["thread"]["items"],
        json!({"data": [], "has_more": false})
    );
    // Both messages are stored, in order; the title too.
    let (status, thread) = app
        .chatkit(
            &app.token_for(eventchat::store::seed::DEMO_CLIENT_EMAIL)
                .await,
            req::get_thread(&thread_id),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(thread["title"], "Greeting");
    let items = thread["items"]["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], ev[1]["item"]);
    assert_eq!(items[1], ev[8]["item"]);
    app.finish().await;
}
both_backends!(create_streams_in_reference_order, create_event_order);

async fn add_message_and_retry(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    let (token, thread_id, _) = app.client_thread("first").await;
    script.push(vec![Step::Text(vec!["second answer"])]);
    let (status, ev) = app.add_user_message(&token, &thread_id, "second").await;
    assert_eq!(status, 200);
    assert_eq!(
        types(&ev)[..3],
        ["thread.item.done", "stream_options", "thread.item.added"]
    );
    assert!(!types(&ev).contains(&"thread.created".to_owned()));
    let second_user = ev[0]["item"]["id"].as_str().unwrap().to_owned();
    // Retry the first message: everything after it goes, without removal events.
    let (_, all) = app
        .chatkit(&token, req::list_items(&thread_id, json!({"order":"asc"})))
        .await;
    let first_user = all["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(all["data"].as_array().unwrap().len(), 4);
    script.push(vec![Step::EchoInput]);
    let (status, ev) = app
        .stream(&token, req::retry_after_item(&thread_id, &first_user))
        .await;
    assert_eq!(status, 200);
    assert_eq!(types(&ev)[0], "stream_options");
    assert!(!types(&ev).contains(&"thread.item.removed".to_owned()));
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "user:first"
    );
    let (_, all) = app
        .chatkit(&token, req::list_items(&thread_id, json!({"order":"asc"})))
        .await;
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], first_user);
    assert!(!ids.contains(&second_user.as_str()));
    // Retrying an assistant message or an unknown item is refused before streaming.
    let (status, _) = app
        .stream(&token, req::retry_after_item(&thread_id, ids[1]))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .stream(&token, req::retry_after_item(&thread_id, "msg_nope"))
        .await;
    assert_eq!(status, 404);
    app.finish().await;
}
both_backends!(add_message_then_retry, add_message_and_retry);

async fn client_tool_round_trip(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    // The call is followed by a hidden item: the lenient lookup must still find it.
    script.push(vec![
        Step::ClientToolCall("get_selection", json!({"project": "p1"})),
        Step::Hidden("note"),
    ]);
    let (token, thread_id, ev) = app.client_thread("use tool").await;
    assert_eq!(
        types(&ev),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.done"
        ]
    );
    let call = &ev[3]["item"];
    assert_eq!(call["type"], "client_tool_call");
    assert_eq!(call["status"], "pending");
    assert_eq!(call["arguments"], json!({"project": "p1"}));
    assert!(call.get("output").is_none());
    script.push(vec![Step::EchoInput]);
    let (status, ev) = app
        .stream(
            &token,
            req::add_client_tool_output(&thread_id, json!({"nodes":[1,2]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(types(&ev)[0], "stream_options");
    assert_eq!(ev.last().unwrap()["item"]["content"][0]["text"], "continue");
    let (_, items) = app
        .chatkit(&token, req::list_items(&thread_id, json!({"order":"asc"})))
        .await;
    let stored = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "client_tool_call")
        .unwrap();
    assert_eq!(stored["status"], "completed");
    assert_eq!(stored["output"], json!({"nodes": [1, 2]}));
    assert!(
        items["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] != "hidden_context_item")
    );
    // No pending call any more: refused before the stream.
    let (status, body) = app
        .stream(&token, req::add_client_tool_output(&thread_id, json!(1)))
        .await;
    assert_eq!(status, 400, "{body:?}");
    app.finish().await;
}
both_backends!(client_tool_output_round_trip, client_tool_round_trip);

async fn structured_input_and_actions(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    script.push(vec![
        Step::Item(json!({"type":"structured_input","status":"pending","inputs":[{"id":"priority","question":"Priority?","type":"multiple_choice","options":[{"value":"Low"},{"value":"High"}],"multiple":false},{"id":"notes","question":"Notes?","type":"freeform","description":"Optional"}]})),
        Step::Item(json!({"type":"widget","widget":{"type":"Card","children":[{"type":"Button","label":"OK","onClickAction":{"type":"ok","payload":{"a":1}}}]},"copy_text":"OK"})),
    ]);
    let (token, thread_id, ev) = app.client_thread("ask me").await;
    let si = ev
        .iter()
        .find(|e| e["item"]["type"] == "structured_input")
        .unwrap()["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let widget = ev.iter().find(|e| e["item"]["type"] == "widget").unwrap()["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    script.push(vec![Step::EchoInput]);
    let (status, ev) = app
        .stream(
            &token,
            req::add_structured_input(
                &thread_id,
                &si,
                json!({"status":"answered","answers":{"priority":{"values":["High","Low"]}}}),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(types(&ev)[..2], ["stream_options", "thread.item.replaced"]);
    let replaced = &ev[1]["item"];
    assert_eq!(replaced["status"], "answered");
    assert_eq!(
        replaced["inputs"][0]["answer"],
        json!({"values":["High"],"skipped":false})
    );
    assert_eq!(
        replaced["inputs"][1]["answer"],
        json!({"values":[],"skipped":true})
    );
    // Answering twice is refused before streaming.
    let (status, _) = app
        .stream(
            &token,
            req::add_structured_input(&thread_id, &si, json!({})),
        )
        .await;
    assert_eq!(status, 400);
    // A custom action from the widget reaches the responder with its sender.
    script.push(vec![Step::EchoInput]);
    let (status, ev) = app
        .stream(
            &token,
            req::custom_action(
                &thread_id,
                Some(&widget),
                json!({"type":"ok","payload":{"a":1}}),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(types(&ev)[0], "stream_options");
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        format!("action:ok:{widget}")
    );
    // A non-widget sender is refused; the sync variant answers {}.
    let (status, _) = app
        .stream(
            &token,
            req::custom_action(&thread_id, Some(&si), json!({"type":"ok"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = app
        .chatkit(
            &token,
            req::sync_custom_action(&thread_id, Some(&widget), json!({"type":"ok","payload":{}})),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    app.finish().await;
}
both_backends!(
    structured_input_and_custom_actions,
    structured_input_and_actions
);

async fn error_mid_stream(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    script.push(vec![Step::Title("Before failing"), Step::FailAfterAdded]);
    let email = eventchat::store::seed::DEMO_CLIENT_EMAIL;
    let token = app.token_for(email).await;
    let (event_id, _) = app.event_of(email).await;
    let (status, ev) = app
        .stream(
            &token,
            req::create_thread("boom", json!({"agentType":"client","eventId":event_id})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        types(&ev),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.added",
            "thread.updated",
            "error"
        ]
    );
    // The title set before the failure is announced after the next event (protocol §4.2).
    assert_eq!(ev[4]["thread"]["title"], "Before failing");
    assert_eq!(
        ev[5],
        json!({"type":"error","code":"stream.error","allow_retry":true})
    );
    let thread_id = ev[0]["thread"]["id"].as_str().unwrap();
    // The user message is kept, the unfinished assistant message is not.
    let (_, items) = app
        .chatkit(&token, req::list_items(thread_id, json!({})))
        .await;
    assert_eq!(items["data"].as_array().unwrap().len(), 1);
    // A custom failure carries its message; the thread stays usable.
    script.push(vec![Step::FailCustom("Quota exceeded")]);
    let (_, ev) = app.add_user_message(&token, thread_id, "again").await;
    assert_eq!(
        ev.last().unwrap(),
        &json!({"type":"error","code":"custom","message":"Quota exceeded","allow_retry":false})
    );
    let (_, ev) = app.add_user_message(&token, thread_id, "and again").await;
    assert_eq!(ev.last().unwrap()["type"], "thread.item.done");
    app.finish().await;
}
both_backends!(errors_mid_stream_end_with_one_error_event, error_mid_stream);
