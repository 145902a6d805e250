//! Closing, at startup, the turns a dead process left running (issue #20).
//!
//! A turn writes its run row with its first write and deletes it when it ends
//! (`store::runs`); while it streams an answer, the answer is stored as it stands about once
//! a second (`TurnContext::snapshot`, status `in_progress`, invisible to listings). So a row
//! found when the server starts is a turn that was killed (kill -9, a crash, the machine),
//! and its thread may hold a snapshot of the answer it was writing. Each such turn is closed
//! before the server takes requests:
//!
//! - every `in_progress` snapshot of the thread becomes an ordinary assistant message with
//!   the text it had, marked `incomplete: interrupted` in its server metadata, so the user
//!   sees the partial text the stream had shown;
//! - a hidden note follows it ([`CutOff::Interrupted`]), so the model's next turn knows the
//!   reply was cut off (or that the message got no reply at all), and the history stays a
//!   coherent conversation instead of two user messages in a row without a word;
//! - the run row goes.
//!
//! A row whose thread shows a finished answer (no snapshot, and the newest visible item is
//! not the user's message) is a turn that ended but whose row's delete, which runs on its own
//! task, was lost when the process stopped: only the row goes.
//!
//! A failure on one thread is logged and leaves its row for the next start; it does not stop
//! the server.
//!
//! In a cluster (issue #17) startup closes nothing: the other nodes' turns are running. A
//! turn is dead when its node is, and the node that claims the thread from the dead one
//! closes it with [`close_thread`] before its own actor starts; the claim has already moved
//! the fence, so nothing the old node might still write lands after it.

use serde_json::json;

use super::convert::item_to_record;
use super::notes::{CutOff, cut_off_note};
use crate::store::{Order, RunRecord, StoreError, StoreResult, Stores, Visibility};

/// What startup closed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Turns that were running when the process died, closed.
    pub turns: usize,
    /// Partial answers kept (marked interrupted).
    pub partial_answers: usize,
    /// Rows of turns that had finished (only their delete was lost), dropped.
    pub stale_rows: usize,
}

/// What closing one run row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    /// The turn was running: its partial answers (this many) were kept and marked, and the
    /// cut-off note written.
    Interrupted { partial_answers: usize },
    /// The turn had finished, or its thread is gone: only the row was dropped.
    StaleRow,
}

/// Closes every turn whose run row is still there (see the module doc).
pub async fn close_abandoned_turns(stores: &Stores) -> StoreResult<Recovered> {
    let mut done = Recovered::default();
    for run in stores.runs.open().await? {
        match close(stores, &run).await {
            Ok(Closed::Interrupted { partial_answers }) => {
                done.turns += 1;
                done.partial_answers += partial_answers;
                tracing::info!(
                    thread_id = %run.thread_id,
                    turn_id = %run.turn_id,
                    partial_answers,
                    "closed a turn the previous process left running"
                );
            }
            Ok(Closed::StaleRow) => {
                done.stale_rows += 1;
                tracing::debug!(
                    thread_id = %run.thread_id,
                    turn_id = %run.turn_id,
                    "dropped the run row of a turn that had finished"
                );
            }
            Err(e) => tracing::error!(
                error = %e,
                thread_id = %run.thread_id,
                "cannot close a turn the previous process left running"
            ),
        }
    }
    Ok(done)
}

/// Closes the turn `thread_id`'s previous owner left running, if its row is still there;
/// returns how many partial answers it kept. Only for a thread this node just claimed.
pub async fn close_thread(stores: &Stores, thread_id: &str) -> StoreResult<usize> {
    let Some(run) = stores.runs.find(thread_id).await? else {
        return Ok(0);
    };
    match close(stores, &run).await? {
        Closed::Interrupted { partial_answers } => {
            tracing::warn!(
                thread_id,
                turn_id = %run.turn_id,
                partial_answers,
                "closed the turn a dead node left running"
            );
            Ok(partial_answers)
        }
        Closed::StaleRow => Ok(0),
    }
}

/// Closes one abandoned turn.
async fn close(stores: &Stores, run: &RunRecord) -> StoreResult<Closed> {
    let thread = match stores.threads.load_thread_unscoped(&run.thread_id).await {
        Ok(t) => t,
        // A deleted thread has nothing left to close.
        Err(StoreError::NotFound(_)) => {
            stores.runs.end(&run.thread_id, &run.turn_id).await?;
            return Ok(Closed::StaleRow);
        }
        Err(e) => return Err(e),
    };
    let partial = stores.items.in_progress(&thread).await?;
    for mut record in partial.iter().cloned() {
        record.status = None;
        CutOff::Interrupted.mark(&mut record.metadata);
        stores.items.upsert_item(&thread, &record).await?;
    }
    if partial.is_empty() && answered(stores, &thread).await? {
        // The turn finished; only its row's delete (on its own task) was lost.
        stores.runs.end(&run.thread_id, &run.turn_id).await?;
        return Ok(Closed::StaleRow);
    }
    let note = cut_off_note(&thread.id, CutOff::Interrupted, !partial.is_empty());
    let note = item_to_record(&note, json!({})).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    stores.items.upsert_item(&thread, &note).await?;
    stores.runs.end(&run.thread_id, &run.turn_id).await?;
    Ok(Closed::Interrupted {
        partial_answers: partial.len(),
    })
}

/// Whether the thread's newest visible item is something other than a user message: the
/// turn that the row names got to the end of its answer (or its tool call).
async fn answered(stores: &Stores, thread: &crate::store::ThreadRecord) -> StoreResult<bool> {
    let newest = stores
        .items
        .load_items(thread, None, 1, Order::Desc, Visibility::Visible)
        .await?;
    Ok(newest
        .data
        .first()
        .is_some_and(|i| i.item_type != crate::vocab::ItemType::UserMessage))
}
