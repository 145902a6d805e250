//! Live threads as actors, through HTTP: many threads at once, queueing, disconnects,
//! failures and panics that stay local, restarts, idle eviction and rehydration, the admin
//! API, and domain changes reaching live threads.

use std::time::{Duration, Instant};

use chrono::Utc;
use eventchat::actors::supervisor::EvictIdle;
use eventchat::store::seed::{DEMO_ADMIN_EMAIL, DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use eventchat::store::{Order, Visibility};
use eventchat::vocab::ItemType;
use futures::StreamExt;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, types};
use crate::requests as req;

/// A third venue with one staff member, so threads spread over three supervisors.
async fn third_venue(app: &TestApp) -> (String, String) {
    let db = &app.state.stores.db;
    let venue_id = uuid::Uuid::new_v4().to_string();
    entity::venues::ActiveModel {
        id: Set(venue_id.clone()),
        name: Set("Test Hall".into()),
        address: Set("1 Test St".into()),
        city: Set("Testville".into()),
        capacity: Set(100),
        description: Set("A venue for tests".into()),
        contact_email: Set("hall@test.example".into()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    let email = format!("staff-{}@test.example", &venue_id[..8]);
    entity::users::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        email: Set(email.clone()),
        name: Set("Test Staff".into()),
        user_type: Set("venue".into()),
        venue_id: Set(Some(venue_id.clone())),
        vendor_id: Set(None),
        phone: Set(None),
        preferences: Set(json!({})),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    (venue_id, email)
}

async fn create_venue_thread(app: &TestApp, token: &str, venue_id: &str, text: &str) -> String {
    let meta = json!({"agentType":"venue_general","venueId":venue_id});
    app.create_thread(token, text, meta).await.0
}

async fn many_threads(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (v3, staff3) = third_venue(&app).await;
    let staff2 = app
        .staff_elsewhere(&app.venue_of(DEMO_STAFF_EMAIL).await)
        .await;
    let venues = [
        (
            app.token_for(DEMO_STAFF_EMAIL).await,
            app.venue_of(DEMO_STAFF_EMAIL).await,
        ),
        (app.token_for(&staff2).await, app.venue_of(&staff2).await),
        (app.token_for(&staff3).await, v3),
    ];
    let distinct: std::collections::HashSet<_> = venues.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(distinct.len(), 3, "three venues");
    let turns_per_thread = 3;
    let runs = futures::stream::iter(0..200)
        .map(|i| {
            let (token, venue) = &venues[i % 3];
            let app = &app;
            async move {
                let id = create_venue_thread(app, token, venue, &format!("#echo t{i} m0")).await;
                for m in 1..turns_per_thread {
                    let (status, ev) = app
                        .add_user_message(token, &id, &format!("#echo t{i} m{m}"))
                        .await;
                    assert_eq!(status, 200);
                    assert_eq!(ev.last().unwrap()["type"], "thread.item.done", "{ev:?}");
                }
                (i, id, token.clone())
            }
        })
        .buffer_unordered(40)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(runs.len(), 200);
    for (i, id, token) in &runs {
        let (_, items) = app
            .chatkit(
                token,
                req::list_items(id, json!({"order":"asc","limit":100})),
            )
            .await;
        let texts: Vec<String> = items["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| match it["type"].as_str().unwrap() {
                "user_message" => it["content"][0]["text"].as_str().unwrap().to_owned(),
                _ => it["content"][0]["text"].as_str().unwrap().to_owned(),
            })
            .collect();
        let mut expected = Vec::new();
        for m in 0..turns_per_thread {
            expected.push(format!("#echo t{i} m{m}"));
            expected.push(format!("user:#echo t{i} m{m}"));
        }
        assert_eq!(texts, expected, "thread {i}");
    }
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    let r = app
        .request_as(reqwest::Method::GET, &admin, "/admin/actors?per_page=500")
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["total"], 200);
    assert_eq!(body["supervisors"].as_array().unwrap().len(), 3);
    app.finish().await;
}
both_backends!(two_hundred_threads_over_three_venues, many_threads);

async fn queue_and_disconnect(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    let (token, thread_id, _) = app.client_thread("hello").await;
    // A second input while a turn runs waits, then runs in order.
    let slow = app.add_user_message(&token, &thread_id, "#slow first");
    let second = async {
        script.until_seen("user:#slow first").await;
        app.add_user_message(&token, &thread_id, "#echo second")
            .await
    };
    let ((s1, ev1), (s2, ev2)) = futures::join!(slow, second);
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(
        ev1.last().unwrap()["item"]["content"][0]["text"],
        "user:#slow first"
    );
    assert_eq!(
        ev2.last().unwrap()["item"]["content"][0]["text"],
        "user:#echo second"
    );
    let (_, items) = app
        .chatkit(&token, req::list_items(&thread_id, json!({"order":"asc"})))
        .await;
    let kinds: Vec<&str> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message"
        ]
    );
    assert_eq!(items["data"][2]["content"][0]["text"], "#slow first");
    assert_eq!(items["data"][4]["content"][0]["text"], "#echo second");
    // With `continue`, a client that goes away mid-turn does not cancel it: the reply is
    // stored.
    let resp = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .header("x-eventchat-on-disconnect", "continue")
        .json(&req::add_user_message(&thread_id, "#slow gone"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("x-eventchat-turn").is_some());
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("data: "));
    drop(body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, items) = app
            .chatkit(&token, req::list_items(&thread_id, json!({"limit":1})))
            .await;
        if items["data"][0]["content"][0]["text"] == "user:#slow gone" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the turn finished after the disconnect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // By default (`cancel`) the turn stops: no answer, the hidden note, and the thread takes
    // the next message.
    let resp = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&req::add_user_message(&thread_id, "#slow stopped"))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("data: "));
    drop(body);
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = app
            .state
            .stores
            .items
            .load_items(&thread, None, 100, Order::Desc, Visibility::All)
            .await
            .unwrap();
        if all.data.first().is_some_and(|i| {
            i.item_type == ItemType::SdkHiddenContext && i.content.to_string().contains("cancelled")
        }) {
            assert_eq!(all.data[1].content["content"][0]["text"], "#slow stopped");
            break;
        }
        assert!(Instant::now() < deadline, "the turn was not cancelled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, ev) = app.add_user_message(&token, &thread_id, "#echo next").await;
    assert_eq!(status, 200);
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "user:#echo next"
    );
    app.finish().await;
}
both_backends!(queued_inputs_and_disconnects, queue_and_disconnect);

async fn failures_stay_local(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (token, a, _) = app.client_thread("a").await;
    let (_, b, _) = app.client_thread("b").await;
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    // A failing turn in A while B runs a turn.
    let (ra, rb) = futures::join!(
        app.add_user_message(&token, &a, "#fail"),
        app.add_user_message(&token, &b, "#slow b2")
    );
    assert_eq!(
        ra.1.last().unwrap(),
        &json!({"type":"error","code":"custom","message":"injected failure","allow_retry":false})
    );
    assert_eq!(
        rb.1.last().unwrap()["item"]["content"][0]["text"],
        "user:#slow b2"
    );
    // A is usable afterwards, and kept the partial text streamed before the failure.
    let (_, ev) = app.add_user_message(&token, &a, "#echo after").await;
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "user:#echo after"
    );
    // A panic inside A's turn: A's stream ends with an error event, B is untouched, and A is
    // restarted from the store on its next request.
    let (ra, rb) = futures::join!(
        app.add_user_message(&token, &a, "#panic"),
        app.add_user_message(&token, &b, "#slow b3")
    );
    assert!(!ra.1.is_empty(), "panic stream: {ra:?}");
    assert_eq!(
        ra.1.last().unwrap(),
        &json!({"type":"error","code":"stream.error","allow_retry":true})
    );
    assert_eq!(
        rb.1.last().unwrap()["item"]["content"][0]["text"],
        "user:#slow b3"
    );
    let (status, ev) = app.add_user_message(&token, &a, "#echo revived").await;
    assert_eq!(status, 200);
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "user:#echo revived"
    );
    let r = app
        .request_as(reqwest::Method::GET, &admin, &format!("/admin/actors/{a}"))
        .await;
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["restarts"], 1, "{info}");
    // The admin fault hook: the actor dies, the next request restarts it.
    let r = app
        .request_as(
            reqwest::Method::POST,
            &admin,
            &format!("/admin/actors/{b}/panic"),
        )
        .await;
    assert_eq!(r.status(), 202);
    // The panic is delivered asynchronously: wait (bounded) until the actor is gone, so the
    // next message finds a dead actor and the supervisor restarts it.
    let owner = app.user(DEMO_CLIENT_EMAIL).await.id;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.registry.live_record(&b, &owner).is_some() {
        assert!(Instant::now() < deadline, "the actor did not die");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, ev) = app.add_user_message(&token, &b, "#echo b4").await;
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "user:#echo b4"
    );
    let r = app
        .request_as(reqwest::Method::GET, &admin, &format!("/admin/actors/{b}"))
        .await;
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["restarts"], 1, "{info}");
    // Nothing acknowledged was lost: B has all its turns.
    let (_, items) = app
        .chatkit(&token, req::list_items(&b, json!({"limit":100})))
        .await;
    assert_eq!(items["data"].as_array().unwrap().len(), 8);
    app.finish().await;
}
both_backends!(
    failures_and_panics_stay_in_their_thread,
    failures_stay_local
);

async fn eviction_admin_and_fanout(backend: Backend) {
    let (app, script) = TestApp::scripted(backend).await;
    let (token, thread_id, _) = app.client_thread("hello").await;
    let (event_id, venue_id) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    // Non-admins are refused everywhere on the admin API.
    for (method, path) in [
        ("GET", "/admin/actors".to_owned()),
        ("GET", format!("/admin/actors/{thread_id}")),
        ("POST", format!("/admin/actors/{thread_id}/stop")),
        ("POST", format!("/admin/actors/{thread_id}/panic")),
        ("POST", format!("/admin/venues/{venue_id}/evict")),
    ] {
        for who in [&token, &app.token_for(DEMO_STAFF_EMAIL).await] {
            let req = if method == "GET" {
                app.http.get(app.url(&path))
            } else {
                app.http.post(app.url(&path))
            };
            let r = req.bearer_auth(who).send().await.unwrap();
            assert_eq!(r.status(), 403, "{method} {path}");
        }
    }
    // State while a turn runs, then idle.
    let running = app.add_user_message(&token, &thread_id, "#slow s");
    let probe = async {
        script.until_seen("user:#slow s").await;
        let r = app
            .request_as(
                reqwest::Method::GET,
                &admin,
                &format!("/admin/actors/{thread_id}"),
            )
            .await;
        r.json::<Value>().await.unwrap()
    };
    let (_, during) = futures::join!(running, probe);
    assert_eq!(during["state"], "running", "{during}");
    assert_eq!(during["subscribers"], 1);
    let r = app
        .request_as(
            reqwest::Method::GET,
            &admin,
            &format!("/admin/actors/{thread_id}"),
        )
        .await;
    let idle: Value = r.json().await.unwrap();
    assert_eq!(idle["state"], "idle");
    assert_eq!(idle["turns"], 2);
    // A domain change for the event reaches the live client thread as hidden context.
    app.state
        .registry
        .bus()
        .publish(&venue_id, &event_id, "Florist confirmed by the venue", None);
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = app
            .state
            .stores
            .items
            .load_items(&thread, None, 100, Order::Asc, Visibility::All)
            .await
            .unwrap();
        if all.data.iter().any(|i| {
            i.item_type == ItemType::HiddenContextItem
                && i.content.to_string().contains("Florist confirmed")
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change reached the live thread"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Idle eviction, driven with an explicit clock: nothing before the ttl, the thread after.
    let sup = app.state.registry.venue(&venue_id).unwrap();
    assert_eq!(
        sup.send(EvictIdle {
            now: Instant::now()
        })
        .await
        .unwrap(),
        0
    );
    let ttl = Duration::from_secs(app.state.settings.actors.idle_ttl_secs);
    assert_eq!(
        sup.send(EvictIdle {
            now: Instant::now() + ttl + Duration::from_secs(1)
        })
        .await
        .unwrap(),
        1
    );
    let r = app
        .request_as(
            reqwest::Method::GET,
            &admin,
            &format!("/admin/actors/{thread_id}"),
        )
        .await;
    assert_eq!(r.status(), 404);
    // The next request rehydrates it with its whole history.
    let (_, ev) = app.add_user_message(&token, &thread_id, "#echo back").await;
    assert_eq!(types(&ev)[0], "thread.item.done");
    let (_, t) = app.chatkit(&token, req::get_thread(&thread_id)).await;
    assert_eq!(t["items"]["data"].as_array().unwrap().len(), 6);
    let r = app
        .request_as(
            reqwest::Method::GET,
            &admin,
            &format!("/admin/actors/{thread_id}"),
        )
        .await;
    let back: Value = r.json().await.unwrap();
    assert_eq!(back["restarts"], 0, "an eviction is not a crash");
    // Admin stop, and the admin venue eviction.
    let r = app
        .request_as(
            reqwest::Method::POST,
            &admin,
            &format!("/admin/actors/{thread_id}/stop"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .request_as(
            reqwest::Method::GET,
            &admin,
            &format!("/admin/actors/{thread_id}"),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .request_as(
            reqwest::Method::POST,
            &admin,
            &format!("/admin/venues/{venue_id}/evict"),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Metrics are exposed.
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("eventchat_turns_total"));
    assert!(
        text.contains("eventchat_requests_total{type=\"threads.add_user_message\",status=\"200\"}")
    );
    app.finish().await;
}
both_backends!(
    eviction_admin_api_and_domain_fanout,
    eviction_admin_and_fanout
);

async fn stop_keeps_partial_text(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let (token, thread_id, _) = app.client_thread("hello").await;
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    let resp = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&req::add_user_message(&thread_id, "#trickle"))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("partial answer") {
        seen.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    let r = app
        .request_as(
            reqwest::Method::POST,
            &admin,
            &format!("/admin/actors/{thread_id}/stop"),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The stream closes cleanly after the stop.
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(!seen.contains("late"));
    // As the reference does on a stop: the partial assistant text is kept, plus a hidden
    // note for the model; clients see the text but not the note.
    let thread = app.thread_record(DEMO_CLIENT_EMAIL, &thread_id).await;
    let all = app.state.stores.items.all_items(&thread).await.unwrap();
    assert!(all.iter().any(|i| i.item_type == ItemType::AssistantMessage
        && i.content.to_string().contains("partial answer")));
    assert!(all.iter().any(|i| i.item_type == ItemType::SdkHiddenContext
        && i.content.to_string().contains("cancelled")));
    let (_, items) = app
        .chatkit(&token, req::list_items(&thread_id, json!({})))
        .await;
    assert!(
        items["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] != "sdk_hidden_context")
    );
    assert_eq!(items["data"][0]["content"][0]["text"], "partial answer");
    // The thread goes on.
    let (_, ev) = app.add_user_message(&token, &thread_id, "#echo next").await;
    assert_eq!(
        ev.last().unwrap()["item"]["content"][0]["text"],
        "user:#echo next"
    );
    app.finish().await;
}
both_backends!(
    stop_cancels_the_turn_and_keeps_partial_text,
    stop_keeps_partial_text
);
