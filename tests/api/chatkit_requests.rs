//! The non-streaming requests, paging, deletion, attachments, isolation between users and
//! malformed input, through the real server.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests as req;

async fn paging(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let mut threads = Vec::new();
    for i in 0..25 {
        let (_, id, _) = app.client_thread(&format!("thread {i}")).await;
        threads.push(id);
    }
    let token = app
        .token_for(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    // threads.list: newest first, pages of 10 with cursors, last page without `after`.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut params = json!({"limit": 10});
        if let Some(a) = &after {
            params["after"] = json!(a);
        }
        let (status, page) = app.chatkit(&token, req::list_threads(params)).await;
        assert_eq!(status, 200);
        for t in page["data"].as_array().unwrap() {
            assert_eq!(t["items"], json!({"data": [], "has_more": false}));
            assert_eq!(t["metadata"], json!({}));
            seen.push(t["id"].as_str().unwrap().to_owned());
        }
        if page["has_more"] == json!(false) {
            assert!(page.get("after").is_none());
            break;
        }
        after = Some(page["after"].as_str().unwrap().to_owned());
    }
    let mut expected = threads.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    // 26 items in one thread (13 turns of 2): items.list newest first by default.
    let thread = &threads[0];
    for i in 0..12 {
        app.add_user_message(&token, thread, &format!("m{i}")).await;
    }
    let (_, all) = app
        .chatkit(
            &token,
            req::list_items(thread, json!({"limit":100,"order":"asc"})),
        )
        .await;
    let asc: Vec<Value> = all["data"].as_array().unwrap().clone();
    assert_eq!(asc.len(), 26);
    let (_, first) = app
        .chatkit(&token, req::list_items(thread, json!({"limit":20})))
        .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 20);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["data"][0], asc[25]);
    let (_, second) = app
        .chatkit(
            &token,
            req::list_items(thread, json!({"limit":20,"after":first["after"]})),
        )
        .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 6);
    assert_eq!(second["has_more"], false);
    assert!(second.get("after").is_none());
    // get_by_id: the oldest 20, ascending, with a cursor.
    let (_, t) = app.chatkit(&token, req::get_thread(thread)).await;
    assert_eq!(t["items"]["data"].as_array().unwrap().len(), 20);
    assert_eq!(t["items"]["data"][0], asc[0]);
    assert_eq!(t["items"]["has_more"], true);
    assert_eq!(t["items"]["after"], asc[19]["id"]);
    app.finish().await;
}
both_backends!(paging_matches_the_reference_cases, paging);

async fn update_delete_feedback(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (token, thread_id, ev) = app.client_thread("hello").await;
    let (status, t) = app
        .chatkit(&token, req::update_thread(&thread_id, "Renamed"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(t["title"], "Renamed");
    assert_eq!(t["items"], json!({"data": [], "has_more": false}));
    let assistant = ev.last().unwrap()["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .chatkit(&token, req::feedback(&thread_id, &[&assistant], "positive"))
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = app.chatkit(&token, req::delete_thread(&thread_id)).await;
    assert_eq!((status, body), (200, json!({})));
    // Gone from every later request.
    for request in [
        req::get_thread(&thread_id),
        req::list_items(&thread_id, json!({})),
        req::update_thread(&thread_id, "x"),
        req::delete_thread(&thread_id),
    ] {
        let (status, body) = app.chatkit(&token, request).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = app.add_user_message(&token, &thread_id, "hi").await;
    assert_eq!(status, 404);
    let (_, list) = app.chatkit(&token, req::list_threads(json!({}))).await;
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != thread_id.as_str())
    );
    app.finish().await;
}
both_backends!(update_feedback_and_soft_delete, update_delete_feedback);

async fn attachments(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let token = app
        .token_for(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let (status, att) = app
        .chatkit(
            &token,
            req::create_attachment("floorplan.png", 4, "image/png"),
        )
        .await;
    assert_eq!(status, 200, "{att}");
    assert_eq!(att["type"], "image");
    assert!(att.get("metadata").is_none());
    let id = att["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("atc_"));
    let desc = &att["upload_descriptor"];
    assert_eq!(desc["method"], "PUT");
    let url = desc["url"].as_str().unwrap();
    let upload_token = desc["headers"]["X-Upload-Token"].as_str().unwrap();
    // A message may not use it before the bytes arrive.
    let (event_id, _) = app
        .event_of(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let create = req::create_thread_with_attachments(
        "see plan",
        &[&id],
        json!({"agentType":"client","eventId":event_id}),
    );
    let (status, _) = app.stream(&token, create.clone()).await;
    assert_eq!(status, 400);
    // Wrong token, then the right one.
    let r = app
        .http
        .put(url)
        .header("X-Upload-Token", "nope")
        .body(vec![1u8, 2, 3, 4])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .put(url)
        .header("X-Upload-Token", upload_token)
        .header("content-type", "image/png")
        .body(vec![137u8, 80, 78, 71])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let uploaded: Value = r.json().await.unwrap();
    assert!(uploaded.get("upload_descriptor").is_none());
    let preview = uploaded["preview_url"].as_str().unwrap().to_owned();
    let r = app.http.get(&preview).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &[137u8, 80, 78, 71]);
    // Used in a message: embedded in full with the thread id.
    let (status, ev) = app.stream(&token, create).await;
    assert_eq!(status, 200);
    let thread_id = ev[0]["thread"]["id"].as_str().unwrap();
    let embedded = &ev[1]["item"]["attachments"][0];
    assert_eq!(embedded["id"], id.as_str());
    assert_eq!(embedded["thread_id"], thread_id);
    assert_eq!(embedded["name"], "floorplan.png");
    // A disallowed type and an oversized declaration are refused.
    let (status, body) = app
        .chatkit(
            &token,
            req::create_attachment("x.exe", 4, "application/x-msdownload"),
        )
        .await;
    assert_eq!(status, 415, "{body}");
    let (status, _) = app
        .chatkit(
            &token,
            req::create_attachment("big.pdf", 999_999_999, "application/pdf"),
        )
        .await;
    assert_eq!(status, 413);
    // Delete: gone, bytes included.
    let (status, body) = app.chatkit(&token, req::delete_attachment(&id)).await;
    assert_eq!((status, body), (200, json!({})));
    let r = app.http.get(&preview).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let (status, _) = app.chatkit(&token, req::delete_attachment(&id)).await;
    assert_eq!(status, 404);
    // Transcription is not configured: a clear 501.
    let (status, body) = app
        .chatkit(
            &token,
            req::transcribe("YWJjZGVm", "audio/webm;codecs=opus"),
        )
        .await;
    assert_eq!(status, 501);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("transcription is not configured")
    );
    app.finish().await;
}
both_backends!(attachments_upload_use_and_delete, attachments);

async fn isolation(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (_, thread_id, ev) = app.client_thread("mine").await;
    let item_id = ev[1]["item"]["id"].as_str().unwrap().to_owned();
    let intruder = app
        .other_user("client", eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let token = app.token_for(&intruder).await;
    let before = app.chatkit_counts().await;
    let requests = [
        req::get_thread(&thread_id),
        req::list_items(&thread_id, json!({})),
        req::update_thread(&thread_id, "pwned"),
        req::delete_thread(&thread_id),
        req::feedback(&thread_id, &[&item_id], "negative"),
        req::sync_custom_action(&thread_id, None, json!({"type":"x"})),
        req::add_user_message(&thread_id, "hi"),
        req::add_client_tool_output(&thread_id, json!({})),
        req::add_structured_input(&thread_id, &item_id, json!({})),
        req::retry_after_item(&thread_id, &item_id),
        req::custom_action(&thread_id, None, json!({"type":"x"})),
    ];
    for request in requests {
        let (status, body) = app.chatkit(&token, request.clone()).await;
        assert_eq!(status, 404, "{request} -> {body}");
    }
    let (_, list) = app.chatkit(&token, req::list_threads(json!({}))).await;
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != thread_id.as_str())
    );
    assert_eq!(app.chatkit_counts().await, before, "nothing changed");
    // The owner still sees it untouched.
    let owner = app
        .token_for(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let (_, t) = app.chatkit(&owner, req::get_thread(&thread_id)).await;
    assert!(t.get("title").is_none());
    app.finish().await;
}
both_backends!(users_cannot_reach_each_others_threads, isolation);

async fn malformed(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let token = app
        .token_for(eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let before = app.chatkit_counts().await;
    let raw = |body: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app
                .http
                .post(app.url("/api/chatkit"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let cases: [(&'static str, &str); 6] = [
        ("{not json", "invalid JSON"),
        ("[1,2]", "object"),
        (r#"{"params":{}}"#, "type"),
        (
            r#"{"type":"threads.explode","params":{}}"#,
            "threads.explode",
        ),
        (
            r#"{"type":"threads.list","params":{"limit":"ten"}}"#,
            "threads.list",
        ),
        (r#"{"type":"threads.get_by_id","params":{}}"#, "thread_id"),
    ];
    for (body, mentions) in cases {
        let (status, v) = raw(body).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_request");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(mentions), "{body}: {msg}");
    }
    // Bad ids never reach a query.
    let (status, v) = app
        .chatkit(
            &token,
            json!({"type":"threads.get_by_id","params":{"thread_id":"thr_'; drop table x;--"}}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // Oversized body.
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .body(format!(
            r#"{{"type":"threads.list","params":{{}},"pad":"{big}"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Missing and unusable metadata on threads.create.
    let (status, v) = app
        .chatkit(
            &token,
            json!({"type":"threads.create","params":{"input":req::input("hi")}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agentType")
    );
    let (status, v) = app
        .chatkit(&token, json!({"type":"threads.create","params":{"input":req::input("hi")},"metadata":{"agentType":"client"}}))
        .await;
    assert_eq!(status, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("eventId"));
    let other = app
        .other_user("client", eventchat::store::seed::DEMO_CLIENT_EMAIL)
        .await;
    let (foreign_event, venue) = app.event_of(&other).await;
    let (status, _) = app
        .chatkit(
            &token,
            req::create_thread("hi", json!({"agentType":"client","eventId":foreign_event})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .chatkit(
            &token,
            req::create_thread("hi", json!({"agentType":"venue_general","venueId":venue})),
        )
        .await;
    assert_eq!(status, 403);
    // No token, bad token.
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .json(&req::list_threads(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth("garbage")
        .json(&req::list_threads(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.chatkit_counts().await, before, "nothing was written");
    // Lenient where the reference is: unknown fields, nulls, limit 0.
    let (status, page) = app
        .chatkit(&token, json!({"type":"threads.list","params":{"limit":0,"order":null,"after":null,"extra":1},"metadata":null,"future":true}))
        .await;
    assert_eq!(status, 200, "{page}");
    app.finish().await;
}
both_backends!(malformed_requests_get_clear_4xx, malformed);
