//! Which node serves a request (issue #17): in a cluster, a request that needs a thread's
//! live actor and reaches a node that does not run it is forwarded to the thread's owner
//! (`cluster::forward`); everything else is served where it arrived.
//!
//! A request is served here when there is no cluster, when another node already forwarded it
//! (it is never forwarded twice), when this node runs the thread's actor and still holds
//! its claim, or when the thread has no live owner (this node then claims it). Turns are
//! found by id in the node's own turn index; a turn of another node is found through its
//! run row, which names its thread, while it runs ([`locate_turn`]).

use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use bytes::Bytes;

use crate::auth::Principal;
use crate::auth::principal::Forwarded;
use crate::cluster::forward::{Forward, forward};
use crate::error::ApiError;
use crate::limits::StreamSlot;
use crate::state::AppState;
use crate::store::Owner;

/// Whether another cluster node forwarded this request.
pub fn is_forwarded(req: &HttpRequest) -> bool {
    req.extensions().get::<Forwarded>().is_some()
}

/// The internal address of the node that must serve a request for `thread_id`, when it is
/// not this one.
pub async fn owner_elsewhere(
    state: &AppState,
    req: &HttpRequest,
    thread_id: &str,
) -> Result<Option<String>, ApiError> {
    let Some(cluster) = &state.cluster else {
        return Ok(None);
    };
    if is_forwarded(req) || state.registry.serves_here(thread_id) {
        return Ok(None);
    }
    match cluster.owners().owner(thread_id).await? {
        Owner::Elsewhere { address, node_id } => {
            tracing::debug!(thread_id, owner = %node_id, path = req.path(), "forwarding to the thread's owner");
            Ok(Some(address))
        }
        Owner::Here => Ok(None),
    }
}

/// Where a turn this node does not know is, in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnPlace {
    /// This node's (or no cluster, or already forwarded, or no such running turn).
    Here,
    /// Running on another live node: its internal address.
    Elsewhere(String),
    /// Its run row is still there but its node is not live: a turn a dead node left running
    /// (not yet closed by the claim of its thread), in this thread. A client resuming it
    /// gets one retryable `error` event.
    Orphaned(String),
}

/// Where the turn `turn_id` runs: found in this node's turn index, else through its run
/// row, which names its thread, while it runs.
pub async fn locate_turn(
    state: &AppState,
    req: &HttpRequest,
    turn_id: &str,
) -> Result<TurnPlace, ApiError> {
    if state.cluster.is_none() || is_forwarded(req) || state.registry.turn(turn_id).is_some() {
        return Ok(TurnPlace::Here);
    }
    let Some(thread_id) = state.stores.runs.thread_of_turn(turn_id).await? else {
        return Ok(TurnPlace::Here);
    };
    Ok(match owner_elsewhere(state, req, &thread_id).await? {
        Some(address) => TurnPlace::Elsewhere(address),
        None => TurnPlace::Orphaned(thread_id),
    })
}

/// Forwards `req` (with `body`) to the node at `address` and answers with its response.
pub async fn forward_to(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    address: &str,
    body: Bytes,
    slot: Option<StreamSlot>,
) -> Result<HttpResponse, ApiError> {
    let Some(cluster) = &state.cluster else {
        return Err(ApiError::internal("forwarding without a cluster"));
    };
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(ApiError::internal)?;
    let path = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |p| p.as_str());
    forward(
        cluster,
        Forward {
            address,
            method,
            path_and_query: path,
            headers: req.headers(),
            principal,
            body,
            slot,
        },
    )
    .await
}
