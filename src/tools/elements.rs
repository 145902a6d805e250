//! Element tools: `listAvailableElements` and `requestElementChange` (client),
//! `updateElementStatus` and `reviewChangeRequest` (venue_event). All writes are limited
//! to the thread's event: an element or change request of another event is refused.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::events::element_json;
use super::names::ToolName;
use super::{
    Handled, HandlerResult, ToolContext, ToolDef, check_write_event, object, parse, thread_event,
};
use crate::domain::change_requests::{self as cr, NewChangeRequest};
use crate::domain::elements as svc;
use crate::domain::{DomainError, format_cents};

pub(super) fn defs() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: ToolName::ListAvailableElements,
            description: "List what can be added to this event: the venue's offerings (with prices) and its approved vendors, optionally of one category (catering, florist, music, ...).",
            parameters: object(
                json!({"category": {"type": "string", "description": "Only this category"}}),
                &[],
            ),
        },
        ToolDef {
            name: ToolName::RequestElementChange,
            description: "Ask the venue to add, modify or remove an element of this event. Creates a change request for staff to review; it does not change the element itself.",
            parameters: object(
                json!({
                    "eventId": {"type": "string", "description": "The event id"},
                    "requestType": {"type": "string", "enum": ["add", "modify", "remove"], "description": "What kind of change"},
                    "elementId": {"type": "string", "description": "The element to modify or remove"},
                    "offeringId": {"type": "string", "description": "For add: the venue offering wanted"},
                    "description": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "The change, in the client's words"},
                    "details": {"type": "object", "description": "Structured specifics, e.g. {\"name\": ..., \"quantity\": 2, \"price_cents\": 5000}"}
                }),
                &["eventId", "requestType", "description"],
            ),
        },
        ToolDef {
            name: ToolName::UpdateElementStatus,
            description: "Move an element of this event to a new status: proposed→pending_approval→approved→confirmed, or declined/cancelled from any non-final status.",
            parameters: object(
                json!({
                    "elementId": {"type": "string", "description": "The element id"},
                    "status": {"type": "string", "enum": svc::ELEMENT_STATUSES, "description": "The new status"},
                    "note": {"type": "string", "maxLength": 2000, "description": "Why, kept on the element"}
                }),
                &["elementId", "status"],
            ),
        },
        ToolDef {
            name: ToolName::ReviewChangeRequest,
            description: "Approve or decline a client's open change request on this event. Approving applies it: add creates a pending_approval element, modify updates the element, remove cancels it.",
            parameters: object(
                json!({
                    "changeRequestId": {"type": "string", "description": "The change request id"},
                    "decision": {"type": "string", "enum": ["approve", "decline"], "description": "The decision"},
                    "note": {"type": "string", "maxLength": 2000, "description": "A note for the client"}
                }),
                &["changeRequestId", "decision"],
            ),
        },
    ]
}

#[derive(Deserialize)]
struct ListArgs {
    category: Option<String>,
}

pub(super) async fn list_available(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: ListArgs = parse(args)?;
    let event_id = thread_event(ctx)
        .ok_or_else(|| DomainError::forbidden("this conversation has no event"))?;
    let av = svc::available_elements(
        &ctx.stores.domain,
        ctx.principal,
        event_id,
        a.category.as_deref(),
    )
    .await?;
    let offerings: Vec<Value> = av
        .offerings
        .iter()
        .map(|o| json!({"offeringId": o.id, "category": o.category, "name": o.name, "description": o.description,
            "priceCents": o.price_cents, "price": format_cents(o.price_cents), "unit": o.unit}))
        .collect();
    let vendors: Vec<Value> = av
        .approved_vendors
        .iter()
        .map(|v| json!({"vendorId": v.vendor.id, "name": v.vendor.name, "category": v.vendor.category, "description": v.vendor.description}))
        .collect();
    let title = format!(
        "Listed {} offerings and {} vendors",
        offerings.len(),
        vendors.len()
    );
    Ok(Handled::read(
        json!({"offerings": offerings, "approvedVendors": vendors}),
        title,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestArgs {
    event_id: String,
    request_type: String,
    element_id: Option<String>,
    offering_id: Option<String>,
    description: String,
    details: Option<Map<String, Value>>,
}

pub(super) async fn request_change(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: RequestArgs = parse(args)?;
    check_write_event(ctx, &a.event_id)?;
    let req = NewChangeRequest {
        event_id: a.event_id,
        request_type: a.request_type,
        element_id: a.element_id,
        offering_id: a.offering_id,
        description: a.description,
        details: a.details,
    };
    let r = cr::request_change(&ctx.stores.domain, ctx.principal, req).await?;
    let venue = ctx
        .stores
        .domain
        .event_ref(&r.event_id)
        .await?
        .map(|e| e.venue_id)
        .unwrap_or_default();
    let summary = format!(
        "Requested to {} an element: {}",
        r.request_type,
        r.description.chars().take(60).collect::<String>()
    );
    Ok(Handled {
        result: json!({"changeRequest": {"id": r.id, "status": r.status, "requestType": r.request_type,
            "elementId": r.element_id, "description": r.description, "details": r.details},
            "note": "The venue will review this request; nothing changes until they approve it."}),
        title: summary.clone(),
        changed_event: Some((venue, r.event_id, summary)),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusArgs {
    element_id: String,
    status: String,
    note: Option<String>,
}

/// Refuses an id of another event before the domain service runs.
fn same_event(ctx: &ToolContext<'_>, event_id: &str, what: &str) -> Result<(), DomainError> {
    check_write_event(ctx, event_id)
        .map_err(|_| DomainError::forbidden(format!("{what} belongs to another event")))
}

pub(super) async fn update_status(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: StatusArgs = parse(args)?;
    if let Some(el) = ctx.stores.domain.element(&a.element_id).await? {
        same_event(ctx, &el.event_id, "element")?;
    }
    let (from, el, event) = svc::update_element_status(
        &ctx.stores.domain,
        ctx.principal,
        &a.element_id,
        &a.status,
        a.note.as_deref(),
    )
    .await?;
    let summary = format!("Marked {} as {} (was {from})", el.name, el.status);
    Ok(Handled {
        result: json!({"element": element_json(&el), "previousStatus": from}),
        title: summary.clone(),
        changed_event: Some((event.venue_id, event.id, summary)),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewArgs {
    change_request_id: String,
    decision: String,
    note: Option<String>,
}

pub(super) async fn review_change(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: ReviewArgs = parse(args)?;
    if let Some(r) = ctx
        .stores
        .domain
        .change_request(&a.change_request_id)
        .await?
    {
        same_event(ctx, &r.event_id, "change request")?;
    }
    let approve = a.decision == "approve";
    let out = cr::review_change_request(
        &ctx.stores.domain,
        ctx.principal,
        &a.change_request_id,
        approve,
        a.note.as_deref(),
    )
    .await?;
    let summary = cr::review_summary(&out);
    Ok(Handled {
        result: json!({"changeRequest": {"id": out.request.id, "status": out.request.status,
            "requestType": out.request.request_type, "resolutionNote": out.request.resolution_note},
            "element": out.element.as_ref().map(element_json)}),
        title: summary.clone(),
        changed_event: Some((out.event.venue_id, out.event.id, summary)),
    })
}
