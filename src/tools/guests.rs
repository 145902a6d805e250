//! Guest tools (client): `viewGuestList` for any of the client's events, `addGuest` only
//! on the thread's event. The list shown to the model is capped at [`MAX_SHOWN`] guests;
//! the counts always cover the whole list.

use serde::Deserialize;
use serde_json::{Value, json};

use super::names::ToolName;
use super::{Handled, HandlerResult, ToolContext, ToolDef, check_write_event, object, parse};
use crate::domain::guests::{self as svc, NewGuest};
use crate::store::domain::GuestRecord;
use crate::vocab::Rsvp;

const MAX_SHOWN: usize = 200;

pub(super) fn defs() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: ToolName::ViewGuestList,
            description: "Show the event's guest list with RSVP status, dietary needs and plus-ones, and counts (attending, pending, declined, maybe, heads against capacity).",
            parameters: object(
                json!({
                    "eventId": {"type": "string", "description": "The event id"},
                    "rsvpStatus": {"type": "string", "enum": Rsvp::NAMES, "description": "Only guests with this RSVP"}
                }),
                &["eventId"],
            ),
        },
        ToolDef {
            name: ToolName::AddGuest,
            description: "Add a guest to this event. Attending and pending guests (plus-ones included) may not exceed the venue capacity; an email may appear only once per event.",
            parameters: object(
                json!({
                    "eventId": {"type": "string", "description": "The event id"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Guest's full name"},
                    "email": {"type": "string", "format": "email", "description": "Guest's email"},
                    "rsvpStatus": {"type": "string", "enum": Rsvp::NAMES, "description": "RSVP, default pending"},
                    "dietaryNeeds": {"type": "string", "maxLength": 500, "description": "Allergies or diet"},
                    "plusOne": {"type": "boolean", "description": "Whether the guest brings a plus-one"}
                }),
                &["eventId", "name"],
            ),
        },
    ]
}

fn guest_json(g: &GuestRecord) -> Value {
    json!({"id": g.id, "name": g.name, "email": g.email, "rsvpStatus": g.rsvp_status,
        "dietaryNeeds": g.dietary_needs, "plusOne": g.plus_one, "tableNumber": g.table_number})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ViewArgs {
    event_id: String,
    /// Checked against the schema's enum before it is parsed.
    rsvp_status: Option<Rsvp>,
}

pub(super) async fn view_guest_list(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: ViewArgs = parse(args)?;
    let list = svc::list_guests(
        &ctx.stores.domain,
        ctx.principal,
        &a.event_id,
        a.rsvp_status,
    )
    .await?;
    let shown: Vec<Value> = list.guests.iter().take(MAX_SHOWN).map(guest_json).collect();
    let more = list.guests.len().saturating_sub(MAX_SHOWN);
    let result = json!({"guests": shown, "notShown": more, "counts": list.counts, "venueCapacity": list.venue_capacity});
    Ok(Handled::read(result, "Checked the guest list"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddArgs {
    event_id: String,
    name: String,
    email: Option<String>,
    rsvp_status: Option<Rsvp>,
    dietary_needs: Option<String>,
    plus_one: Option<bool>,
}

pub(super) async fn add_guest(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: AddArgs = parse(args)?;
    check_write_event(ctx, &a.event_id)?;
    let new = NewGuest {
        name: a.name,
        email: a.email,
        rsvp_status: a.rsvp_status,
        dietary_needs: a.dietary_needs,
        plus_one: a.plus_one.unwrap_or(false),
    };
    let g = svc::add_guest(&ctx.stores.domain, ctx.principal, &a.event_id, new).await?;
    let venue = ctx
        .stores
        .domain
        .event_ref(&g.event_id)
        .await?
        .map(|e| e.venue_id)
        .unwrap_or_default();
    let summary = format!("Added guest {}", g.name);
    Ok(Handled {
        result: json!({"guest": guest_json(&g)}),
        title: summary.clone(),
        changed_event: Some((venue, g.event_id.clone(), summary)),
    })
}
