//! Live views of the domain: an SSE stream of the changes to the data a page shows.
//!
//! - `GET /api/v1/venues/{venue_id}/changes` (staff of the venue): every change to the
//!   venue's events;
//! - `GET /api/v1/events/{event_id}/changes` (the event's client or its venue's staff): the
//!   changes to that event.
//!
//! The stream starts with `data: {"type":"ready"}` (the page reloads what it shows then, so
//! nothing that changed between its first load and the subscription is missed), then one
//! `data: {"type":"change","venue_id":..,"event_id":..,"summary":..}` per change, and a
//! `: keep-alive` comment while quiet (`server.sse_keep_alive_secs`). A reader that fell
//! behind the feed gets `data: {"type":"resync"}` and reloads. Changes come from the domain
//! bus (`conversation::bus`): the assistants' write tools and the REST API's reviews. The
//! stream is read with `fetch` (it needs the `Authorization` header, which `EventSource`
//! cannot send) and ends when the client goes away.
//!
//! Both routes are registered by the REST API's route table (`http::api`), so they are in
//! its OpenAPI document like every other `/api/v1` route.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::json;
use tokio::sync::broadcast;

use crate::auth::Principal;
use crate::chatkit::sse::KEEP_ALIVE;
use crate::conversation::DomainChange;
use crate::domain::{self, venues};
use crate::error::ApiError;
use crate::state::AppState;

/// Which changes a stream carries.
#[derive(Clone)]
enum Scope {
    Venue(String),
    Event(String),
}

impl Scope {
    fn covers(&self, c: &DomainChange) -> bool {
        match self {
            Self::Venue(v) => &c.venue_id == v,
            Self::Event(e) => &c.event_id == e,
        }
    }
}

/// The live changes of the venue's events (server-sent events).
#[utoipa::path(get, path = "/api/v1/venues/{venue_id}/changes", operation_id = "venueChanges",
    tag = "changes",
    params(("venue_id" = String, Path, description = "The venue id")),
    responses(
        (status = 200, description = "`ready`, then one `change` per change (`venue_id`, `event_id`, `summary`), `resync` after a lag", content_type = "text/event-stream"),
        (status = 401, body = super::api::openapi::ErrorBody),
        (status = 403, body = super::api::openapi::ErrorBody),
        (status = 404, body = super::api::openapi::ErrorBody),
    ))]
pub async fn venue(
    state: web::Data<AppState>,
    p: Principal,
    venue_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = venue_id.into_inner();
    // Unknown venue 404, someone else's 403: the rule of every `/api/v1` venue route.
    venues::staff_venue(&state.stores.domain, &p, &venue_id).await?;
    Ok(stream(&state, Scope::Venue(venue_id)))
}

/// The live changes of one event (server-sent events).
#[utoipa::path(get, path = "/api/v1/events/{event_id}/changes", operation_id = "eventChanges",
    tag = "changes",
    params(("event_id" = String, Path, description = "The event id")),
    responses(
        (status = 200, description = "`ready`, then one `change` per change of the event, `resync` after a lag", content_type = "text/event-stream"),
        (status = 401, body = super::api::openapi::ErrorBody),
        (status = 403, body = super::api::openapi::ErrorBody),
        (status = 404, body = super::api::openapi::ErrorBody),
    ))]
pub async fn event(
    state: web::Data<AppState>,
    p: Principal,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let event = domain::authorized_event(&state.stores.domain, &p, &event_id).await?;
    Ok(stream(&state, Scope::Event(event.id)))
}

fn frame(v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

fn stream(state: &AppState, scope: Scope) -> HttpResponse {
    // Subscribed before the first frame goes out: a change after "ready" is never missed.
    let changes = state.registry.bus().subscribe();
    let keep_alive = Duration::from_secs(state.settings.server.sse_keep_alive_secs.max(1));
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body(changes, scope, keep_alive))
}

/// The frames of one reader: "ready", then its scope's changes, with keep-alives between;
/// it ends when the bus is gone (shutdown).
fn body(
    changes: broadcast::Receiver<DomainChange>,
    scope: Scope,
    keep_alive: Duration,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let ready = futures::stream::once(async { frame(&json!({"type": "ready"})) });
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let live = futures::stream::unfold((changes, ticks), move |(mut rx, mut ticks)| {
        let scope = scope.clone();
        async move {
            let out = loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok(c) if scope.covers(&c) => break frame(&json!({
                            "type": "change",
                            "venue_id": c.venue_id,
                            "event_id": c.event_id,
                            "summary": c.summary,
                        })),
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            break frame(&json!({"type": "resync"}));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = ticks.tick() => break Bytes::from_static(KEEP_ALIVE),
                }
            };
            Some((out, (rx, ticks)))
        }
    });
    ready.chain(live).map(Ok)
}
