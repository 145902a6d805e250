//! Message tools: `searchMessages` (venue_general, the thread's venue only),
//! `sendMessageToClient` and `sendMessageToVendor` (venue_event, the thread's event only).

use serde::Deserialize;
use serde_json::{Value, json};

use super::names::ToolName;
use super::{
    Handled, HandlerResult, ToolContext, ToolDef, check_write_event, object, parse, thread_venue,
};
use crate::domain::messages as svc;
use crate::store::domain::MessageRecord;

pub(super) fn defs() -> Vec<ToolDef> {
    let subject = json!({"type": "string", "maxLength": 200, "description": "Subject line"});
    let body =
        json!({"type": "string", "minLength": 1, "maxLength": 5000, "description": "Message text"});
    vec![
        ToolDef {
            name: ToolName::SearchMessages,
            description: "Search the venue's messages (subject and body) by keywords; best matches first, newest first on ties.",
            parameters: object(
                json!({
                    "query": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Keywords"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "How many results, default 10"}
                }),
                &["query"],
            ),
        },
        ToolDef {
            name: ToolName::SendMessageToClient,
            description: "Send a message to this event's client.",
            parameters: object(
                json!({"eventId": {"type": "string", "description": "The event id"}, "subject": subject, "body": body}),
                &["eventId", "body"],
            ),
        },
        ToolDef {
            name: ToolName::SendMessageToVendor,
            description: "Send a message about this event to a vendor working on it or approved at the venue.",
            parameters: object(
                json!({
                    "eventId": {"type": "string", "description": "The event id"},
                    "vendorId": {"type": "string", "description": "The vendor id"},
                    "subject": subject, "body": body
                }),
                &["eventId", "vendorId", "body"],
            ),
        },
    ]
}

fn message_json(m: &MessageRecord) -> Value {
    json!({"id": m.id, "eventId": m.event_id, "from": m.sender_name, "recipientType": m.recipient_type,
        "recipientId": m.recipient_id, "subject": m.subject, "body": m.body, "sentAt": m.created_at.to_rfc3339()})
}

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    limit: Option<u64>,
}

pub(super) async fn search(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: SearchArgs = parse(args)?;
    let venue = thread_venue(ctx)?;
    let limit = usize::try_from(a.limit.unwrap_or(10)).unwrap_or(10);
    let hits = svc::search_messages(
        &ctx.stores.domain,
        &ctx.stores.search,
        ctx.principal,
        &venue,
        &a.query,
        limit,
    )
    .await?;
    let results: Vec<Value> = hits
        .iter()
        .map(|h| {
            let mut m = message_json(&h.message);
            m["score"] = json!(h.score);
            m
        })
        .collect();
    let title = format!(
        "Searched messages for \"{}\" ({} found)",
        a.query,
        results.len()
    );
    Ok(Handled::read(json!({"messages": results}), title))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientArgs {
    event_id: String,
    subject: Option<String>,
    body: String,
}

pub(super) async fn to_client(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: ClientArgs = parse(args)?;
    check_write_event(ctx, &a.event_id)?;
    let (m, event) = svc::send_to_client(
        &ctx.stores.domain,
        ctx.principal,
        &a.event_id,
        a.subject.as_deref(),
        &a.body,
    )
    .await?;
    let summary = "Sent a message to the client".to_owned();
    Ok(Handled {
        result: json!({"message": message_json(&m)}),
        title: summary.clone(),
        changed_event: Some((event.venue_id, event.id, summary)),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VendorArgs {
    event_id: String,
    vendor_id: String,
    subject: Option<String>,
    body: String,
}

pub(super) async fn to_vendor(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: VendorArgs = parse(args)?;
    check_write_event(ctx, &a.event_id)?;
    let (m, vendor, event) = svc::send_to_vendor(
        &ctx.stores.domain,
        ctx.principal,
        &a.event_id,
        &a.vendor_id,
        a.subject.as_deref(),
        &a.body,
    )
    .await?;
    let summary = format!("Sent a message to {}", vendor.name);
    Ok(Handled {
        result: json!({"message": message_json(&m), "vendor": vendor.name}),
        title: summary.clone(),
        changed_event: Some((event.venue_id, event.id, summary)),
    })
}
