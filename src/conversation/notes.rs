//! Hidden notes a thread keeps for its model: what a cancelled turn leaves (protocol §5),
//! a domain change that happened between turns, and a widget action. Hidden items are
//! stored like any item and never shown to the client; the history builder gives them to
//! the model as `<HiddenContext>` user messages.

use serde_json::{Value, json};

use super::convert::item_to_record;
use super::responder::TurnDeps;
use crate::chatkit::ThreadItem;
use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::time::now_micros;
use crate::store::{ItemRecord, ThreadRecord};
use crate::vocab::ItemType;

/// The text the reference stores when a stream is cancelled (protocol §5).
pub const CANCELLED_NOTE: &str =
    "The user cancelled the stream. Stop responding to the prior request.";

/// What a stop keeps (protocol §5): pending assistant messages with text, plus a hidden
/// note for the model.
pub async fn persist_cancelled(deps: &TurnDeps, thread: &ThreadRecord, pending: Vec<ThreadItem>) {
    let stores = &deps.stores;
    for item in pending
        .into_iter()
        .filter(ThreadItem::is_assistant_with_text)
    {
        match item_to_record(&item, json!({})) {
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
        ItemType::SdkHiddenContext,
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
        ItemType::HiddenContextItem,
        IdPrefix::Message,
        Value::String(text),
    );
    if let Err(e) = deps.stores.items.upsert_item(thread, &note).await {
        tracing::error!(error = ?e, "cannot record context change");
    }
}

fn hidden_record(
    thread: &ThreadRecord,
    item_type: ItemType,
    prefix: IdPrefix,
    content: Value,
) -> ItemRecord {
    let id = new_id(prefix);
    let created_at = now_micros();
    ItemRecord {
        content: json!({
            "id": id,
            "thread_id": thread.id,
            "created_at": crate::chatkit::time::format(&created_at),
            "type": item_type.as_str(),
            "content": content,
        }),
        id,
        thread_id: thread.id.clone(),
        item_type,
        role: None,
        status: None,
        metadata: json!({}),
        created_at,
    }
}
