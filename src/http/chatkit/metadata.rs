//! The request `metadata`: which assistant, for which venue and event.
//!
//! ChatKit.js integrations send `agentType`, `eventId` and `venueId` (the seed's
//! ChatKitWrapper) with every request; snake_case spellings are accepted too. [`parse`]
//! reads them the same way for every request: an unknown `agentType` is a 400, and an id
//! that cannot be a domain id (see [`check_domain_id`]) is a 400 before it reaches a query.
//!
//! - `threads.create` ([`plan_thread`]): a missing required field is a 400 naming it; a
//!   combination the principal may not use is a 403. What is decided here is stored on the
//!   thread, and later requests use the stored values, never new claims.
//! - `threads.list` ([`list_filter`]): the fields narrow the list to that assistant's
//!   threads; nothing is required, and nothing needs checking against the principal, since
//!   the list is the principal's own threads either way.

use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::auth::access::{self, EventRef};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ThreadFilter;

/// The agent types the server knows.
const AGENT_TYPES: [&str; 3] = ["client", "venue_general", "venue_event"];

/// Longest accepted domain id (the seed's and the platform's are 36-character UUIDs).
const MAX_DOMAIN_ID_LEN: usize = 64;

/// What a new thread is bound to.
pub struct ThreadPlan {
    pub agent_type: String,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
    pub metadata: Map<String, Value>,
}

/// The request's metadata fields, read and shape-checked; nothing looked up yet.
struct Fields<'a> {
    agent_type: Option<&'a str>,
    venue_id: Option<&'a str>,
    event_id: Option<&'a str>,
}

fn field<'a>(meta: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a str> {
    meta.get(camel)
        .or_else(|| meta.get(snake))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Checks the shape of a domain id (event, venue) taken from a request: 1 to 64 ASCII
/// letters, digits, `-` or `_`. The ChatKit ids' [`super::check_id`] wants a prefix these
/// ids do not have.
fn check_domain_id<'a>(id: &'a str, what: &str) -> Result<&'a str, ApiError> {
    let ok = id.len() <= MAX_DOMAIN_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(ApiError::bad_request(format!("invalid {what}")))
    }
}

fn parse(meta: &Map<String, Value>) -> Result<Fields<'_>, ApiError> {
    let agent_type = field(meta, "agentType", "agent_type");
    if let Some(a) = agent_type
        && !AGENT_TYPES.contains(&a)
    {
        return Err(ApiError::bad_request(format!(
            "unknown agentType {a:?}; expected client, venue_general or venue_event"
        )));
    }
    let venue_id = field(meta, "venueId", "venue_id")
        .map(|v| check_domain_id(v, "venueId"))
        .transpose()?;
    let event_id = field(meta, "eventId", "event_id")
        .map(|e| check_domain_id(e, "eventId"))
        .transpose()?;
    Ok(Fields {
        agent_type,
        venue_id,
        event_id,
    })
}

fn required<'a>(value: Option<&'a str>, camel: &'static str) -> Result<&'a str, ApiError> {
    value.ok_or(ApiError::MissingMetadata(camel))
}

fn forbidden(msg: &str) -> ApiError {
    ApiError::Forbidden(msg.to_owned())
}

/// Which of the user's threads `threads.list` returns. Each field present narrows the list,
/// except those the named assistant is not bound by, which are ignored as `threads.create`
/// ignores them (the page sends all three with every request): a `client` thread is bound
/// by its event (its venue follows), a `venue_general` one by its venue only, a
/// `venue_event` one by both. With no metadata, every thread of the user.
pub fn list_filter(meta: &Map<String, Value>) -> Result<ThreadFilter, ApiError> {
    let f = parse(meta)?;
    let (venue_id, event_id) = match f.agent_type {
        Some("client") => (None, f.event_id),
        Some("venue_general") => (f.venue_id, None),
        _ => (f.venue_id, f.event_id),
    };
    Ok(ThreadFilter {
        agent_type: f.agent_type.map(str::to_owned),
        venue_id: venue_id.map(str::to_owned),
        event_id: event_id.map(str::to_owned),
    })
}

/// What a new thread (`threads.create`) is bound to, checked against the principal.
pub async fn plan_thread(
    state: &AppState,
    p: &Principal,
    meta: &Map<String, Value>,
) -> Result<ThreadPlan, ApiError> {
    let fields = parse(meta)?;
    let agent_type = required(fields.agent_type, "agentType")?;
    access::may_use_agent(p, agent_type).map_err(|d| forbidden(d.0))?;
    let events = &state.stores.domain;
    let (venue_id, event_id) = match agent_type {
        "client" => {
            let event_id = required(fields.event_id, "eventId")?;
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
            (event.venue_id, Some(event.id))
        }
        "venue_general" => {
            let venue_id = required(fields.venue_id, "venueId")?;
            if !access::can_access_venue(p, venue_id) {
                return Err(forbidden("you may not use this venue"));
            }
            (venue_id.to_owned(), None)
        }
        _ => {
            let venue_id = required(fields.venue_id, "venueId")?;
            let event_id = required(fields.event_id, "eventId")?;
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
            (event.venue_id, Some(event.id))
        }
    };
    let mut metadata = Map::new();
    metadata.insert("agent_type".into(), Value::String(agent_type.to_owned()));
    metadata.insert("venue_id".into(), Value::String(venue_id.clone()));
    if let Some(e) = &event_id {
        metadata.insert("event_id".into(), Value::String(e.clone()));
    }
    metadata.insert(
        "user_type".into(),
        Value::String(p.user_type.as_str().to_owned()),
    );
    Ok(ThreadPlan {
        agent_type: agent_type.to_owned(),
        venue_id: Some(venue_id),
        event_id,
        metadata,
    })
}
