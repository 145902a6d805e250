//! Tool calls a small model writes as text (`llm.text_tool_calls`, issue #16): real HTTP in,
//! the real turn runner, the mock LLM streaming the call as plain text deltas, exactly as
//! Qwen2.5 behind llama-server does. The server's `base_url` points at the mock, so `auto`
//! is on. The recovered call must behave like a real `tool_calls` delta (workflow item,
//! audit row, result sent back to the model, refusals) and never be shown as text.

use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use mock_llm::{MockLlm, Reply};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, tool_results};

/// The issue's shape: a fenced JSON call, split over several text deltas.
fn fenced_call(name: &str, event_id: &str) -> Reply {
    Reply::text([
        "```json\n".to_owned(),
        format!("{{\"name\": \"{name}\", "),
        "\"arguments\": {\"eventId\": \"".to_owned(),
        event_id.to_owned(),
        "\"}}\n".to_owned(),
        "```".to_owned(),
    ])
}

/// The tag form Qwen's chat template teaches, after some prose, with the tags split.
fn tagged_call(name: &str, event_id: &str) -> Reply {
    Reply::text([
        "Let me check.\n<tool".to_owned(),
        format!("_call>\n{{\"name\": \"{name}\", \"arguments\": "),
        format!("{{\"eventId\": \"{event_id}\"}}}}\n</tool_"),
        "call>".to_owned(),
    ])
}

/// Every text delta the client was sent, concatenated.
fn streamed(ev: &[Value]) -> String {
    ev.iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.text_delta")
        .filter_map(|e| e["update"]["delta"].as_str())
        .collect()
}

/// The text of each finished assistant message.
fn messages(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .map(|e| e["item"]["content"][0]["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The task titles of each finished workflow item.
fn workflows(ev: &[Value]) -> Vec<Vec<String>> {
    ev.iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow")
        .map(|e| {
            e["item"]["workflow"]["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

/// Nothing the user was shown looks like a tool call.
fn assert_no_raw_call(ev: &[Value]) {
    let shown = format!("{}{}", streamed(ev), messages(ev).concat());
    for raw in ["getEventDetails", "\"name\"", "```", "<tool", "{"] {
        assert!(!shown.contains(raw), "{raw:?} was shown: {shown:?}");
    }
}

/// (id, name, arguments) of the calls of the assistant messages in a recorded request.
fn calls_sent(req: &Value) -> Vec<(String, String, Value)> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["tool_calls"].as_array())
        .flatten()
        .map(|c| {
            let f = &c["function"];
            let args = serde_json::from_str(f["arguments"].as_str().unwrap()).unwrap();
            (
                c["id"].as_str().unwrap().to_owned(),
                f["name"].as_str().unwrap().to_owned(),
                args,
            )
        })
        .collect()
}

fn offers_tools(req: &Value) -> bool {
    req["tools"].as_array().is_some_and(|t| !t.is_empty())
}

async fn client_app(
    backend: Backend,
    mock: &MockLlm,
    extra: &[(&str, &str)],
) -> (TestApp, String, String, Value) {
    let app = TestApp::with_mock(backend, mock, extra).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    (app, token, event_id, meta)
}

async fn fenced_json_call(backend: Backend) {
    let mock = MockLlm::start();
    let (app, token, event_id, meta) = client_app(backend, &mock, &[]).await;
    mock.push(fenced_call("getEventDetails", &event_id));
    mock.push(Reply::text(["Your event is ", "on the calendar."]));
    let (thread_id, ev) = app
        .create_thread(&token, "Show me my event details", meta)
        .await;
    // The tool ran, as for a real tool_calls delta: a workflow item and an audit row.
    let flows = workflows(&ev);
    assert_eq!(flows.len(), 1, "{ev:?}");
    assert_eq!(flows[0].len(), 1);
    assert!(!flows[0][0].starts_with("Refused"), "{flows:?}");
    let rows = app.tool_calls(&thread_id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].tool, "getEventDetails");
    assert!(rows[0].ok);
    assert_eq!(rows[0].arguments, json!({"eventId": event_id}));
    // The user saw the answer and no JSON.
    assert_no_raw_call(&ev);
    assert_eq!(messages(&ev), ["Your event is on the calendar."]);
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "Your event is on the calendar."
    );
    // The second request carried the call and its result.
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert!(offers_tools(&reqs[0]));
    let sent = calls_sent(&reqs[1]);
    assert_eq!(sent.len(), 1);
    let (id, name, args) = &sent[0];
    assert!(id.starts_with("call_"), "{id}");
    assert_eq!(name, "getEventDetails");
    assert_eq!(args, &json!({"eventId": event_id}));
    let results = tool_results(&reqs[1]);
    assert_eq!(results.len(), 1);
    assert_eq!(&results[0].0, id);
    assert!(results[0].1.get("error").is_none(), "{results:?}");
    assert!(results[0].1.to_string().contains(&event_id));
    app.finish().await;
}
both_backends!(a_fenced_json_call_runs_the_tool, fenced_json_call);

async fn tag_form(backend: Backend) {
    let mock = MockLlm::start();
    let (app, token, event_id, meta) = client_app(backend, &mock, &[]).await;
    mock.push(tagged_call("getEventDetails", &event_id));
    mock.push(Reply::text(["Here it is."]));
    let (thread_id, ev) = app.create_thread(&token, "my event?", meta).await;
    assert_eq!(workflows(&ev).len(), 1);
    assert_eq!(app.tool_calls(&thread_id).await.len(), 1);
    // The prose before the tag is kept and was streamed before the call ran.
    let shown: Vec<String> = messages(&ev).iter().map(|m| m.trim().to_owned()).collect();
    assert_eq!(shown, ["Let me check.", "Here it is."]);
    assert_no_raw_call(&ev);
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    let sent = calls_sent(&reqs[1]);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, "getEventDetails");
    app.finish().await;
}
both_backends!(a_tagged_call_runs_the_tool_and_keeps_the_prose, tag_form);

async fn unknown_tool(backend: Backend) {
    let mock = MockLlm::start();
    let (app, token, _, meta) = client_app(backend, &mock, &[]).await;
    // An invented tool, written as a call: not shown, not run; the tool round refuses it and
    // tells the model which tools there are; the model's next answer is what the user reads.
    mock.push(Reply::text([
        "```json\n{\"name\": \"cancel",
        "MyWedding\", \"arguments\": {}}\n```",
    ]));
    mock.push(Reply::text([
        "I can't cancel it, but I can ",
        "ask the venue.",
    ]));
    let (thread_id, ev) = app.create_thread(&token, "cancel it", meta).await;
    assert_eq!(
        messages(&ev),
        ["I can't cancel it, but I can ask the venue."]
    );
    assert_no_raw_call(&ev);
    let flows = workflows(&ev);
    assert_eq!(flows.len(), 1);
    assert!(flows[0][0].starts_with("Refused"), "{flows:?}");
    let rows = app.tool_calls(&thread_id).await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].ok);
    let results = tool_results(&mock.requests()[1]);
    let error = results[0].1["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("unknown tool") && error.contains("getEventDetails"),
        "the model is told which tools there are: {error}"
    );
    // Data that merely has a `name` stays text.
    let data = "```json\n{\"name\": \"Parker Rehearsal Dinner\", \"guests\": 40}\n```";
    mock.push(Reply::text([data]));
    let (_, ev) = app.add_user_message(&token, &thread_id, "summary?").await;
    assert_eq!(messages(&ev), [data]);
    app.finish().await;
}
both_backends!(
    a_text_call_to_an_unknown_tool_is_refused_not_shown,
    unknown_tool
);

async fn turned_off(backend: Backend) {
    let mock = MockLlm::start();
    let off = [("EVENTCHAT_LLM__TEXT_TOOL_CALLS", "off")];
    let (app, token, event_id, meta) = client_app(backend, &mock, &off).await;
    mock.push(fenced_call("getEventDetails", &event_id));
    let (thread_id, ev) = app.create_thread(&token, "my event?", meta).await;
    let raw = format!(
        "```json\n{{\"name\": \"getEventDetails\", \"arguments\": {{\"eventId\": \"{event_id}\"}}}}\n```"
    );
    assert_eq!(messages(&ev), std::slice::from_ref(&raw));
    assert_eq!(streamed(&ev), raw);
    let deltas = ev
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.text_delta")
        .count();
    assert_eq!(deltas, 6, "streamed delta by delta, nothing held");
    assert!(workflows(&ev).is_empty());
    assert!(app.tool_calls(&thread_id).await.is_empty());
    assert_eq!(mock.request_count(), 1);
    app.finish().await;
}
both_backends!(text_tool_calls_off_shows_the_text_as_is, turned_off);

async fn repeat_guard(backend: Backend) {
    let mock = MockLlm::start();
    let (app, token, event_id, meta) = client_app(backend, &mock, &[]).await;
    // The same call twice (in two forms), then the answer once tools are withdrawn.
    mock.push(fenced_call("getEventDetails", &event_id));
    mock.push(Reply::text([format!(
        "<tool_call>\n{{\"name\": \"getEventDetails\", \"arguments\": {{\"eventId\":\"{event_id}\"}}}}\n</tool_call>"
    )]));
    mock.push(Reply::text(["You're all set ", "for Saturday."]));
    let (thread_id, ev) = app.create_thread(&token, "my event?", meta).await;
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    assert!(offers_tools(&reqs[0]) && offers_tools(&reqs[1]));
    assert!(!offers_tools(&reqs[2]), "the third request offers no tools");
    let result = tool_results(&reqs[1]);
    assert_eq!(
        result.len(),
        1,
        "the first result went to the second request"
    );
    assert!(
        tool_results(&reqs[2]).is_empty(),
        "no call or result to imitate"
    );
    let last = reqs[2]["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        last["role"], "user",
        "the re-ask is the user's turn: {last}"
    );
    let reask = last["content"].as_str().unwrap_or_default();
    assert!(
        reask.starts_with("my event?") && reask.contains("Do not call any tool"),
        "{reask}"
    );
    let raw_result = reqs[1]["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "tool"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    assert!(
        !raw_result.is_empty() && reask.contains(raw_result),
        "the result is in the re-ask: {reask}"
    );
    assert_eq!(messages(&ev), ["You're all set for Saturday."]);
    assert_no_raw_call(&ev);
    assert_eq!(workflows(&ev).len(), 1, "the repeat did not run");
    assert_eq!(app.tool_calls(&thread_id).await.len(), 1);
    // The model has nothing to say without tools: a short apology, not an empty message.
    mock.push(fenced_call("viewGuestList", &event_id));
    mock.push(fenced_call("viewGuestList", &event_id));
    mock.push(Reply::text(Vec::<String>::new()));
    let (_, ev) = app.add_user_message(&token, &thread_id, "guests?").await;
    assert_eq!(messages(&ev), ["I wasn't able to complete that request."]);
    assert_eq!(mock.request_count(), 6);
    assert!(!offers_tools(&mock.requests()[5]));
    assert_eq!(app.tool_calls(&thread_id).await.len(), 2);
    app.finish().await;
}
both_backends!(a_repeated_text_call_is_answered_without_tools, repeat_guard);

async fn refusal(backend: Backend) {
    let mock = MockLlm::start();
    let (app, token, _, meta) = client_app(backend, &mock, &[]).await;
    let other = app.other_user("client", DEMO_CLIENT_EMAIL).await;
    let (their_event, _) = app.event_of(&other).await;
    mock.push(fenced_call("getEventDetails", &their_event));
    mock.push(Reply::text(["I can't open that event."]));
    let (thread_id, ev) = app
        .create_thread(&token, &format!("Show me event {their_event}"), meta)
        .await;
    let flows = workflows(&ev);
    assert_eq!(flows.len(), 1);
    assert!(flows[0][0].starts_with("Refused"), "{flows:?}");
    let rows = app.tool_calls(&thread_id).await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].ok);
    let results = tool_results(&mock.requests()[1]);
    assert!(results[0].1.get("error").is_some(), "{results:?}");
    let keys: Vec<&String> = results[0].1.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error"], "nothing of the event reached the model");
    assert_eq!(messages(&ev), ["I can't open that event."]);
    app.finish().await;
}
both_backends!(a_text_call_for_another_users_event_is_refused, refusal);

/// What Qwen2.5 1.5B did in the evaluation: the right call, then the tool's result echoed in
/// `<tool_response>` tags as the whole answer. The echo is not shown (ids and raw JSON); the
/// model is asked once more, without tools, and that answer is the one the user reads.
/// `<HiddenContext>` tags copied from the prompt go, their sentence stays.
async fn echoed_result(backend: Backend) {
    let mock = MockLlm::start();
    let (app, token, event_id, meta) = client_app(backend, &mock, &[]).await;
    mock.push(fenced_call("getEventDetails", &event_id));
    mock.push(Reply::text([
        "<tool_res".to_owned(),
        format!("ponse>\n{{\"id\": \"{event_id}\", \"status\": \"confirmed\"}}\n</tool_response>"),
    ]));
    mock.push(Reply::text([
        "<HiddenContext>Your event ",
        "is confirmed.</Hidden",
        "Context>",
    ]));
    let (thread_id, ev) = app.create_thread(&token, "my event?", meta).await;
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3, "one re-ask after the echo");
    assert!(!offers_tools(&reqs[2]), "the re-ask offers no tools");
    assert_eq!(messages(&ev), ["Your event is confirmed."]);
    assert_eq!(streamed(&ev), "Your event is confirmed.");
    assert_no_raw_call(&ev);
    assert!(!streamed(&ev).contains(&event_id));
    assert_eq!(app.tool_calls(&thread_id).await.len(), 1);
    app.finish().await;
}
both_backends!(
    an_echoed_tool_result_is_not_shown_and_the_model_is_asked_again,
    echoed_result
);
