//! `threads.custom_action` with the action type `eventchat.attach`: a page that reloaded (or
//! opened a second tab) while a turn runs follows that turn again, through the widget's own
//! stream handling (`chatkit.sendCustomAction({type: "eventchat.attach"})`).
//!
//! The stream is the running turn's snapshot (one `thread.item.added` per unfinished item,
//! with its content so far, oldest first) and then the turn's frames after the snapshot's
//! number, to the turn's end (`actors::attach`, `http::sse_body::attached_body`);
//! `X-Eventchat-Turn` names the turn. On a thread with no running turn the answer is a
//! stream that ends at once, with no event and no turn header: "nothing to follow" is not an
//! error, and the widget takes an ended stream as a finished turn.
//!
//! An attach is a reader only: it does not go through the turn queue, starts no turn, stores
//! no hidden action note (the model never sees it), and its connection going away cancels
//! nothing. `item_id` and `payload` are not needed and are ignored. Only the thread's owner
//! may attach; anyone else gets the 404 a foreign thread gets.

use std::time::Duration;

use actix_web::HttpResponse;

use super::dispatch::{Reply, check_id};
use super::stream_response;
use super::threads::load;
use crate::actors::attach::Snapshot;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::sse_body::attached_body;
use crate::limits::StreamSlot;
use crate::state::AppState;

/// The action type that attaches instead of starting a turn.
pub const ATTACH_ACTION: &str = "eventchat.attach";

/// The running turn's snapshot, or `None` when the thread has no running turn.
pub(super) async fn attach(
    state: &AppState,
    p: &Principal,
    thread_id: &str,
) -> Result<Reply, ApiError> {
    check_id(thread_id, "thread")?;
    // A live actor's record answers ownership without a query; a thread with no live
    // actor runs no turn, and is only checked to be the principal's.
    let snapshot = match state.registry.live_record(thread_id, &p.user_id) {
        Some(_) => match state.registry.live_thread(thread_id) {
            Some(handle) => handle.attach().await?,
            None => None,
        },
        None => {
            load(state, p, thread_id).await?;
            None
        }
    };
    Ok(Reply::Attach(snapshot))
}

/// The attach's `text/event-stream` response.
pub(super) fn response(
    state: &AppState,
    snapshot: Option<Snapshot>,
    slot: Option<StreamSlot>,
) -> HttpResponse {
    match snapshot {
        Some(Snapshot { frames, log, seq }) => {
            let keep_alive = Duration::from_secs(state.settings.server.sse_keep_alive_secs);
            let turn_id = log.turn_id.clone();
            let body = attached_body(frames, log, seq, keep_alive);
            stream_response(Some(&turn_id), body, slot)
        }
        None => stream_response(None, futures::stream::empty(), slot),
    }
}
