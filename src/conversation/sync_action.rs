//! A sync widget action (protocol §3.8, `threads.sync_custom_action`): the responder answers
//! at once, beside the thread's turn queue (the client may send one while a stream runs),
//! with the item that replaces the sender widget or with no update.
//!
//! The reference leaves storing the updated item to the integration; here it is stored
//! before the answer goes out (an upsert, which keeps the widget's place in the thread, with
//! the widget's server metadata), so a reload shows what the client shows. These writes do
//! not pass through the thread's actor: the caller tells a live actor to re-read its items.

use serde_json::json;

use super::convert::{item_from_record, item_to_record};
use super::responder::{SyncAction, TurnDeps};
use crate::auth::Principal;
use crate::chatkit::{Action, ThreadItem};
use crate::error::ApiError;
use crate::store::{ItemRecord, ThreadRecord};

/// Asks the responder, stores an updated item and returns it (`None`: no update).
pub async fn answer_sync_action(
    deps: &TurnDeps,
    thread: &ThreadRecord,
    principal: &Principal,
    action: &Action,
    sender: Option<&ItemRecord>,
) -> Result<Option<ThreadItem>, ApiError> {
    let sender_item = sender
        .map(item_from_record)
        .transpose()
        .map_err(ApiError::internal)?;
    let updated = deps
        .responder
        .sync_action(SyncAction {
            deps,
            thread,
            principal,
            action,
            sender: sender_item.as_ref(),
        })
        .await?;
    let Some(item) = updated else {
        return Ok(None);
    };
    // The answer goes to the client as it is: a hidden item would leak what only the model
    // may see, and an item of another thread is not this thread's to change.
    if item.is_hidden() || item.thread_id != thread.id {
        return Err(ApiError::internal(format!(
            "the responder answered a sync action with item {} ({}) of thread {}",
            item.id,
            item.type_name(),
            item.thread_id
        )));
    }
    let metadata = sender
        .filter(|s| s.id == item.id)
        .map_or_else(|| json!({}), |s| s.metadata.clone());
    let record = item_to_record(&item, metadata).map_err(ApiError::internal)?;
    deps.stores.items.upsert_item(thread, &record).await?;
    Ok(Some(item))
}
