//! One turn of a thread, run by its actor: the streaming requests of protocol §3.2–3.7.
//!
//! Event order, as the reference server produces it:
//! - `threads.create`: `thread.created`, `thread.item.done(user_message)`, `stream_options`,
//!   responder events, `thread.updated` if the thread changed;
//! - `threads.add_user_message`: the same without `thread.created`;
//! - `threads.add_client_tool_output`: the pending call is completed in place (no event),
//!   then `stream_options` and the responder's events;
//! - `threads.add_structured_input`: `stream_options`, `thread.item.replaced(answered
//!   item)`, responder events;
//! - `threads.retry_after_item`: the items after the user message are deleted (no removal
//!   events), then `stream_options` and the responder's events for that message;
//! - `threads.custom_action`: the action is stored as a hidden note for the model (no
//!   event), then `stream_options` and the responder's events.
//!
//! The turn's first write is one transaction (`store::runs`): the thread row of a new thread,
//! the user message, and the turn's run row (deleted when the turn ends, so a row left at
//! startup marks a turn a killed process did not finish, see `recovery.rs`). It runs while
//! the model request is prepared and sent; `thread.created`, the message's
//! `thread.item.done` and every later event wait behind it. A failure after the
//! stream started ends it with exactly one `error` event. The handler validated the request
//! before the stream started; what is checked again here could only have changed while the
//! input waited in the queue.

use std::time::Instant;

use serde_json::Value;
use tokio::sync::mpsc;

use super::answer::answer_structured_input;
use super::context::TurnContext;
use super::convert::{item_from_record, thread_to_wire};
use super::io::{TurnInput, TurnOutput, TurnStart, TurnSummary};
use super::notes;
use super::responder::RespondInput;
use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::time::now_micros;
use crate::chatkit::{ThreadItem, ThreadStreamEvent, UserMessageInput};
use crate::error::TurnError;
use crate::vocab::{ItemStatus, ItemType};

/// How long the delete of a turn's run row may take (while the database is away it would
/// otherwise wait a whole acquire timeout).
const RUN_END_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs a whole turn and reports its end; never panics on bad data.
pub async fn run_turn(start: TurnStart, out: mpsc::UnboundedSender<TurnOutput>) {
    let TurnStart {
        deps,
        thread,
        turn_id,
        principal,
        input,
        context,
        transcript,
        cancel,
    } = start;
    let started = Instant::now();
    let metrics = crate::metrics::global();
    metrics.turns_total.inc();
    let mut turn = TurnContext::new(
        deps,
        principal,
        thread,
        turn_id,
        out.clone(),
        context,
        transcript,
        cancel,
    );
    let result = match drive(&mut turn, input).await {
        // Events still held behind a background write go out (or the write's failure
        // becomes the turn's error) before the turn reports its end.
        Ok(()) => turn.settle().await,
        Err(e) => match turn.settle().await {
            Ok(()) => Err(e),
            Err(write) => {
                tracing::error!(error = ?write, "the user message could not be stored");
                Err(e)
            }
        },
    };
    let failed = result.is_err();
    if let Err(TurnError::Cancelled) = result {
        // What the reference keeps on a stop (protocol §5): the partial answer (stored as the
        // responder finished it) and a hidden note for the model; no error for the client.
        if let Err(e) = cancelled(&mut turn).await {
            tracing::error!(error = ?e, "cannot record the cancellation");
        }
    } else if let Err(e) = result {
        metrics.turn_errors.inc();
        e.log();
        turn.send_raw(e.to_event());
        // The thread may have changed before the failure (protocol §7.6).
        if let Err(e) = turn.announce_thread_change().await {
            tracing::error!(error = ?e, "cannot save thread after a failed turn");
        }
    }
    // The turn's last write, on its own task, off the turn's critical path (awaited here it
    // cost a quarter of scenario (a)'s throughput, docs/performance.md 2026-12-03): the
    // token usage and the run row's delete, one transaction. A row that a stopping process
    // never deleted is harmless: startup sees that the turn's answer was finished and only
    // drops the row (`recovery.rs`). The delete names the turn, so it never removes the row
    // of the thread's next turn.
    let (thread_id, turn_id) = (turn.thread().id.clone(), turn.turn_id.clone());
    let usage = (as_i64(turn.tokens_in), as_i64(turn.tokens_out));
    let runs = turn.deps.stores.runs.clone();
    tokio::spawn(async move {
        match tokio::time::timeout(RUN_END_WAIT, runs.finish(&thread_id, &turn_id, usage)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot record the turn's end"),
            Err(_) => tracing::warn!("the turn's end was not recorded in time"),
        }
    });
    metrics.turn_latency.observe(started.elapsed());
    if turn.tokens_in + turn.tokens_out > 0 {
        metrics.llm_tokens_in.add(turn.tokens_in);
        metrics.llm_tokens_out.add(turn.tokens_out);
    }
    let summary = TurnSummary {
        awaiting_tool: turn.awaiting_tool,
        tokens_in: turn.tokens_in,
        tokens_out: turn.tokens_out,
        failed,
        context: if turn.context_rebuilt {
            turn.context.clone()
        } else {
            None
        },
        transcript: turn.transcript.take(),
    };
    let _ = out.send(TurnOutput::Finished(summary));
}

/// Leaves the hidden note that tells the model the user stopped the previous answer.
async fn cancelled(turn: &mut TurnContext) -> Result<(), TurnError> {
    let note = notes::cancelled_note(&turn.thread().id);
    turn.emit(ThreadStreamEvent::ItemDone { item: note })
        .await?;
    turn.announce_thread_change().await
}

async fn drive(turn: &mut TurnContext, input: TurnInput) -> Result<(), TurnError> {
    if !matches!(
        input,
        TurnInput::Create { .. } | TurnInput::UserMessage { .. }
    ) {
        // These inputs store no message first: the run row alone starts their turn.
        turn.begin_in_background(false, None, Vec::new())?;
    }
    let respond_input = match input {
        TurnInput::Create { input, send_key } => {
            let msg = add_user_message(turn, input, true, send_key).await?;
            RespondInput::UserMessage(msg)
        }
        TurnInput::UserMessage { input, send_key } => {
            let msg = add_user_message(turn, input, false, send_key).await?;
            RespondInput::UserMessage(msg)
        }
        TurnInput::ClientToolOutput { result } => {
            complete_client_tool_call(turn, result).await?;
            RespondInput::Continue
        }
        TurnInput::Retry { item_id } => {
            let msg = prepare_retry(turn, &item_id).await?;
            RespondInput::UserMessage(msg)
        }
        TurnInput::StructuredInput {
            item_id,
            submission,
        } => {
            let item = load_item(turn, &item_id).await?;
            let answered = answer_structured_input(&item, &submission).ok_or_else(|| {
                TurnError::custom("this question has already been answered", false)
            })?;
            turn.send_raw(ThreadStreamEvent::stream_options(true));
            turn.emit(ThreadStreamEvent::ItemReplaced { item: answered })
                .await?;
            turn.input = RespondInput::Continue;
            return respond(turn).await;
        }
        TurnInput::CustomAction { item_id, action } => {
            let sender = match item_id {
                Some(id) => Some(load_item(turn, &id).await?),
                None => None,
            };
            // The action is part of the thread from here on, for this turn's model input and
            // every later one (hidden: stored, never sent; mirrored into the transcript).
            let note = notes::action_note(&turn.thread().id, &action, sender.as_ref());
            turn.persist(&note).await?;
            RespondInput::Action { action, sender }
        }
    };
    turn.send_raw(ThreadStreamEvent::stream_options(true));
    turn.input = respond_input;
    respond(turn).await
}

async fn respond(turn: &mut TurnContext) -> Result<(), TurnError> {
    let responder = turn.deps.responder.clone();
    responder.respond(turn).await?;
    turn.announce_thread_change().await
}

async fn load_item(turn: &TurnContext, item_id: &str) -> Result<ThreadItem, TurnError> {
    let record = turn
        .deps
        .stores
        .items
        .load_item(turn.thread(), item_id)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound(_) => {
                TurnError::custom("that item no longer exists", false)
            }
            other => other.into(),
        })?;
    item_from_record(&record).map_err(TurnError::internal)
}

/// Builds, persists and announces the user message (attachments resolved and stamped with
/// the thread id, the send's idempotency key in its server metadata); for a new thread
/// (`create`) the thread row is written with it, and `thread.created` waits for that write
/// too.
async fn add_user_message(
    turn: &mut TurnContext,
    input: UserMessageInput,
    create: bool,
    send_key: Option<String>,
) -> Result<ThreadItem, TurnError> {
    let stores = turn.deps.stores.clone();
    let thread_id = turn.thread().id.clone();
    let mut attachments = Vec::with_capacity(input.attachments.len());
    for id in &input.attachments {
        let mut record = stores
            .attachments
            .load(&turn.principal.user_id, id)
            .await
            .map_err(|_| TurnError::custom(format!("attachment {id} not found"), false))?;
        record.thread_id = Some(thread_id.clone());
        if let Value::Object(map) = &mut record.data {
            map.insert("thread_id".into(), Value::String(thread_id.clone()));
        }
        stores.attachments.save(&record).await?;
        attachments.push(record.data);
    }
    let item = ThreadItem::user_message(
        new_id(IdPrefix::Message),
        thread_id,
        now_micros(),
        input,
        attachments,
    )
    .map_err(TurnError::internal)?;
    if let Some(key) = send_key {
        turn.set_item_metadata(
            &item.id,
            serde_json::json!({ crate::store::items::SEND_KEY: key }),
        );
    }
    // Durable before its `done` goes out, without holding the model request back. Yielding
    // once lets the write's task hand its statement to the database before this turn goes
    // on to build and send the model request, so the `done` is not delayed by that work.
    let mut held = Vec::with_capacity(2);
    if create {
        let wire = thread_to_wire(turn.thread(), Vec::new(), false, None);
        held.push(ThreadStreamEvent::ThreadCreated { thread: wire });
    }
    held.push(ThreadStreamEvent::ItemDone { item: item.clone() });
    turn.begin_in_background(create, Some(&item), held)?;
    tokio::task::yield_now().await;
    Ok(item)
}

/// Records the client's tool output on the pending call (found even behind hidden items),
/// and removes any other stale pending call, as the reference does.
async fn complete_client_tool_call(turn: &mut TurnContext, result: Value) -> Result<(), TurnError> {
    let stores = turn.deps.stores.clone();
    let record = stores
        .items
        .pending_client_tool_call(turn.thread())
        .await?
        .ok_or_else(|| {
            TurnError::custom("there is no pending client tool call in this thread", false)
        })?;
    let mut item = item_from_record(&record).map_err(TurnError::internal)?;
    if !item.complete_client_tool_call(result) {
        return Err(TurnError::internal(
            "pending call is not a client tool call",
        ));
    }
    let metadata = record.metadata.clone();
    turn.set_item_metadata(&item.id, metadata);
    turn.persist(&item).await?;
    for stale in stores.items.newest_items(turn.thread(), 20).await? {
        if stale.id != item.id
            && stale.item_type == ItemType::ClientToolCall
            && stale.status == Some(ItemStatus::Pending)
        {
            tracing::warn!(item_id = %stale.id, "removing a stale pending client tool call");
            turn.forget_transcript();
            stores.items.delete_item(turn.thread(), &stale.id).await?;
        }
    }
    Ok(())
}

/// Deletes every item after the user message being retried and returns that message.
async fn prepare_retry(turn: &mut TurnContext, item_id: &str) -> Result<ThreadItem, TurnError> {
    let item = load_item(turn, item_id).await?;
    if !item.is_user_message() {
        return Err(TurnError::custom(
            "only a user message can be retried",
            false,
        ));
    }
    turn.forget_transcript();
    let n = turn
        .deps
        .stores
        .items
        .delete_items_after(turn.thread(), item_id)
        .await?;
    tracing::debug!(deleted = n, "retry removed later items");
    Ok(item)
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
