//! The turn-lifecycle endpoints beside the ChatKit endpoint: resume a turn's events after a
//! dropped connection, cancel a turn, find a thread's running turn after a reload.
//!
//! - `POST {chatkit_path}/turns/{turn_id}/events` with `{"after": N}`: the turn's events after
//!   sequence number `N` (from its bounded buffer), then the live tail to the end, as the same
//!   `text/event-stream` a ChatKit request gets. A turn that is gone (ended longer than
//!   `turns.retention_secs` ago, or never existed) answers 410; one whose buffer no longer
//!   holds the events after `N` answers the stream's single `error` event.
//! - `POST {chatkit_path}/turns/{turn_id}/cancel`: stops the turn (running or queued) with the
//!   semantics of the `cancel` policy, whatever the turn's own policy; idempotent; answers
//!   `{"turn_id", "cancelled": "running" | "queued" | "already_over"}`.
//! - `GET {chatkit_path}/threads/{thread_id}/turn`: `{"running": bool, "turn_id"?, "seq"?}`.
//!   To follow that turn in the widget, the page sends the custom action `eventchat.attach`
//!   (`attach.rs`).
//!
//! Only the thread's owner may see or touch its turns: anyone else gets the 404 a foreign
//! thread gets.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::dispatch::check_id;
use super::event_stream;
use super::route::{self, TurnPlace};
use crate::actors::thread_messages::{CancelCause, Cancelled};
use crate::actors::thread_state::Activity;
use crate::actors::turn_log::TurnLog;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::json_body::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeBody {
    /// The last sequence number the client has (0: from the start).
    #[serde(default)]
    pub after: u64,
}

/// The log of a turn of `p`'s: 410 when gone, 404 when someone else's.
fn owned_turn(
    state: &AppState,
    p: &Principal,
    turn_id: &str,
) -> Result<std::sync::Arc<TurnLog>, ApiError> {
    check_id(turn_id, "turn")?;
    let Some(log) = state.registry.turn(turn_id) else {
        crate::metrics::global().turn_replay_misses.inc();
        return Err(ApiError::Gone(format!(
            "turn {turn_id} is over and its events are no longer kept (they are kept for {} s after a turn ends); load the thread's items instead",
            state.settings.turns.retention_secs
        )));
    };
    if log.user_id != p.user_id {
        return Err(ApiError::not_found("turn"));
    }
    Ok(log)
}

pub async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ResumeBody>,
) -> Result<HttpResponse, ApiError> {
    let turn_id = path.into_inner();
    match route::locate_turn(&state, &req, &turn_id).await? {
        TurnPlace::Here => {}
        TurnPlace::Elsewhere(address) => {
            let slot = state.limits.open_stream(&principal.user_id).await?;
            let body =
                serde_json::to_vec(&json!({"after": body.after})).map_err(ApiError::internal)?;
            return route::forward_to(&state, &req, &principal, &address, body.into(), Some(slot))
                .await;
        }
        TurnPlace::Orphaned(thread_id) => {
            // Its node died mid-turn: the stream the client wants will not go on. Its thread
            // (if it is the caller's) is taken over by the next request, or by a sweep.
            state
                .stores
                .threads
                .load_thread(&principal.user_id, &thread_id)
                .await?;
            return Ok(super::interrupted_stream());
        }
    }
    let log = owned_turn(&state, &principal, &turn_id)?;
    crate::metrics::global().turn_resumes.inc();
    let slot = if route::is_forwarded(&req) {
        None
    } else {
        Some(state.limits.open_stream(&principal.user_id).await?)
    };
    Ok(event_stream(&state, log, body.after, None, slot))
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let turn_id = path.into_inner();
    // A dead node's turn is not running: the usual answer (`already_over`, or 410).
    if let TurnPlace::Elsewhere(address) = route::locate_turn(&state, &req, &turn_id).await? {
        return route::forward_to(&state, &req, &principal, &address, Bytes::new(), None).await;
    }
    let log = owned_turn(&state, &principal, &turn_id)?;
    // Still the owner's thread (a deleted one is a 404).
    state
        .stores
        .threads
        .load_thread(&principal.user_id, &log.thread_id)
        .await?;
    let cancelled = match state.registry.live_thread(&log.thread_id) {
        Some(handle) => {
            handle
                .cancel_turn(turn_id.clone(), CancelCause::Explicit)
                .await?
        }
        // No live actor: the turn cannot be running.
        None => Cancelled::AlreadyOver,
    };
    Ok(HttpResponse::Ok().json(json!({"turn_id": turn_id, "cancelled": cancelled})))
}

pub async fn current(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let thread_id = path.into_inner();
    check_id(&thread_id, "thread")?;
    if let Some(address) = route::owner_elsewhere(&state, &req, &thread_id).await? {
        return route::forward_to(&state, &req, &principal, &address, Bytes::new(), None).await;
    }
    state
        .stores
        .threads
        .load_thread(&principal.user_id, &thread_id)
        .await?;
    let (running, activity) = match state.registry.live_thread(&thread_id) {
        Some(handle) => (
            handle.current_turn().await?,
            Some(handle.inspect().await?.state),
        ),
        None => (None, None),
    };
    // `state` is the live indicator of the pages: running, idle, or idle but waiting for
    // the client's answer to a client tool call (a thread with no live actor is idle).
    let activity = match (&running, activity) {
        (Some(_), _) => Activity::Running,
        (None, Some(Activity::AwaitingTool)) => Activity::AwaitingTool,
        (None, _) => Activity::Idle,
    };
    Ok(HttpResponse::Ok().json(match running {
        Some(log) => json!({
            "running": true,
            "state": activity,
            "turn_id": log.turn_id,
            "seq": log.last_seq(),
        }),
        None => json!({"running": false, "state": activity}),
    }))
}
