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
//!
//! In a cluster (issue #17) each call runs in one transaction of its own: it first checks the
//! thread's owner fence (`store::owners`, the row stays locked until the end), then the
//! handler's domain writes, the audit row and, for a change, the outbox row that tells the
//! other nodes (`store::outbox`) follow on the same transaction. So a node that lost the
//! thread writes nothing of the call, and a change is announced to the cluster exactly when
//! it is committed; this node's own threads and pages are told after the commit.

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
    let executed = execute_all(turn, calls, cache).await;
    let announced: Vec<bool> = executed.iter().map(|(_, a)| *a).collect();
    let outcomes: Vec<ToolOutcome> = executed.into_iter().map(|(o, _)| o).collect();
    let mut tasks = Vec::with_capacity(calls.len());
    let mut recorded = Vec::with_capacity(calls.len());
    for (i, ((call, outcome), in_outbox)) in calls.iter().zip(&outcomes).zip(announced).enumerate()
    {
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
            if in_outbox {
                turn.deps
                    .bus
                    .deliver_local(crate::conversation::DomainChange {
                        venue_id: venue_id.clone(),
                        event_id: event_id.clone(),
                        summary: summary.clone(),
                        origin_thread: Some(origin),
                    });
            } else {
                turn.deps
                    .bus
                    .publish(venue_id, event_id, summary, Some(&origin));
            }
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

/// Runs the calls in parallel; repeats within the turn come from the cache. Each outcome
/// comes with whether its change is already in the cluster's outbox.
async fn execute_all(
    turn: &TurnContext,
    calls: &[ToolCall],
    cache: &mut CallCache,
) -> Vec<(ToolOutcome, bool)> {
    let futures = calls.iter().map(|call| {
        let key = (call.name.clone(), canonical(&call.arguments));
        let cached = cache.get(&key).cloned();
        async move {
            if let Some(hit) = cached {
                tracing::debug!(tool = %call.name, "repeated call answered from the earlier result");
                return (key, hit, false, false);
            }
            crate::metrics::global().tool_calls.inc();
            let (outcome, in_outbox) = match &turn.deps.stores.owners {
                Some(owners) => fenced_call(turn, owners, call).await,
                None => (plain_call(turn, call).await, false),
            };
            (key, outcome, in_outbox, true)
        }
    });
    let results = join_all(futures).await;
    let mut out = Vec::with_capacity(results.len());
    for (key, outcome, in_outbox, ran) in results {
        if ran {
            cache.insert(key, outcome.clone());
        }
        out.push((outcome, in_outbox));
    }
    out
}

fn tool_context<'a>(turn: &'a TurnContext, stores: &'a crate::store::Stores) -> ToolContext<'a> {
    ToolContext {
        principal: &turn.principal,
        thread: turn.thread(),
        stores,
        offered: AgentSpec::of(turn.thread().agent_type).tools,
    }
}

/// One call on the pool, then its audit row: a single node, or a thread this node holds no
/// claim on (which a running turn's thread always is).
async fn plain_call(turn: &TurnContext, call: &ToolCall) -> ToolOutcome {
    let started = Instant::now();
    let stores = &turn.deps.stores;
    let outcome = tools::execute(&tool_context(turn, stores), &call.name, &call.arguments).await;
    audit(turn, &stores.domain, call, &outcome, started.elapsed()).await;
    outcome
}

/// One call in a cluster: fence, handler, audit and outbox row in one transaction (see the
/// module doc). Whether the change went to the outbox.
async fn fenced_call(
    turn: &TurnContext,
    owners: &crate::store::OwnerStore,
    call: &ToolCall,
) -> (ToolOutcome, bool) {
    let started = Instant::now();
    let stores = &turn.deps.stores;
    let thread_id = &turn.thread().id;
    let moved = "this conversation moved to another server; nothing was changed";
    let epoch = match owners.guard(thread_id) {
        Ok(Some(epoch)) => epoch,
        // Not held here (cannot happen for a running turn): the plain path.
        Ok(None) => return (plain_call(turn, call).await, false),
        Err(_) => return (tools::failed(&call.name, moved), false),
    };
    let txn = match sea_orm::TransactionTrait::begin(&stores.db).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(tool = %call.name, error = %e, "cannot start the tool's transaction");
            return (tools::failed(&call.name, tools::STORE_FAILED), false);
        }
    };
    if let Err(e) = owners.check(&txn, thread_id, epoch).await {
        tracing::warn!(tool = %call.name, error = %e, "tool not run: the thread is not this node's");
        return (tools::failed(&call.name, moved), false);
    }
    let txn = std::sync::Arc::new(txn);
    let mut in_txn = stores.clone();
    in_txn.domain = stores.domain.in_transaction(txn.clone());
    let outcome = tools::execute(&tool_context(turn, &in_txn), &call.name, &call.arguments).await;
    audit(turn, &in_txn.domain, call, &outcome, started.elapsed()).await;
    let mut in_outbox = false;
    if let Some((venue_id, event_id, summary)) = &outcome.changed_event {
        let change = crate::store::OutboxChange {
            venue_id: venue_id.clone(),
            event_id: event_id.clone(),
            summary: summary.clone(),
            origin_thread: Some(thread_id.clone()),
        };
        match crate::store::OutboxStore::append_on(&*txn, &change, owners.node_id()).await {
            Ok(_) => in_outbox = true,
            Err(e) => {
                tracing::error!(tool = %call.name, error = %e, "cannot write the change to the outbox")
            }
        }
    }
    drop(in_txn);
    let committed = match std::sync::Arc::try_unwrap(txn) {
        Ok(txn) => txn.commit().await.map_err(|e| e.to_string()),
        Err(_) => Err("the tool's transaction is still shared".to_owned()),
    };
    match committed {
        Ok(()) => (outcome, in_outbox),
        Err(e) => {
            crate::metrics::global().db_errors.inc();
            tracing::error!(tool = %call.name, error = %e, "cannot commit the tool's writes");
            (tools::failed(&call.name, tools::STORE_FAILED), false)
        }
    }
}

async fn audit(
    turn: &TurnContext,
    domain: &crate::store::DomainStore,
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
    if let Err(e) = domain.record_tool_call(record).await {
        crate::metrics::global().db_errors.inc();
        tracing::error!(error = ?e, "cannot write the tool-call audit row");
    }
}
