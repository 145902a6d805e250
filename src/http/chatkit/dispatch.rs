//! The request router: one ChatKit envelope in, a JSON body or an SSE stream out.
//!
//! Every operation is scoped to the authenticated principal. Everything that can be checked
//! before a stream starts is checked here, so a bad request gets an HTTP 4xx and changes
//! nothing; only failures inside a turn become in-stream `error` events.

use super::{attachments, idempotency, streaming, threads};
use std::sync::Arc;

use serde_json::Value;

use super::streaming::SendOptions;
use crate::actors::ThreadHandle;
use crate::actors::attach::Snapshot;
use crate::actors::send_keys::Target;
use crate::actors::turn_log::TurnLog;
use crate::auth::Principal;
use crate::chatkit::request::{Envelope, Request};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Order as StoreOrder;

/// What a request produces.
pub enum Reply {
    Json(Value),
    /// The turn this request started (or queued).
    Stream(TurnStream),
    /// `eventchat.attach` (`attach.rs`): the running turn's snapshot, or `None` (no turn).
    Attach(Option<Snapshot>),
    /// A repeat of a send (same idempotency key): the first send's turn, read from its start.
    /// This request did not start the turn, so the loss of its connection cancels nothing.
    Repeat(Arc<TurnLog>),
}

/// A streaming request's turn: the log its body reads, and the thread's actor, to tell when
/// the client goes away.
pub struct TurnStream {
    pub log: Arc<TurnLog>,
    pub handle: ThreadHandle,
}

/// Where the request came from, for URLs the server hands out (upload descriptors).
pub struct Origin {
    /// e.g. `http://127.0.0.1:8000`
    pub base_url: String,
}

fn json(v: impl serde::Serialize) -> Result<Reply, ApiError> {
    serde_json::to_value(v)
        .map(Reply::Json)
        .map_err(ApiError::internal)
}

pub(crate) fn store_order(o: crate::chatkit::Order) -> StoreOrder {
    match o {
        crate::chatkit::Order::Asc => StoreOrder::Asc,
        crate::chatkit::Order::Desc => StoreOrder::Desc,
    }
}

/// Handles one request.
pub async fn dispatch(
    state: &AppState,
    principal: &Principal,
    env: Envelope,
    origin: &Origin,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    let limits = &state.settings.limits;
    let meta_len = serde_json::to_vec(&env.metadata).map_or(0, |v| v.len());
    if meta_len > limits.max_metadata_bytes {
        return Err(ApiError::PayloadTooLarge(format!(
            "metadata is {meta_len} bytes; the limit is {}",
            limits.max_metadata_bytes
        )));
    }
    match env.request {
        Request::GetThread(p) => json(threads::get_by_id(state, principal, &p.thread_id).await?),
        Request::ListThreads(p) => json(threads::list(state, principal, p, &env.metadata).await?),
        Request::ListItems(p) => json(threads::list_items(state, principal, p).await?),
        Request::UpdateThread(p) => json(threads::update(state, principal, p).await?),
        Request::DeleteThread(p) => {
            threads::delete(state, principal, &p.thread_id).await?;
            json(crate::chatkit::EmptyResponse {})
        }
        Request::Feedback(p) => {
            threads::feedback(state, principal, p).await?;
            json(crate::chatkit::EmptyResponse {})
        }
        Request::CreateAttachment(p) => {
            json(attachments::create(state, principal, p, origin).await?)
        }
        Request::DeleteAttachment(p) => {
            attachments::delete(state, principal, &p.attachment_id).await?;
            json(crate::chatkit::EmptyResponse {})
        }
        Request::Transcribe(p) => json(attachments::transcribe(p)?),
        Request::SyncCustomAction(p) => {
            json(threads::sync_custom_action(state, principal, p).await?)
        }
        // The two sends may carry an idempotency key (header or metadata): a repeat attaches
        // to the first send's turn instead of running.
        Request::CreateThread(p) => {
            let opts = idempotency::with_metadata_key(opts, &env.metadata)?;
            let send = streaming::create(state, principal, p, &env.metadata, &opts);
            idempotency::once(state, principal, &opts, Target::NewThread, send).await
        }
        Request::AddUserMessage(p) => {
            let opts = idempotency::with_metadata_key(opts, &env.metadata)?;
            let target = Target::Thread(p.thread_id.clone());
            let send = streaming::add_user_message(state, principal, p, &opts);
            idempotency::once(state, principal, &opts, target, send).await
        }
        Request::AddClientToolOutput(p) => {
            streaming::add_client_tool_output(state, principal, p, opts).await
        }
        Request::AddStructuredInput(p) => {
            streaming::add_structured_input(state, principal, p, opts).await
        }
        Request::RetryAfterItem(p) => streaming::retry(state, principal, p, opts).await,
        Request::CustomAction(p) => streaming::custom_action(state, principal, p, opts).await,
    }
}

/// Checks an id taken from a request before it reaches a query.
pub fn check_id(id: &str, what: &str) -> Result<(), ApiError> {
    if crate::chatkit::ids::validate_id(id, None) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("invalid {what} id")))
    }
}
