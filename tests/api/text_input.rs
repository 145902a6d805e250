//! U+0000 and lone UTF-16 surrogates through the real server, on both databases (issue #20,
//! items 7 and 9; protocol §2.10): a request with U+0000 is refused with a 400 naming the
//! field and changes nothing; a lone surrogate escape is stored as U+FFFD and answered
//! normally; U+0000 that the model writes (text, tool-call arguments) is stored, shown and
//! run as U+FFFD; a URL with `%00` is a 400.

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use eventchat::vocab::ItemType;
use mock_llm::{MockLlm, MockToolCall, Reply};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, parse_sse};
use crate::requests as req;
use crate::turns::all_items;

/// POSTs `body` (JSON text, sent as written) to `path` and returns the status and body.
async fn post_raw(app: &TestApp, token: &str, path: &str, body: &str) -> (u16, String) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The request must be a 400 `invalid_request` that names `path`.
fn assert_refused(status: u16, body: &Value, path: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    assert_eq!(
        body["error"]["message"],
        format!("`{path}` contains U+0000 (NUL), which is not allowed in text"),
        "{body}"
    );
}

async fn nul_refused(backend: Backend) {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::text(["Hello."]));
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let (token, thread_id, _) = app.client_thread("first").await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let meta = json!({"agentType": "client", "eventId": event_id});
    let before = app.chatkit_counts().await;
    let asked = mock.request_count();

    let (status, body) = app
        .chatkit(&token, req::create_thread("a\u{0}b", meta.clone()))
        .await;
    assert_refused(status, &body, "params.input.content[0].text");
    let (status, body) = app
        .chatkit(&token, req::add_user_message(&thread_id, "x\u{0}"))
        .await;
    assert_refused(status, &body, "params.input.content[0].text");
    let (status, body) = app
        .chatkit(&token, req::update_thread(&thread_id, "title\u{0}"))
        .await;
    assert_refused(status, &body, "params.title");
    let (status, body) = app
        .chatkit(
            &token,
            req::create_attachment("a\u{0}.png", 10, "image/png"),
        )
        .await;
    assert_refused(status, &body, "params.name");
    let mut with_meta = req::create_thread("fine", meta.clone());
    with_meta["metadata"]["note"] = json!("\u{0}");
    let (status, body) = app.chatkit(&token, with_meta).await;
    assert_refused(status, &body, "metadata.note");

    // Nothing was written, streamed or sent to the model.
    assert_eq!(app.chatkit_counts().await, before);
    assert_eq!(mock.request_count(), asked);
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    assert_ne!(thread.title.as_deref(), Some("title\u{0}"));
    // The thread still works.
    let (status, events) = app.add_user_message(&token, &thread_id, "fine").await;
    assert_eq!(status, 200);
    assert_eq!(
        events.last().unwrap()["type"],
        "thread.item.done",
        "{events:?}"
    );

    // REST bodies follow the same rule (checked before the request is looked up).
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let venue_id = app.venue_of(DEMO_STAFF_EMAIL).await;
    let (status, body) = post_raw(
        &app,
        &staff,
        &format!("/api/v1/venues/{venue_id}/change-requests/chg_none/approve"),
        r#"{"note":"ok\u0000"}"#,
    )
    .await;
    assert_refused(status, &serde_json::from_str(&body).unwrap(), "note");
    app.finish().await;
}
both_backends!(nul_in_a_request_is_refused_naming_the_field, nul_refused);

async fn lone_surrogate(backend: Backend) {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::text(["Got it."]));
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let (token, thread_id, _) = app.client_thread("first").await;
    // Half an emoji, as browser text can hold it; a whole one beside it; an escaped
    // backslash followed by the text `ud800`.
    let body = format!(
        r#"{{"type":"threads.add_user_message","params":{{"thread_id":"{thread_id}","input":{{"content":[{{"type":"input_text","text":"half \ud83d, whole \ud83d\ude00, text \\ud800"}}],"attachments":[],"inference_options":{{}}}}}}}}"#
    );
    let (status, text) = post_raw(&app, &token, "/api/chatkit", &body).await;
    assert_eq!(status, 200, "{text}");
    let events = parse_sse(&text);
    assert_eq!(
        events.last().unwrap()["type"],
        "thread.item.done",
        "{events:?}"
    );
    let expected = "half \u{FFFD}, whole \u{1F600}, text \\ud800";
    let items = all_items(&app, &thread_id).await;
    let stored = items
        .iter()
        .rfind(|i| i.item_type == ItemType::UserMessage)
        .unwrap();
    assert_eq!(stored.content["content"][0]["text"], expected);
    // The model was asked with the same text.
    let asked = mock.requests().last().unwrap().to_string();
    assert!(asked.contains("half \u{FFFD}, whole \u{1F600}"), "{asked}");
    app.finish().await;
}
both_backends!(
    a_lone_surrogate_is_stored_as_the_replacement_character,
    lone_surrogate
);

async fn model_nul(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    // The model writes U+0000 in a tool call's arguments (as the JSON escape, which is how
    // it reaches us) and in its text.
    mock.push(Reply::tool_calls(vec![MockToolCall::new(
        "c1",
        "addGuest",
        json!({"eventId": event_id, "name": "Nu\u{0}ll Guest", "email": "nul@guests.example"}),
    )]));
    mock.push(Reply::text(["Added\u{0} ", "them."]));
    let (thread_id, events) = app
        .create_thread(
            &token,
            "add a guest",
            json!({"agentType": "client", "eventId": event_id}),
        )
        .await;
    assert!(events.iter().all(|e| e["type"] != "error"), "{events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "thread.item.done", "{events:?}");
    assert_eq!(last["item"]["content"][0]["text"], "Added\u{FFFD} them.");
    // Stored as shown, on either database.
    let items = all_items(&app, &thread_id).await;
    let answer = items
        .iter()
        .rfind(|i| i.item_type == ItemType::AssistantMessage)
        .unwrap();
    assert_eq!(answer.content["content"][0]["text"], "Added\u{FFFD} them.");
    let audit = app.tool_calls(&thread_id).await;
    assert_eq!(audit.len(), 1);
    assert!(audit[0].ok, "{:?}", audit[0]);
    assert_eq!(audit[0].arguments["name"], "Nu\u{FFFD}ll Guest");
    // And the tool ran with it.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let guest = entity::guests::Entity::find()
        .filter(entity::guests::Column::Email.eq("nul@guests.example"))
        .one(&app.state.stores.db)
        .await
        .unwrap()
        .expect("the guest was added");
    assert_eq!(guest.name, "Nu\u{FFFD}ll Guest");
    // The next turn's history carries the replacement too, never U+0000.
    mock.push(Reply::text(["Sure."]));
    let (status, _) = app.add_user_message(&token, &thread_id, "thanks").await;
    assert_eq!(status, 200);
    let next = mock.requests().last().unwrap().to_string();
    assert!(!next.contains("\\u0000"), "{next}");
    assert!(next.contains("Added\u{FFFD} them."), "{next}");
    app.finish().await;
}
both_backends!(
    nul_from_the_model_is_stored_as_the_replacement_character,
    model_nul
);

async fn nul_url(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let venue_id = app.venue_of(DEMO_STAFF_EMAIL).await;
    for path in [
        "/api/v1/search?q=a%00b".to_owned(),
        "/api/v1/events/ev%00x".to_owned(),
        format!("/api/v1/venues/{venue_id}/messages?after=a%00"),
    ] {
        let r = app.request_as(reqwest::Method::GET, &staff, &path).await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{path}: {body}");
    }
    // An escaped `%` followed by `00` is plain text.
    let r = app
        .request_as(reqwest::Method::GET, &staff, "/api/v1/search?q=a%2500b")
        .await;
    assert_eq!(r.status(), 200);
    app.finish().await;
}
both_backends!(nul_in_a_url_is_refused, nul_url);
