//! Approving and declining change requests over the REST API: the element changes (or
//! not), a second review is 409, other venues' staff are refused, and the change reaches
//! the client's live thread through the domain bus.

use std::time::{Duration, Instant};

use eventchat::auth::principal::authenticate;
use eventchat::domain::change_requests::{NewChangeRequest, request_change};
use eventchat::store::{Order, Visibility};
use eventchat::vocab::ItemType;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::rest_support::*;

fn review_path(venue: &str, request: &str, verb: &str) -> String {
    format!("/api/v1/venues/{venue}/change-requests/{request}/{verb}")
}

/// The element with this id on the event page, as Maya sees it.
async fn element(app: &TestApp, token: &str, event: &str, id: &str) -> Value {
    let (_, page) = get(app, Some(token), &format!("/api/v1/events/{event}")).await;
    page["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("element {id} on {page}"))
        .clone()
}

async fn approve_and_decline(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    let maya = app.token_for(MAYA).await;
    let olivia = app.token_for(OLIVIA).await;
    let (v1, v2, e1, cr1) = (venue(1), venue(2), event(1), change_request(1));
    // Emily has a live thread about her wedding.
    let (emily, thread_id, _) = app.client_thread("hello").await;

    // Other venues' staff: 403 under our venue, 404 under theirs.
    let (status, _) = post(&app, Some(&olivia), &review_path(&v1, &cr1, "approve"), "").await;
    assert_eq!(status, 403);
    let (status, _) = post(&app, Some(&olivia), &review_path(&v2, &cr1, "approve"), "").await;
    assert_eq!(status, 404);
    // A body that is not JSON is refused before anything happens.
    let (status, body) = post(
        &app,
        Some(&maya),
        &review_path(&v1, &cr1, "approve"),
        "{nope",
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Approve: "Increase vegetarian meals from 20 to 28" sets the element's quantity.
    let (_, crs) = get(
        &app,
        Some(&maya),
        &format!("/api/v1/venues/{v1}/change-requests?status=open"),
    )
    .await;
    let element_id = crs["data"][0]["element_id"].as_str().unwrap().to_owned();
    assert_eq!(element(&app, &maya, &e1, &element_id).await["quantity"], 20);
    let (status, out) = post(
        &app,
        Some(&maya),
        &review_path(&v1, &cr1, "approve"),
        r#"{"note":"Chef is fine with it"}"#,
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_no_nulls(&out, "review");
    assert_eq!(out["request"]["status"], "approved");
    assert_eq!(out["request"]["resolution_note"], "Chef is fine with it");
    assert_eq!(
        out["request"]["resolved_by"],
        app.user(MAYA).await.id.as_str()
    );
    assert!(out["request"]["resolved_at"].is_string());
    assert_eq!(out["request"]["event_name"], "Emily & James Wedding");
    assert_eq!(out["element"]["id"], element_id.as_str());
    assert_eq!(out["element"]["quantity"], 28);
    assert_eq!(element(&app, &maya, &e1, &element_id).await["quantity"], 28);
    // The client's page shows it resolved.
    let (_, page) = get(&app, Some(&emily), &format!("/api/v1/events/{e1}")).await;
    let cr = page["change_requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == cr1.as_str())
        .unwrap()
        .clone();
    assert_eq!(cr["status"], "approved");

    // Resolved is resolved: 409 for approve and decline alike.
    for verb in ["approve", "decline"] {
        let (status, body) = post(&app, Some(&maya), &review_path(&v1, &cr1, verb), "").await;
        assert_eq!(status, 409, "{verb}: {body}");
        assert_eq!(error_code(&body).0, "conflict");
    }

    // The live client thread learned it (a hidden context note from the domain bus).
    let thread = app.thread_record(EMILY, &thread_id).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let items = app
            .state
            .stores
            .items
            .load_items(&thread, None, 100, Order::Asc, Visibility::All)
            .await
            .unwrap();
        if items.data.iter().any(|i| {
            i.item_type == ItemType::HiddenContextItem
                && i.content
                    .to_string()
                    .contains("Approved the modify request")
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approval reached the client's thread"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Decline a new request (made through the domain, as the client tool would), empty body.
    let client = authenticate(&app.state, &emily).await.unwrap();
    let proposed = {
        let (_, page) = get(&app, Some(&maya), &format!("/api/v1/events/{e1}")).await;
        page["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["status"] == "proposed")
            .unwrap()
            .clone()
    };
    let request = request_change(
        &app.state.stores.domain,
        &client,
        NewChangeRequest {
            event_id: e1.clone(),
            request_type: "remove".into(),
            element_id: Some(proposed["id"].as_str().unwrap().to_owned()),
            description: "We no longer need this.".into(),
            ..NewChangeRequest::default()
        },
    )
    .await
    .unwrap();
    let (status, out) = post(
        &app,
        Some(&maya),
        &review_path(&v1, &request.id, "decline"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["request"]["status"], "declined");
    assert!(
        out.get("element").is_none(),
        "declining changes no element: {out}"
    );
    assert!(out["request"].get("resolution_note").is_none());
    let after = element(&app, &maya, &e1, proposed["id"].as_str().unwrap()).await;
    assert_eq!(after["status"], "proposed");
    let (status, _) = post(
        &app,
        Some(&maya),
        &review_path(&v1, &request.id, "approve"),
        "",
    )
    .await;
    assert_eq!(status, 409);
    app.finish().await;
}
both_backends!(rest_review_requests, approve_and_decline);
