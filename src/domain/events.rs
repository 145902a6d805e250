//! Event services: details and summaries for the assistants, venue listings, and the
//! validated `updateEvent`.
//!
//! Update rules (staff of the event's venue only; clients go through change requests):
//! - `name`: 1..=200 characters;
//! - `eventDate`: a date or date-time whose calendar day (UTC) is today or later; a bare
//!   date keeps the event's current time of day;
//! - `guestCount`: 1..=venue capacity; `budgetCents` ≥ 0; `notes`: ≤ 5000 characters;
//! - `status` only along [`EVENT_TRANSITIONS`]; a completed or cancelled event is closed:
//!   only its notes may still change.

use std::collections::BTreeMap;

use chrono::{NaiveTime, Utc};
use serde::Serialize;

use super::guests::{GuestCounts, count_guests};
use super::{
    DomainError, DomainResult, authorized_event, parse_date_or_datetime, require_venue,
    required_text, staff_event,
};
use crate::auth::principal::Principal;
use crate::store::domain::{
    ChangeRequestRecord, DomainStore, ElementRecord, EventChanges, EventQuery, EventRecord,
    TaskQuery,
};

/// Event statuses and where each may go; `completed` and `cancelled` are final.
pub const EVENT_TRANSITIONS: &[(&str, &[&str])] = &[
    ("inquiry", &["planning", "cancelled"]),
    ("planning", &["confirmed", "cancelled"]),
    ("confirmed", &["completed", "cancelled"]),
    ("completed", &[]),
    ("cancelled", &[]),
];

pub fn event_transition_allowed(from: &str, to: &str) -> bool {
    EVENT_TRANSITIONS
        .iter()
        .any(|(f, tos)| *f == from && tos.contains(&to))
}

pub fn is_known_status(s: &str) -> bool {
    EVENT_TRANSITIONS.iter().any(|(f, _)| *f == s)
}

/// What `getEventDetails` shows.
#[derive(Debug, Clone, Serialize)]
pub struct EventDetails {
    pub event: EventRecord,
    pub venue_name: String,
    pub venue_capacity: i32,
    pub client_name: String,
    pub elements: Vec<ElementRecord>,
    /// Sum over elements that are not declined or cancelled.
    pub elements_total_cents: i64,
    pub guests: GuestCounts,
    pub open_change_requests: Vec<ChangeRequestRecord>,
}

/// What `getEventSummary` shows: counts rather than lists.
#[derive(Debug, Clone, Serialize)]
pub struct EventSummary {
    pub event: EventRecord,
    pub client_name: String,
    pub elements_by_status: BTreeMap<String, usize>,
    pub elements_total_cents: i64,
    pub guests: GuestCounts,
    pub open_change_requests: usize,
    pub open_tasks: usize,
    pub contract_status: Option<String>,
}

/// The validated input of `updateEvent`; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct EventUpdate {
    pub name: Option<String>,
    pub event_date: Option<String>,
    pub guest_count: Option<i64>,
    pub budget_cents: Option<i64>,
    pub status: Option<String>,
    pub notes: Option<String>,
}

pub fn active_total(elements: &[ElementRecord]) -> i64 {
    elements
        .iter()
        .filter(|e| e.status != "declined" && e.status != "cancelled")
        .map(|e| e.price_cents)
        .sum()
}

async fn client_name(store: &DomainStore, id: &str) -> DomainResult<String> {
    Ok(store
        .user_profile(id)
        .await?
        .map_or_else(|| "(unknown client)".to_owned(), |u| u.name))
}

pub async fn event_details(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> DomainResult<EventDetails> {
    let event = authorized_event(store, p, event_id).await?;
    let venue = super::venues::venue_record(store, &event.venue_id).await?;
    let elements = store.event_elements(event_id).await?;
    let guests = count_guests(&store.event_guests(event_id, None).await?);
    Ok(EventDetails {
        client_name: client_name(store, &event.client_id).await?,
        venue_name: venue.name,
        venue_capacity: venue.capacity,
        elements_total_cents: active_total(&elements),
        elements,
        guests,
        open_change_requests: store.event_change_requests(event_id, true).await?,
        event,
    })
}

pub async fn event_summary(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> DomainResult<EventSummary> {
    let event = staff_event(store, p, event_id).await?;
    let elements = store.event_elements(event_id).await?;
    let mut by_status = BTreeMap::new();
    for e in &elements {
        *by_status.entry(e.status.clone()).or_insert(0) += 1;
    }
    let tasks = TaskQuery {
        event_id: Some(event_id.to_owned()),
        statuses: vec!["pending".into(), "in_progress".into()],
        due_before: None,
        limit: 500,
    };
    Ok(EventSummary {
        client_name: client_name(store, &event.client_id).await?,
        elements_by_status: by_status,
        elements_total_cents: active_total(&elements),
        guests: count_guests(&store.event_guests(event_id, None).await?),
        open_change_requests: store.event_change_requests(event_id, true).await?.len(),
        open_tasks: store.venue_tasks(&event.venue_id, &tasks).await?.len(),
        contract_status: store.event_contract(event_id).await?.map(|c| c.status),
        event,
    })
}

/// Events of the staff member's venue (at most 100), in date order.
pub async fn list_venue_events(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    mut query: EventQuery,
) -> DomainResult<Vec<EventRecord>> {
    require_venue(p, venue_id)?;
    if let Some(s) = &query.status
        && !is_known_status(s)
    {
        return Err(DomainError::invalid(
            "status",
            format!("unknown event status {s:?}"),
        ));
    }
    if let (Some(f), Some(t)) = (query.from, query.to)
        && f > t
    {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    query.limit = query.limit.clamp(1, 100);
    Ok(store.venue_events(venue_id, &query).await?)
}

/// Validates and applies an update; returns the event and the names of changed fields.
pub async fn update_event(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    u: EventUpdate,
) -> DomainResult<(EventRecord, Vec<&'static str>)> {
    let event = staff_event(store, p, event_id).await?;
    let mut c = EventChanges::default();
    let mut fields = Vec::new();
    if let Some(n) = &u.name {
        c.name = Some(required_text("name", n, 200)?);
        fields.push("name");
    }
    if let Some(d) = &u.event_date {
        let time = event.event_date.time();
        let when = parse_date_or_datetime("eventDate", d, time)?;
        if when.date_naive() < Utc::now().date_naive() {
            return Err(DomainError::invalid("eventDate", "must be today or later"));
        }
        c.event_date = Some(when);
        fields.push("eventDate");
    }
    if let Some(g) = u.guest_count {
        let capacity = store
            .venue(&event.venue_id)
            .await?
            .map_or(0, |v| v.capacity);
        if g < 1 || g > i64::from(capacity) {
            return Err(DomainError::invalid(
                "guestCount",
                format!("must be between 1 and the venue capacity ({capacity})"),
            ));
        }
        c.guest_count = i32::try_from(g).ok();
        fields.push("guestCount");
    }
    if let Some(b) = u.budget_cents {
        if b < 0 {
            return Err(DomainError::invalid("budgetCents", "must not be negative"));
        }
        c.budget_cents = Some(b);
        fields.push("budgetCents");
    }
    if let Some(s) = &u.status {
        if !is_known_status(s) {
            return Err(DomainError::invalid(
                "status",
                format!("unknown event status {s:?}"),
            ));
        }
        if *s != event.status {
            if !event_transition_allowed(&event.status, s) {
                return Err(DomainError::Conflict(format!(
                    "an event cannot go from {} to {s}",
                    event.status
                )));
            }
            c.status = Some(s.clone());
            fields.push("status");
        }
    }
    if let Some(n) = &u.notes {
        if n.chars().count() > 5000 {
            return Err(DomainError::invalid("notes", "at most 5000 characters"));
        }
        c.notes = Some(n.trim().to_owned());
        fields.push("notes");
    }
    if fields.is_empty() {
        return Err(DomainError::invalid("arguments", "nothing to update"));
    }
    let closed = event.status == "completed" || event.status == "cancelled";
    if closed && fields.iter().any(|f| *f != "notes") {
        return Err(DomainError::Conflict(format!(
            "the event is {}; only its notes may change",
            event.status
        )));
    }
    let updated = store.update_event(event_id, &c).await?;
    tracing::info!(event_id, ?fields, user = %p.user_id, "event updated");
    Ok((updated, fields))
}

/// Midnight, the default time of a bare date in filters.
pub const MIDNIGHT: NaiveTime = NaiveTime::MIN;
