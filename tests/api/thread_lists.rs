//! `threads.list` per assistant (protocol §3.10): the request `metadata` the ChatKit
//! `fetch` sends with every request (`agentType`, `eventId`, `venueId`) narrows the list
//! to that assistant's threads, and paging runs within the narrowed list.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

async fn create(app: &TestApp, token: &str, meta: Value) -> String {
    let (status, ev) = app
        .stream(
            token,
            json!({"type":"threads.create","params":{"input":input("hi")},"metadata":meta}),
        )
        .await;
    assert_eq!(status, 200, "{ev:?}");
    ev[0]["thread"]["id"].as_str().unwrap().to_owned()
}

/// Every thread id of the list, page by page (`limit`, `order`), checking the cursors.
async fn list_all(app: &TestApp, token: &str, meta: Value, limit: u64, order: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut params = json!({"limit": limit, "order": order});
        if let Some(a) = &after {
            params["after"] = json!(a);
        }
        let (status, page) = app
            .chatkit(
                token,
                json!({"type":"threads.list","params":params,"metadata":meta}),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        assert!(data.len() as u64 <= limit);
        seen.extend(data.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        if page["has_more"] == json!(false) {
            assert!(page.get("after").is_none(), "{page}");
            return seen;
        }
        assert_eq!(page["after"].as_str(), seen.last().map(String::as_str));
        after = Some(page["after"].as_str().unwrap().to_owned());
    }
}

fn rev(v: &[&String]) -> Vec<String> {
    v.iter().rev().map(|s| (*s).clone()).collect()
}

async fn list_per_assistant(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let staff = app
        .token_for(eventchat::store::seed::DEMO_STAFF_EMAIL)
        .await;
    let (_, venue) = app.demo_staff().await;
    let events: Vec<String> = entity::events::Entity::find()
        .filter(entity::events::Column::VenueId.eq(&venue))
        .order_by_asc(entity::events::Column::Id)
        .all(&app.state.stores.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let (ev_a, ev_b) = (&events[0], &events[1]);
    let general = json!({"agentType":"venue_general","venueId":venue});
    let on_a = json!({"agentType":"venue_event","venueId":venue,"eventId":ev_a});
    let on_b = json!({"agentType":"venue_event","venueId":venue,"eventId":ev_b});
    // Interleaved, so a filtered page has to skip the others.
    let g1 = create(&app, &staff, general.clone()).await;
    let a1 = create(&app, &staff, on_a.clone()).await;
    let b1 = create(&app, &staff, on_b.clone()).await;
    let g2 = create(&app, &staff, general.clone()).await;
    let a2 = create(&app, &staff, on_a.clone()).await;
    let a3 = create(&app, &staff, on_a.clone()).await;
    // Another user's thread on event A is never listed for the staff user.
    let (_, client_thread, _) = app.client_thread("hello").await;
    // Without metadata: every thread of the user, as before.
    let all = list_all(&app, &staff, json!({}), 100, "desc").await;
    assert_eq!(all, rev(&[&g1, &a1, &b1, &g2, &a2, &a3]));
    let (status, page) = app
        .chatkit(&staff, json!({"type":"threads.list","params":{}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["data"].as_array().unwrap().len(), 6);
    // Per assistant and event, in one page and in pages of one, both orders.
    for limit in [100, 1] {
        assert_eq!(
            list_all(&app, &staff, general.clone(), limit, "desc").await,
            rev(&[&g1, &g2])
        );
        assert_eq!(
            list_all(&app, &staff, on_a.clone(), limit, "desc").await,
            rev(&[&a1, &a2, &a3])
        );
        assert_eq!(
            list_all(&app, &staff, on_a.clone(), limit, "asc").await,
            vec![a1.clone(), a2.clone(), a3.clone()]
        );
        assert_eq!(
            list_all(&app, &staff, on_b.clone(), limit, "desc").await,
            vec![b1.clone()]
        );
    }
    // The first page of one names its cursor; the next page starts after it.
    let (_, page) = app
        .chatkit(
            &staff,
            json!({"type":"threads.list","params":{"limit":1},"metadata":on_a}),
        )
        .await;
    assert_eq!(
        page,
        json!({"data":[page["data"][0].clone()],"has_more":true,"after":a3})
    );
    // As for threads.create, a field the assistant is not bound by is ignored: the
    // venue-wide assistant's list does not narrow to the event the page also sends.
    let general_on_a = json!({"agentType":"venue_general","venueId":venue,"eventId":ev_a});
    assert_eq!(
        list_all(&app, &staff, general_on_a, 100, "desc").await,
        rev(&[&g1, &g2])
    );
    // Only the assistant named: all of its threads.
    assert_eq!(
        list_all(
            &app,
            &staff,
            json!({"agentType":"venue_event"}),
            100,
            "desc"
        )
        .await,
        rev(&[&a1, &b1, &a2, &a3])
    );
    // The client's own list per event.
    let client = app
        .token_for(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let (client_event, _) = app
        .event_of(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let mine = list_all(
        &app,
        &client,
        json!({"agentType":"client","eventId":client_event}),
        1,
        "desc",
    )
    .await;
    assert_eq!(mine, vec![client_thread.clone()]);
    let other_event = events.iter().find(|e| **e != client_event).unwrap();
    assert!(
        list_all(
            &app,
            &client,
            json!({"agentType":"client","eventId":other_event}),
            1,
            "desc"
        )
        .await
        .is_empty()
    );
    // Bad metadata is refused as threads.create refuses it.
    for meta in [
        json!({"agentType":"planner"}),
        json!({"agentType":"venue_event","venueId":venue,"eventId":"x' OR '1'='1"}),
        json!({"agentType":"venue_general","venueId":"v".repeat(200)}),
    ] {
        let (status, body) = app
            .chatkit(
                &staff,
                json!({"type":"threads.list","params":{},"metadata":meta}),
            )
            .await;
        assert_eq!(status, 400, "{meta} -> {body}");
        assert_eq!(body["error"]["code"], "invalid_request");
    }
    app.finish().await;
}
both_backends!(
    threads_list_filters_by_assistant_metadata,
    list_per_assistant
);
