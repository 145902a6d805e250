//! Messages from venue staff to clients and vendors, and message search.
//!
//! Rules: only staff of the event's venue send; body 1..=5000 characters, subject ≤ 200;
//! a client message goes to the event's client; a vendor message only to a vendor that is
//! assigned to one of the event's elements or approved at the venue (a pending or unknown
//! vendor is refused). Search covers only the staff member's venue, through the full-text
//! index.

use std::collections::HashMap;

use chrono::Utc;
use serde::Serialize;

use super::search::parse_query;
use super::{DomainError, DomainResult, new_id, require_venue, required_text, staff_event};
use crate::auth::principal::Principal;
use crate::store::domain::{DomainStore, EventRecord, MessageRecord, VendorRecord};
use crate::store::search::{DocKind, Match, MessageScope, SearchScope, SearchStore};

fn build(
    p: &Principal,
    event: &EventRecord,
    kind: &str,
    to: &str,
    subject: Option<&str>,
    body: &str,
) -> DomainResult<MessageRecord> {
    let subject = match subject.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(required_text("subject", s, 200)?),
        None => None,
    };
    Ok(MessageRecord {
        id: new_id(),
        venue_id: event.venue_id.clone(),
        event_id: Some(event.id.clone()),
        sender_id: p.user_id.clone(),
        sender_name: p.name.clone(),
        recipient_type: kind.into(),
        recipient_id: to.into(),
        subject,
        body: required_text("body", body, 5000)?,
        created_at: Utc::now(),
        read_at: None,
    })
}

pub async fn send_to_client(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    subject: Option<&str>,
    body: &str,
) -> DomainResult<(MessageRecord, EventRecord)> {
    let event = staff_event(store, p, event_id).await?;
    let msg = build(p, &event, "client", &event.client_id, subject, body)?;
    store.insert_message(&msg).await?;
    tracing::info!(event_id, message_id = %msg.id, "message sent to client");
    Ok((msg, event))
}

pub async fn send_to_vendor(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    vendor_id: &str,
    subject: Option<&str>,
    body: &str,
) -> DomainResult<(MessageRecord, VendorRecord, EventRecord)> {
    let event = staff_event(store, p, event_id).await?;
    let vendor = store
        .vendor(vendor_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("vendor".into()))?;
    let assigned = store
        .event_elements(event_id)
        .await?
        .iter()
        .any(|e| e.vendor_id.as_deref() == Some(vendor_id));
    let approved = store
        .venue_vendor_status(&event.venue_id, vendor_id)
        .await?
        .as_deref()
        == Some("approved");
    if !assigned && !approved {
        return Err(DomainError::forbidden(
            "vendor is neither working on this event nor approved at this venue",
        ));
    }
    let msg = build(p, &event, "vendor", vendor_id, subject, body)?;
    store.insert_message(&msg).await?;
    tracing::info!(event_id, vendor_id, message_id = %msg.id, "message sent to vendor");
    Ok((msg, vendor, event))
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoredMessage {
    /// Relevance from the search index, higher is better.
    pub score: f64,
    pub message: MessageRecord,
}

/// The venue's messages matching any word of `query` (messages matching more words, and
/// matching in the subject, rank higher), best first, newest first on ties. Uses the
/// full-text index (`store::search`), so every message of the venue is in reach.
pub async fn search_messages(
    store: &DomainStore,
    index: &SearchStore,
    p: &Principal,
    venue_id: &str,
    query: &str,
    limit: usize,
) -> DomainResult<Vec<ScoredMessage>> {
    require_venue(p, venue_id)?;
    let parsed = parse_query("query", query, Match::Any)?;
    let scope = SearchScope {
        items_of: None,
        messages: MessageScope::Venue(venue_id),
        event_id: None,
    };
    let limit = limit.clamp(1, 50) as u64;
    let rows = index
        .search(&parsed, &scope, &[DocKind::Message], limit)
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut found: HashMap<String, MessageRecord> = store
        .venue_messages_by_ids(venue_id, &ids)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            found.remove(&r.id).map(|message| ScoredMessage {
                score: r.score,
                message,
            })
        })
        .collect())
}
