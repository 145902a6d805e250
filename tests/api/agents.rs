//! The three assistants end to end: real HTTP in, the real turn runner, async-openai against
//! the scripted mock LLM, tools on the demo data, effects checked in the database.

use std::time::Duration;

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use eventchat::vocab::ItemType;
use mock_llm::{MockLlm, MockToolCall, Reply};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, tool_results, types};
use crate::requests as req;

fn call(id: &str, name: &str, args: Value) -> MockToolCall {
    MockToolCall::new(id, name, args)
}

/// Tool names offered in a recorded request.
fn offered(req: &Value) -> Vec<String> {
    let mut v: Vec<String> = req["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn client_assistant(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let other = app.other_user("client", DEMO_CLIENT_EMAIL).await;
    let (foreign_event, _) = app.event_of(&other).await;
    mock.push(
        Reply::text(["Let me look."])
            .then_tool_calls(vec![
                call("c1", "getEventDetails", json!({"eventId": event_id})),
                call("c2", "viewGuestList", json!({"eventId": event_id})),
                call("c3", "viewContract", json!({"eventId": event_id})),
                call(
                    "c4",
                    "listAvailableElements",
                    json!({"category": "catering"}),
                ),
            ])
            .usage(1000, 50),
    );
    mock.push(Reply::tool_calls(vec![
        call("c5", "addGuest", json!({"eventId": event_id, "name": "Ana Lima", "email": "ana@lima.example", "dietaryNeeds": "vegetarian"})),
        call("c6", "requestElementChange", json!({"eventId": event_id, "requestType": "add", "description": "Two more vegetarian mains"})),
        call("c7", "viewGuestList", json!({"eventId": foreign_event})),
    ]).usage(1200, 40));
    mock.push(Reply::text(["Added Ana", " and asked the venue."]).usage(1300, 20));
    let (thread_id, ev) = app
        .create_thread(
            &token,
            "Add Ana and more veggie options",
            json!({"agentType":"client","eventId":event_id}),
        )
        .await;
    let t = types(&ev);
    assert_eq!(
        t[..4],
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.added"
        ]
    );
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "Added Ana and asked the venue."
    );
    // Workflow items show each call as a task.
    let workflows: Vec<&Value> = ev
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow")
        .collect();
    assert_eq!(workflows.len(), 2);
    let tasks = workflows[1]["item"]["workflow"]["tasks"]
        .as_array()
        .unwrap();
    assert_eq!(tasks.len(), 3);
    assert!(
        tasks[2]["title"].as_str().unwrap().starts_with("Refused"),
        "{tasks:?}"
    );
    assert!(ev.iter().any(|e| e["type"] == "progress_update"));
    // The model saw: the system prompt with context, the client's six tools, the results.
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    let system = reqs[0]["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("requestElementChange"));
    let event_name = app
        .state
        .stores
        .domain
        .event_ref(&event_id)
        .await
        .unwrap()
        .unwrap()
        .name;
    assert!(system.contains(&event_name), "context names the event");
    assert_eq!(
        offered(&reqs[0]),
        [
            "addGuest",
            "getEventDetails",
            "listAvailableElements",
            "requestElementChange",
            "viewContract",
            "viewGuestList"
        ]
    );
    let results = tool_results(&reqs[2]);
    let refused = results.iter().find(|(id, _)| id == "c7").unwrap();
    assert!(
        refused.1.get("error").is_some(),
        "a foreign event is refused to the model: {refused:?}"
    );
    assert!(
        results
            .iter()
            .find(|(id, _)| id == "c5")
            .unwrap()
            .1
            .get("error")
            .is_none()
    );
    // Effects in the database.
    let db = &app.state.stores.db;
    let ana = entity::guests::Entity::find()
        .filter(entity::guests::Column::EventId.eq(&event_id))
        .filter(entity::guests::Column::Email.eq("ana@lima.example"))
        .one(db)
        .await
        .unwrap();
    assert!(ana.is_some());
    let crs = entity::change_requests::Entity::find()
        .filter(entity::change_requests::Column::EventId.eq(&event_id))
        .filter(entity::change_requests::Column::Description.eq("Two more vegetarian mains"))
        .count(db)
        .await
        .unwrap();
    assert_eq!(crs, 1);
    let audit = app
        .state
        .stores
        .domain
        .tool_calls_for_thread(&thread_id)
        .await
        .unwrap();
    assert_eq!(audit.len(), 7);
    assert_eq!(audit.iter().filter(|a| !a.ok).count(), 1);
    // Token usage is recorded on the thread (just after the stream ends).
    let mut usage = (0, 0);
    for _ in 0..100 {
        let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
        usage = (thread.tokens_in, thread.tokens_out);
        if usage != (0, 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(usage, (3500, 110));
    // Next turn: the history replays the earlier tool calls and results.
    mock.push(Reply::text(["You have Ana on the list."]));
    let (_, ev) = app
        .add_user_message(&token, &thread_id, "Who did you add?")
        .await;
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "You have Ana on the list."
    );
    let last = mock.requests().pop().unwrap();
    let replayed = tool_results(&last);
    assert_eq!(
        replayed.len(),
        7,
        "every earlier tool result is in the history"
    );
    let calls: Vec<&Value> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["tool_calls"].is_array())
        .collect();
    assert_eq!(calls.len(), 2);
    app.finish().await;
}
both_backends!(client_assistant_uses_its_tools, client_assistant);

async fn venue_event_assistant(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let db = &app.state.stores.db;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let (staff_user, venue_id) = app.demo_staff().await;
    let (event_id, event_venue) = app.event_of(DEMO_CLIENT_EMAIL).await;
    assert_eq!(
        event_venue, venue_id,
        "the demo client's event is at the demo staff's venue"
    );
    // The client has a live thread on the same event: it must hear about the changes.
    let client = app.token_for(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text(["Hi!"]));
    let (client_thread, _) = app
        .create_thread(
            &client,
            "hello",
            json!({"agentType":"client","eventId":event_id}),
        )
        .await;
    let elements = entity::event_elements::Entity::find()
        .filter(entity::event_elements::Column::EventId.eq(&event_id))
        .all(db)
        .await
        .unwrap();
    let (element, next) = elements
        .iter()
        .find_map(|e| match e.status.as_str() {
            "proposed" => Some((e, "pending_approval")),
            "pending_approval" => Some((e, "approved")),
            "approved" => Some((e, "confirmed")),
            _ => None,
        })
        .expect("an element with a next status");
    let vendor = elements
        .iter()
        .find_map(|e| e.vendor_id.clone())
        .expect("an assigned vendor");
    let request = entity::change_requests::Entity::find()
        .filter(entity::change_requests::Column::EventId.eq(&event_id))
        .filter(entity::change_requests::Column::Status.eq("open"))
        .one(db)
        .await
        .unwrap()
        .expect("an open change request");
    let other_venue_event = entity::events::Entity::find()
        .filter(entity::events::Column::VenueId.ne(&venue_id))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    mock.push(Reply::tool_calls(vec![
        call("v1", "getEventDetails", json!({"eventId": event_id})),
        call("v2", "updateElementStatus", json!({"elementId": element.id, "status": next, "note": "checked"})),
        call("v3", "sendMessageToClient", json!({"eventId": event_id, "subject": "Update", "body": "Your florist is confirmed."})),
        call("v4", "sendMessageToVendor", json!({"eventId": event_id, "vendorId": vendor, "body": "Please confirm delivery at 2pm."})),
        call("v5", "createTask", json!({"title": "Call the photographer", "priority": "high"})),
        call("v6", "updateEvent", json!({"eventId": event_id, "notes": "Client prefers late dinner"})),
        call("v7", "reviewChangeRequest", json!({"changeRequestId": request.id, "decision": "approve", "note": "Fine"})),
        call("v8", "getEventDetails", json!({"eventId": other_venue_event})),
    ]));
    mock.push(Reply::text(["All done."]));
    let (thread_id, ev) = app
        .create_thread(
            &staff,
            "Do the usual",
            json!({"agentType":"venue_event","venueId":venue_id,"eventId":event_id}),
        )
        .await;
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "All done."
    );
    let reqs = mock.requests();
    assert_eq!(
        offered(&reqs[1]),
        [
            "createTask",
            "getEventDetails",
            "reviewChangeRequest",
            "sendMessageToClient",
            "sendMessageToVendor",
            "updateElementStatus",
            "updateEvent"
        ]
    );
    let results = tool_results(reqs.last().unwrap());
    for (id, r) in &results {
        if id == "v8" {
            assert!(
                r.get("error").is_some(),
                "another venue's event is refused: {r}"
            );
        } else {
            assert!(r.get("error").is_none(), "{id}: {r}");
        }
    }
    // Effects.
    let el = entity::event_elements::Entity::find_by_id(element.id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(el.status, next);
    let msgs = entity::messages::Entity::find()
        .filter(entity::messages::Column::EventId.eq(&event_id))
        .filter(entity::messages::Column::SenderId.eq(&staff_user.id))
        .all(db)
        .await
        .unwrap();
    assert!(
        msgs.iter()
            .any(|m| m.body == "Your florist is confirmed." && m.recipient_type == "client")
    );
    assert!(
        msgs.iter()
            .any(|m| m.body.contains("2pm") && m.recipient_type == "vendor")
    );
    let task = entity::tasks::Entity::find()
        .filter(entity::tasks::Column::Title.eq("Call the photographer"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.event_id.as_deref(), Some(event_id.as_str()));
    let event = entity::events::Entity::find_by_id(event_id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.notes.as_deref(), Some("Client prefers late dinner"));
    let cr = entity::change_requests::Entity::find_by_id(request.id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cr.status, "approved");
    // The client's live thread was told (hidden context for its next turn).
    let ct = app.thread_record(DEMO_CLIENT_EMAIL, &client_thread).await;
    let mut told = false;
    for _ in 0..100 {
        let all = app.state.stores.items.all_items(&ct).await.unwrap();
        if all
            .iter()
            .any(|i| i.item_type == ItemType::HiddenContextItem)
        {
            told = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        told,
        "the venue-side change reached the client's live thread"
    );
    // ... and the client's next turn shows it to the model.
    mock.push(Reply::text(["Noted."]));
    app.add_user_message(&client, &client_thread, "news?").await;
    let last = mock.requests().pop().unwrap();
    assert!(last["messages"].to_string().contains("HiddenContext"));
    let _ = thread_id;
    app.finish().await;
}
both_backends!(
    venue_event_assistant_changes_real_data,
    venue_event_assistant
);

async fn venue_general_assistant(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let (_, venue_id) = app.demo_staff().await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::tool_calls(vec![
        call("g1", "listEvents", json!({})),
        call("g2", "getEventSummary", json!({"eventId": event_id})),
        call("g3", "listVendors", json!({})),
        call("g4", "listPendingTasks", json!({})),
        call("g5", "searchMessages", json!({"query": "florist"})),
    ]));
    mock.push(Reply::text(["Here is your week."]));
    let (_, ev) = app
        .create_thread(
            &staff,
            "What is happening?",
            json!({"agentType":"venue_general","venueId":venue_id}),
        )
        .await;
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "Here is your week."
    );
    let reqs = mock.requests();
    assert_eq!(
        offered(&reqs[0]),
        [
            "getEventSummary",
            "listEvents",
            "listPendingTasks",
            "listVendors",
            "searchMessages"
        ]
    );
    let results = tool_results(&reqs[1]);
    assert_eq!(results.len(), 5);
    for (id, r) in &results {
        assert!(r.get("error").is_none(), "{id}: {r}");
    }
    app.finish().await;
}
both_backends!(
    venue_general_assistant_reads_the_venue,
    venue_general_assistant
);

async fn llm_failures(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(
        backend,
        &mock,
        &[
            ("EVENTCHAT_LLM__AGENTS__CLIENT__MAX_TOOL_ROUNDS", "2"),
            ("EVENTCHAT_LLM__TITLE_ENABLED", "true"),
        ],
    )
    .await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    // 429 with retry-after, then success; then a title from a small non-streamed call.
    mock.push(Reply::rate_limited(1));
    mock.push(Reply::text(["Hello there"]));
    mock.push(Reply::text(["Planning the Parker wedding"]));
    let (thread_id, ev) = app
        .create_thread(
            &token,
            "hi",
            json!({"agentType":"client","eventId":event_id}),
        )
        .await;
    let t = types(&ev);
    assert_eq!(t.last().unwrap(), "thread.updated", "{t:?}");
    assert_eq!(
        ev.last().unwrap()["thread"]["title"],
        "Planning the Parker wedding"
    );
    assert_eq!(mock.request_count(), 3);
    // Text, then the connection drops: the partial text is kept, the error says the answer
    // was cut off and allows a retry (the `reset-mid` row of protocol §10.3).
    mock.push(Reply::text(["Half ", "an ", "answer", " never", " finished"]).disconnect_after(3));
    let (_, ev) = app.add_user_message(&token, &thread_id, "go on").await;
    let (message, allow_retry) = crate::model_faults::row("reset-mid");
    assert_eq!(
        ev.last().unwrap(),
        &json!({"type":"error","code":"custom","message":message,"allow_retry":allow_retry})
    );
    let kept = ev
        .iter()
        .rev()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .unwrap();
    assert!(
        kept["item"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Half")
    );
    // The tool-round cap: the model keeps calling tools; after 2 rounds a clear message.
    mock.push(Reply::tool_calls(vec![call(
        "r1",
        "viewGuestList",
        json!({"eventId": event_id}),
    )]));
    mock.push(Reply::tool_calls(vec![call(
        "r2",
        "viewContract",
        json!({"eventId": event_id}),
    )]));
    mock.push(Reply::tool_calls(vec![call(
        "r3",
        "getEventDetails",
        json!({"eventId": event_id}),
    )]));
    let (_, ev) = app.add_user_message(&token, &thread_id, "loop").await;
    let last = &ev.last().unwrap()["item"]["content"][0]["text"];
    assert!(last.as_str().unwrap().contains("more steps"), "{last}");
    // A repeated identical call in one turn is answered from the first result.
    mock.push(Reply::tool_calls(vec![call(
        "d1",
        "viewGuestList",
        json!({"eventId": event_id}),
    )]));
    mock.push(Reply::tool_calls(vec![call(
        "d2",
        "viewGuestList",
        json!({"eventId": event_id}),
    )]));
    mock.push(Reply::text(["Same list."]));
    let before = app
        .state
        .stores
        .domain
        .tool_calls_for_thread(&thread_id)
        .await
        .unwrap()
        .len();
    app.add_user_message(&token, &thread_id, "twice").await;
    let after = app
        .state
        .stores
        .domain
        .tool_calls_for_thread(&thread_id)
        .await
        .unwrap()
        .len();
    assert_eq!(after - before, 1, "the repeat did not run again");
    // The upstream keeps failing: a clear, retryable custom error, nothing invented.
    for _ in 0..4 {
        mock.push(Reply::http_error(503, "overloaded"));
    }
    let (_, ev) = app.add_user_message(&token, &thread_id, "again").await;
    let err = ev.last().unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["allow_retry"], true);
    assert!(
        !err.to_string().contains("overloaded"),
        "provider text is not shown: {err}"
    );
    app.finish().await;
}
both_backends!(llm_retries_failures_caps_and_titles, llm_failures);

/// No model configured: the server runs, a turn explains how to configure one.
#[actix_web::test]
async fn without_a_model_turns_explain_the_configuration() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.seed().await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let (_, ev) = app
        .create_thread(
            &token,
            "hi",
            json!({"agentType":"client","eventId":event_id}),
        )
        .await;
    let err = ev.last().unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "custom");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("EVENTCHAT_LLM__API_KEY")
    );
    app.finish().await;
}

/// The model names ids the user may not touch, in every tool that takes one: each call is
/// refused, the refusal reaches the model as the tool's result, and nothing changes.
async fn foreign_ids(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let db = &app.state.stores.db;
    let (_, venue_id) = app.demo_staff().await;
    let (own_event, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    // Another client's event, and everything of another venue.
    let other = app.other_user("client", DEMO_CLIENT_EMAIL).await;
    let (their_event, _) = app.event_of(&other).await;
    let far_event = entity::events::Entity::find()
        .filter(entity::events::Column::VenueId.ne(&venue_id))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let far_element = entity::event_elements::Entity::find()
        .filter(entity::event_elements::Column::EventId.eq(&far_event))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let far_request = entity::change_requests::Entity::find()
        .all(db)
        .await
        .unwrap();
    let mut far_cr = None;
    for cr in far_request {
        let ev = entity::events::Entity::find_by_id(cr.event_id.clone())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        if ev.venue_id != venue_id {
            far_cr = Some(cr.id);
        }
    }
    let far_cr = far_cr.unwrap_or_else(|| "00000000-0000-4000-8000-999999999999".to_owned());
    let linked: Vec<String> = entity::venue_vendors::Entity::find()
        .filter(entity::venue_vendors::Column::VenueId.eq(&venue_id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.vendor_id)
        .collect();
    let far_vendor = entity::vendors::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .find(|id| !linked.contains(id))
        .unwrap_or_else(|| "00000000-0000-4000-8000-999999999998".to_owned());
    let far_staff = entity::users::Entity::find()
        .filter(entity::users::Column::UserType.eq("venue"))
        .filter(entity::users::Column::VenueId.ne(&venue_id))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let before = (
        entity::guests::Entity::find().count(db).await.unwrap(),
        entity::change_requests::Entity::find()
            .count(db)
            .await
            .unwrap(),
        entity::messages::Entity::find().count(db).await.unwrap(),
        entity::tasks::Entity::find().count(db).await.unwrap(),
    );
    let turns: Vec<(String, Value, Vec<MockToolCall>)> = vec![
        (
            DEMO_CLIENT_EMAIL.to_owned(),
            json!({"agentType":"client","eventId":own_event}),
            vec![
                call("f1", "getEventDetails", json!({"eventId": their_event})),
                call("f2", "viewGuestList", json!({"eventId": their_event})),
                call(
                    "f3",
                    "addGuest",
                    json!({"eventId": their_event, "name": "Mallory"}),
                ),
                call("f4", "viewContract", json!({"eventId": their_event})),
                call(
                    "f5",
                    "requestElementChange",
                    json!({"eventId": their_event, "requestType": "add", "description": "x"}),
                ),
                call(
                    "f6",
                    "requestElementChange",
                    json!({"eventId": own_event, "requestType": "remove", "elementId": far_element, "description": "x"}),
                ),
            ],
        ),
        (
            DEMO_STAFF_EMAIL.to_owned(),
            json!({"agentType":"venue_general","venueId":venue_id}),
            vec![
                call("g1", "getEventSummary", json!({"eventId": far_event})),
                call("g2", "listPendingTasks", json!({"eventId": far_event})),
            ],
        ),
        (
            DEMO_STAFF_EMAIL.to_owned(),
            json!({"agentType":"venue_event","venueId":venue_id,"eventId":own_event}),
            vec![
                call("e1", "getEventDetails", json!({"eventId": far_event})),
                call(
                    "e2",
                    "updateElementStatus",
                    json!({"elementId": far_element, "status": "cancelled"}),
                ),
                call(
                    "e3",
                    "sendMessageToClient",
                    json!({"eventId": far_event, "body": "hi"}),
                ),
                call(
                    "e4",
                    "sendMessageToVendor",
                    json!({"eventId": own_event, "vendorId": far_vendor, "body": "hi"}),
                ),
                call(
                    "e5",
                    "createTask",
                    json!({"title": "t", "eventId": far_event}),
                ),
                call(
                    "e6",
                    "createTask",
                    json!({"title": "t", "assignedTo": far_staff}),
                ),
                call(
                    "e7",
                    "updateEvent",
                    json!({"eventId": far_event, "notes": "x"}),
                ),
                call(
                    "e8",
                    "reviewChangeRequest",
                    json!({"changeRequestId": far_cr, "decision": "approve"}),
                ),
            ],
        ),
    ];
    for (email, meta, calls) in turns {
        let n = calls.len();
        mock.push(Reply::tool_calls(calls));
        mock.push(Reply::text(["I could not do that."]));
        let token = app.token_for(&email).await;
        let (_, ev) = app.create_thread(&token, "try it", meta).await;
        assert_eq!(
            ev.last().unwrap()["item"]["content"][0]["text"],
            "I could not do that."
        );
        let results = tool_results(&mock.requests().pop().unwrap());
        assert_eq!(results.len(), n);
        for (id, r) in results {
            assert!(
                r.get("error").is_some(),
                "{email} {id} was not refused: {r}"
            );
        }
    }
    let after = (
        entity::guests::Entity::find().count(db).await.unwrap(),
        entity::change_requests::Entity::find()
            .count(db)
            .await
            .unwrap(),
        entity::messages::Entity::find().count(db).await.unwrap(),
        entity::tasks::Entity::find().count(db).await.unwrap(),
    );
    assert_eq!(before, after, "no refused call changed anything");
    app.finish().await;
}
both_backends!(foreign_ids_are_refused_in_every_tool, foreign_ids);

/// A thread longer than the transcript window: the model is sent the newest
/// `transcript::MAX_ITEMS` items (the token budget is made large enough not to cut first),
/// read from the store by an actor that starts on a thread it has never seen.
async fn long_thread(backend: Backend) {
    use eventchat::chatkit::{ItemBody, OutputText, ThreadItem};
    use eventchat::conversation::convert::item_to_record;
    use eventchat::conversation::transcript::MAX_ITEMS;

    let mock = MockLlm::start();
    let app = TestApp::with_mock(
        backend,
        &mock,
        &[("EVENTCHAT_LLM__HISTORY_TOKEN_BUDGET", "10000000")],
    )
    .await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text(["Hello."]));
    let meta = json!({"agentType":"client","eventId":event_id});
    let (thread_id, _) = app
        .create_thread(&token, "the very first message", meta)
        .await;
    // Stop the live actor so that the next turn reads the items written below from the store.
    let admin = app
        .token_for(eventchat::store::seed::DEMO_ADMIN_EMAIL)
        .await;
    let r = app
        .request_as(
            reqwest::Method::POST,
            &admin,
            &format!("/admin/actors/{thread_id}/stop"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    // Between the first exchange and the next message, a microsecond apart.
    let existing = app.state.stores.items.all_items(&thread).await.unwrap();
    let start = existing.last().unwrap().created_at;
    let old = MAX_ITEMS + 50;
    for n in 0..old {
        let item = ThreadItem::new(
            format!("msg_old{n:04}"),
            thread_id.clone(),
            start + chrono::Duration::microseconds(1 + n as i64),
            ItemBody::AssistantMessage {
                content: vec![OutputText::new(format!("old {n}"))],
            },
        );
        let record = item_to_record(&item, json!({})).unwrap();
        app.state
            .stores
            .items
            .upsert_item(&thread, &record)
            .await
            .unwrap();
    }
    mock.push(Reply::text(["Still here."]));
    let (status, ev) = app
        .add_user_message(&token, &thread_id, "the newest message")
        .await;
    assert_eq!(status, 200, "{ev:?}");
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "Still here."
    );
    let sent = mock.requests().pop().unwrap();
    let messages = sent["messages"].as_array().unwrap();
    // The system prompt, then the window: the newest old items and the new user message.
    assert_eq!(messages.len(), 1 + MAX_ITEMS);
    assert_eq!(
        messages[1]["content"],
        format!("old {}", old - (MAX_ITEMS - 1))
    );
    assert_eq!(
        messages[MAX_ITEMS - 1]["content"],
        format!("old {}", old - 1)
    );
    assert_eq!(messages[MAX_ITEMS]["content"], "the newest message");
    assert!(!sent.to_string().contains("the very first message"));
    // The store still has every item; clients page through all of them.
    let all = app.state.stores.items.all_items(&thread).await.unwrap();
    assert_eq!(all.len(), 2 + old + 2);
    app.finish().await;
}
both_backends!(a_long_thread_sends_the_newest_items, long_thread);

/// The user message's `thread.item.done` (then `stream_options`) go out as soon as the
/// message is stored, while the model is still thinking, and never before it is stored.
async fn user_message_confirmed_early(backend: Backend) {
    use futures::StreamExt;

    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text(["Hello."]));
    let meta = json!({"agentType":"client","eventId":event_id});
    let (thread_id, _) = app.create_thread(&token, "first", meta).await;
    let slow = Duration::from_millis(1500);
    mock.push(Reply::text(["Late answer."]).first_token_delay(slow));
    let started = std::time::Instant::now();
    let resp = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&req::add_user_message(&thread_id, "are you there?"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while crate::helpers::parse_sse(&seen).len() < 2 {
        seen.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    let early = started.elapsed();
    let events = crate::helpers::parse_sse(&seen);
    assert_eq!(types(&events[..2]), ["thread.item.done", "stream_options"]);
    assert!(
        early < slow,
        "confirmed after {early:?}, the model answers at {slow:?}"
    );
    // Durable when announced.
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    let id = events[0]["item"]["id"].as_str().unwrap();
    app.state.stores.items.load_item(&thread, id).await.unwrap();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let all = crate::helpers::parse_sse(&seen);
    assert_eq!(
        all.last().unwrap()["item"]["content"][0]["text"],
        "Late answer."
    );
    app.finish().await;
}
both_backends!(
    the_user_message_is_confirmed_before_the_model_answers,
    user_message_confirmed_early
);
