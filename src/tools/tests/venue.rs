//! Tool tests, venue side: venue_general reads and venue_event writes, with their DB effects
//! and refusals (foreign event, foreign vendor, element of another event, invalid
//! transitions, change request approval applied to the elements).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::{assert_refused, call};
use crate::store::domain::fixture::*;
use crate::tools::ToolOutcome;
use crate::vocab::AgentType;

async fn general(f: &Fixture, tool: &str, args: Value) -> ToolOutcome {
    call(
        f,
        STAFF,
        AgentType::VenueGeneral,
        Some(VENUE),
        None,
        tool,
        args,
    )
    .await
}

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
async fn general_reads() {
    let f = Fixture::new().await;
    let o = general(&f, "listEvents", json!({})).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.result["count"], 3, "only this venue's events");
    let o = general(&f, "listEvents", json!({"status": "confirmed"})).await;
    assert_eq!(o.result["count"], 0);
    assert_refused(
        &general(&f, "listEvents", json!({"from": "soon"})).await,
        "date",
    );

    let o = general(&f, "getEventSummary", json!({"eventId": EVENT})).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.result["elementsByStatus"]["confirmed"], 1);
    assert_eq!(o.result["openChangeRequests"], 3);
    assert_refused(
        &general(&f, "getEventSummary", json!({"eventId": OTHER_VENUE_EVENT})).await,
        "not accessible",
    );

    let o = general(&f, "listVendors", json!({})).await;
    let ids: Vec<&str> = o.result["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vendorId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![FLORIST, PHOTOGRAPHER]);

    let o = general(&f, "listPendingTasks", json!({})).await;
    let titles: Vec<&str> = o.result["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec!["Late invoice", "Confirm menu"],
        "open tasks of this venue, soonest due first"
    );
    let o = general(&f, "listPendingTasks", json!({"eventId": EVENT})).await;
    assert_eq!(o.result["tasks"].as_array().unwrap().len(), 1);
    assert_refused(
        &general(
            &f,
            "listPendingTasks",
            json!({"eventId": OTHER_VENUE_EVENT}),
        )
        .await,
        "not accessible",
    );
    assert_refused(
        &general(&f, "listPendingTasks", json!({"dueBefore": "whenever"})).await,
        "dueBefore",
    );

    let o = general(&f, "searchMessages", json!({"query": "vegetarian menu"})).await;
    let ids: Vec<&str> = o.result["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["m1", "m3"],
        "subject hit first, other venue's message excluded"
    );
    // A venue_general thread bound to another venue is refused.
    let o = call(
        &f,
        STAFF,
        AgentType::VenueGeneral,
        Some(OTHER_VENUE),
        None,
        "listVendors",
        json!({}),
    )
    .await;
    assert_refused(&o, "venue not accessible");
    // A client principal cannot use venue tools even in a forged thread.
    let o = call(
        &f,
        CLIENT,
        AgentType::VenueGeneral,
        Some(VENUE),
        None,
        "listEvents",
        json!({}),
    )
    .await;
    assert_refused(&o, "venue not accessible");
}

#[tokio::test]
async fn update_element_status_transitions() {
    let f = Fixture::new().await;
    let o = staff(
        &f,
        "updateElementStatus",
        json!({"elementId": EL_CATERING, "status": "approved", "note": "Menu agreed"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let el = f.stores.domain.element(EL_CATERING).await.unwrap().unwrap();
    assert_eq!(
        (el.status.as_str(), el.notes.as_deref()),
        ("approved", Some("Menu agreed"))
    );
    assert_eq!(o.changed_event.unwrap().1, EVENT);
    assert_refused(
        &staff(
            &f,
            "updateElementStatus",
            json!({"elementId": EL_FLOWERS, "status": "confirmed"}),
        )
        .await,
        "can only move to",
    );
    assert_refused(
        &staff(
            &f,
            "updateElementStatus",
            json!({"elementId": EL_DECLINED, "status": "approved"}),
        )
        .await,
        "final",
    );
    assert_refused(
        &staff(
            &f,
            "updateElementStatus",
            json!({"elementId": EL_OTHER, "status": "confirmed"}),
        )
        .await,
        "another event",
    );
    assert_refused(
        &staff(
            &f,
            "updateElementStatus",
            json!({"elementId": EL_FLOWERS, "status": "done"}),
        )
        .await,
        "one of",
    );
    let o = call(
        &f,
        OTHER_STAFF,
        AgentType::VenueEvent,
        Some(OTHER_VENUE),
        Some(EVENT),
        "updateElementStatus",
        json!({"elementId": EL_FLOWERS, "status": "pending_approval"}),
    )
    .await;
    assert_refused(&o, "not accessible");
    assert_eq!(
        f.stores
            .domain
            .element(EL_FLOWERS)
            .await
            .unwrap()
            .unwrap()
            .status,
        "proposed"
    );
}

#[tokio::test]
async fn messages_to_client_and_vendors() {
    let f = Fixture::new().await;
    let o = staff(
        &f,
        "sendMessageToClient",
        json!({"eventId": EVENT, "subject": "Tasting", "body": "See you Friday"}),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let m = f
        .stores
        .domain
        .message(o.result["message"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            m.recipient_type.as_str(),
            m.recipient_id.as_str(),
            m.sender_id.as_str()
        ),
        ("client", CLIENT, STAFF)
    );
    for vendor in [FLORIST, CATERER] {
        let o = staff(
            &f,
            "sendMessageToVendor",
            json!({"eventId": EVENT, "vendorId": vendor, "body": "Timing?"}),
        )
        .await;
        assert!(o.ok, "{vendor}: {o:?}");
    }
    assert_refused(
        &staff(
            &f,
            "sendMessageToVendor",
            json!({"eventId": EVENT, "vendorId": BAND, "body": "Hi"}),
        )
        .await,
        "neither",
    );
    assert_refused(
        &staff(
            &f,
            "sendMessageToVendor",
            json!({"eventId": EVENT, "vendorId": PHOTOGRAPHER, "body": "Hi"}),
        )
        .await,
        "neither",
    );
    assert_refused(
        &staff(
            &f,
            "sendMessageToVendor",
            json!({"eventId": EVENT, "vendorId": "ghost", "body": "Hi"}),
        )
        .await,
        "vendor not found",
    );
    assert_refused(
        &staff(
            &f,
            "sendMessageToClient",
            json!({"eventId": OTHER_CLIENT_EVENT, "body": "Hi"}),
        )
        .await,
        "own event",
    );
    assert_refused(
        &staff(
            &f,
            "sendMessageToClient",
            json!({"eventId": EVENT, "body": ""}),
        )
        .await,
        "body",
    );
    let recent = f
        .stores
        .domain
        .recent_messages(VENUE, Some(EVENT), 50)
        .await
        .unwrap();
    assert_eq!(recent.len(), 5, "2 seeded + 3 sent");
}
