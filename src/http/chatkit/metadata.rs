//! The request `metadata`: which assistant, for which venue and event.
//!
//! ChatKit.js integrations send `agentType`, `eventId` and `venueId` (the seed's
//! ChatKitWrapper) with every request; snake_case spellings are accepted too. [`parse`]
//! reads them the same way for every request: `agentType` becomes an [`AgentType`] (an
//! unknown one is a 400), and an id that cannot be a domain id (see [`check_domain_id`]) is
//! a 400 before it reaches a query.
//!
//! - `threads.create` ([`plan_thread`]): the fields the assistant's `AgentSpec` requires
//!   must be there (a missing one is a 400 naming it); a combination the principal may not
//!   use is a 403. What is decided here is stored on the thread, and later requests use the
//!   stored values, never new claims.
//! - `threads.list` ([`list_filter`]): the fields narrow the list to that assistant's
//!   threads; nothing is required, and nothing needs checking against the principal, since
//!   the list is the principal's own threads either way.

use serde_json::{Map, Value};

use crate::agents::spec::{AgentSpec, MetadataField};
use crate::auth::Principal;
use crate::auth::access::{self, EventRef};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ThreadFilter;
use crate::vocab::AgentType;

/// Longest accepted domain id (the seed's and the platform's are 36-character UUIDs).
const MAX_DOMAIN_ID_LEN: usize = 64;

/// What a new thread is bound to.
pub struct ThreadPlan {
    pub agent_type: AgentType,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
    pub metadata: Map<String, Value>,
}

/// The request's metadata fields, read and shape-checked; nothing looked up yet.
struct Fields<'a> {
    agent_type: Option<AgentType>,
    venue_id: Option<&'a str>,
    event_id: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// The value sent for a venue or event field, if any.
    fn get(&self, f: MetadataField) -> Option<&'a str> {
        match f {
            MetadataField::VenueId => self.venue_id,
            MetadataField::EventId => self.event_id,
        }
    }
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

/// A venue or event id from the request, shape-checked.
fn domain_id(meta: &Map<String, Value>, f: MetadataField) -> Result<Option<&str>, ApiError> {
    field(meta, f.key(), f.snake_key())
        .map(|id| check_domain_id(id, f.key()))
        .transpose()
}

/// The one reading of the metadata fields, for every request that has them.
fn parse(meta: &Map<String, Value>) -> Result<Fields<'_>, ApiError> {
    let agent_type = field(meta, "agentType", "agent_type")
        .map(|raw| {
            AgentType::parse(raw).map_err(|_| {
                ApiError::bad_request(format!(
                    "unknown agentType {raw:?}; expected client, venue_general or venue_event"
                ))
            })
        })
        .transpose()?;
    Ok(Fields {
        agent_type,
        venue_id: domain_id(meta, MetadataField::VenueId)?,
        event_id: domain_id(meta, MetadataField::EventId)?,
    })
}

fn required<T>(value: Option<T>, camel: &'static str) -> Result<T, ApiError> {
    value.ok_or(ApiError::MissingMetadata(camel))
}

fn forbidden(msg: &str) -> ApiError {
    ApiError::Forbidden(msg.to_owned())
}

/// Which of the user's threads `threads.list` returns. Each field present narrows the list,
/// except those the named assistant is not bound by (not in its spec's required metadata),
/// which are ignored as `threads.create` ignores them (the page sends all three with every
/// request): a `client` thread is bound by its event (its venue follows), a
/// `venue_general` one by its venue only, a `venue_event` one by both. With no metadata,
/// every thread of the user.
pub fn list_filter(meta: &Map<String, Value>) -> Result<ThreadFilter, ApiError> {
    let f = parse(meta)?;
    let binds = |field: MetadataField| {
        f.agent_type
            .is_none_or(|a| AgentSpec::of(a).required_metadata.contains(&field))
    };
    let narrow = |field: MetadataField| f.get(field).filter(|_| binds(field)).map(str::to_owned);
    Ok(ThreadFilter {
        agent_type: f.agent_type,
        venue_id: narrow(MetadataField::VenueId),
        event_id: narrow(MetadataField::EventId),
    })
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

/// What a new thread (`threads.create`) is bound to, checked against the principal.
pub async fn plan_thread(
    state: &AppState,
    p: &Principal,
    meta: &Map<String, Value>,
) -> Result<ThreadPlan, ApiError> {
    let fields = parse(meta)?;
    let agent_type = required(fields.agent_type, "agentType")?;
    access::may_use_agent(p, agent_type).map_err(|d| forbidden(d.0))?;
    // Only the fields the assistant requires are bound; anything else sent is ignored.
    let (mut venue_id, mut event_id) = (None, None);
    for &f in AgentSpec::of(agent_type).required_metadata {
        let value = Some(required(fields.get(f), f.key())?);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn filter(meta: Value) -> Result<ThreadFilter, ApiError> {
        let Value::Object(meta) = meta else {
            panic!("not an object: {meta}");
        };
        list_filter(&meta)
    }

    #[test]
    fn list_filter_keeps_only_the_fields_the_assistant_is_bound_by() {
        let all = |a: &str| json!({"agentType": a, "venueId": "v1", "event_id": "e1"});
        let f = filter(all("client")).unwrap();
        assert_eq!(f.agent_type, Some(AgentType::Client));
        assert_eq!((f.venue_id, f.event_id.as_deref()), (None, Some("e1")));
        let f = filter(all("venue_general")).unwrap();
        assert_eq!(f.agent_type, Some(AgentType::VenueGeneral));
        assert_eq!((f.venue_id.as_deref(), f.event_id), (Some("v1"), None));
        let f = filter(all("venue_event")).unwrap();
        assert_eq!(f.agent_type, Some(AgentType::VenueEvent));
        assert_eq!(
            (f.venue_id.as_deref(), f.event_id.as_deref()),
            (Some("v1"), Some("e1"))
        );
        let f = filter(json!({"venueId": "v1", "eventId": "e1"})).unwrap();
        assert_eq!(f.agent_type, None);
        assert_eq!(
            (f.venue_id.as_deref(), f.event_id.as_deref()),
            (Some("v1"), Some("e1"))
        );
        assert_eq!(filter(json!({})).unwrap(), ThreadFilter::default());
    }

    #[test]
    fn parse_refuses_unknown_agents_and_malformed_ids() {
        for meta in [
            json!({"agentType": "planner"}),
            json!({"agentType": "Client"}),
            json!({"venueId": "v 1"}),
            json!({"eventId": "e".repeat(MAX_DOMAIN_ID_LEN + 1)}),
        ] {
            let err = filter(meta.clone()).err();
            assert!(
                matches!(err, Some(ApiError::BadRequest(_))),
                "{meta} -> {err:?}"
            );
        }
    }
}
