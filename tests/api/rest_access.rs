//! The REST API's access matrix: on every route, the event's client, staff of the venue,
//! staff of another venue, a vendor, an admin and no token get 200/403/404/401 as the rules
//! say; unknown ids are 404 and a request id under the wrong venue is 404. Also the
//! contents the rules imply (a client's messages are only theirs).

use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::rest_support::*;

/// Who asks, in the matrix's column order.
const WHO: [&str; 5] = [EMILY, MAYA, OLIVIA, ROSA, ADMIN];

async fn matrix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let mut tokens = Vec::new();
    for email in WHO {
        tokens.push(app.token_for(email).await);
    }
    let (v1, e1, cr1) = (venue(1), event(1), change_request(1));
    // (method, path, expected for Emily, Maya, Olivia, Rosa, admin); no token is always 401.
    let cases: Vec<(&str, String, [u16; 5])> = vec![
        ("GET", "/api/v1/me".into(), [200, 200, 200, 200, 200]),
        (
            "GET",
            format!("/api/v1/venues/{v1}"),
            [403, 200, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/venues/{v1}/events"),
            [403, 200, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/events/{e1}"),
            [200, 200, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/venues/{v1}/tasks"),
            [403, 200, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/events/{e1}/messages"),
            [200, 200, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/venues/{v1}/messages"),
            [403, 200, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/venues/{v1}/change-requests"),
            [403, 200, 403, 403, 403],
        ),
        (
            "SSE",
            format!("/api/v1/venues/{v1}/changes"),
            [403, 200, 403, 403, 403],
        ),
        (
            "SSE",
            format!("/api/v1/events/{e1}/changes"),
            [200, 200, 403, 403, 403],
        ),
        // Maya's approval is the subject of rest_review; here only the refusals.
        (
            "POST",
            format!("/api/v1/venues/{v1}/change-requests/{cr1}/approve"),
            [403, 0, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/venues/{v1}/change-requests/{cr1}/decline"),
            [403, 0, 403, 403, 403],
        ),
    ];
    for (method, path, expected) in &cases {
        for (i, token) in tokens.iter().enumerate() {
            if expected[i] == 0 {
                continue;
            }
            let (status, body) = call(&app, method, Some(token), path).await;
            assert_eq!(status, expected[i], "{method} {path} as {}: {body}", WHO[i]);
            if status == 403 {
                assert_eq!(error_code(&body).0, "forbidden", "{body}");
            } else if *method != "SSE" {
                assert_no_nulls(&body, path);
            }
        }
        let (status, body) = call(&app, method, None, path).await;
        assert_eq!(status, 401, "{method} {path} without a token: {body}");
        assert_eq!(error_code(&body).0, "unauthorized");
    }
    // Nothing a refusal touched changed.
    let maya = &tokens[1];
    let (_, crs) = get(
        &app,
        Some(maya),
        &format!("/api/v1/venues/{v1}/change-requests?status=open"),
    )
    .await;
    assert!(ids(crs["data"].as_array().unwrap()).contains(&cr1), "{crs}");

    // Unknown ids are 404 for everyone; a known request under the wrong venue is 404.
    let olivia = &tokens[2];
    let v2 = venue(2);
    let missing = [
        (maya, "GET", "/api/v1/venues/nope".to_owned()),
        (&tokens[0], "GET", "/api/v1/venues/nope/events".to_owned()),
        (maya, "GET", "/api/v1/venues/nope/tasks".to_owned()),
        (maya, "GET", "/api/v1/events/nope".to_owned()),
        (&tokens[0], "GET", "/api/v1/events/nope/messages".to_owned()),
        (
            maya,
            "POST",
            format!("/api/v1/venues/{v1}/change-requests/nope/approve"),
        ),
        (
            olivia,
            "POST",
            format!("/api/v1/venues/{v2}/change-requests/{cr1}/approve"),
        ),
        (
            olivia,
            "POST",
            format!("/api/v1/venues/{v2}/change-requests/{cr1}/decline"),
        ),
    ];
    for (token, method, path) in &missing {
        let (status, body) = call(&app, method, Some(token), path).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert_eq!(error_code(&body).0, "not_found", "{body}");
    }
    // A task filter naming another venue's event is refused like the event itself.
    let (status, _) = get(
        &app,
        Some(maya),
        &format!("/api/v1/venues/{v1}/tasks?event_id={}", event(7)),
    )
    .await;
    assert_eq!(status, 403);
    app.finish().await;
}
both_backends!(rest_access_matrix, matrix);

async fn call(app: &TestApp, method: &str, token: Option<&str>, path: &str) -> (u16, Value) {
    match (method, token) {
        // A live feed: only its status (a 200 body never ends).
        ("SSE", Some(t)) => probe(app, "get", t, path).await,
        ("SSE", None) => get(app, None, path).await,
        ("GET", _) => get(app, token, path).await,
        _ => post(app, token, path, "").await,
    }
}

async fn contents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let emily = app.token_for(EMILY).await;
    let maya = app.token_for(MAYA).await;
    let (v1, e1) = (venue(1), event(1));

    // me: a client's own events, soonest first; staff have none but a venue.
    let (_, me) = get(&app, Some(&emily), "/api/v1/me").await;
    assert_eq!(me["user_type"], "client");
    assert!(me.get("venue_id").is_none(), "{me}");
    let names: Vec<&str> = me["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Parker Rehearsal Dinner", "Emily & James Wedding"]);
    let (_, me) = get(&app, Some(&maya), "/api/v1/me").await;
    assert_eq!(
        (me["user_type"].as_str(), me["venue_id"].as_str()),
        (Some("venue"), Some(v1.as_str()))
    );
    assert_eq!(me["events"], serde_json::json!([]));

    let (_, v) = get(&app, Some(&maya), &format!("/api/v1/venues/{v1}")).await;
    assert_eq!(v["name"], "Harborview Loft");
    assert!(v["capacity"].as_i64().unwrap() > 0);

    // The event page: the same facts as the domain shows, money as cents and text.
    let (status, page) = get(&app, Some(&emily), &format!("/api/v1/events/{e1}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["event"]["client_name"], "Emily Parker");
    assert_eq!(page["event"]["venue_name"], "Harborview Loft");
    assert_eq!(page["event"]["budget_cents"], 3_000_000);
    assert_eq!(page["event"]["budget"], "$30,000.00");
    assert_eq!(page["elements"].as_array().unwrap().len(), 9);
    // The total counts each active element's price once (the price is the line's price).
    let active: i64 = page["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !["declined", "cancelled"].contains(&e["status"].as_str().unwrap()))
        .map(|e| e["price_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(page["active_total_cents"], active);
    assert!(page["active_total"].as_str().unwrap().starts_with('$'));
    assert_eq!(page["guests"].as_array().unwrap().len(), 12);
    assert_eq!(page["guest_counts"]["total"], 12);
    assert!(
        page["contract"]["total"].as_str().unwrap().starts_with('$'),
        "{page}"
    );
    let crs = page["change_requests"].as_array().unwrap();
    assert_eq!(crs.len(), 1);
    assert_eq!(crs[0]["event_name"], "Emily & James Wedding");
    assert_eq!(crs[0]["requested_by_name"], "Emily Parker");
    assert!(crs[0]["element_name"].is_string(), "{crs:?}");
    assert!(
        page["elements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["vendor_name"].is_string())
    );

    // The venue list's counts agree with the event page's.
    let (_, list) = get(&app, Some(&maya), &format!("/api/v1/venues/{v1}/events")).await;
    let row = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == e1.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        row["confirmed_guests"], page["guest_counts"]["attending"],
        "{row}"
    );
    assert_eq!(
        row["pending_elements"], 9,
        "no element of the wedding is final"
    );
    assert_eq!(row["client_name"], "Emily Parker");
    let launch = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == event(3).as_str())
        .unwrap()
        .clone();
    assert_eq!(
        launch["pending_elements"], 5,
        "one of six is declined: {launch}"
    );

    // The event's messages: staff see all three, the client the two that are theirs.
    let (_, all) = get(&app, Some(&maya), &format!("/api/v1/events/{e1}/messages")).await;
    let (_, own) = get(&app, Some(&emily), &format!("/api/v1/events/{e1}/messages")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3, "{all}");
    let own = own["data"].as_array().unwrap();
    assert_eq!(own.len(), 2, "{own:?}");
    let emily_id = app.user(EMILY).await.id;
    for m in own {
        assert!(
            m["sender_id"] == emily_id.as_str() || m["recipient_id"] == emily_id.as_str(),
            "{m}"
        );
    }
    // Newest first.
    assert!(
        ts(&own[0]["created_at"]) > ts(&own[1]["created_at"]),
        "{own:?}"
    );

    // Tasks: the open ones by default, soonest due first.
    let (_, tasks) = get(&app, Some(&maya), &format!("/api/v1/venues/{v1}/tasks")).await;
    let tasks = tasks["data"].as_array().unwrap();
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    assert!(
        tasks
            .iter()
            .all(|t| t["status"] == "pending" || t["status"] == "in_progress")
    );
    let due: Vec<_> = tasks.iter().map(|t| ts(&t["due_at"])).collect();
    let mut sorted = due.clone();
    sorted.sort();
    assert_eq!(due, sorted);
    assert!(
        tasks
            .iter()
            .any(|t| t["event_name"] == "Emily & James Wedding")
    );
    app.finish().await;
}
both_backends!(rest_contents, contents);
