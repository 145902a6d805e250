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
//! - `threads.custom_action`: `stream_options`, then the responder's events.
//!
//! The user message is durable before its `thread.item.done` is sent: its write runs while
//! the model request is prepared and sent, and every event waits behind it. A failure after the
//! stream started ends it with exactly one `error` event. The handler validated the request
//! before the stream started; what is checked again here could only have changed while the
//! input waited in the queue.

use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::answer::answer_structured_input;
use super::convert::{item_from_record, thread_to_wire};
use super::ids::{IdPrefix, new_id};
use super::responder::{RespondInput, TurnContext, TurnError};
use super::time::now_micros;
use super::transcript::Transcript;
use super::{Action, StructuredInputSubmission, ThreadItem, ThreadStreamEvent, UserMessageInput};
use crate::actors::thread_actor::CachedContext;
use crate::auth::Principal;
use crate::store::{ItemRecord, ThreadRecord};

pub use super::responder::TurnDeps;

/// A streaming request, validated, waiting for or running its turn.
#[derive(Debug, Clone)]
pub enum TurnInput {
    /// `threads.create`; the thread row already exists.
    Create {
        input: UserMessageInput,
    },
    UserMessage {
        input: UserMessageInput,
    },
    ClientToolOutput {
        result: Value,
    },
    StructuredInput {
        item_id: String,
        submission: StructuredInputSubmission,
    },
    Retry {
        item_id: String,
    },
    CustomAction {
        item_id: Option<String>,
        action: Action,
    },
}

/// What a turn sends back to its actor.
pub enum TurnOutput {
    Event(ThreadStreamEvent),
    Finished(TurnSummary),
}

/// The end of a turn.
pub struct TurnSummary {
    pub thread: ThreadRecord,
    pub awaiting_tool: bool,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub failed: bool,
    /// A context the responder rebuilt, for the actor to cache.
    pub context: Option<CachedContext>,
    /// The thread's items as the turn left them, for the actor to keep.
    pub transcript: Option<Transcript>,
}

/// The text the reference stores when a stream is cancelled (protocol §5).
pub const CANCELLED_NOTE: &str =
    "The user cancelled the stream. Stop responding to the prior request.";

/// Runs a whole turn and reports its end; never panics on bad data.
pub async fn run_turn(
    deps: TurnDeps,
    thread: ThreadRecord,
    principal: Principal,
    input: TurnInput,
    context: Option<CachedContext>,
    transcript: Option<Transcript>,
    out: mpsc::UnboundedSender<TurnOutput>,
) {
    let started = Instant::now();
    let metrics = crate::metrics::global();
    metrics.turns_total.inc();
    let mut turn = TurnContext::new(
        deps.clone(),
        principal,
        thread,
        out.clone(),
        context,
        transcript,
    );
    let result = match drive(&mut turn, input).await {
        // Events still held behind a background write go out (or the write's failure
        // becomes the turn's error) before the turn reports its end.
        Ok(()) => turn.settle().await,
        Err(e) => match turn.settle().await {
            Ok(()) => Err(e),
            Err(write) => {
                tracing::error!(error = %write, "the user message could not be stored");
                Err(e)
            }
        },
    };
    let failed = result.is_err();
    if let Err(e) = result {
        metrics.turn_errors.inc();
        match &e {
            TurnError::Internal(detail) => tracing::error!(error = %detail, "turn failed"),
            other => tracing::info!(error = %other, "turn ended with an error event"),
        }
        turn.send_raw(e.to_event());
        // The thread may have changed before the failure (protocol §7.6).
        if let Err(e) = turn.announce_thread_change().await {
            tracing::error!(error = %e, "cannot save thread after a failed turn");
        }
    }
    let (tin, tout) = (turn.tokens_in, turn.tokens_out);
    let thread_id = turn.thread().id.clone();
    metrics.turn_latency.observe(started.elapsed());
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
        thread: {
            let (tin, tout) = (as_i64(turn.tokens_in), as_i64(turn.tokens_out));
            let mut t = turn.into_thread();
            t.tokens_in = t.tokens_in.saturating_add(tin);
            t.tokens_out = t.tokens_out.saturating_add(tout);
            t
        },
    };
    let _ = out.send(TurnOutput::Finished(summary));
    // Accounting after the stream has ended: the client does not wait for it. The increment
    // is atomic, so a next turn that already started cannot lose it.
    if tin + tout > 0 {
        metrics.llm_tokens_in.add(tin);
        metrics.llm_tokens_out.add(tout);
        if let Err(e) = deps
            .stores
            .threads
            .add_token_usage(&thread_id, as_i64(tin), as_i64(tout))
            .await
        {
            tracing::error!(error = ?e, "cannot record token usage");
        }
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn drive(turn: &mut TurnContext, input: TurnInput) -> Result<(), TurnError> {
    let respond_input = match input {
        TurnInput::Create { input } => {
            let wire = thread_to_wire(turn.thread(), Vec::new(), false, None);
            turn.send_raw(ThreadStreamEvent::ThreadCreated { thread: wire });
            let msg = add_user_message(turn, input).await?;
            RespondInput::UserMessage(msg)
        }
        TurnInput::UserMessage { input } => {
            let msg = add_user_message(turn, input).await?;
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
/// the thread id).
async fn add_user_message(
    turn: &mut TurnContext,
    input: UserMessageInput,
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
    // Durable before its `done` goes out, without holding the model request back. Yielding
    // once lets the write's task hand its statement to the database before this turn goes
    // on to build and send the model request, so the `done` is not delayed by that work.
    turn.persist_in_background(&item)?;
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
            && stale.item_type == "client_tool_call"
            && stale.status.as_deref() == Some("pending")
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

/// What a stop keeps (protocol §5): pending assistant messages with text, plus a hidden
/// note for the model.
pub async fn persist_cancelled(deps: &TurnDeps, thread: &ThreadRecord, pending: Vec<ThreadItem>) {
    let stores = &deps.stores;
    for item in pending
        .into_iter()
        .filter(ThreadItem::is_assistant_with_text)
    {
        match super::convert::item_to_record(&item, json!({})) {
            Ok(record) => {
                if let Err(e) = stores.items.upsert_item(thread, &record).await {
                    tracing::error!(error = ?e, "cannot keep partial assistant message");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot encode partial assistant message"),
        }
    }
    let note = hidden_record(
        thread,
        "sdk_hidden_context",
        IdPrefix::SdkHiddenContext,
        Value::String(CANCELLED_NOTE.into()),
    );
    if let Err(e) = stores.items.upsert_item(thread, &note).await {
        tracing::error!(error = ?e, "cannot store cancellation note");
    }
}

/// Leaves a hidden note in the thread that the next turn's history includes.
pub async fn record_context_change(deps: &TurnDeps, thread: &ThreadRecord, summary: &str) {
    let text = format!("Update since the last message: {summary}");
    let note = hidden_record(
        thread,
        "hidden_context_item",
        IdPrefix::Message,
        Value::String(text),
    );
    if let Err(e) = deps.stores.items.upsert_item(thread, &note).await {
        tracing::error!(error = ?e, "cannot record context change");
    }
}

fn hidden_record(
    thread: &ThreadRecord,
    item_type: &str,
    prefix: IdPrefix,
    content: Value,
) -> ItemRecord {
    let id = new_id(prefix);
    let created_at = now_micros();
    ItemRecord {
        content: json!({
            "id": id,
            "thread_id": thread.id,
            "created_at": super::time::format(&created_at),
            "type": item_type,
            "content": content,
        }),
        id,
        thread_id: thread.id.clone(),
        item_type: item_type.to_owned(),
        role: None,
        status: None,
        metadata: json!({}),
        created_at,
    }
}
