//! The request `metadata` of `threads.create`: which assistant, for which venue and event.
//!
//! ChatKit.js integrations send `agentType`, `eventId` and `venueId` (the seed's
//! ChatKitWrapper); snake_case spellings are accepted too. A missing required field is a 400
//! naming it; a combination the principal may not use is a 403. What is decided here is
//! stored on the thread, and later requests use the stored values, never new claims.

use serde_json::{Map, Value};

use crate::agents::spec::{AgentSpec, MetadataField};
use crate::auth::Principal;
use crate::auth::access::{self, EventRef};
use crate::error::ApiError;
use crate::state::AppState;
use crate::vocab::AgentType;

/// What a new thread is bound to.
pub struct ThreadPlan {
    pub agent_type: AgentType,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
    pub metadata: Map<String, Value>,
}

fn field<'a>(meta: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a str> {
    meta.get(camel)
        .or_else(|| meta.get(snake))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn required<'a>(
    meta: &'a Map<String, Value>,
    camel: &'static str,
    snake: &str,
) -> Result<&'a str, ApiError> {
    field(meta, camel, snake).ok_or(ApiError::MissingMetadata(camel))
}

fn forbidden(msg: &str) -> ApiError {
    ApiError::Forbidden(msg.to_owned())
}

/// Checks the requested venue and event against the principal and returns what the thread
/// is bound to: an event alone brings its venue (`client`), a venue alone must be the
/// principal's (`venue_general`), both must be the principal's venue and an event there
/// (`venue_event`).
async fn bind(
    state: &AppState,
    p: &Principal,
    venue_id: Option<&str>,
    event_id: Option<&str>,
) -> Result<(String, Option<String>), ApiError> {
    let events = &state.stores.domain;
    match (venue_id, event_id) {
        (None, Some(event_id)) => {
            let event = events
                .event_ref(event_id)
                .await?
                .ok_or_else(|| forbidden("you may not use this event"))?;
            let ok = access::can_access_event(
                p,
                EventRef {
                    venue_id: &event.venue_id,
                    client_id: &event.client_id,
                },
            );
            if !ok {
                return Err(forbidden("you may not use this event"));
            }
            Ok((event.venue_id, Some(event.id)))
        }
        (Some(venue_id), None) => {
            if !access::can_access_venue(p, venue_id) {
                return Err(forbidden("you may not use this venue"));
            }
            Ok((venue_id.to_owned(), None))
        }
        (Some(venue_id), Some(event_id)) => {
            if !access::can_access_venue(p, venue_id) {
                return Err(forbidden("you may not use this venue"));
            }
            let event = events
                .event_ref(event_id)
                .await?
                .ok_or_else(|| forbidden("you may not use this event"))?;
            if event.venue_id != venue_id {
                return Err(forbidden("that event is not at this venue"));
            }
            Ok((event.venue_id, Some(event.id)))
        }
        // Every spec requires a venue or an event (tested in `agents::spec`).
        (None, None) => Err(ApiError::internal("assistant requires no venue or event")),
    }
}

pub async fn plan_thread(
    state: &AppState,
    p: &Principal,
    meta: &Map<String, Value>,
) -> Result<ThreadPlan, ApiError> {
    let raw = required(meta, "agentType", "agent_type")?;
    let agent_type = AgentType::parse(raw).map_err(|_| {
        ApiError::bad_request(format!(
            "unknown agentType {raw:?}; expected client, venue_general or venue_event"
        ))
    })?;
    access::may_use_agent(p, agent_type).map_err(|d| forbidden(d.0))?;
    // Only the fields the assistant requires are read; anything else sent is ignored.
    let (mut venue_id, mut event_id) = (None, None);
    for &f in AgentSpec::of(agent_type).required_metadata {
        let value = Some(required(meta, f.key(), f.snake_key())?);
        match f {
            MetadataField::VenueId => venue_id = value,
            MetadataField::EventId => event_id = value,
        }
    }
    let (venue_id, event_id) = bind(state, p, venue_id, event_id).await?;
    let mut metadata = Map::new();
    metadata.insert(
        "agent_type".into(),
        Value::String(agent_type.as_str().to_owned()),
    );
    metadata.insert("venue_id".into(), Value::String(venue_id.clone()));
    if let Some(e) = &event_id {
        metadata.insert("event_id".into(), Value::String(e.clone()));
    }
    metadata.insert(
        "user_type".into(),
        Value::String(p.user_type.as_str().to_owned()),
    );
    Ok(ThreadPlan {
        agent_type,
        venue_id: Some(venue_id),
        event_id,
        metadata,
    })
}
