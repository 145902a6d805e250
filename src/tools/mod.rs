//! The assistants' tools: JSON-schema function tools over the domain services.
//!
//! [`specs`] gives the schemas of the tools an assistant is offered (its `AgentSpec` names
//! them); [`execute`] runs one call from the model. The arguments are untrusted: a call is
//! refused (ok = false, result `{"error": ...}`, title "Refused: ...") without running any
//! handler when the tool is unknown, not offered to the thread's assistant
//! ([`ToolContext::offered`]), or the arguments are not JSON or fail the schema. Handlers
//! then re-check authorization through the domain services, and additionally bind writes
//! to the thread: in `client` and `venue_event` threads a write may only touch the
//! thread's own event (reads may cover any event the principal may access). Venue-wide
//! tools use the thread's venue, which must be the principal's. `execute` never panics and
//! never propagates an error: every failure is an outcome.

mod contracts;
mod elements;
mod events;
mod guests;
mod messages;
pub mod names;
pub mod schema;
mod tasks;
#[cfg(test)]
mod tests;

use std::sync::{Arc, LazyLock};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::principal::Principal;
use crate::domain::{DomainError, require_venue};
use crate::llm::types::ToolSpec;
use crate::store::{Stores, ThreadRecord};
use crate::vocab::AgentType;
pub use names::ToolName;

/// What a handler sees: who calls, from which thread, with which stores, and which tools
/// the thread's assistant is offered (its `AgentSpec::tools`).
pub struct ToolContext<'a> {
    pub principal: &'a Principal,
    pub thread: &'a ThreadRecord,
    pub stores: &'a Stores,
    pub offered: &'a [ToolName],
}

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    pub ok: bool,
    /// What the model sees; on refusal `{"error": "..."}`.
    pub result: Value,
    /// Past tense, for the chat ("Added guest Ana Lima", "Refused: event not accessible").
    pub title: String,
    /// (venue id, event id, summary) when a write changed an event's data.
    pub changed_event: Option<(String, String, String)>,
}

/// A successful handler result.
pub(crate) struct Handled {
    pub result: Value,
    pub title: String,
    pub changed_event: Option<(String, String, String)>,
}

impl Handled {
    pub(crate) fn read(result: Value, title: impl Into<String>) -> Self {
        Self {
            result,
            title: title.into(),
            changed_event: None,
        }
    }
}

pub(crate) type HandlerResult = Result<Handled, DomainError>;

/// One tool: name and schema. Which assistant gets it is the assistant's `AgentSpec`.
pub(crate) struct ToolDef {
    pub name: ToolName,
    pub description: &'static str,
    pub parameters: Value,
}

/// `{"type":"object", properties, required, "additionalProperties": false}`.
pub(crate) fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

static REGISTRY: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    let mut all = Vec::new();
    all.extend(events::defs());
    all.extend(elements::defs());
    all.extend(guests::defs());
    all.extend(contracts::defs());
    all.extend(tasks::defs());
    all.extend(messages::defs());
    all
});

/// The model-facing schemas of the `offered` tools, in the registry's order.
pub fn specs(offered: &[ToolName]) -> Arc<[ToolSpec]> {
    REGISTRY
        .iter()
        .filter(|d| offered.contains(&d.name))
        .map(|d| ToolSpec {
            name: d.name.as_str().to_owned(),
            description: d.description.to_owned(),
            parameters: d.parameters.clone(),
        })
        .collect()
}

/// What the model sees when a call could not run or its writes could not be stored.
pub const STORE_FAILED: &str = "internal error; nothing was changed, try again later";

/// A call that failed (not refused): `{"error": why}`, titled "Failed: name".
pub fn failed(name: &str, why: &str) -> ToolOutcome {
    ToolOutcome {
        ok: false,
        result: json!({ "error": why }),
        title: format!("Failed: {name}"),
        changed_event: None,
    }
}

fn refused(message: impl Into<String>) -> ToolOutcome {
    let message = message.into();
    let short: String = message.chars().take(100).collect();
    ToolOutcome {
        ok: false,
        result: json!({ "error": message }),
        title: format!("Refused: {short}"),
        changed_event: None,
    }
}

/// Runs one tool call; see the module documentation for the refusal rules.
pub async fn execute(ctx: &ToolContext<'_>, name: &str, arguments: &str) -> ToolOutcome {
    let Some(def) = ToolName::parse(name)
        .ok()
        .and_then(|tool| REGISTRY.iter().find(|d| d.name == tool))
    else {
        // The list lets a model that invented a name (small local models do) pick a real one.
        let offered: Vec<&str> = ctx.offered.iter().map(|t| t.as_str()).collect();
        return refused(format!(
            "unknown tool {name:?}; the tools are: {}",
            offered.join(", ")
        ));
    };
    if !ctx.offered.contains(&def.name) {
        return refused(format!("tool {name} is not available to this assistant"));
    }
    // Some models send an empty string for a call without arguments.
    let raw = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    let args: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => return refused(format!("arguments are not valid JSON: {e}")),
    };
    if let Err(e) = schema::validate(&def.parameters, &args) {
        return refused(format!("invalid arguments: {e}"));
    }
    let result = match def.name {
        ToolName::GetEventDetails => events::get_event_details(ctx, args).await,
        ToolName::GetEventSummary => events::get_event_summary(ctx, args).await,
        ToolName::ListEvents => events::list_events(ctx, args).await,
        ToolName::UpdateEvent => events::update_event(ctx, args).await,
        ToolName::ListAvailableElements => elements::list_available(ctx, args).await,
        ToolName::RequestElementChange => elements::request_change(ctx, args).await,
        ToolName::UpdateElementStatus => elements::update_status(ctx, args).await,
        ToolName::ReviewChangeRequest => elements::review_change(ctx, args).await,
        ToolName::ViewGuestList => guests::view_guest_list(ctx, args).await,
        ToolName::AddGuest => guests::add_guest(ctx, args).await,
        ToolName::ViewContract => contracts::view_contract(ctx, args).await,
        ToolName::ListVendors => tasks::list_vendors(ctx, args).await,
        ToolName::ListPendingTasks => tasks::list_pending_tasks(ctx, args).await,
        ToolName::CreateTask => tasks::create_task(ctx, args).await,
        ToolName::SearchMessages => messages::search(ctx, args).await,
        ToolName::SendMessageToClient => messages::to_client(ctx, args).await,
        ToolName::SendMessageToVendor => messages::to_vendor(ctx, args).await,
    };
    match result {
        Ok(h) => ToolOutcome {
            ok: true,
            result: h.result,
            title: h.title,
            changed_event: h.changed_event,
        },
        Err(DomainError::Store(e)) => {
            tracing::error!(tool = name, error = ?e, "tool failed on the store");
            failed(name, STORE_FAILED)
        }
        Err(e) => {
            tracing::info!(tool = name, error = %e, "tool call refused");
            refused(e.to_string())
        }
    }
}

/// Deserializes validated arguments into the handler's input type.
pub(crate) fn parse<T: DeserializeOwned>(args: Value) -> Result<T, DomainError> {
    serde_json::from_value(args).map_err(|e| DomainError::invalid("arguments", e.to_string()))
}

/// Writes in `client` and `venue_event` threads may only touch the thread's own event.
pub(crate) fn check_write_event(ctx: &ToolContext<'_>, event_id: &str) -> Result<(), DomainError> {
    match ctx.thread.agent_type {
        AgentType::Client | AgentType::VenueEvent
            if ctx.thread.event_id.as_deref() != Some(event_id) =>
        {
            Err(DomainError::forbidden(
                "this conversation may only change its own event",
            ))
        }
        _ => Ok(()),
    }
}

/// The thread's venue, which must be the principal's.
pub(crate) fn thread_venue(ctx: &ToolContext<'_>) -> Result<String, DomainError> {
    let venue = ctx
        .thread
        .venue_id
        .clone()
        .or_else(|| ctx.principal.venue_id.clone())
        .ok_or_else(|| DomainError::forbidden("this conversation has no venue"))?;
    require_venue(ctx.principal, &venue)?;
    Ok(venue)
}

/// The thread's event id (for tools that default to it).
pub(crate) fn thread_event<'a>(ctx: &ToolContext<'a>) -> Option<&'a str> {
    ctx.thread.event_id.as_deref()
}
