//! Event element services: status changes by venue staff and what a client may choose.
//!
//! Element status transitions (anything else is refused with `Conflict`):
//!
//! | from               | allowed to                                          |
//! |--------------------|-----------------------------------------------------|
//! | `proposed`         | `pending_approval`, `declined`, `cancelled`         |
//! | `pending_approval` | `approved`, `declined`, `cancelled`                 |
//! | `approved`         | `confirmed`, `declined`, `cancelled`                |
//! | `confirmed`        | `declined`, `cancelled`                             |
//! | `declined`         | — (final)                                           |
//! | `cancelled`        | — (final)                                           |
//!
//! The happy path moves one step at a time (no skipping from `proposed` to `confirmed`), so
//! every element passes the client's approval before a vendor is confirmed.

use serde::Serialize;

use super::{DomainError, DomainResult, staff_event};
use crate::auth::principal::Principal;
use crate::store::domain::{
    DomainStore, ElementRecord, EventRecord, OfferingRecord, VenueVendorRecord,
};

pub const ELEMENT_STATUSES: &[&str] = &[
    "proposed",
    "pending_approval",
    "approved",
    "confirmed",
    "declined",
    "cancelled",
];

/// The transition table above, as data.
pub const ELEMENT_TRANSITIONS: &[(&str, &[&str])] = &[
    ("proposed", &["pending_approval", "declined", "cancelled"]),
    ("pending_approval", &["approved", "declined", "cancelled"]),
    ("approved", &["confirmed", "declined", "cancelled"]),
    ("confirmed", &["declined", "cancelled"]),
    ("declined", &[]),
    ("cancelled", &[]),
];

pub fn element_transition_allowed(from: &str, to: &str) -> bool {
    ELEMENT_TRANSITIONS
        .iter()
        .any(|(f, tos)| *f == from && tos.contains(&to))
}

/// Declined and cancelled elements never change again.
pub fn is_final(status: &str) -> bool {
    status == "declined" || status == "cancelled"
}

/// Loads an element and its event, for staff of the event's venue.
pub async fn staff_element(
    store: &DomainStore,
    p: &Principal,
    element_id: &str,
) -> DomainResult<(ElementRecord, EventRecord)> {
    let element = store
        .element(element_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("element".into()))?;
    let event = staff_event(store, p, &element.event_id).await?;
    Ok((element, event))
}

/// Moves an element along the transition table; returns (previous status, element, event).
pub async fn update_element_status(
    store: &DomainStore,
    p: &Principal,
    element_id: &str,
    status: &str,
    note: Option<&str>,
) -> DomainResult<(String, ElementRecord, EventRecord)> {
    if !ELEMENT_STATUSES.contains(&status) {
        return Err(DomainError::invalid(
            "status",
            format!("must be one of {}", ELEMENT_STATUSES.join(", ")),
        ));
    }
    let (element, event) = staff_element(store, p, element_id).await?;
    if !element_transition_allowed(&element.status, status) {
        let allowed = ELEMENT_TRANSITIONS
            .iter()
            .find(|(f, _)| *f == element.status)
            .map(|(_, t)| t.join(", "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "nothing (final)".into());
        return Err(DomainError::Conflict(format!(
            "element {:?} is {}; it can only move to {allowed}",
            element.name, element.status
        )));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let updated = store
        .set_element_status(element_id, &element.status, status, note)
        .await?;
    tracing::info!(element_id, from = %element.status, to = status, user = %p.user_id, "element status changed");
    Ok((element.status, updated, event))
}

/// What a client may add to their event: the venue's offerings and approved vendors.
#[derive(Debug, Clone, Serialize)]
pub struct AvailableElements {
    pub offerings: Vec<OfferingRecord>,
    pub approved_vendors: Vec<VenueVendorRecord>,
}

pub async fn available_elements(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    category: Option<&str>,
) -> DomainResult<AvailableElements> {
    let event = super::authorized_event(store, p, event_id).await?;
    let category = category.map(str::trim).filter(|c| !c.is_empty());
    Ok(AvailableElements {
        offerings: store.venue_offerings(&event.venue_id, category).await?,
        approved_vendors: store
            .venue_vendors(&event.venue_id, Some("approved"), category)
            .await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table() {
        assert!(element_transition_allowed("proposed", "pending_approval"));
        assert!(element_transition_allowed("pending_approval", "approved"));
        assert!(element_transition_allowed("approved", "confirmed"));
        assert!(element_transition_allowed("confirmed", "cancelled"));
        assert!(!element_transition_allowed("proposed", "confirmed"));
        assert!(!element_transition_allowed("declined", "approved"));
        assert!(!element_transition_allowed("cancelled", "cancelled"));
        assert!(!element_transition_allowed("approved", "proposed"));
        for (from, _) in ELEMENT_TRANSITIONS {
            assert!(ELEMENT_STATUSES.contains(from));
            assert_eq!(
                is_final(from),
                !element_transition_allowed(from, "cancelled")
            );
        }
    }
}
