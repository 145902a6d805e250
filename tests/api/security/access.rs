//! What an authenticated user may reach of someone else's data: every ChatKit request type
//! and the admin API, with the victim's view and the row counts unchanged.

use eventchat::store::seed::{DEMO_ADMIN_EMAIL, DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests as req;

/// What the victim sees of their thread, and the row counts.
async fn snapshot(app: &TestApp, victim: &str, thread_id: &str) -> (Value, Value, (u64, u64, u64)) {
    let (_, t) = app.chatkit(victim, req::get_thread(thread_id)).await;
    let (_, items) = app
        .chatkit(
            victim,
            req::list_items(thread_id, json!({"order":"asc","limit":100})),
        )
        .await;
    (t, items, app.chatkit_counts().await)
}

async fn authorization_matrix(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    // The victim: the demo client, with a thread (user message + answer) and an attachment.
    let (victim, thread_id, ev) = app.client_thread("#echo private plans").await;
    let item_ids: Vec<String> = ev
        .iter()
        .filter(|e| e["type"] == "thread.item.done")
        .map(|e| e["item"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(item_ids.len(), 2, "{ev:?}");
    let (user_item, answer_item) = (&item_ids[0], &item_ids[1]);
    let (status, att) = app
        .chatkit(
            &victim,
            req::create_attachment("plan.pdf", 4, "application/pdf"),
        )
        .await;
    assert_eq!(status, 200, "{att}");
    let attachment_id = att["id"].as_str().unwrap().to_owned();
    let (victim_event, victim_venue) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let other_client = app.other_user("client", DEMO_CLIENT_EMAIL).await;
    let (other_event, _) = app.event_of(&other_client).await;
    let far_staff = app.staff_elsewhere(&victim_venue).await;
    let far_venue = app.venue_of(&far_staff).await;
    let vendor = app.other_user("vendor", "").await;

    let before = snapshot(&app, &victim, &thread_id).await;
    assert_eq!(before.0["id"], thread_id.as_str());

    // Aimed at the victim's thread, item and attachment: every type but threads.create
    // (whose target is the metadata, below), threads.list and attachments.create (no
    // foreign id to aim at; checked for leaks and cross-use below) and input.transcribe
    // (reads nothing; 501 here since no transcription model is configured).
    let aimed = [
        req::add_user_message(&thread_id, "hi"),
        req::add_client_tool_output(&thread_id, json!({})),
        req::retry_after_item(&thread_id, user_item),
        req::custom_action(
            &thread_id,
            Some(answer_item),
            json!({"type":"x","payload":{}}),
        ),
        req::add_structured_input(&thread_id, answer_item, json!({})),
        req::sync_custom_action(&thread_id, None, json!({"type":"x"})),
        req::get_thread(&thread_id),
        req::list_items(&thread_id, json!({})),
        req::delete_attachment(&attachment_id),
        req::feedback(&thread_id, &[answer_item], "negative"),
        req::update_thread(&thread_id, "pwned"),
        req::delete_thread(&thread_id),
    ];
    // Who intrudes, and the threads.create metadata each one must not be able to use.
    let intruders: Vec<(&str, String, Vec<Value>)> = vec![
        (
            "another client",
            other_client.clone(),
            vec![
                json!({"agentType":"client","eventId":victim_event}),
                json!({"agentType":"venue_general","venueId":victim_venue}),
                json!({"agentType":"venue_event","venueId":victim_venue,"eventId":victim_event}),
            ],
        ),
        (
            "staff of the event's own venue",
            DEMO_STAFF_EMAIL.to_owned(),
            vec![json!({"agentType":"client","eventId":victim_event})],
        ),
        (
            "staff of another venue",
            far_staff.clone(),
            vec![
                json!({"agentType":"venue_general","venueId":victim_venue}),
                json!({"agentType":"venue_event","venueId":victim_venue,"eventId":victim_event}),
                // Their own venue, someone else's event: the event must be at the venue.
                json!({"agentType":"venue_event","venueId":far_venue,"eventId":victim_event}),
                json!({"agentType":"client","eventId":victim_event}),
            ],
        ),
        (
            "vendor",
            vendor.clone(),
            vec![
                json!({"agentType":"client","eventId":victim_event}),
                json!({"agentType":"venue_general","venueId":victim_venue}),
            ],
        ),
        (
            "admin",
            DEMO_ADMIN_EMAIL.to_owned(),
            vec![json!({"agentType":"client","eventId":victim_event})],
        ),
    ];
    for (who, email, metas) in &intruders {
        let token = app.token_for(email).await;
        for request in &aimed {
            let (status, body) = app.chatkit(&token, request.clone()).await;
            assert!(
                status == 403 || status == 404,
                "{who}: {} -> {status} {body}",
                request["type"]
            );
            assert!(
                !body.to_string().contains("private plans"),
                "{who} read the thread: {body}"
            );
        }
        for meta in metas {
            let (status, body) = app
                .chatkit(&token, req::create_thread("hi", meta.clone()))
                .await;
            assert_eq!(status, 403, "{who}: create {meta} -> {body}");
        }
        let (status, list) = app.chatkit(&token, req::list_threads(json!({}))).await;
        assert_eq!(status, 200, "{who}: {list}");
        assert!(
            list["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != thread_id.as_str()),
            "{who} sees the victim's thread"
        );
        let (status, _) = app
            .chatkit(&token, req::transcribe("AAAA", "audio/webm"))
            .await;
        assert_eq!(status, 501, "{who}");
    }
    // The other client, with their own event, still may not use the victim's attachment.
    let other_token = app.token_for(&other_client).await;
    let (status, body) = app
        .chatkit(
            &other_token,
            req::create_thread_with_attachments(
                "hi",
                &[&attachment_id],
                json!({"agentType":"client","eventId":other_event}),
            ),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    // Vendors get a clear reason.
    let (status, body) = app
        .chatkit(
            &app.token_for(&vendor).await,
            req::create_thread("hi", json!({"agentType":"client","eventId":victim_event})),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("vendors have no assistant"),
        "{body}"
    );

    // The admin API, for everyone but admins.
    let admin_routes = [
        ("GET", "/admin/actors".to_owned()),
        ("GET", format!("/admin/actors/{thread_id}")),
        ("POST", format!("/admin/actors/{thread_id}/stop")),
        ("POST", format!("/admin/venues/{victim_venue}/evict")),
        ("POST", format!("/admin/actors/{thread_id}/panic")),
    ];
    for email in [
        DEMO_CLIENT_EMAIL.to_owned(),
        other_client.clone(),
        DEMO_STAFF_EMAIL.to_owned(),
        vendor.clone(),
    ] {
        let token = app.token_for(&email).await;
        for (method, path) in &admin_routes {
            let req = match *method {
                "GET" => app.http.get(app.url(path)),
                _ => app.http.post(app.url(path)),
            };
            let r = req.bearer_auth(&token).send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            assert_eq!(status, 403, "{email}: {method} {path} -> {body}");
            assert_eq!(body["error"]["code"], "forbidden");
        }
    }
    // Nothing was read or changed: same rows, same thread, same items, the actor still live
    // (not stopped, evicted or crashed).
    let after = snapshot(&app, &victim, &thread_id).await;
    assert_eq!(after, before, "the victim's data is untouched");
    assert!(after.0.get("title").is_none());
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    let r = app
        .request_as(
            reqwest::Method::GET,
            &admin,
            &format!("/admin/actors/{thread_id}"),
        )
        .await;
    assert_eq!(r.status(), 200, "the victim's actor is still live");
    let (status, body) = app
        .chatkit(
            &victim,
            req::add_user_message(&thread_id, "#echo still mine"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.finish().await;
}
both_backends!(
    authorization_matrix_over_every_request_type,
    authorization_matrix
);
