//! Event tools: `getEventDetails` (client, venue_event), `getEventSummary` and
//! `listEvents` (venue_general), `updateEvent` (venue_event, the thread's event only).

use chrono::NaiveTime;
use serde::Deserialize;
use serde_json::{Value, json};

use super::names::ToolName;
use super::{
    Handled, HandlerResult, ToolContext, ToolDef, check_write_event, object, parse, thread_venue,
};
use crate::domain::events::{self as svc, EventUpdate};
use crate::domain::{format_cents, parse_date};
use crate::store::domain::{ElementRecord, EventQuery, EventRecord};

pub(super) fn defs() -> Vec<ToolDef> {
    let event_id = json!({"type": "string", "description": "The event id"});
    vec![
        ToolDef {
            name: ToolName::GetEventDetails,
            description: "Get an event's details: date, status, guest count, budget, venue, elements with status and prices, guest counts and open change requests.",
            parameters: object(json!({"eventId": event_id}), &["eventId"]),
        },
        ToolDef {
            name: ToolName::GetEventSummary,
            description: "Get a short summary of one event of your venue: client, status, element counts by status, guests, open change requests and tasks, contract status.",
            parameters: object(json!({"eventId": event_id}), &["eventId"]),
        },
        ToolDef {
            name: ToolName::ListEvents,
            description: "List the venue's events in date order, optionally between two dates (inclusive) and with one status.",
            parameters: object(
                json!({
                    "from": {"type": "string", "format": "date", "description": "First day, YYYY-MM-DD"},
                    "to": {"type": "string", "format": "date", "description": "Last day, YYYY-MM-DD"},
                    "status": {"type": "string", "enum": ["inquiry", "planning", "confirmed", "completed", "cancelled"], "description": "Only events with this status"}
                }),
                &[],
            ),
        },
        ToolDef {
            name: ToolName::UpdateEvent,
            description: "Update fields of this event. Only the given fields change. Status moves inquiry→planning→confirmed→completed, or to cancelled.",
            parameters: object(
                json!({
                    "eventId": event_id,
                    "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "New event name"},
                    "eventDate": {"type": "string", "description": "New date, YYYY-MM-DD (keeps the time) or RFC 3339 date-time; today or later"},
                    "guestCount": {"type": "integer", "minimum": 1, "description": "Expected guests, at most the venue capacity"},
                    "budgetCents": {"type": "integer", "minimum": 0, "description": "Budget in cents"},
                    "status": {"type": "string", "enum": ["inquiry", "planning", "confirmed", "completed", "cancelled"], "description": "New status"},
                    "notes": {"type": "string", "maxLength": 5000, "description": "Replaces the event notes"}
                }),
                &["eventId"],
            ),
        },
    ]
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventIdArgs {
    event_id: String,
}

pub(crate) fn event_json(e: &EventRecord) -> Value {
    json!({
        "id": e.id, "name": e.name, "eventType": e.event_type,
        "date": e.event_date.to_rfc3339(), "endDate": e.end_date.map(|d| d.to_rfc3339()),
        "status": e.status, "guestCount": e.guest_count,
        "budgetCents": e.budget_cents, "budget": format_cents(e.budget_cents), "notes": e.notes,
    })
}

pub(crate) fn element_json(e: &ElementRecord) -> Value {
    json!({
        "id": e.id, "category": e.category, "name": e.name, "description": e.description,
        "status": e.status, "vendorId": e.vendor_id, "quantity": e.quantity,
        "priceCents": e.price_cents, "price": format_cents(e.price_cents), "notes": e.notes,
    })
}

pub(super) async fn get_event_details(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: EventIdArgs = parse(args)?;
    let d = svc::event_details(&ctx.stores.domain, ctx.principal, &a.event_id).await?;
    let result = json!({
        "event": event_json(&d.event),
        "venue": {"name": d.venue_name, "capacity": d.venue_capacity},
        "client": d.client_name,
        "elements": d.elements.iter().map(element_json).collect::<Vec<_>>(),
        "elementsTotal": format_cents(d.elements_total_cents),
        "guests": d.guests,
        "openChangeRequests": d.open_change_requests.iter().map(|c| json!({
            "id": c.id, "requestType": c.request_type, "elementId": c.element_id,
            "description": c.description, "createdAt": c.created_at.to_rfc3339(),
        })).collect::<Vec<_>>(),
    });
    Ok(Handled::read(
        result,
        format!("Checked the details of {}", d.event.name),
    ))
}

pub(super) async fn get_event_summary(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: EventIdArgs = parse(args)?;
    thread_venue(ctx)?;
    let s = svc::event_summary(&ctx.stores.domain, ctx.principal, &a.event_id).await?;
    let result = json!({
        "event": event_json(&s.event), "client": s.client_name,
        "elementsByStatus": s.elements_by_status, "elementsTotal": format_cents(s.elements_total_cents),
        "guests": s.guests, "openChangeRequests": s.open_change_requests,
        "openTasks": s.open_tasks, "contractStatus": s.contract_status,
    });
    Ok(Handled::read(
        result,
        format!("Summarized {}", s.event.name),
    ))
}

#[derive(Deserialize)]
struct ListArgs {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
}

pub(super) async fn list_events(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: ListArgs = parse(args)?;
    let venue = thread_venue(ctx)?;
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    let query = EventQuery {
        from: a
            .from
            .as_deref()
            .map(|d| parse_date("from", d))
            .transpose()?
            .map(|d| d.and_time(NaiveTime::MIN).and_utc()),
        to: a
            .to
            .as_deref()
            .map(|d| parse_date("to", d))
            .transpose()?
            .map(|d| d.and_time(end_of_day).and_utc()),
        status: a.status,
        limit: 100,
    };
    let events = svc::list_venue_events(&ctx.stores.domain, ctx.principal, &venue, query).await?;
    let n = events.len();
    let result = json!({"events": events.iter().map(event_json).collect::<Vec<_>>(), "count": n});
    Ok(Handled::read(
        result,
        format!("Listed {n} event{}", if n == 1 { "" } else { "s" }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateArgs {
    event_id: String,
    name: Option<String>,
    event_date: Option<String>,
    guest_count: Option<i64>,
    budget_cents: Option<i64>,
    status: Option<String>,
    notes: Option<String>,
}

pub(super) async fn update_event(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: UpdateArgs = parse(args)?;
    check_write_event(ctx, &a.event_id)?;
    let update = EventUpdate {
        name: a.name,
        event_date: a.event_date,
        guest_count: a.guest_count,
        budget_cents: a.budget_cents,
        status: a.status,
        notes: a.notes,
    };
    let (event, fields) =
        svc::update_event(&ctx.stores.domain, ctx.principal, &a.event_id, update).await?;
    let summary = format!("Updated {} of {}", fields.join(", "), event.name);
    Ok(Handled {
        result: json!({"event": event_json(&event), "changed": fields}),
        title: summary.clone(),
        changed_event: Some((event.venue_id.clone(), event.id.clone(), summary)),
    })
}
