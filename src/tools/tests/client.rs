//! Client tool tests: each client tool's effect on the database and its refusals (another
//! client's event, writes outside the thread's event, duplicates, capacity, final elements).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::{assert_refused, call};
use crate::store::domain::fixture::*;
use crate::tools::ToolOutcome;
use crate::vocab::AgentType;

async fn client(f: &Fixture, tool: &str, args: Value) -> ToolOutcome {
    call(
        f,
        CLIENT,
        AgentType::Client,
        Some(VENUE),
        Some(EVENT),
        tool,
        args,
    )
    .await
}

#[tokio::test]
async fn get_event_details_own_and_foreign() {
    let f = Fixture::new().await;
    let o = client(&f, "getEventDetails", json!({"eventId": EVENT})).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.result["event"]["name"], "Ana & Leo Wedding");
    assert_eq!(o.result["elements"].as_array().unwrap().len(), 4);
    assert_eq!(o.result["guests"]["counted_heads"], 3);
    assert!(o.changed_event.is_none());
    // Another of the client's own events may be read from this thread.
    assert!(
        client(&f, "getEventDetails", json!({"eventId": SECOND_EVENT}))
            .await
            .ok
    );
    assert_refused(
        &client(
            &f,
            "getEventDetails",
            json!({"eventId": OTHER_CLIENT_EVENT}),
        )
        .await,
        "event not accessible",
    );
    assert_refused(
        &client(&f, "getEventDetails", json!({"eventId": "nope"})).await,
        "event not found",
    );
}

#[tokio::test]
async fn list_available_elements() {
    let f = Fixture::new().await;
    let o = client(&f, "listAvailableElements", json!({})).await;
    assert!(o.ok, "{o:?}");
    let offerings = o.result["offerings"].as_array().unwrap();
    assert_eq!(offerings.len(), 2, "only this venue's offerings");
    let vendors = o.result["approvedVendors"].as_array().unwrap();
    assert_eq!(vendors.len(), 1);
    assert_eq!(vendors[0]["vendorId"], FLORIST);
    let o = client(&f, "listAvailableElements", json!({"category": "music"})).await;
    assert_eq!(o.result["offerings"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn request_element_change_creates_request_only() {
    let f = Fixture::new().await;
    let before = f.stores.domain.element(EL_FLOWERS).await.unwrap().unwrap();
    let o = client(
        &f,
        "requestElementChange",
        json!({"eventId": EVENT, "requestType": "modify", "elementId": EL_FLOWERS,
        "description": "White roses instead", "details": {"name": "White roses"}}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let id = o.result["changeRequest"]["id"].as_str().unwrap();
    let cr = f.stores.domain.change_request(id).await.unwrap().unwrap();
    assert_eq!(
        (cr.status.as_str(), cr.requested_by.as_str()),
        ("open", CLIENT)
    );
    assert_eq!(
        f.stores.domain.element(EL_FLOWERS).await.unwrap().unwrap(),
        before,
        "element untouched"
    );
    assert_eq!(o.changed_event.as_ref().unwrap().1, EVENT);
    let o = client(&f, "requestElementChange", json!({"eventId": EVENT, "requestType": "add", "offeringId": OFFERING_DESSERT, "description": "Dessert bar"})).await;
    assert!(o.ok, "{o:?}");
    // Refusals: another client's event, another event of the client (write), an element of
    // another event, a final element, another venue's offering, a missing element id.
    assert_refused(
        &client(
            &f,
            "requestElementChange",
            json!({"eventId": OTHER_CLIENT_EVENT, "requestType": "add", "description": "x"}),
        )
        .await,
        "own event",
    );
    assert_refused(
        &client(
            &f,
            "requestElementChange",
            json!({"eventId": SECOND_EVENT, "requestType": "add", "description": "x"}),
        )
        .await,
        "own event",
    );
    assert_refused(&client(&f, "requestElementChange", json!({"eventId": EVENT, "requestType": "remove", "elementId": EL_OTHER, "description": "x"})).await, "element of this event not found");
    assert_refused(&client(&f, "requestElementChange", json!({"eventId": EVENT, "requestType": "remove", "elementId": EL_DECLINED, "description": "x"})).await, "already declined");
    assert_refused(&client(&f, "requestElementChange", json!({"eventId": EVENT, "requestType": "add", "offeringId": OFFERING_OTHER_VENUE, "description": "x"})).await, "offering");
    assert_refused(
        &client(
            &f,
            "requestElementChange",
            json!({"eventId": EVENT, "requestType": "modify", "description": "x"}),
        )
        .await,
        "elementId",
    );
    assert_refused(
        &client(
            &f,
            "requestElementChange",
            json!({"eventId": EVENT, "requestType": "swap", "description": "x"}),
        )
        .await,
        "one of",
    );
}

#[tokio::test]
async fn view_and_add_guests() {
    let f = Fixture::new().await;
    let o = client(
        &f,
        "viewGuestList",
        json!({"eventId": EVENT, "rsvpStatus": "attending"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.result["guests"].as_array().unwrap().len(), 1);
    assert_eq!(o.result["counts"]["total"], 3);
    assert_refused(
        &client(&f, "viewGuestList", json!({"eventId": OTHER_VENUE_EVENT})).await,
        "not accessible",
    );

    let o = client(&f, "addGuest", json!({"eventId": EVENT, "name": "Ana Lima", "email": "Ana@Example.com", "plusOne": true, "dietaryNeeds": "vegan"})).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.title, "Added guest Ana Lima");
    assert_eq!(
        o.changed_event,
        Some((VENUE.into(), EVENT.into(), "Added guest Ana Lima".into()))
    );
    let guests = f.stores.domain.event_guests(EVENT, None).await.unwrap();
    let ana = guests.iter().find(|g| g.name == "Ana Lima").unwrap();
    assert_eq!(
        (ana.email.as_deref(), ana.rsvp_status.as_str(), ana.plus_one),
        (Some("ana@example.com"), "pending", true)
    );

    assert_refused(
        &client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "Dup", "email": "CARLA@example.com"}),
        )
        .await,
        "already on the list",
    );
    // 5 of 6 heads used: a guest with a plus-one does not fit, a declined one does, one alone does.
    assert_refused(
        &client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "Big", "plusOne": true}),
        )
        .await,
        "exceed",
    );
    assert!(
        client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "No show", "rsvpStatus": "declined", "plusOne": true})
        )
        .await
        .ok
    );
    assert!(
        client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "Last seat", "rsvpStatus": "attending"})
        )
        .await
        .ok
    );
    assert_refused(
        &client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "One too many"}),
        )
        .await,
        "exceed",
    );
    assert_refused(
        &client(
            &f,
            "addGuest",
            json!({"eventId": SECOND_EVENT, "name": "Wrong event"}),
        )
        .await,
        "own event",
    );
    assert_refused(
        &client(&f, "addGuest", json!({"eventId": EVENT, "name": "   "})).await,
        "name",
    );
    assert_eq!(
        f.stores
            .domain
            .event_guests(EVENT, None)
            .await
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn view_contract() {
    let f = Fixture::new().await;
    let o = client(&f, "viewContract", json!({"eventId": EVENT})).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.result["total_cents"], 972_000);
    assert_eq!(o.result["formatted"]["total"], "$9,720.00");
    assert_eq!(o.result["formatted"]["balance_due"], "$7,220.00");
    assert_eq!(o.result["line_items"][0]["total"], "$5,000.00");
    assert_refused(
        &client(&f, "viewContract", json!({"eventId": SECOND_EVENT})).await,
        "contract for this event not found",
    );
    assert_refused(
        &client(&f, "viewContract", json!({"eventId": OTHER_CLIENT_EVENT})).await,
        "not accessible",
    );
}
