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

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};

use crate::auth::principal::Principal;
use crate::domain::events::active_total;
use crate::domain::guests::count_guests;
use crate::domain::{DomainError, authorized_event, format_cents, require_venue};
use crate::store::Stores;
use crate::store::ThreadRecord;
use crate::store::domain::{
    DomainStore, ElementRecord, EventQuery, EventRecord, MessageRecord, TaskQuery,
};

const MAX_ITEMS: usize = 10;

/// Builds the context text for the thread's agent type.
pub async fn build_context(
    stores: &Stores,
    principal: &Principal,
    thread: &ThreadRecord,
) -> Result<String, DomainError> {
    let store = &stores.domain;
    match thread.agent_type.as_str() {
        "client" => client(store, principal, required_event(thread)?).await,
        "venue_general" => {
            let venue = thread.venue_id.as_deref().or(principal.venue_id.as_deref());
            general(
                store,
                principal,
                venue.ok_or_else(|| DomainError::invalid("venueId", "thread has no venue"))?,
            )
            .await
        }
        "venue_event" => venue_event(store, principal, required_event(thread)?).await,
        other => Err(DomainError::invalid(
            "agentType",
            format!("unknown agent type {other:?}"),
        )),
    }
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

async fn client(store: &DomainStore, p: &Principal, event_id: &str) -> Result<String, DomainError> {
    let event = authorized_event(store, p, event_id).await?;
    let venue = store
        .venue(&event.venue_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("venue".into()))?;
    let mut out = String::new();
    let profile = store.user_profile(&event.client_id).await?;
    let _ = writeln!(
        out,
        "Client: {}",
        profile
            .as_ref()
            .map_or(p.name.as_str(), |u| u.name.as_str())
    );
    if let Some(prefs) = profile
        .map(|u| u.preferences)
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    {
        let _ = writeln!(out, "Preferences: {prefs}");
    }
    event_block(
        &mut out,
        &event,
        &format!(
            "{} ({}, capacity {})",
            venue.name, venue.city, venue.capacity
        ),
    );
    let elements = store.event_elements(event_id).await?;
    let _ = writeln!(
        out,
        "Elements total (active): {}",
        format_cents(active_total(&elements))
    );
    list(&mut out, "Elements", &elements, |e| element_line(e, None));
    let offerings = store.venue_offerings(&venue.id, None).await?;
    list(&mut out, "Venue offerings", &offerings, |o| {
        format!(
            "{} — {} ({} {}, id {})",
            o.category,
            o.name,
            format_cents(o.price_cents),
            o.unit,
            o.id
        )
    });
    let vendors = store
        .venue_vendors(&venue.id, Some("approved"), None)
        .await?;
    list(&mut out, "Approved vendors", &vendors, |v| {
        format!(
            "{} ({}, id {})",
            v.vendor.name, v.vendor.category, v.vendor.id
        )
    });
    let crs = store.event_change_requests(event_id, true).await?;
    list(&mut out, "Open change requests", &crs, |c| {
        format!("{} — {} (id {})", c.request_type, c.description, c.id)
    });
    let msgs: Vec<MessageRecord> = store
        .recent_messages(&venue.id, Some(event_id), 20)
        .await?
        .into_iter()
        .filter(|m| m.recipient_type == "client" || m.sender_id == event.client_id)
        .take(5)
        .collect();
    list(&mut out, "Recent messages", &msgs, message_line);
    Ok(out)
}

async fn general(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
) -> Result<String, DomainError> {
    require_venue(p, venue_id)?;
    let venue = store
        .venue(venue_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("venue".into()))?;
    let now = Utc::now();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Venue: {} (id {}), {}, {}; capacity {}",
        venue.name, venue.id, venue.address, venue.city, venue.capacity
    );
    let _ = writeln!(out, "Today: {}", now.format("%a %b %-d, %Y"));
    let q = EventQuery {
        from: Some(now),
        to: Some(now + Duration::days(60)),
        status: None,
        limit: 100,
    };
    let events = store.venue_events(venue_id, &q).await?;
    list(&mut out, "Events in the next 60 days", &events, |e| {
        format!(
            "{} — {} [{}], {} guests (id {})",
            when(e.event_date),
            e.name,
            e.status,
            e.guest_count,
            e.id
        )
    });
    let vendors = store.venue_vendors(venue_id, None, None).await?;
    list(&mut out, "Vendor relationships", &vendors, |v| {
        format!("{} ({}) — {}", v.vendor.name, v.vendor.category, v.status)
    });
    let tasks = store
        .venue_tasks(
            venue_id,
            &TaskQuery {
                limit: 2000,
                ..TaskQuery::default()
            },
        )
        .await?;
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &tasks {
        *by_status.entry(t.status.as_str()).or_default() += 1;
    }
    let open = |s: &str| s == "pending" || s == "in_progress";
    let overdue = tasks
        .iter()
        .filter(|t| open(&t.status) && t.due_at.is_some_and(|d| d < now))
        .count();
    let counts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(
        out,
        "\nTasks: {}; overdue: {overdue}",
        if counts.is_empty() {
            "none".into()
        } else {
            counts.join(", ")
        }
    );
    let unread = store.unread_venue_messages(venue_id).await?;
    let msgs = store.recent_messages(venue_id, None, 5).await?;
    let _ = writeln!(out, "\nMessages: {unread} unread addressed to the venue");
    list(&mut out, "Latest messages", &msgs, message_line);
    Ok(out)
}

async fn venue_event(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> Result<String, DomainError> {
    crate::domain::require_staff(p)?;
    let event = authorized_event(store, p, event_id).await?;
    let venue = store
        .venue(&event.venue_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("venue".into()))?;
    let mut out = String::new();
    event_block(
        &mut out,
        &event,
        &format!("{} (capacity {})", venue.name, venue.capacity),
    );
    if let Some(c) = store.user_profile(&event.client_id).await? {
        let _ = writeln!(
            out,
            "Client: {} <{}>{} (id {})",
            c.name,
            c.email,
            c.phone.map(|p| format!(", {p}")).unwrap_or_default(),
            c.id
        );
        if c.preferences.as_object().is_some_and(|o| !o.is_empty()) {
            let _ = writeln!(out, "Client preferences: {}", c.preferences);
        }
    }
    let guests = count_guests(&store.event_guests(event_id, None).await?);
    let _ = writeln!(
        out,
        "Guests: {} listed, {} attending, {} pending; {} heads of capacity {}",
        guests.total, guests.attending, guests.pending, guests.counted_heads, venue.capacity
    );
    let elements = store.event_elements(event_id).await?;
    let names = vendor_names(store, &elements).await?;
    let _ = writeln!(
        out,
        "Elements total (active): {}",
        format_cents(active_total(&elements))
    );
    list(&mut out, "Elements", &elements, |e| {
        element_line(
            e,
            e.vendor_id
                .as_ref()
                .map(|v| names.get(v).map_or(v.as_str(), String::as_str)),
        )
    });
    let tq = TaskQuery {
        event_id: Some(event_id.into()),
        statuses: vec!["pending".into(), "in_progress".into()],
        due_before: None,
        limit: 100,
    };
    let tasks = store.venue_tasks(&venue.id, &tq).await?;
    list(&mut out, "Open tasks", &tasks, |t| {
        format!(
            "{} [{} , {}]{}",
            t.title,
            t.status,
            t.priority,
            t.due_at
                .map(|d| format!(" due {}", when(d)))
                .unwrap_or_default()
        )
    });
    let msgs = store.recent_messages(&venue.id, Some(event_id), 5).await?;
    list(&mut out, "Recent communication", &msgs, message_line);
    let crs = store.event_change_requests(event_id, true).await?;
    list(&mut out, "Open change requests", &crs, |c| {
        format!(
            "{} — {} (id {}, element {})",
            c.request_type,
            c.description,
            c.id,
            c.element_id.as_deref().unwrap_or("new")
        )
    });
    Ok(out)
}
