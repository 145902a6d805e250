//! Keyset paging of the REST lists: walking a list a row or two at a time gives exactly
//! the rows of one big page, in order, with no repeats or skips, also across rows that tie
//! on the sort key; `after` is omitted on the last page; bad limits, cursors, dates and
//! statuses are 400 with a message that names the field.

use chrono::{Duration, TimeZone, Utc};
use eventchat::auth::principal::authenticate;
use eventchat::domain::tasks::{NewTask, create_task};
use eventchat::store::domain::MessageRecord;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::rest_support::*;

/// Walks `path` with each limit and checks every walk equals the one-page list.
async fn same_rows(app: &TestApp, token: &str, path: &str, limits: &[u32]) -> Vec<Value> {
    let (all, pages) = walk(app, token, path, 100).await;
    assert_eq!(pages, 1);
    let mut unique = ids(&all);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "ids are unique: {path}");
    for &limit in limits {
        let (rows, pages) = walk(app, token, path, limit).await;
        assert_eq!(ids(&rows), ids(&all), "{path} by {limit}");
        let expected_pages = all.len().div_ceil(limit as usize).max(1);
        assert_eq!(pages, expected_pages, "{path} by {limit}");
    }
    all
}

async fn walks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let maya = app.token_for(MAYA).await;
    let emily = app.token_for(EMILY).await;
    let (v1, v2) = (venue(1), venue(2));
    let store = &app.state.stores.domain;

    // Ties on the sort keys: three tasks due at the same moment, two undated ones.
    let staff = authenticate(&app.state, &maya).await.unwrap();
    for (title, due) in [
        ("t-a", Some("2031-01-01")),
        ("t-b", Some("2031-01-01")),
        ("t-c", Some("2031-01-01")),
        ("t-d", None),
        ("t-e", None),
    ] {
        let t = NewTask {
            venue_id: v1.clone(),
            title: title.into(),
            due_at: due.map(Into::into),
            ..NewTask::default()
        };
        create_task(store, &staff, t).await.unwrap();
    }
    // And three messages sent at the same instant.
    let at = Utc.with_ymd_and_hms(2030, 5, 5, 12, 0, 0).unwrap();
    for n in 0..3 {
        store
            .insert_message(&MessageRecord {
                id: format!("msg-tie-{n}"),
                venue_id: v1.clone(),
                event_id: None,
                sender_id: staff.user_id.clone(),
                sender_name: staff.name.clone(),
                recipient_type: "venue".into(),
                recipient_id: staff.user_id.clone(),
                subject: None,
                body: format!("tie {n}"),
                created_at: at,
                read_at: None,
            })
            .await
            .unwrap();
    }

    // Events: soonest first, then id.
    let events = same_rows(
        &app,
        &maya,
        &format!("/api/v1/venues/{v1}/events"),
        &[1, 2, 4],
    )
    .await;
    assert_eq!(events.len(), 7);
    let keys: Vec<_> = events
        .iter()
        .map(|e| (ts(&e["event_date"]), e["id"].as_str().unwrap().to_owned()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let confirmed = same_rows(
        &app,
        &maya,
        &format!("/api/v1/venues/{v1}/events?status=confirmed"),
        &[1],
    )
    .await;
    assert!(confirmed.len() == 2 && confirmed.iter().all(|e| e["status"] == "confirmed"));
    // `from` and `to` are whole days, both included.
    let today = Utc::now().date_naive();
    let (from, to) = (today + Duration::days(12), today + Duration::days(20));
    let (_, window) = get(
        &app,
        Some(&maya),
        &format!("/api/v1/venues/{v1}/events?from={from}&to={to}"),
    )
    .await;
    let names: Vec<&str> = window["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Grace's 30th Birthday", "BrightLabs Product Launch"],
        "{window}"
    );

    // Tasks: due soonest first, undated last, ties by id.
    let path = format!("/api/v1/venues/{v1}/tasks?status=pending,in_progress,done,cancelled");
    let tasks = same_rows(&app, &maya, &path, &[1, 2, 5]).await;
    assert_eq!(tasks.len(), 12);
    let key = |t: &Value| {
        (
            t.get("due_at").is_none(),
            t.get("due_at").map(ts),
            t["id"].as_str().unwrap().to_owned(),
        )
    };
    let keys: Vec<_> = tasks.iter().map(key).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert_eq!(
        tasks.iter().filter(|t| t.get("due_at").is_none()).count(),
        2
    );
    let undated = same_rows(
        &app,
        &app.token_for(OLIVIA).await,
        &format!("/api/v1/venues/{v2}/tasks?status=cancelled,done"),
        &[1],
    )
    .await;
    assert_eq!(
        undated.last().unwrap()["title"],
        "Restock garden chairs",
        "undated last"
    );

    // Messages: newest first, ties by id (descending).
    let msgs = same_rows(
        &app,
        &maya,
        &format!("/api/v1/venues/{v1}/messages"),
        &[1, 2, 3],
    )
    .await;
    assert_eq!(msgs.len(), 7 + 3);
    let keys: Vec<_> = msgs
        .iter()
        .map(|m| (ts(&m["created_at"]), m["id"].as_str().unwrap().to_owned()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] > w[1]), "{keys:?}");
    let own = same_rows(
        &app,
        &emily,
        &format!("/api/v1/events/{}/messages", event(1)),
        &[1],
    )
    .await;
    assert_eq!(own.len(), 2);

    // Change requests: newest first, with a status filter.
    let olivia = app.token_for(OLIVIA).await;
    let crs = same_rows(
        &app,
        &olivia,
        &format!("/api/v1/venues/{v2}/change-requests"),
        &[1],
    )
    .await;
    assert_eq!(crs.len(), 2);
    let v1_crs = same_rows(
        &app,
        &maya,
        &format!("/api/v1/venues/{v1}/change-requests"),
        &[1],
    )
    .await;
    assert_eq!(v1_crs.len(), 2);
    let open = same_rows(
        &app,
        &maya,
        &format!("/api/v1/venues/{v1}/change-requests?status=open"),
        &[1],
    )
    .await;
    assert_eq!(ids(&open), [change_request(1)]);
    app.finish().await;
}
both_backends!(rest_paging_walks, walks);

async fn bad_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let maya = app.token_for(MAYA).await;
    let emily = app.token_for(EMILY).await;
    let v1 = venue(1);
    let e1 = event(1);
    let task_of_v2 = eventchat::store::seed::demo_id(eventchat::store::seed::table::TASK, 8);
    let vendor_message = eventchat::store::seed::demo_id(eventchat::store::seed::table::MESSAGE, 3);
    // (token, path, a word the message must contain)
    let cases = [
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?limit=0"),
            "limit",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?limit=101"),
            "limit",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/tasks?limit=ten"),
            "limit",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/messages?limit=-3"),
            "limit",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/change-requests?limit=1000"),
            "limit",
        ),
        (
            &emily,
            format!("/api/v1/events/{e1}/messages?limit=0"),
            "limit",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?after=nope"),
            "after",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?after={}", event(7)),
            "after",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/tasks?after={task_of_v2}"),
            "after",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/messages?after=nope"),
            "after",
        ),
        (
            &maya,
            format!(
                "/api/v1/venues/{v1}/change-requests?after={}",
                change_request(2)
            ),
            "after",
        ),
        // A message of the event the client may not see is no cursor for them.
        (
            &emily,
            format!("/api/v1/events/{e1}/messages?after={vendor_message}"),
            "after",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?from=2030-02-30"),
            "from",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?to=tomorrow"),
            "to",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?from=2030-02-02&to=2030-02-01"),
            "to",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/events?status=booked"),
            "status",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/tasks?status=open"),
            "status",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/tasks?status=pending,finished"),
            "status",
        ),
        (
            &maya,
            format!("/api/v1/venues/{v1}/change-requests?status=closed"),
            "status",
        ),
    ];
    for (token, path, word) in &cases {
        let (status, body) = get(&app, Some(token), path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let (code, message) = error_code(&body);
        assert_eq!(code, "invalid_request", "{body}");
        assert!(message.contains(word), "{path}: {message}");
    }
    // The vocabulary is in the message, so a caller can fix the request.
    let (_, body) = get(
        &app,
        Some(&maya),
        &format!("/api/v1/venues/{v1}/tasks?status=open"),
    )
    .await;
    assert!(error_code(&body).1.contains("in_progress"), "{body}");
    // The bounds themselves are fine.
    for limit in [1, 100] {
        let (status, _) = get(
            &app,
            Some(&maya),
            &format!("/api/v1/venues/{v1}/events?limit={limit}"),
        )
        .await;
        assert_eq!(status, 200);
    }
    app.finish().await;
}
both_backends!(rest_paging_bad_input, bad_input);
