//! Contract tool: `viewContract` (client) — any of the client's own events.

use serde::Deserialize;
use serde_json::{Value, json};

use super::names::ToolName;
use super::{Handled, HandlerResult, ToolContext, ToolDef, object, parse};
use crate::domain::contracts as svc;

pub(super) fn defs() -> Vec<ToolDef> {
    vec![ToolDef {
        name: ToolName::ViewContract,
        description: "Show the event's contract: line items, subtotal, tax, total, deposit, whether it is paid, balance due and status.",
        parameters: object(
            json!({"eventId": {"type": "string", "description": "The event id"}}),
            &["eventId"],
        ),
    }]
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Args {
    event_id: String,
}

pub(super) async fn view_contract(ctx: &ToolContext<'_>, args: Value) -> HandlerResult {
    let a: Args = parse(args)?;
    let c = svc::view_contract(&ctx.stores.domain, ctx.principal, &a.event_id).await?;
    let result = serde_json::to_value(&c)
        .map_err(|e| crate::domain::DomainError::invalid("contract", e.to_string()))?;
    Ok(Handled::read(
        result,
        format!(
            "Checked the contract ({}, total {})",
            c.status,
            c.formatted["total"].as_str().unwrap_or("?")
        ),
    ))
}
