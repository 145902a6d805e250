//! Context builders: the compact text block each assistant gets about its thread's world
//! (design.md §5 "Context"), built from the database and cached by the thread actor.
//!
//! - `client`: the client and their preferences, the event, its elements, what the venue
//!   offers (offerings and approved vendors), open change requests, recent messages;
//! - `venue_general`: the venue, events of the next 60 days, vendor relationships, task
//!   summary (counts by status, overdue), message overview;
//! - `venue_event`: the full event, its client, elements with vendors, open tasks, recent
//!   communication, open change requests.
//!
//! The thread's binding is trusted (checked at thread creation), but access is re-checked
//! here too, so a stale thread of a user who lost access gets no data. Every list is
//! capped and says "... and N more", so the prompt stays bounded.
//!
//! Layout: this file (the builders each `AgentSpec` names, the dispatch and the shared line
//! formats), `client`, `venue` (the two staff assistants).

mod client;
mod venue;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;

use super::spec::AgentSpec;
use crate::auth::principal::Principal;
use crate::domain::events::active_total;
use crate::domain::guests::count_guests;
use crate::domain::{DomainError, authorized_event, format_cents};
use crate::store::Stores;
use crate::store::ThreadRecord;
use crate::store::domain::{
    DomainStore, ElementRecord, EventQuery, EventRecord, MessageRecord, TaskQuery,
};

const MAX_ITEMS: usize = 10;

/// How an assistant's context is built (`AgentSpec::context`): from the domain store, as the
/// principal, for the thread's binding.
pub type ContextBuilder = for<'a> fn(
    &'a DomainStore,
    &'a Principal,
    &'a ThreadRecord,
) -> BoxFuture<'a, Result<String, DomainError>>;

/// Builds the context text for the thread's agent type.
pub async fn build_context(
    stores: &Stores,
    principal: &Principal,
    thread: &ThreadRecord,
) -> Result<String, DomainError> {
    let build = AgentSpec::of(thread.agent_type).context;
    build(&stores.domain, principal, thread).await
}

/// The `client` context: the thread's event, seen by its client.
pub fn client_context<'a>(
    store: &'a DomainStore,
    principal: &'a Principal,
    thread: &'a ThreadRecord,
) -> BoxFuture<'a, Result<String, DomainError>> {
    Box::pin(async move { client::client(store, principal, required_event(thread)?).await })
}

/// The `venue_general` context: the thread's venue (or the principal's).
pub fn venue_general_context<'a>(
    store: &'a DomainStore,
    principal: &'a Principal,
    thread: &'a ThreadRecord,
) -> BoxFuture<'a, Result<String, DomainError>> {
    Box::pin(async move {
        let venue = thread.venue_id.as_deref().or(principal.venue_id.as_deref());
        let venue = venue.ok_or_else(|| DomainError::invalid("venueId", "thread has no venue"))?;
        venue::general(store, principal, venue).await
    })
}

/// The `venue_event` context: the thread's event, seen by its venue's staff.
pub fn venue_event_context<'a>(
    store: &'a DomainStore,
    principal: &'a Principal,
    thread: &'a ThreadRecord,
) -> BoxFuture<'a, Result<String, DomainError>> {
    Box::pin(async move { venue::venue_event(store, principal, required_event(thread)?).await })
}

fn required_event(thread: &ThreadRecord) -> Result<&str, DomainError> {
    thread
        .event_id
        .as_deref()
        .ok_or_else(|| DomainError::invalid("eventId", "thread has no event"))
}

fn when(d: DateTime<Utc>) -> String {
    d.format("%a %b %-d, %Y %H:%M UTC").to_string()
}

/// Writes up to [`MAX_ITEMS`] lines, then "... and N more".
fn list<T>(out: &mut String, title: &str, items: &[T], render: impl Fn(&T) -> String) {
    let _ = writeln!(out, "\n{title}:");
    if items.is_empty() {
        let _ = writeln!(out, "- none");
    }
    for it in items.iter().take(MAX_ITEMS) {
        let _ = writeln!(out, "- {}", render(it));
    }
    if items.len() > MAX_ITEMS {
        let _ = writeln!(out, "- ... and {} more", items.len() - MAX_ITEMS);
    }
}

fn event_block(out: &mut String, e: &EventRecord, venue: &str) {
    let _ = writeln!(
        out,
        "Event: {} (id {}), a {} at {venue}",
        e.name, e.id, e.event_type
    );
    let _ = writeln!(
        out,
        "Date: {}; status: {}; guest count: {}; budget: {}",
        when(e.event_date),
        e.status,
        e.guest_count,
        format_cents(e.budget_cents)
    );
    if let Some(n) = e.notes.as_deref().filter(|n| !n.is_empty()) {
        let _ = writeln!(out, "Notes: {}", n.chars().take(500).collect::<String>());
    }
}

fn element_line(e: &ElementRecord, vendor: Option<&str>) -> String {
    let v = vendor.map(|v| format!(", vendor {v}")).unwrap_or_default();
    format!(
        "{} [{}] {} — {} ({}{v}, id {})",
        e.category,
        e.status,
        e.name,
        format_cents(e.price_cents),
        pluralize(e.quantity),
        e.id
    )
}

fn pluralize(q: i32) -> String {
    format!("qty {q}")
}

fn message_line(m: &MessageRecord) -> String {
    let body: String = m.body.chars().take(120).collect();
    format!(
        "{} from {} to {}: {}{}",
        m.created_at.format("%b %-d"),
        m.sender_name,
        m.recipient_type,
        m.subject
            .as_deref()
            .map(|s| format!("\"{s}\" "))
            .unwrap_or_default(),
        body
    )
}

async fn vendor_names(
    store: &DomainStore,
    elements: &[ElementRecord],
) -> Result<BTreeMap<String, String>, DomainError> {
    let mut names = BTreeMap::new();
    for id in elements.iter().filter_map(|e| e.vendor_id.as_deref()) {
        if !names.contains_key(id)
            && let Some(v) = store.vendor(id).await?
        {
            names.insert(id.to_owned(), v.name);
        }
    }
    Ok(names)
}
