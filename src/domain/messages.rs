//! Messages from venue staff to clients and vendors, and message search.
//!
//! Rules: only staff of the event's venue send; body 1..=5000 characters, subject ≤ 200;
//! a client message goes to the event's client; a vendor message only to a vendor that is
//! assigned to one of the event's elements or approved at the venue (a pending or unknown
//! vendor is refused). Search covers only the staff member's venue.

use std::cmp::Reverse;

use chrono::Utc;
use serde::Serialize;

use super::{DomainError, DomainResult, new_id, require_venue, required_text, staff_event};
use crate::auth::principal::Principal;
use crate::store::domain::{DomainStore, EventRecord, MessageRecord, VendorRecord};

/// How many recent messages a search looks at; older ones are out of reach.
const SEARCH_WINDOW: u64 = 500;

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
    pub score: u32,
    pub message: MessageRecord,
}

/// Lower-cased search terms of at least two characters, deduplicated.
fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in query
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
    {
        if t.chars().count() >= 2 && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Relevance: per term, 3 if it occurs in the subject plus 1 per occurrence in the body
/// (at most 3), so a subject hit outweighs a passing mention.
pub fn score(terms: &[String], subject: Option<&str>, body: &str) -> u32 {
    let subject = subject.unwrap_or_default().to_lowercase();
    let body = body.to_lowercase();
    terms
        .iter()
        .map(|t| {
            let s = if subject.contains(t.as_str()) { 3 } else { 0 };
            let b = u32::try_from(body.matches(t.as_str()).count().min(3)).unwrap_or(3);
            s + b
        })
        .sum()
}

/// The venue's messages matching `query`, best first, newest first on ties.
pub async fn search_messages(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    query: &str,
    limit: usize,
) -> DomainResult<Vec<ScoredMessage>> {
    require_venue(p, venue_id)?;
    let terms = terms(query);
    if terms.is_empty() {
        return Err(DomainError::invalid(
            "query",
            "needs at least one word of two or more characters",
        ));
    }
    let mut hits: Vec<ScoredMessage> = store
        .recent_messages(venue_id, None, SEARCH_WINDOW)
        .await?
        .into_iter()
        .map(|m| ScoredMessage {
            score: score(&terms, m.subject.as_deref(), &m.body),
            message: m,
        })
        .filter(|s| s.score > 0)
        .collect();
    hits.sort_by_key(|s| (Reverse(s.score), Reverse(s.message.created_at)));
    hits.truncate(limit.clamp(1, 50));
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring() {
        let t = terms("Vegetarian MENU, a");
        assert_eq!(t, vec!["vegetarian", "menu"]);
        assert_eq!(
            score(&t, Some("Menu tasting"), "vegetarian menu"),
            1 + 3 + 1
        );
        assert_eq!(score(&t, None, "nothing here"), 0);
    }
}
