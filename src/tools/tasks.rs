//! Venue tools: `listVendors` and `listPendingTasks` (venue_general), `createTask`
//! (venue_event). Tasks created from a venue_event thread belong to the thread's event
//! unless another event id is given, which is then refused (writes stay on the thread's
//! event).

use serde::Deserialize;
use serde_json::{Value, json};

use super::names::ToolName;
use super::{
    Handled, HandlerResult, ToolContext, ToolDef, check_write_event, object, parse, thread_event,
    thread_venue,
};
use crate::domain::tasks::{self as svc, NewTask, PRIORITIES};
use crate::domain::venues;
use crate::store::domain::TaskRecord;

pub(super) fn defs() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: ToolName::ListVendors,
            description: "List the venue's vendor relationships (approved and pending) with contact details, optionally of one category.",
            parameters: object(
                json!({"category": {"type": "string", "description": "Only this category"}}),
                &[],
            ),
        },
        ToolDef {
            name: ToolName::ListPendingTasks,
            description: "List the venue's open tasks (pending or in progress), soonest due first, optionally for one event or due before a date.",
            parameters: object(
                json!({
                    "eventId": {"type": "string", "description": "Only tasks of this event"},
                    "dueBefore": {"type": "string", "description": "Only tasks due before this date (YYYY-MM-DD or RFC 3339)"}
                }),
                &[],
            ),
        },
        ToolDef {
            name: ToolName::CreateTask,
            description: "Create a task for the venue team, tied to this event.",
            parameters: object(
                json!({
                    "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "What to do"},
                    "eventId": {"type": "string", "description": "The event id (defaults to this event)"},
                    "description": {"type": "string", "maxLength": 5000, "description": "Details"},
                    "dueAt": {"type": "string", "description": "Due date, YYYY-MM-DD or RFC 3339"},
                    "priority": {"type": "string", "enum": PRIORITIES, "description": "Priority, default medium"},
                    "assignedTo": {"type": "string", "description": "User id of a staff member of this venue"}
                }),
                &["title"],
            ),
        },
    ]
}

fn task_json(t: &TaskRecord) -> Value {
    json!({"id": t.id, "title": t.title, "eventId": t.event_id, "status": t.status, "priority": t.priority,
        "dueAt": t.due_at.map(|d| d.to_rfc3339()), "assignedTo": t.assigned_to, "description": t.description})
}

#[derive(Deserialize)]
struct VendorArgs {
    category: Option<String>,
}

pub(super) async fn list_vendors(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: VendorArgs = parse(args)?;
    let venue = thread_venue(ctx)?;
    let list = venues::list_vendors(
        &ctx.stores.domain,
        ctx.principal,
        &venue,
        a.category.as_deref(),
    )
    .await?;
    let vendors: Vec<Value> = list
        .iter()
        .map(|v| {
            json!({"vendorId": v.vendor.id, "name": v.vendor.name, "category": v.vendor.category,
            "email": v.vendor.email, "phone": v.vendor.phone, "status": v.status, "notes": v.notes})
        })
        .collect();
    let title = format!("Listed {} vendors", vendors.len());
    Ok(Handled::read(json!({"vendors": vendors}), title))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PendingArgs {
    event_id: Option<String>,
    due_before: Option<String>,
}

pub(super) async fn list_pending_tasks(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: PendingArgs = parse(args)?;
    let venue = thread_venue(ctx)?;
    let tasks = svc::list_open_tasks(
        &ctx.stores.domain,
        ctx.principal,
        &venue,
        a.event_id.as_deref(),
        a.due_before.as_deref(),
    )
    .await?;
    let title = format!("Listed {} open tasks", tasks.len());
    Ok(Handled::read(
        json!({"tasks": tasks.iter().map(task_json).collect::<Vec<_>>()}),
        title,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateArgs {
    title: String,
    event_id: Option<String>,
    description: Option<String>,
    due_at: Option<String>,
    priority: Option<String>,
    assigned_to: Option<String>,
}

pub(super) async fn create_task(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: CreateArgs = parse(args)?;
    let venue = thread_venue(ctx)?;
    let event_id = a.event_id.or_else(|| thread_event(ctx).map(str::to_owned));
    if let Some(e) = &event_id {
        check_write_event(ctx, e)?;
    }
    let new = NewTask {
        venue_id: venue.clone(),
        event_id,
        title: a.title,
        description: a.description,
        due_at: a.due_at,
        priority: a.priority,
        assigned_to: a.assigned_to,
    };
    let t = svc::create_task(&ctx.stores.domain, ctx.principal, new).await?;
    let summary = format!("Created task {}", t.title);
    Ok(Handled {
        result: json!({"task": task_json(&t)}),
        title: summary.clone(),
        changed_event: t.event_id.clone().map(|e| (venue, e, summary)),
    })
}
