//! The lists the web pages page through: a venue's events, tasks and messages, an event's
//! messages, and the caller's own events.
//!
//! Each list first authorizes the venue or event (unknown: `NotFound`; someone else's:
//! `Forbidden`), then validates its filters (`Invalid`, with what is wrong), then resolves
//! the cursor: `after` must name a row of the same venue or event (and, for a client, one
//! they may see), or the request is refused with [`unknown_cursor`]. The page itself is one
//! keyset query (`store::domain::listings`); the names and counts beside its rows are one
//! grouped query per page, not one per row.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::elements::{ELEMENT_STATUSES, is_final};
use super::events::{MIDNIGHT, is_known_status};
use super::paging::{PageRequest, unknown_cursor};
use super::tasks::{OPEN_STATUSES, TASK_STATUSES};
use super::venues::staff_venue;
use super::{DomainError, DomainResult, authorized_event, parse_date, staff_event};
use crate::auth::principal::{Principal, UserType};
use crate::store::PageOf;
use crate::store::domain::{
    DomainStore, EventListFilter, EventRecord, MessageRecord, MessageScope, TaskRecord,
};
use crate::vocab::Rsvp;

/// The raw filters of a venue's event list.
#[derive(Debug, Clone, Default)]
pub struct EventListQuery {
    /// `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive (the whole day).
    pub to: Option<String>,
    pub status: Option<String>,
}

/// An event of a venue's list with what the dashboard shows beside it.
#[derive(Debug, Clone)]
pub struct EventListing {
    pub event: EventRecord,
    pub client_name: String,
    /// Guests whose RSVP is `attending`.
    pub confirmed_guests: i64,
    /// Elements not in a final status (`elements::is_final`).
    pub pending_elements: i64,
}

/// A task with the name of its event.
#[derive(Debug, Clone)]
pub struct TaskListing {
    pub task: TaskRecord,
    pub event_name: Option<String>,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(MIDNIGHT).and_utc()
}

fn some_text(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The caller's own events, soonest first: a client's events; nobody else owns any.
pub async fn own_events(store: &DomainStore, p: &Principal) -> DomainResult<Vec<EventRecord>> {
    match p.user_type {
        UserType::Client => Ok(store.client_events(&p.user_id).await?),
        UserType::Venue | UserType::Vendor | UserType::Admin => Ok(Vec::new()),
    }
}

/// One page of the venue's events in date order, for its staff.
pub async fn venue_events(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    q: &EventListQuery,
    page: &PageRequest,
) -> DomainResult<PageOf<EventListing>> {
    staff_venue(store, p, venue_id).await?;
    let from = some_text(q.from.as_deref())
        .map(|s| parse_date("from", s))
        .transpose()?;
    let to = some_text(q.to.as_deref())
        .map(|s| parse_date("to", s))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    let status = some_text(q.status.as_deref()).map(str::to_owned);
    if let Some(s) = &status
        && !is_known_status(s)
    {
        return Err(DomainError::invalid(
            "status",
            format!("unknown event status {s:?}"),
        ));
    }
    let filter = EventListFilter {
        from: from.map(midnight),
        before: to.and_then(|t| t.succ_opt()).map(midnight),
        status,
    };
    let anchor = match &page.after {
        Some(id) => Some(
            store
                .event(id)
                .await?
                .filter(|e| e.venue_id == venue_id)
                .ok_or_else(unknown_cursor)?,
        ),
        None => None,
    };
    let events = store
        .venue_events_page(venue_id, &filter, anchor.as_ref(), page.limit)
        .await?;
    let ids = || events.data.iter().map(|e| e.id.as_str());
    let finals: Vec<&str> = ELEMENT_STATUSES
        .iter()
        .copied()
        .filter(|s| is_final(s))
        .collect();
    let pending = store.element_counts_excluding(ids(), &finals).await?;
    let confirmed = store
        .guest_counts_with(ids(), Rsvp::Attending.as_str())
        .await?;
    let clients = store
        .user_names(events.data.iter().map(|e| e.client_id.as_str()))
        .await?;
    events.try_map(|event| {
        Ok(EventListing {
            client_name: name_or(&clients, &event.client_id, "(unknown client)"),
            confirmed_guests: confirmed.get(&event.id).copied().unwrap_or(0),
            pending_elements: pending.get(&event.id).copied().unwrap_or(0),
            event,
        })
    })
}

fn name_or(names: &HashMap<String, String>, id: &str, missing: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| missing.to_owned())
}

/// One page of the venue's tasks, soonest due first (undated last), for its staff.
/// `statuses` is a comma-separated list of task statuses; without it, the open ones.
pub async fn venue_tasks(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    statuses: Option<&str>,
    event_id: Option<&str>,
    page: &PageRequest,
) -> DomainResult<PageOf<TaskListing>> {
    staff_venue(store, p, venue_id).await?;
    let mut statuses: Vec<&str> = match some_text(statuses) {
        None => OPEN_STATUSES.to_vec(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                TASK_STATUSES
                    .iter()
                    .copied()
                    .find(|known| *known == s)
                    .ok_or_else(|| {
                        DomainError::invalid(
                            "status",
                            format!(
                                "unknown task status {s:?}; expected some of {}",
                                TASK_STATUSES.join(", ")
                            ),
                        )
                    })
            })
            .collect::<DomainResult<_>>()?,
    };
    // Each known status once: a list repeating one 4,000 times is still a 4-value `IN`.
    statuses.sort_unstable();
    statuses.dedup();
    let event_id = some_text(event_id);
    if let Some(e) = event_id {
        let event = staff_event(store, p, e).await?;
        if event.venue_id != venue_id {
            return Err(DomainError::NotFound("event of this venue".into()));
        }
    }
    let anchor = match &page.after {
        Some(id) => Some(
            store
                .task(id)
                .await?
                .filter(|t| t.venue_id == venue_id)
                .ok_or_else(unknown_cursor)?,
        ),
        None => None,
    };
    let tasks = store
        .venue_tasks_page(venue_id, &statuses, event_id, anchor.as_ref(), page.limit)
        .await?;
    let names = store
        .event_names(tasks.data.iter().filter_map(|t| t.event_id.as_deref()))
        .await?;
    tasks.try_map(|task| {
        Ok::<_, DomainError>(TaskListing {
            event_name: task.event_id.as_ref().and_then(|e| names.get(e).cloned()),
            task,
        })
    })
}

/// One page of an event's messages, newest first: staff of its venue see all of them, its
/// client those they sent and those addressed to them (as the client assistant does).
pub async fn event_messages(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    page: &PageRequest,
) -> DomainResult<PageOf<MessageRecord>> {
    let event = authorized_event(store, p, event_id).await?;
    let participant = (p.user_type == UserType::Client).then_some(p.user_id.as_str());
    let scope = MessageScope::Event {
        venue_id: &event.venue_id,
        event_id: &event.id,
        participant,
    };
    messages_page(store, scope, page).await
}

/// One page of the venue's messages, newest first, for its staff.
pub async fn venue_messages(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    page: &PageRequest,
) -> DomainResult<PageOf<MessageRecord>> {
    staff_venue(store, p, venue_id).await?;
    messages_page(store, MessageScope::Venue(venue_id), page).await
}

async fn messages_page(
    store: &DomainStore,
    scope: MessageScope<'_>,
    page: &PageRequest,
) -> DomainResult<PageOf<MessageRecord>> {
    let anchor = match &page.after {
        Some(id) => Some(
            store
                .message(id)
                .await?
                .filter(|m| scope.contains(m))
                .ok_or_else(unknown_cursor)?,
        ),
        None => None,
    };
    Ok(store
        .messages_page(scope, anchor.as_ref(), page.limit)
        .await?)
}
