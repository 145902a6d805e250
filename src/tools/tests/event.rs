//! venue_event write tools: tasks, event updates and change-request reviews (applied to
//! the elements in one transaction), with their refusals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::{assert_refused, call};
use crate::store::domain::fixture::*;
use crate::tools::ToolOutcome;
use crate::vocab::AgentType;

async fn staff(f: &Fixture, tool: &str, args: Value) -> ToolOutcome {
    call(
        f,
        STAFF,
        AgentType::VenueEvent,
        Some(VENUE),
        Some(EVENT),
        tool,
        args,
    )
    .await
}

#[tokio::test]
async fn create_task() {
    let f = Fixture::new().await;
    let o = staff(&f, "createTask", json!({"title": "Call florist", "dueAt": "2031-05-01", "priority": "high", "assignedTo": STAFF})).await;
    assert!(o.ok, "{o:?}");
    let t = f
        .stores
        .domain
        .task(o.result["task"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            t.venue_id.as_str(),
            t.event_id.as_deref(),
            t.priority.as_str(),
            t.status.as_str()
        ),
        (VENUE, Some(EVENT), "high", "pending")
    );
    assert_eq!(t.due_at.unwrap().to_rfc3339(), "2031-05-01T17:00:00+00:00");
    assert_refused(
        &staff(&f, "createTask", json!({"title": "x", "dueAt": "someday"})).await,
        "dueAt",
    );
    assert_refused(
        &staff(
            &f,
            "createTask",
            json!({"title": "x", "assignedTo": OTHER_STAFF}),
        )
        .await,
        "assignedTo",
    );
    assert_refused(
        &staff(
            &f,
            "createTask",
            json!({"title": "x", "eventId": OTHER_VENUE_EVENT}),
        )
        .await,
        "own event",
    );
    assert_refused(
        &staff(
            &f,
            "createTask",
            json!({"title": "x", "priority": "urgent"}),
        )
        .await,
        "one of",
    );
}

#[tokio::test]
async fn update_event_rules() {
    let f = Fixture::new().await;
    let o = staff(
        &f,
        "updateEvent",
        json!({"eventId": EVENT, "name": "Ana & Leo", "guestCount": 5, "budgetCents": 3_000_000,
        "status": "confirmed", "eventDate": "2031-06-01", "notes": "Outdoor ceremony"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let e = f.stores.domain.event(EVENT).await.unwrap().unwrap();
    assert_eq!(
        (
            e.name.as_str(),
            e.guest_count,
            e.budget_cents,
            e.status.as_str()
        ),
        ("Ana & Leo", 5, 3_000_000, "confirmed")
    );
    assert_eq!(e.event_date.date_naive().to_string(), "2031-06-01");
    assert_refused(
        &staff(
            &f,
            "updateEvent",
            json!({"eventId": EVENT, "eventDate": "2020-01-01"}),
        )
        .await,
        "today or later",
    );
    assert_refused(
        &staff(
            &f,
            "updateEvent",
            json!({"eventId": EVENT, "guestCount": CAPACITY + 1}),
        )
        .await,
        "capacity",
    );
    assert_refused(
        &staff(
            &f,
            "updateEvent",
            json!({"eventId": EVENT, "budgetCents": -1}),
        )
        .await,
        "≥ 0",
    );
    assert_refused(
        &staff(
            &f,
            "updateEvent",
            json!({"eventId": EVENT, "status": "inquiry"}),
        )
        .await,
        "cannot go from confirmed",
    );
    assert_refused(
        &staff(&f, "updateEvent", json!({"eventId": EVENT})).await,
        "nothing to update",
    );
    assert_refused(
        &staff(
            &f,
            "updateEvent",
            json!({"eventId": OTHER_CLIENT_EVENT, "name": "x"}),
        )
        .await,
        "own event",
    );
    assert!(
        staff(
            &f,
            "updateEvent",
            json!({"eventId": EVENT, "status": "cancelled"})
        )
        .await
        .ok
    );
    assert_refused(
        &staff(
            &f,
            "updateEvent",
            json!({"eventId": EVENT, "name": "Revived"}),
        )
        .await,
        "only its notes",
    );
}

#[tokio::test]
async fn review_change_requests_apply() {
    let f = Fixture::new().await;
    let d = &f.stores.domain;
    let o = staff(
        &f,
        "reviewChangeRequest",
        json!({"changeRequestId": CR_MODIFY, "decision": "approve", "note": "Done"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let el = d.element(EL_FLOWERS).await.unwrap().unwrap();
    assert_eq!(
        (el.name.as_str(), el.price_cents),
        ("Peony centerpieces", 95_000)
    );
    assert_eq!(
        d.change_request(CR_MODIFY).await.unwrap().unwrap().status,
        "approved"
    );

    let o = staff(
        &f,
        "reviewChangeRequest",
        json!({"changeRequestId": CR_ADD, "decision": "approve"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let new_id = o.result["element"]["id"].as_str().unwrap().to_owned();
    let added = d.element(&new_id).await.unwrap().unwrap();
    assert_eq!(
        (
            added.status.as_str(),
            added.name.as_str(),
            added.quantity,
            added.price_cents
        ),
        ("pending_approval", "Dessert bar", 4, 6_000)
    );
    assert_eq!(
        d.change_request(CR_ADD)
            .await
            .unwrap()
            .unwrap()
            .element_id
            .as_deref(),
        Some(new_id.as_str())
    );

    let o = staff(
        &f,
        "reviewChangeRequest",
        json!({"changeRequestId": CR_REMOVE, "decision": "decline", "note": "Needed"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    assert_eq!(
        d.element(EL_CATERING).await.unwrap().unwrap().status,
        "pending_approval",
        "declining changes nothing"
    );
    assert_refused(
        &staff(
            &f,
            "reviewChangeRequest",
            json!({"changeRequestId": CR_REMOVE, "decision": "approve"}),
        )
        .await,
        "already declined",
    );
    assert_refused(
        &staff(
            &f,
            "reviewChangeRequest",
            json!({"changeRequestId": CR_OTHER, "decision": "approve"}),
        )
        .await,
        "another event",
    );
    assert_eq!(
        d.element(EL_OTHER).await.unwrap().unwrap().status,
        "approved"
    );

    // A client-made remove request, approved by staff, cancels the element.
    let o = call(&f, CLIENT, AgentType::Client, Some(VENUE), Some(EVENT), "requestElementChange",
        json!({"eventId": EVENT, "requestType": "remove", "elementId": EL_VENUE, "description": "We found another hall"})).await;
    let id = o.result["changeRequest"]["id"].as_str().unwrap().to_owned();
    assert!(
        staff(
            &f,
            "reviewChangeRequest",
            json!({"changeRequestId": id, "decision": "approve"})
        )
        .await
        .ok
    );
    assert_eq!(
        d.element(EL_VENUE).await.unwrap().unwrap().status,
        "cancelled"
    );
}

#[tokio::test]
async fn resolving_is_atomic() {
    use crate::store::domain::{ChangeApplication, NewElement, Resolution};
    let f = Fixture::new().await;
    let d = &f.stores.domain;
    let staff = principal(STAFF);
    crate::domain::change_requests::review_change_request(d, &staff, CR_ADD, false, None)
        .await
        .unwrap();
    // A second resolution of the (now declined) request must not leave its element behind.
    let el = NewElement {
        id: "el-new".into(),
        event_id: EVENT.into(),
        offering_id: None,
        vendor_id: None,
        category: "x".into(),
        name: "x".into(),
        description: "x".into(),
        quantity: 1,
        price_cents: 0,
        status: "pending_approval".into(),
        notes: None,
    };
    let res = Resolution {
        status: "approved".into(),
        note: None,
        resolved_by: STAFF.into(),
        apply: ChangeApplication::Add(el),
    };
    assert!(matches!(
        d.resolve_change_request(CR_ADD, &res).await,
        Err(crate::store::StoreError::Conflict(_))
    ));
    assert!(d.element("el-new").await.unwrap().is_none());
    assert_eq!(
        d.change_request(CR_ADD).await.unwrap().unwrap().status,
        "declined"
    );
}
