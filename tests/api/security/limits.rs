//! The per-user rate limit and the concurrent stream cap: hit, then recovered.

use std::sync::Arc;
use std::time::Duration;

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use serde_json::json;

use super::{post_with, user_id};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests as req;
use crate::scripted::ScriptedResponder;

async fn rate_limit(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("EVENTCHAT_LIMITS__RATE_LIMIT_PER_MINUTE", "60"),
            ("EVENTCHAT_LIMITS__RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    app.seed().await;
    let token = format!("Bearer {}", app.token_for(DEMO_CLIENT_EMAIL).await);
    for i in 0..3 {
        let (status, _, _, body) =
            post_with(&app, Some(&token), &req::list_threads(json!({}))).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, _, retry, body) =
        post_with(&app, Some(&token), &req::list_threads(json!({}))).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(retry.as_deref(), Some("1"), "one token per second");
    // Refused before the body is even read: a malformed body gets 429, not 400.
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .header("authorization", &token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // Per user: someone else is not affected.
    let other = format!("Bearer {}", app.token_for(DEMO_STAFF_EMAIL).await);
    let (status, ..) = post_with(&app, Some(&other), &req::list_threads(json!({}))).await;
    assert_eq!(status, 200);
    // Recovered after the advertised wait. (That exactly one token comes back, not the
    // whole burst, is a unit test with a given clock: timing it here would be flaky.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, _, body) = post_with(&app, Some(&token), &req::list_threads(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    app.finish().await;
}
both_backends!(rate_limit_is_hit_and_recovers, rate_limit);

async fn stream_cap(backend: Backend) {
    let responder = ScriptedResponder::default();
    let app = TestApp::spawn_full(
        backend,
        &[("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", "1")],
        Some(Arc::new(responder)),
    )
    .await;
    app.seed().await;
    let (token, thread_id, _) = app.client_thread("#echo first").await;
    let uid = user_id(&app, DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let slow = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&req::add_user_message(&thread_id, "#slow one"))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(app.state.limits.streams.open_for(&uid), 1);
    // A second stream of the same user is refused before it reaches the actor.
    let threads_before = app.chatkit_counts().await.0;
    let create = req::create_thread(
        "#echo second",
        json!({"agentType":"client","eventId":event_id}),
    );
    let bearer = format!("Bearer {token}");
    let (status, _, retry, body) = post_with(&app, Some(&bearer), &create).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("open streams"),
        "{body}"
    );
    assert_eq!(
        app.chatkit_counts().await.0,
        threads_before,
        "no thread made"
    );
    // Non-streaming requests still work, and other users still stream.
    let (status, _) = app.chatkit(&token, req::list_threads(json!({}))).await;
    assert_eq!(status, 200);
    let (staff_status, _) = app
        .stream(
            &app.token_for(DEMO_STAFF_EMAIL).await,
            req::create_thread(
                "#echo staff",
                json!({"agentType":"venue_general","venueId":app.event_of(DEMO_CLIENT_EMAIL).await.1}),
            ),
        )
        .await;
    assert_eq!(staff_status, 200);
    // The slow stream finishes normally, which frees the slot.
    let text = slow.text().await.unwrap();
    assert!(text.contains("user:#slow one"), "{text}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while app.state.limits.streams.open_for(&uid) > 0 {
        assert!(std::time::Instant::now() < deadline, "slot never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, ev) = app.stream(&token, create).await;
    assert_eq!(status, 200, "{ev:?}");
    // A client that goes away mid-stream releases its slot too.
    let abandoned = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&req::add_user_message(&thread_id, "#slow two"))
        .send()
        .await
        .unwrap();
    assert_eq!(abandoned.status(), 200);
    drop(abandoned);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while app.state.limits.streams.open_for(&uid) > 0 {
        assert!(std::time::Instant::now() < deadline, "slot never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.finish().await;
}
both_backends!(stream_cap_is_hit_and_recovers, stream_cap);

/// The shipped limits fit the venue dashboard: one staff user streams in 8 event panels at
/// once while the page loads every panel's history (about 3 requests each for 12 panels),
/// and nothing is refused. The limits are the compiled-in defaults, not the test config's,
/// the per-address one included.
#[actix_web::test]
async fn a_dashboard_load_fits_the_default_limits() {
    use std::collections::HashMap;

    use mock_llm::{MockLlm, Reply};

    let shipped = eventchat::config::Settings::load_from(
        std::path::Path::new("/nonexistent"),
        "local",
        &HashMap::new(),
    )
    .unwrap()
    .limits;
    assert!(shipped.max_concurrent_streams >= 8, "{shipped:?}");
    let (per_minute, burst, streams) = (
        shipped.rate_limit_per_minute.to_string(),
        shipped.rate_limit_burst.to_string(),
        shipped.max_concurrent_streams.to_string(),
    );
    // The whole load comes from one address (127.0.0.1): the per-address limit fits it too.
    let (address_per_minute, address_burst) = (
        shipped.address_rate_limit_per_minute.to_string(),
        shipped.address_rate_limit_burst.to_string(),
    );
    let mock = MockLlm::start();
    // Slow enough that all eight streams are open at the same time.
    mock.set_fallback(
        Reply::text(["One ", "moment ", "please."]).token_delay(Duration::from_millis(150)),
    );
    let app = TestApp::with_mock(
        Backend::Sqlite,
        &mock,
        &[
            (
                "EVENTCHAT_LIMITS__RATE_LIMIT_PER_MINUTE",
                per_minute.as_str(),
            ),
            ("EVENTCHAT_LIMITS__RATE_LIMIT_BURST", burst.as_str()),
            ("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", streams.as_str()),
            (
                "EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_PER_MINUTE",
                address_per_minute.as_str(),
            ),
            (
                "EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_BURST",
                address_burst.as_str(),
            ),
        ],
    )
    .await;
    let token = app.token_for(DEMO_STAFF_EMAIL).await;
    let venue_id = app.venue_of(DEMO_STAFF_EMAIL).await;
    let uid = user_id(&app, DEMO_STAFF_EMAIL).await;
    let events: Vec<String> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::events::Entity::find()
            .filter(entity::events::Column::VenueId.eq(venue_id.as_str()))
            .all(&app.state.stores.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    let panel = |i: usize| json!({"agentType": "venue_event", "venueId": venue_id, "eventId": events[i % events.len()]});
    let streams = (0..8).map(|i| {
        let body = req::create_thread(&format!("panel {i}"), panel(i));
        let r = app
            .http
            .post(app.url("/api/chatkit"))
            .bearer_auth(&token)
            .json(&body)
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    });
    let loads = (0..36).map(|i| {
        let body = if i % 2 == 0 {
            req::list_threads(json!({"limit": 20}))
        } else {
            json!({"type": "threads.list", "params": {"limit": 20}, "metadata": panel(i)})
        };
        let r = app.chatkit(&token, body);
        async move { r.await.0 }
    });
    let watch = async {
        // While the streams run, all eight hold a slot at once.
        let mut most = 0;
        for _ in 0..100 {
            most = most.max(app.state.limits.streams.open_for(&uid));
            if most == 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        most
    };
    let (streamed, loaded, most) = tokio::join!(
        futures::future::join_all(streams),
        futures::future::join_all(loads),
        watch
    );
    for (status, body) in &streamed {
        assert_eq!(*status, 200, "{body}");
        assert!(body.contains("\"type\":\"thread.item.done\""), "{body}");
    }
    assert!(loaded.iter().all(|s| *s == 200), "{loaded:?}");
    assert_eq!(most, 8, "the eight panels streamed at the same time");
    app.finish().await;
}
