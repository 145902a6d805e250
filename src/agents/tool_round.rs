//! One round of tool calls, shown to the user as a `workflow` item.
//!
//! The workflow is announced (`thread.item.added`), each call becomes a task that is added
//! with a loading indicator while it runs (plus a `progress_update`), the calls run in
//! parallel, each task is updated with its outcome, and the workflow is finished with a
//! summary. The calls' arguments and results are stored in the workflow item's server-side
//! metadata, where the next turn's history finds them; they are never sent to the client.
//! A call identical to an earlier one of the same turn (same tool, same arguments) is
//! answered from the earlier result instead of running twice. Every executed call is written
//! to the audit table.

use std::collections::HashMap;
use std::time::Instant;

use futures::future::join_all;
use serde_json::{Value, json};

use super::spec::AgentSpec;
use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::time::now_micros;
use crate::chatkit::{
    ItemBody, StatusIndicator, Task, TaskKind, ThreadItem, ThreadItemUpdate, ThreadStreamEvent,
    Workflow, WorkflowKind, WorkflowSummary,
};
use crate::conversation::TurnContext;
use crate::error::TurnError;
use crate::llm::ToolCall;
use crate::store::domain::ToolCallAudit;
use crate::tools::{self, ToolContext, ToolOutcome};

/// Results of earlier calls in this turn, by (tool, canonical arguments).
pub type CallCache = HashMap<(String, String), ToolOutcome>;

/// The arguments as compact JSON (so formatting does not matter), or trimmed if not JSON.
pub(crate) fn canonical(arguments: &str) -> String {
    serde_json::from_str::<Value>(arguments)
        .map_or_else(|_| arguments.trim().to_owned(), |v| v.to_string())
}

fn task(title: String, status: StatusIndicator) -> Task {
    Task {
        status_indicator: status,
        kind: TaskKind::Custom {
            title: Some(title),
            icon: None,
            content: None,
        },
    }
}

fn running_title(name: &str) -> String {
    format!("Running {name}…")
}

/// Runs the calls of one model response; returns each call's result JSON, in order.
pub async fn run(
    turn: &mut TurnContext,
    calls: &[ToolCall],
    cache: &mut CallCache,
) -> Result<Vec<Value>, TurnError> {
    let started = Instant::now();
    let mut item = ThreadItem::new(
        new_id(IdPrefix::Workflow),
        turn.thread().id.clone(),
        now_micros(),
        ItemBody::Workflow {
            workflow: Workflow::new(WorkflowKind::Custom),
        },
    );
    let wf_id = item.id.clone();
    turn.emit(ThreadStreamEvent::ItemAdded { item: item.clone() })
        .await?;
    for (i, call) in calls.iter().enumerate() {
        turn.emit(ThreadStreamEvent::ItemUpdated {
            item_id: wf_id.clone(),
            update: ThreadItemUpdate::WorkflowTaskAdded {
                task_index: i,
                task: task(running_title(&call.name), StatusIndicator::Loading),
            },
        })
        .await?;
    }
    if let Some(first) = calls.first() {
        turn.emit(ThreadStreamEvent::progress(
            Some("sparkle".into()),
            running_title(&first.name),
        ))
        .await?;
    }
    let outcomes = execute_all(turn, calls, cache).await;
    let mut tasks = Vec::with_capacity(calls.len());
    let mut recorded = Vec::with_capacity(calls.len());
    for (i, (call, outcome)) in calls.iter().zip(&outcomes).enumerate() {
        let t = task(outcome.title.clone(), StatusIndicator::Complete);
        tasks.push(t.clone());
        turn.emit(ThreadStreamEvent::ItemUpdated {
            item_id: wf_id.clone(),
            update: ThreadItemUpdate::WorkflowTaskUpdated {
                task_index: i,
                task: t,
            },
        })
        .await?;
        recorded.push(json!({
            "id": call.id,
            "name": call.name,
            "arguments": call.arguments,
            "result": outcome.result,
            "ok": outcome.ok,
        }));
        if let Some((venue_id, event_id, summary)) = &outcome.changed_event {
            let origin = turn.thread().id.clone();
            turn.deps
                .bus
                .publish(venue_id, event_id, summary, Some(&origin));
        }
    }
    let mut workflow = Workflow::new(WorkflowKind::Custom);
    workflow.tasks = tasks;
    workflow.summary = Some(if calls.len() == 1 {
        WorkflowSummary::Custom {
            title: outcomes
                .first()
                .map_or_else(String::new, |o| o.title.clone()),
            icon: None,
        }
    } else {
        WorkflowSummary::Duration {
            duration: started.elapsed().as_secs(),
        }
    });
    item.body = ItemBody::Workflow { workflow };
    turn.set_item_metadata(&wf_id, json!({ "tool_calls": recorded }));
    turn.emit(ThreadStreamEvent::ItemDone { item }).await?;
    Ok(outcomes.into_iter().map(|o| o.result).collect())
}

/// Runs the calls in parallel; repeats within the turn come from the cache.
async fn execute_all(
    turn: &TurnContext,
    calls: &[ToolCall],
    cache: &mut CallCache,
) -> Vec<ToolOutcome> {
    let ctx = ToolContext {
        principal: &turn.principal,
        thread: turn.thread(),
        stores: &turn.deps.stores,
        offered: AgentSpec::of(turn.thread().agent_type).tools,
    };
    let futures = calls.iter().map(|call| {
        let key = (call.name.clone(), canonical(&call.arguments));
        let cached = cache.get(&key).cloned();
        let ctx = &ctx;
        async move {
            if let Some(hit) = cached {
                tracing::debug!(tool = %call.name, "repeated call answered from the earlier result");
                return (key, hit, None);
            }
            let started = Instant::now();
            let outcome = tools::execute(ctx, &call.name, &call.arguments).await;
            (key, outcome, Some(started.elapsed()))
        }
    });
    let results = join_all(futures).await;
    let mut out = Vec::with_capacity(results.len());
    for ((key, outcome, elapsed), call) in results.into_iter().zip(calls) {
        if let Some(elapsed) = elapsed {
            crate::metrics::global().tool_calls.inc();
            audit(turn, call, &outcome, elapsed).await;
            cache.insert(key, outcome.clone());
        }
        out.push(outcome);
    }
    out
}

async fn audit(
    turn: &TurnContext,
    call: &ToolCall,
    outcome: &ToolOutcome,
    elapsed: std::time::Duration,
) {
    let arguments = serde_json::from_str(&call.arguments)
        .unwrap_or_else(|_| Value::String(call.arguments.clone()));
    let error = (!outcome.ok).then(|| {
        outcome
            .result
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_owned()
    });
    let record = ToolCallAudit {
        thread_id: turn.thread().id.clone(),
        user_id: turn.principal.user_id.clone(),
        agent_type: turn.thread().agent_type,
        tool: call.name.clone(),
        arguments,
        result_summary: outcome.title.clone(),
        ok: outcome.ok,
        error,
        duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
    };
    if let Err(e) = turn.deps.stores.domain.record_tool_call(record).await {
        crate::metrics::global().db_errors.inc();
        tracing::error!(error = ?e, "cannot write the tool-call audit row");
    }
}
